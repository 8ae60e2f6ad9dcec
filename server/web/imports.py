"""Importing an account's gallery from the web app: start an import job, watch its progress
bar, then confirm the credits the import found in the posts' text.

The page works without JavaScript (it shows the progress as it was when loaded, with a
"Refresh" link); ``static/js/import.js`` polls ``import.json`` and moves the bar. The work
itself is an import job (``server/import_jobs.py``) that a worker runs. Everything is looked
up through the signed-in artist's account, so another artist's account is a 404.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import abort, flash, jsonify, redirect, request, url_for
from sqlalchemy import select

from adapters import registry
from server import db, import_jobs, importer
from server.models import ROLES, Account, Artwork, Copy, CreditProposal, ImportJob
from server.web.common import bp, current_user, local, render, zone_of

log = logging.getLogger(__name__)


def _account(account_id: int) -> Account:
    account = db.session().get(Account, account_id)
    if account is None or account.user_id != current_user().id:
        abort(404)
    return account


def _progress(job: ImportJob | None) -> dict[str, Any] | None:
    return import_jobs.Progress.of(job).as_dict() if job is not None else None


def _open_proposals(account: Account) -> list[tuple[Artwork, CreditProposal]]:
    """Every open proposal found in a post on this account's platform, on the artist's own
    artworks, whichever import found it: keyed on the latest job's report, running the
    import again (before confirming) would hide what the earlier one proposed."""
    rows = db.session().execute(
        select(Artwork, CreditProposal)
        .join(CreditProposal, CreditProposal.artwork_id == Artwork.id)
        .join(Copy, Copy.id == CreditProposal.copy_id)
        .where(
            Artwork.user_id == current_user().id,
            CreditProposal.state == "open",
            Copy.artwork_id == Artwork.id,
            Copy.platform == account.platform,
        )
        .order_by(Artwork.id, CreditProposal.id)
    )
    return [(a, p) for a, p in rows]


# The years a "since" date may have: before 1970 nothing was posted, and outside 1-9999 the
# conversion to UTC overflows (0001-01-01 east of UTC is in year 0).
SINCE_YEARS = (1970, 9999)


def _since(text: str) -> dt.datetime | None:
    """A date from the form, as the start of that day in the artist's time zone; ValueError
    with the reason when it is not a date in ``SINCE_YEARS``."""
    day = dt.date.fromisoformat(text)
    if not SINCE_YEARS[0] <= day.year <= SINCE_YEARS[1]:
        raise ValueError(f"the year must be between {SINCE_YEARS[0]} and {SINCE_YEARS[1]}")
    try:
        return dt.datetime.combine(day, dt.time(), zone_of(current_user())).astimezone(dt.UTC)
    except OverflowError as exc:  # 9999-12-31 west of UTC is in year 10000
        raise ValueError("the date is out of range") from exc


def _local_day(job: ImportJob | None) -> str:
    when = local(job.since, zone_of(current_user())) if job is not None else None
    return when.date().isoformat() if when is not None else ""


@bp.get("/accounts/<int:account_id>/import")
def account_import(account_id: int) -> Any:
    account = _account(account_id)
    job = import_jobs.latest(db.session(), account)
    return render(
        "web/import.html",
        account=account,
        platform=registry.get(account.platform).name,
        job=job,
        progress=_progress(job),
        proposals=len(_open_proposals(account)),
        since_local=_local_day(job),
    )


@bp.post("/accounts/<int:account_id>/import")
def account_import_start(account_id: int) -> Any:
    account = _account(account_id)
    since = None
    text = (request.form.get("since") or "").strip()
    if text:
        try:
            since = _since(text)
        except (ValueError, OverflowError):
            flash(
                f"“Only posts since” must be a date between {SINCE_YEARS[0]} and "
                f"{SINCE_YEARS[1]}, e.g. 2024-01-31.",
                "error",
            )
            return redirect(url_for("web.account_import", account_id=account.id))
    _job, created = import_jobs.start(db.session(), account, since=since)
    db.session().commit()
    flash("Import started." if created else "This account is being imported already.")
    return redirect(url_for("web.account_import", account_id=account.id))


@bp.get("/accounts/<int:account_id>/import.json")
def account_import_status(account_id: int) -> Any:
    account = _account(account_id)
    job = import_jobs.latest(db.session(), account)
    return jsonify(
        {
            "job": _progress(job),
            "proposals": len(_open_proposals(account)),
            "proposals_url": url_for("web.account_import_proposals", account_id=account.id),
        }
    )


@bp.get("/accounts/<int:account_id>/import/proposals")
def account_import_proposals(account_id: int) -> Any:
    account = _account(account_id)
    return render(
        "web/import_proposals.html",
        account=account,
        platform=registry.get(account.platform).name,
        rows=_open_proposals(account),
        roles=ROLES,
    )


@bp.post("/accounts/<int:account_id>/import/proposals")
def account_import_accept(account_id: int) -> Any:
    account = _account(account_id)
    wanted = (request.form.get("proposal") or "").strip()
    found = {str(p.id): (a, p) for a, p in _open_proposals(account)}
    if wanted not in found:
        abort(404)
    artwork, proposal = found[wanted]
    role = request.form.get("role") or None
    if role is not None and role not in ROLES:
        flash(f"Unknown role {role!r}.", "error")
        return redirect(url_for("web.account_import_proposals", account_id=account.id))
    try:
        importer.accept(db.session(), current_user(), artwork, proposal.id, role=role)
    except importer.ProposalInvalid as exc:
        db.session().rollback()
        flash(f"Could not add {proposal.handle}: {exc.message}", "error")
    else:
        db.session().commit()
        flash(f"Credited {proposal.handle} on “{artwork.title}”.")
    return redirect(url_for("web.account_import_proposals", account_id=account.id))
