"""Platform accounts: credentials go in sealed and never come back out."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from server import db, vault
from server.api.spec import endpoint
from server.auth import current_user
from server.errors import ApiError, not_found
from server.models import Account
from server.schemas import (
    AccountCreate,
    AccountImport,
    AccountImportResult,
    AccountList,
    AccountOut,
    AccountUpdate,
)

bp = Blueprint("accounts", __name__, url_prefix="/api/v1/accounts")


def to_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id,
        platform=account.platform,
        name=account.name,
        credentials="set" if account.credentials else "not set",
        options=account.options,
        state=account.state,
        last_error=account.last_error,
        last_checked_at=account.last_checked_at,
        created_at=account.created_at,
    )


def get_owned(account_id: int) -> Account:
    account = db.session().get(Account, account_id)
    if account is None or account.user_id != current_user().id:
        raise not_found(f"account {account_id}")
    return account


def _seal(credentials: dict) -> bytes | None:
    if not credentials:
        return None
    return vault.box().seal({k: v.get_secret_value() for k, v in credentials.items()})


def _options(body: AccountCreate | AccountUpdate) -> dict:
    """Only the overrides that were set: an unset rule keeps following the platform default."""
    return body.options.model_dump(mode="json", exclude_none=True) if body.options else {}


@endpoint(bp, "", "GET", summary="List your platform accounts", response=AccountList)
def list_accounts() -> AccountList:
    rows = db.session().scalars(
        select(Account).where(Account.user_id == current_user().id).order_by(Account.id)
    )
    return AccountList(items=[to_out(a) for a in rows])


@endpoint(
    bp,
    "",
    "POST",
    summary="Connect a platform account",
    body=AccountCreate,
    response=AccountOut,
    status=201,
)
def create_account(body: AccountCreate) -> AccountOut:
    account = Account(
        user_id=current_user().id,
        platform=body.platform,
        name=body.name,
        credentials=_seal(body.credentials or {}),
        options=_options(body),
    )
    session = db.session()
    session.add(account)
    session.commit()
    return to_out(account)


@endpoint(bp, "/<int:account_id>", "GET", summary="Show an account", response=AccountOut)
def get_account(account_id: int) -> AccountOut:
    return to_out(get_owned(account_id))


@endpoint(
    bp,
    "/<int:account_id>",
    "PATCH",
    summary="Change an account's name, credentials, options or state",
    body=AccountUpdate,
    response=AccountOut,
)
def update_account(account_id: int, body: AccountUpdate) -> AccountOut:
    account = get_owned(account_id)
    if body.name is not None:
        account.name = body.name
    if body.credentials is not None:
        account.credentials = _seal(body.credentials)
        account.state, account.last_error = "ok", None
    if body.options is not None:
        account.options = _options(body)
    if body.state is not None:
        account.state = body.state
    db.session().commit()
    return to_out(account)


@endpoint(
    bp, "/<int:account_id>", "DELETE", summary="Disconnect an account and forget its credentials"
)
def delete_account(account_id: int) -> None:
    session = db.session()
    session.delete(get_owned(account_id))
    session.commit()


# -- import (issue 11) -------------------------------------------------------------------------


@endpoint(
    bp,
    "/<int:account_id>/import",
    "POST",
    summary="Import this account's existing posts as artworks and copies (runs synchronously "
    "and answers with counts; running it again adds only what is new)",
    body=AccountImport,
    response=AccountImportResult,
)
def import_account(account_id: int, body: AccountImport) -> AccountImportResult:
    from flask import current_app

    from server import importer

    account = get_owned(account_id)
    user_id = account.user_id
    db.session().rollback()  # the import uses its own transactions; hold no locks meanwhile
    try:
        report = importer.run(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            user_id,
            account_id,
            since=body.since,
            limit=body.limit,
        )
    except importer.ImportFailed as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    return AccountImportResult.model_validate(report.as_dict())
