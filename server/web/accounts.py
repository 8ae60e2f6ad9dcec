"""Platform accounts: connect with the credential fields each adapter declares, verify them
with ``check_auth``, pause or resume, and override the platform's rules for one account.

No page ever shows a credential: only whether credentials are set. Blank credential inputs
on the edit form keep the stored value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pydantic
from flask import abort, flash, redirect, request, url_for
from sqlalchemy import select

from adapters import registry
from adapters.base import Adapter
from adapters.draft import RuleOptions
from adapters.errors import AuthError, PlatformError, UnknownPlatform, Unsupported
from server import db, vault
from server.crypto import CredentialsUnreadable
from server.models import Account, utcnow
from server.web.common import bp, current_user, has_nul, render

log = logging.getLogger(__name__)

# Where an adapter does not (yet) declare ``credential_fields``.
FALLBACK_FIELDS: dict[str, tuple[str, ...]] = {
    "mastodon": ("instance", "access_token"),
    "bluesky": ("identifier", "app_password", "service"),
}
# Field names that are addresses or names, not secrets (shown as text inputs when typing).
NOT_SECRET = frozenset(
    {"instance", "service", "identifier", "username", "handle", "blog", "server", "user_id"}
)
OPTIONAL_HINTS = frozenset({"service"})
MAX_CREDENTIAL = 8192


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str
    secret: bool
    required: bool = True
    help: str = ""


def _field(item: Any) -> CredentialField | None:
    """One declared field, whatever shape the adapter uses: a name, a (name, label) pair, a
    mapping or an object with ``name`` (and optionally ``label``, ``secret``, ``required``)."""
    if isinstance(item, str):
        name, extra = item, {}
    elif isinstance(item, tuple | list) and item and isinstance(item[0], str):
        name, extra = item[0], {"label": item[1] if len(item) > 1 else None}
    elif isinstance(item, dict) and isinstance(item.get("name"), str):
        name, extra = item["name"], item
    elif isinstance(getattr(item, "name", None), str):
        name = item.name
        extra = {k: getattr(item, k, None) for k in ("label", "secret", "required", "help")}
    else:
        return None
    secret = extra.get("secret")
    required = extra.get("required")
    return CredentialField(
        name=name,
        label=str(extra.get("label") or name.replace("_", " ").capitalize()),
        secret=bool(secret) if secret is not None else name not in NOT_SECRET,
        required=bool(required) if required is not None else name not in OPTIONAL_HINTS,
        help=str(extra.get("help") or ""),
    )


def credential_fields(adapter: Adapter) -> list[CredentialField]:
    declared = getattr(adapter, "credential_fields", None)
    if isinstance(declared, dict):  # {name: label} or {name: {...}}
        declared = [
            {"name": k, **(v if isinstance(v, dict) else {"label": v})} for k, v in declared.items()
        ]
    if not declared:
        declared = FALLBACK_FIELDS.get(adapter.id, ())
    fields = [f for f in (_field(item) for item in declared or ()) if f is not None]
    return list({f.name: f for f in fields}.values())


def connectable() -> list[Adapter]:
    return sorted(registry.all_adapters(), key=lambda a: a.name.lower())


def _adapter(platform: str) -> Adapter:
    try:
        return registry.get(platform)
    except UnknownPlatform:
        abort(404)


def _get(account_id: int) -> Account:
    account = db.session().get(Account, account_id)
    if account is None or account.user_id != current_user().id:
        abort(404)
    return account


def _open(account: Account) -> dict[str, str]:
    if not account.credentials:
        return {}
    try:
        return dict(vault.box().open(account.credentials))
    except CredentialsUnreadable:
        return {}


# -- rule overrides ---------------------------------------------------------------------------


def options_form(options: dict[str, Any]) -> dict[str, str]:
    censor = options.get("censor")
    return {
        "mention_style": options.get("mention_style") or "",
        "links_in_reply": {True: "yes", False: "no"}.get(options.get("links_in_reply"), ""),
        "credits_position": options.get("credits_position") or "",
        "censor": "custom"
        if isinstance(censor, dict)
        else {True: "on", False: "off"}.get(censor, ""),
        "censor_words": "\n".join(f"{k}={v}" for k, v in censor.items())
        if isinstance(censor, dict)
        else "",
    }


def parse_options(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The overrides a form asks for (blank = platform default), validated by RuleOptions."""
    errors: dict[str, str] = {}
    raw: dict[str, Any] = {}
    if form.get("mention_style"):
        raw["mention_style"] = form.get("mention_style")
    if form.get("links_in_reply") in ("yes", "no"):
        raw["links_in_reply"] = form.get("links_in_reply") == "yes"
    if form.get("credits_position"):
        raw["credits_position"] = form.get("credits_position")
    censor = form.get("censor", "")
    if censor in ("on", "off"):
        raw["censor"] = censor == "on"
    elif censor == "custom":
        words: dict[str, str] = {}
        for number, line in enumerate(form.get("censor_words", "").splitlines(), 1):
            if not line.strip():
                continue
            word, sep, replacement = line.partition("=")
            if not sep or not word.strip() or not replacement.strip():
                errors["censor_words"] = f"line {number}: write word=replacement"
                break
            words[word.strip()] = replacement.strip()
        raw["censor"] = words
    try:
        options = RuleOptions.model_validate(raw).model_dump(mode="json", exclude_none=True)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        errors[str(first["loc"][0]) if first["loc"] else "_form"] = first["msg"]
        options = {}
    return options, errors


# -- credentials ------------------------------------------------------------------------------


def parse_credentials(
    fields: list[CredentialField], form: Any, existing: dict[str, str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """New credentials from the form; a blank input keeps the stored value (when editing)."""
    errors: dict[str, str] = {}
    result = dict(existing or {})
    for field in fields:
        value = form.get(f"cred_{field.name}", "")
        if not field.secret:
            value = value.strip()
        if len(value) > MAX_CREDENTIAL or "\x00" in value:
            errors[f"cred_{field.name}"] = "this value is not usable"
        elif value:
            result[field.name] = value
        elif field.required and not result.get(field.name):
            errors[f"cred_{field.name}"] = "required"
    return result, errors


def _seal(credentials: dict[str, str]) -> bytes | None:
    return vault.box().seal(credentials) if credentials else None


def scrub(message: str, credentials: dict[str, str]) -> str:
    """Never echo a credential back, even inside a platform's error message."""
    for value in credentials.values():
        if isinstance(value, str) and len(value) >= 4:
            message = message.replace(value, "[hidden]")
    return message


def verify(account: Account) -> tuple[bool, str]:
    """Ask the platform whether the credentials work; records the account's state."""
    adapter = registry.get(account.platform)
    session = db.session()

    def keep(updated: Any) -> None:  # a refreshed session or token, sealed for next time
        account.credentials = _seal(dict(updated))

    credentials = _open(account)
    if not credentials:
        account.state = "needs_attention"
        account.last_error = "no credentials are stored; enter them again"
        session.commit()
        return False, account.last_error
    try:
        name = adapter.check_auth(credentials, update_credentials=keep)
    except Unsupported as exc:
        return (
            False,
            f"{scrub(str(exc), credentials)}. The account is saved; its first post will tell.",
        )
    except AuthError as exc:
        account.state = "needs_attention"
        account.last_error = scrub(str(exc), credentials) or "the platform refused the credentials"
        account.last_checked_at = utcnow()
        session.commit()
        return False, account.last_error
    except PlatformError as exc:
        return False, f"could not check now: {scrub(str(exc), credentials)}"
    except Exception:  # an adapter bug must not show a stack trace, nor credentials
        log.exception("check_auth failed for account %s", account.id)
        return False, "could not check now: unexpected error (see the server log)"
    if account.state == "needs_attention":
        account.state = "ok"
    account.last_error = None
    account.last_checked_at = utcnow()
    session.commit()
    return True, f"Signed in as {name}."


# -- views ------------------------------------------------------------------------------------


@bp.get("/accounts")
def accounts() -> Any:
    rows = db.session().scalars(
        select(Account).where(Account.user_id == current_user().id).order_by(Account.id)
    )
    names = {a.id: a.name for a in registry.all_adapters()}
    importable = {a.id for a in registry.all_adapters() if a.can_import}
    return render(
        "web/accounts.html",
        accounts=list(rows),
        platforms=connectable(),
        names=names,
        importable=importable,
    )


def _render_form(
    adapter: Adapter,
    account: Account | None,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Any:
    return render(
        "web/account_form.html",
        status,
        adapter=adapter,
        account=account,
        fields=credential_fields(adapter),
        form=form,
        errors=errors,
    )


@bp.route("/accounts/new/<platform>", methods=["GET", "POST"])
def account_new(platform: str) -> Any:
    adapter = _adapter(platform)
    if request.method == "GET":
        return _render_form(adapter, None, {"name": "", **options_form({})}, {})
    form = request.form
    values = {"name": form.get("name", "").strip(), **options_form({})}
    values.update({k: form.get(k, "") for k in values if k != "name"})
    errors: dict[str, str] = {}
    if not values["name"] or len(values["name"]) > 200 or has_nul(values["name"]):
        errors["name"] = "give the account a name (1-200 characters), e.g. @you"
    credentials, cred_errors = parse_credentials(credential_fields(adapter), form, None)
    options, option_errors = parse_options(form)
    errors.update(cred_errors)
    errors.update(option_errors)
    if errors:
        return _render_form(adapter, None, values, errors, 400)
    account = Account(
        user_id=current_user().id,
        platform=adapter.id,
        name=values["name"],
        credentials=_seal(credentials),
        options=options,
        state="ok",
    )
    session = db.session()
    session.add(account)
    session.commit()
    ok, message = verify(account)
    flash(f"Connected {adapter.name} account {account.name}. {message}", None if ok else "error")
    return redirect(url_for("web.accounts"))


@bp.route("/accounts/<int:account_id>", methods=["GET", "POST"])
def account_edit(account_id: int) -> Any:
    account = _get(account_id)
    adapter = _adapter(account.platform)
    if request.method == "GET":
        return _render_form(
            adapter, account, {"name": account.name, **options_form(account.options)}, {}
        )
    form = request.form
    values = {"name": form.get("name", "").strip(), **options_form({})}
    values.update({k: form.get(k, "") for k in values if k != "name"})
    errors: dict[str, str] = {}
    if not values["name"] or len(values["name"]) > 200 or has_nul(values["name"]):
        errors["name"] = "give the account a name (1-200 characters)"
    fields = credential_fields(adapter)
    changed = any(form.get(f"cred_{f.name}") for f in fields)
    credentials, cred_errors = parse_credentials(fields, form, _open(account))
    options, option_errors = parse_options(form)
    errors.update(cred_errors)
    errors.update(option_errors)
    if errors:
        return _render_form(adapter, account, values, errors, 400)
    account.name = values["name"]
    account.options = options
    if changed:
        account.credentials = _seal(credentials)
        if account.state == "needs_attention":
            account.state, account.last_error = "ok", None
    db.session().commit()
    message = "Saved."
    if changed:
        ok, result = verify(account)
        message = f"Saved. {result}"
        flash(message, None if ok else "error")
    else:
        flash(message)
    return redirect(url_for("web.accounts"))


@bp.post("/accounts/<int:account_id>/verify")
def account_verify(account_id: int) -> Any:
    account = _get(account_id)
    ok, message = verify(account)
    flash(f"{account.name}: {message}", None if ok else "error")
    return redirect(url_for("web.accounts"))


@bp.post("/accounts/<int:account_id>/pause")
def account_pause(account_id: int) -> Any:
    account = _get(account_id)
    account.state = "paused"
    db.session().commit()
    flash(f"{account.name} is paused: nothing is posted to it until you resume it.")
    return redirect(url_for("web.accounts"))


@bp.post("/accounts/<int:account_id>/resume")
def account_resume(account_id: int) -> Any:
    account = _get(account_id)
    if account.state == "paused":
        account.state = "ok"
        db.session().commit()
        flash(f"{account.name} is active again.")
    return redirect(url_for("web.accounts"))


@bp.post("/accounts/<int:account_id>/delete")
def account_delete(account_id: int) -> Any:
    session = db.session()
    account = _get(account_id)
    name = account.name
    session.delete(account)
    session.commit()
    flash(f"Disconnected {name}; its credentials are forgotten.")
    return redirect(url_for("web.accounts"))
