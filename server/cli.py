"""The ``creditline`` command: run the service and the worker, manage the database, users,
tokens and the people directory."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

import alembic.util
import click
import sqlalchemy.exc
from flask import Flask

from server import auth, db, directory
from server.api.spec import validate
from server.app import create_app
from server.crypto import KeyFileError
from server.errors import ApiError
from server.models import User
from server.schemas import PeopleImport

log = logging.getLogger(__name__)


def _app(ctx: click.Context) -> Flask:
    if ctx.obj is None:
        try:
            app = create_app()
        except (RuntimeError, KeyFileError, sqlalchemy.exc.ArgumentError) as exc:
            raise click.ClickException(f"configuration: {exc}") from exc
        ctx.obj = app
        ctx.call_on_close(db.engine_for(app).dispose)  # no pooled connection outlives a command
    return ctx.obj


def _user(session: Any, username: str) -> User:
    from sqlalchemy import select

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(
            f"no user {username!r}; create one with 'creditline user create'"
        )
    return user


class _Main(click.Group):
    """Turns database trouble (unreachable, not migrated, unknown revision) into a one-line
    error instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except alembic.util.CommandError as exc:
            raise click.ClickException(f"migration: {exc}") from exc
        except sqlalchemy.exc.DBAPIError as exc:
            reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
            raise click.ClickException(
                f"database: {reason} (is it reachable, and migrated with 'creditline db upgrade'?)"
            ) from exc


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Creditline: post artworks to many sites with every credit intact.

    Settings come from CREDITLINE_* environment variables (see the README); by default the data
    lives in ./instance (SQLite database, credential key, uploaded images).
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:  # a line every dispatch tick is noise; problems are still warnings
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--no-worker", is_flag=True, help="Serve HTTP only; run 'creditline worker' apart.")
@click.option("--debug", is_flag=True, help="Flask's debugger and reloader (development only).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, no_worker: bool, debug: bool) -> None:
    """Upgrade the database, then serve the web app and API with an in-process worker."""
    from server.worker import build_scheduler

    app = _app(ctx)
    db.upgrade(db.engine_for(app))
    scheduler = None
    if starts_worker(no_worker, debug, os.environ):
        scheduler = build_scheduler(app)
        scheduler.start()
    click.echo(f"Creditline on http://{host}:{port}/ (database: {db.engine_for(app).dialect.name})")
    try:
        if debug:
            app.run(host=host, port=port, debug=True)
        else:
            import waitress

            waitress.serve(app, host=host, port=port, threads=8, ident="creditline")
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def starts_worker(no_worker: bool, debug: bool, environ: Mapping[str, str]) -> bool:
    """Whether this ``serve`` process runs the in-process worker.

    With the reloader (``--debug``) Flask runs the app in a child process marked
    ``WERKZEUG_RUN_MAIN``; only that child may start it, or every tick would run twice.
    """
    return not no_worker and (not debug or environ.get("WERKZEUG_RUN_MAIN") == "true")


@main.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the delivery worker alone (for extra worker processes or machines)."""
    from server.worker import build_scheduler

    app = _app(ctx)
    db.upgrade(db.engine_for(app))
    click.echo("worker running; Ctrl-C stops it")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        build_scheduler(app, blocking=True).start()


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create or migrate the tables (safe to run repeatedly)."""
    app = _app(ctx)
    db.upgrade(db.engine_for(app), revision)
    click.echo(f"database at {revision}")


@main.group("user")
def user_group() -> None:
    """Artist accounts on this instance."""


@user_group.command("create")
@click.argument("username")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="CREDITLINE_PASSWORD",
    help="Read from a prompt or $CREDITLINE_PASSWORD.",
)
@click.pass_context
def user_create(ctx: click.Context, username: str, password: str) -> None:
    """Create a user who can sign in and hold API tokens."""
    app = _app(ctx)
    db.upgrade(db.engine_for(app))
    with db.session_scope(app) as session:
        try:
            auth.create_user(session, username, password)
        except ValueError as exc:  # exists already, or not a valid user name
            raise click.ClickException(str(exc)) from exc
    click.echo(f"created user {username}")


@main.group("token")
def token_group() -> None:
    """API tokens."""


@token_group.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label to recognise it by.")
@click.pass_context
def token_create(ctx: click.Context, username: str, name: str) -> None:
    """Print a new API token for USERNAME (shown once; only its hash is stored)."""
    app = _app(ctx)
    with db.session_scope(app) as session:
        token = auth.create_token(session, _user(session, username), name)
    click.echo(token)


@main.group("people")
def people_group() -> None:
    """The people directory (who you credit)."""


@people_group.command("import")
@click.argument("file", type=click.File("r"))
@click.option("--user", "username", required=True, help="Whose directory.")
@click.pass_context
def people_import(ctx: click.Context, file: Any, username: str) -> None:
    """Create or update people from a JSON file ({"people": [...]}, as 'export' writes)."""
    app = _app(ctx)
    try:
        data = validate(PeopleImport, json.load(file))
    except ApiError as exc:  # the API's own validation, so both paths accept the same files
        raise click.ClickException(f"{file.name}: {exc.message}") from exc
    except (ValueError, RecursionError) as exc:
        raise click.ClickException(f"{file.name}: not valid JSON: {exc}") from exc
    with db.session_scope(app) as session:
        try:
            created, updated = directory.import_people(
                session, _user(session, username), data.people
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{created} created, {updated} updated")


@people_group.command("export")
@click.argument("file", type=click.File("w"), default="-")
@click.option("--user", "username", required=True, help="Whose directory.")
@click.pass_context
def people_export(ctx: click.Context, file: Any, username: str) -> None:
    """Write the directory as JSON to FILE (default: standard output)."""
    app = _app(ctx)
    with db.session_scope(app) as session:
        people = directory.export_people(session, _user(session, username))
    json.dump({"people": people}, file, indent=2, ensure_ascii=False)
    file.write("\n")


@main.command()
@click.argument("draft", type=click.File("r"))
@click.option(
    "-p",
    "--platform",
    "platforms",
    multiple=True,
    help="Only this platform (repeatable); default: those the draft lists, or all.",
)
@click.option("--user", "username", help="Fill missing 'people' from this user's directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the preview API's JSON instead.")
@click.pass_context
def preview(
    ctx: click.Context, draft: Any, platforms: tuple[str, ...], username: str | None, as_json: bool
) -> None:
    """Show what each platform would receive for DRAFT (the preview API's request JSON)."""
    from adapters.errors import DraftError
    from server import previews

    try:
        payload = json.load(draft)
    except ValueError as exc:
        raise click.ClickException(f"{draft.name}: not valid JSON: {exc}") from exc
    if platforms and isinstance(payload, dict):
        payload["platforms"] = list(platforms)
    try:
        if username:
            app = _app(ctx)
            with db.session_scope(app) as session:
                result = previews.preview(payload, session, _user(session, username))
        else:
            result = previews.preview(payload)
    except DraftError as exc:
        where = f" ({exc.field})" if exc.field else ""
        raise click.ClickException(f"{exc.message}{where}") from exc
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    for platform, post in result.items():
        click.echo(_format_post(platform, post))


def _format_post(platform: str, post: dict[str, Any]) -> str:
    """A human-readable block per platform: status line, then the main text fields."""
    if not post.get("ok"):
        return f"== {platform}: CANNOT POST\n{post.get('error')}\n"
    limit = post.get("limit")
    counter = f" {post.get('length')}/{limit}" if limit else ""
    lines = [f"== {platform}{counter}"]
    for field in ("title", "text", "description", "keywords"):
        if post.get(field):
            lines += [f"-- {field}", str(post[field])]
    for i, reply in enumerate(post.get("replies") or [], 1):
        lines += [f"-- reply {i}", str(reply)]
    lines += [f"!! {warning}" for warning in post.get("warnings") or []]
    return "\n".join(lines) + "\n"


@main.command()
@click.argument("artwork_id", type=int)
@click.option(
    "--to",
    "accounts",
    multiple=True,
    required=True,
    type=int,
    help="Account id to post to (repeatable); see GET /api/v1/accounts.",
)
@click.option("--at", "when", help="When, e.g. 2026-12-01T18:00+01:00; default: now.")
@click.option("--user", "username", required=True, help="Whose artwork.")
@click.pass_context
def post(
    ctx: click.Context, artwork_id: int, accounts: tuple[int, ...], when: str | None, username: str
) -> None:
    """Queue ARTWORK_ID for posting to accounts, now or at a time (with its time zone)."""
    import datetime as dt

    from server import artworks, deliveries

    scheduled = None
    if when:
        try:
            scheduled = dt.datetime.fromisoformat(when)
        except ValueError as exc:
            raise click.ClickException(f"--at: not an ISO 8601 time: {when!r}") from exc
        if scheduled.tzinfo is None:
            raise click.ClickException("--at needs a time zone, e.g. 2026-12-01T18:00+01:00")
    app = _app(ctx)
    with db.session_scope(app) as session:
        user = _user(session, username)
        artwork = artworks.find(session, user, artwork_id)
        if artwork is None:
            raise click.ClickException(f"{username} has no artwork {artwork_id}")
        try:
            pairs = deliveries.create_for(
                session, user, artwork, list(accounts), scheduled, app.config["PUBLIC_URL"]
            )
        except deliveries.CannotDeliver as exc:
            raise click.ClickException(exc.message) from exc
        for delivery, created in pairs:
            note = "queued" if created else "already queued"
            click.echo(
                f"delivery {delivery.id} to {delivery.account.platform} "
                f"({delivery.account.name}): {note} for "
                f"{delivery.scheduled_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
            )


@main.command("deliveries")
@click.option("--user", "username", required=True, help="Whose deliveries.")
@click.option("--artwork", "artwork_id", type=int, help="Only this artwork's.")
@click.option("--watch", is_flag=True, help="Refresh every 2 s until all are finished.")
@click.pass_context
def deliveries_command(
    ctx: click.Context, username: str, artwork_id: int | None, watch: bool
) -> None:
    """Show deliveries and their state; --watch follows them until they are done."""
    import time

    from sqlalchemy import select

    from server.delivery.queue import TERMINAL_STATES
    from server.models import Account, Delivery

    app = _app(ctx)
    while True:
        with db.session_scope(app) as session:
            user = _user(session, username)
            query = (
                select(Delivery)
                .join(Account)
                .where(Account.user_id == user.id)
                .order_by(Delivery.id.desc())
                .limit(50)
            )
            if artwork_id is not None:
                query = query.where(Delivery.artwork_id == artwork_id)
            rows = list(session.scalars(query))
            lines = [_delivery_line(d) for d in rows]
            pending = [d for d in rows if d.state not in TERMINAL_STATES]
        click.echo("\n".join(lines) if lines else "no deliveries")
        if not watch or not pending:
            return
        done = len(rows) - len(pending)
        click.echo(f"-- {done}/{len(rows)} finished; refreshing (Ctrl-C stops watching)")
        time.sleep(2)


def _delivery_line(d: Any) -> str:
    where = d.remote_url or (d.last_error or "")
    return (
        f"{d.id:>6}  artwork {d.artwork_id:<5} {d.account.platform:<12} {d.state:<16} "
        f"attempts {d.attempts}  {where}"
    )


@main.command("import")
@click.argument("account_id", type=int)
@click.option("--user", "username", required=True, help="Whose account.")
@click.option(
    "--since",
    help="Only posts made on or after this date, e.g. 2024-01-31 (in the user's time zone, "
    "as in the web app, unless it names an offset).",
)
@click.option("--limit", type=click.IntRange(1, 10_000), help="Read at most this many posts.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def import_command(
    ctx: click.Context,
    account_id: int,
    username: str,
    since: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """Import ACCOUNT_ID's existing posts: each picture becomes an artwork (or joins the one
    that already shows it) and each post a copy; run it again to add only what is new."""
    import datetime as dt
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from server import importer

    app = _app(ctx)
    with db.session_scope(app) as session:
        user = _user(session, username)
        user_id, zone_name = user.id, user.timezone or "UTC"
    when = None
    if since:
        try:
            zone: dt.tzinfo = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = dt.UTC
        try:
            when = dt.datetime.fromisoformat(since)
            if not 1970 <= when.year <= 9999:
                raise ValueError("the year must be between 1970 and 9999")
            if when.tzinfo is None:  # a bare date is that day in the user's zone, as on the web
                when = when.replace(tzinfo=zone)
            when = when.astimezone(dt.UTC)
        except (ValueError, OverflowError) as exc:
            raise click.ClickException(
                f"--since: not an ISO 8601 date between 1970 and 9999: {since!r}"
            ) from exc
    bar: Any = None

    def progress(done: int, total: int, _post: Any) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="importing", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        report = importer.run(app, user_id, account_id, since=when, limit=limit, progress=progress)
    except importer.ImportFailed as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    result = report.as_dict()
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    click.echo(
        f"{report.imported} imported ({report.new_artworks} new artworks, {report.grouped} "
        f"added to existing ones), {report.skipped} already known, {len(report.ignored)} "
        f"ignored, {len(report.failed)} failed; {report.proposals} credits proposed"
    )
    for problem in report.failed:
        click.echo(f"failed: {problem['url']}: {problem['reason']}")
    for warning in report.warnings:
        click.echo(f"warning: {warning['url']}: {warning['warning']}")


@main.command("backfill-detail")
@click.pass_context
def backfill_detail(ctx: click.Context) -> None:
    """Give fingerprints stored before the detail grid (migration 0009) their grid, so their
    matches are verified like new ones (docs/FINGERPRINT.md §7b). Safe to interrupt and rerun."""
    from server.registry import backfill

    def progress(done: backfill.Backfill, total: int) -> None:
        click.echo(f"{done.rows}/{total} rows looked at, {done.filled} filled", err=True)

    result = backfill.run(_app(ctx), progress)
    click.echo(
        f"{result.rows} rows, {result.filled} rows filled, {result.unchanged} left as they "
        f"were (the picture now fingerprints differently), {result.failed} unreadable"
    )


@main.group("conflicts")
def conflicts_group() -> None:
    """Registry conflicts: an image registered by two users (server/registry/conflicts.py)."""


@conflicts_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Decided conflicts too.")
@click.option("--appealed", is_flag=True, help="Only conflicts under appeal (yours to decide).")
@click.pass_context
def conflicts_list(ctx: click.Context, show_all: bool, appealed: bool) -> None:
    """One line per conflict waiting for a decision (open, or an owner's decision under
    appeal): id, state, who decided, APPEALED while an appeal waits (``appeal-done`` once an
    operator decided it), earlier and later artwork with their owners' ids; an appeal's
    reason follows on its own line."""
    from server.registry import conflicts

    if show_all and appealed:
        raise click.UsageError("give --all or --appealed, not both")
    which = "all" if show_all else "appealed" if appealed else "waiting"
    with db.session_scope(_app(ctx)) as session:
        rows = conflicts.listing(session, which)
    for r in rows:
        mark = "APPEALED" if r.under_appeal else "appeal-done" if r.appealed_at else "-"
        click.echo(
            f"{r.id:>6}  {r.state:<12}  by {r.decided_by or '-':<8}  {mark:<11}  earlier "
            f"artwork {r.earlier_artwork} (user {r.earlier_owner})  later artwork "
            f"{r.later_artwork} (user {r.later_owner})  distance {r.distance}"
        )
        if r.appealed_at is not None:
            reason = f'"{r.appeal_reason}"' if r.appeal_reason else "(no reason given)"
            click.echo(f"{'':>6}  appealed {r.appealed_at:%Y-%m-%d %H:%M} UTC: {reason}")
    if not rows:
        click.echo(
            {"all": "no conflicts", "appealed": "no conflicts under appeal"}.get(
                which, "no open or appealed conflicts"
            )
        )


@conflicts_group.command("resolve")
@click.argument("conflict_id", type=int)
@click.argument("decision", type=click.Choice(["keep_first", "give_second", "separate"]))
@click.pass_context
def conflicts_resolve(ctx: click.Context, conflict_id: int, decision: str) -> None:
    """Decide a conflict as the operator (may change an earlier decision; closes an appeal)."""
    from server.models import RegistryConflict
    from server.registry import conflicts

    with db.session_scope(_app(ctx)) as session:
        conflict = session.get(RegistryConflict, conflict_id)
        if conflict is None:
            raise click.ClickException(f"no conflict {conflict_id}")
        appealed = conflicts.is_under_appeal(conflict)
        try:
            state = conflicts.resolve(session, conflict, decision, operator=True).state
        except conflicts.ChangedMeanwhile as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"conflict {conflict_id}: {state}" + (" (appeal closed)" if appealed else ""))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
