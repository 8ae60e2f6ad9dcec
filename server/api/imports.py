"""Import jobs over the API: start an account's import in the background and read its progress.

``POST /api/v1/accounts/<id>/import`` (in ``accounts.py``) still runs an import to completion
and answers with the report; these endpoints queue the same import for a worker
(``server/import_jobs.py``) and let a client poll it, the way the web app's import page does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from flask import Blueprint
from pydantic import BaseModel, Field

from server import db, import_jobs
from server.api.accounts import get_owned
from server.api.spec import endpoint
from server.models import ImportJob
from server.schemas import AccountImport, AccountImportResult

bp = Blueprint("imports", __name__, url_prefix="/api/v1/accounts")


class ImportJobOut(BaseModel):
    id: int
    account_id: int
    state: Literal["queued", "running", "done", "failed"]
    total: int = Field(description="posts read from the platform (0 until they have been read)")
    done: int = Field(description="posts handled so far")
    new: int = Field(description="posts recorded as new copies so far")
    percent: int = Field(description="done of total; 100 only once the job is done")
    error: str | None = Field(description="why the import failed")
    report: AccountImportResult | None = Field(description="the full report once it is done")
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None


class ImportJobList(BaseModel):
    items: list[ImportJobOut] = Field(description="this account's imports, newest first")


def job_out(job: ImportJob) -> ImportJobOut:
    data: dict[str, Any] = import_jobs.Progress.of(job).as_dict()
    return ImportJobOut.model_validate(data)


@endpoint(
    bp,
    "/<int:account_id>/import/jobs",
    "POST",
    summary="Start importing this account's posts in the background (a worker runs it; an "
    "import already queued or running for the account is returned instead of a second one)",
    body=AccountImport,
    response=ImportJobOut,
    status=202,
)
def start_import_job(account_id: int, body: AccountImport) -> ImportJobOut:
    account = get_owned(account_id)
    job, _created = import_jobs.start(db.session(), account, since=body.since, limit=body.limit)
    db.session().commit()
    return job_out(job)


@endpoint(
    bp,
    "/<int:account_id>/import/jobs",
    "GET",
    summary="This account's imports with their progress, newest first",
    response=ImportJobList,
)
def list_import_jobs(account_id: int) -> ImportJobList:
    account = get_owned(account_id)
    return ImportJobList(items=[job_out(j) for j in import_jobs.jobs_of(db.session(), account)])
