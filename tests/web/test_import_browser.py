"""Import from the web app in Debian's Chromium (Playwright), against the loopback Mastodon
server: the accounts page's Import button → Start import → the page polls its JSON (the
CSP allows no inline script: static/js/import.js) while a worker thread runs the import jobs
tick → the bar reaches 100% and the page shows how many posts were imported, with the link
to confirm the proposed credits.

Skips without Chromium or Playwright, unless CREDITLINE_REQUIRE_BROWSER=1 (see
tests/web/test_journey.py, whose fixtures it uses).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from server import import_jobs
from tests.server.test_import import MediaMastodon, encoded, picture
from tests.web.conftest import PASSWORD, Browser, connect_mastodon, make_user
from tests.web.test_journey import browser_page, live_server, shoot, sync_playwright

__all__ = ["browser_page", "live_server", "sync_playwright"]  # fixtures used below

POSTS = 6


@pytest.fixture
def media_mastodon() -> Iterator[MediaMastodon]:
    server = MediaMastodon(tokens={"tok": "tanraak"})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def worker(app) -> Iterator[None]:
    """The worker's import tick, every 0.2 s in a thread, as ``creditline worker`` runs it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(0.2):
            import_jobs.tick(app, "browser-test-worker")

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(30)


def test_import_shows_a_live_progress_bar(
    app, live_server, browser_page, media_mastodon, worker, tmp_path, database_url
):
    page, js_errors = browser_page
    app.config["IMPORT_ALLOW_LOOPBACK"] = True
    app.config["IMPORT_PROGRESS_SECONDS"] = 0
    for i in range(POSTS):
        text = f"Piece {i}" + ("\n\nCommission for @hyena@furry.engineer" if i == 2 else "")
        media_mastodon.add_image_status("tanraak", text, encoded(picture(900 + i)))
    make_user(app, "tanraak")
    client = Browser(app.test_client())
    client.sign_in("tanraak")
    account_id = connect_mastodon(client, media_mastodon)

    page.goto(live_server + "/app/login")
    page.fill("#username", "tanraak")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/app/**")
    page.goto(live_server + "/app/accounts")
    page.click(f"#account-{account_id} >> text=Import")
    page.wait_for_url(f"**/app/accounts/{account_id}/import")
    page.click("text=Start import")
    page.wait_for_selector("#import-bar")

    # the bar fills as the worker goes, without reloading the page
    page.wait_for_function(
        "() => document.getElementById('import-percent').textContent === '100%'",
        timeout=60_000,
    )
    assert page.evaluate("document.getElementById('import-bar').value") == POSTS
    assert page.evaluate("document.getElementById('import-bar').max") == POSTS
    assert page.text_content("#import-imported") == str(POSTS)
    assert page.text_content("#import-counts") == f"{POSTS} of {POSTS} posts read, {POSTS} imported"
    assert page.is_visible("#import-result")
    assert page.text_content("#import-proposal-count") == "1"
    assert "Done" in page.text_content("#import-progress h2")
    shoot(page, tmp_path, "import", database_url.split(":")[0])

    page.click("#import-proposals")
    page.wait_for_url(f"**/app/accounts/{account_id}/import/proposals")
    assert "hyena@furry.engineer" in page.text_content(".proposals")
    assert js_errors == []
