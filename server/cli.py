"""The ``creditline`` command: run the service and the worker, manage the database, users,
tokens and the people directory."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
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
    # With the reloader, only the child process (WERKZEUG_RUN_MAIN) may start the worker,
    # or every delivery tick would run twice.
    reloader_parent = debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true"
    scheduler = None
    if not no_worker and not reloader_parent:
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
