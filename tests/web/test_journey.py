"""The artist's main journey in Debian's Chromium, driven by Playwright (no `playwright
install`: the browser is /usr/bin/chromium, see .ci/chromium.sh):

first run → two people → a Mastodon account on the loopback server → compose with credits →
the live preview shows exactly the Mastodon text → schedule in the artist's time zone → the
delivery engine runs (synchronously, as in tests/server/test_delivery_runs.py) → the
deliveries page says posted, with a link to the post.

Screenshots of compose and deliveries (desktop and 390 px wide) are written to the test's tmp
dir and copied to tests/web/artifacts/. Without Chromium or Playwright the test skips, unless
CREDITLINE_REQUIRE_BROWSER=1, when it fails.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from adapters.preview import render_preview
from server import db
from server.delivery import queue, runner
from server.models import Delivery
from tests.server.helpers import png_bytes

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("CREDITLINE_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(__file__).parent / "artifacts"
ZONE = "Europe/Berlin"
WORKER = "journey-worker"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"CREDITLINE_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed (pip install playwright)")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no Chromium at {CHROMIUM} (run .ci/chromium.sh as root)")
    return sync_playwright


@pytest.fixture
def live_server(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def browser_page(sync_playwright, playwright_session, tmp_path):
    p = playwright_session  # one shared driver per run (tests/conftest.py)
    try:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    except Exception as exc:  # a broken install is a missing browser too
        _unavailable(f"Chromium at {CHROMIUM} did not start: {exc}")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        yield page, errors
    finally:
        context.close()
        browser.close()


def shoot(page, tmp_path: Path, name: str, database: str) -> None:
    """Full-page screenshots, desktop and phone width, into tmp and tests/web/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    for label, width in (("desktop", 1280), ("390px", 390)):
        page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
        page.wait_for_timeout(150)
        target = tmp_path / f"{name}-{label}.png"
        page.screenshot(path=str(target), full_page=True)
        if database == "sqlite":  # one set is enough; both backends render the same pages
            shutil.copy(target, ARTIFACTS / target.name)
        # nothing may stick out sideways at phone width
        if width == 390:
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} scrolls sideways at 390 px ({overflow} px)"
    page.set_viewport_size({"width": 1280, "height": 900})


def expected_mastodon_text(app) -> str:
    people = {
        "tanraak": {
            "name": "Tanraak",
            "primary": "furaffinity",
            "accounts": {"furaffinity": "tanraak", "mastodon": "tanraak@furry.engineer"},
        },
        "hyena": {
            "name": "Hyena Dude",
            "primary": "twitter",
            "accounts": {"twitter": "hyena_dude", "mastodon": "hyena@furry.engineer"},
        },
    }
    draft = {
        "title": "Trisk at dusk",
        "description": "Commission for @[hyena]. Support me on Patreon! {credits}",
        "rating": "mature",
        "tags": ["hyena", "digital art"],
        "alt_text": "A hyena in a red scarf at sunset",
        "credits": [
            {"role": "artist", "person": "tanraak"},
            {"role": "commissioner", "person": "hyena"},
            {"role": "character_owner", "person": "hyena", "character": "Trisk"},
        ],
        "canonical_url": app.config["PUBLIC_URL"].rstrip("/") + "/a/xxxxxxxxxx",
    }
    result = render_preview({"artwork": draft, "people": people, "platforms": ["mastodon"]})[
        "mastodon"
    ]
    assert result["ok"], result
    return result["text"]


def test_artist_journey(app, live_server, browser_page, mastodon, tmp_path, database_url):
    page, js_errors = browser_page
    database = database_url.split(":")[0]
    base = live_server

    # -- first run ------------------------------------------------------------------------
    page.goto(base + "/")
    page.wait_for_url("**/app/setup")
    page.fill("#username", "tanraak")
    page.fill("#password", "a good long password")
    page.fill("#confirm", "a good long password")
    page.select_option("#timezone", ZONE)
    page.click("text=Create my user")
    page.wait_for_url("**/app/people")
    assert "Welcome, tanraak" in page.text_content(".flashes")

    # -- two people -----------------------------------------------------------------------
    for key, name, handles, primary in (
        (
            "tanraak",
            "Tanraak",
            {"furaffinity": "tanraak", "mastodon": "tanraak@furry.engineer"},
            "furaffinity",
        ),
        (
            "hyena",
            "Hyena Dude",
            {"twitter": "hyena_dude", "mastodon": "hyena@furry.engineer"},
            "twitter",
        ),
    ):
        page.click("text=Add a person")
        page.fill("#key", key)
        page.fill("#name", name)
        for platform, handle in handles.items():
            page.fill(f"#handle_{platform}", handle)
        page.select_option("#primary", primary)
        page.click("button:has-text('Save')")
        page.wait_for_url("**/app/people")
        assert f"Added {name}" in page.text_content(".flashes")
    assert page.locator(".person").count() == 2

    # -- a Mastodon account on the loopback server ------------------------------------------
    page.click("nav >> text=Accounts")
    page.click(".platform-picker >> text=Mastodon")
    page.fill("#name", "@tanraak")
    assert page.get_attribute("#cred_access_token", "type") == "password"
    page.fill("#cred_instance", mastodon.base_url)
    page.fill("#cred_access_token", "tok")
    page.click("text=Connect and verify")
    page.wait_for_url("**/app/accounts")
    assert "Signed in as @tanraak@" in page.text_content(".flashes")
    card = page.locator(".account").first
    assert card.locator(".badge").text_content() == "OK"
    assert card.locator(".credentials").text_content() == "set"
    assert "tok" not in card.inner_text().split("Credentials")[1].split("\n")[1]

    # -- compose with credits -------------------------------------------------------------
    page.click("nav >> text=Compose")
    picture = tmp_path / "trisk.png"
    picture.write_bytes(png_bytes((640, 400), (180, 60, 40)))
    page.set_input_files("#images", str(picture))
    page.fill("#alt_text_0", "A hyena in a red scarf at sunset")
    page.fill("#title", "Trisk at dusk")
    page.click("#description")
    page.keyboard.type("Commission for @[hy")
    suggestion = page.locator("#mention-suggest li").first
    suggestion.wait_for()
    assert "Hyena Dude" in suggestion.text_content()
    page.keyboard.press("Enter")
    page.keyboard.type(". Support me on Patreon! {credits}")
    assert page.input_value("#description") == (
        "Commission for @[hyena]. Support me on Patreon! {credits}"
    )
    page.select_option("#credit_role_0", "artist")
    page.select_option("#credit_person_0", "tanraak")
    page.select_option("#credit_role_1", "commissioner")
    page.select_option("#credit_person_1", "hyena")
    page.select_option("#credit_role_2", "character_owner")
    page.select_option("#credit_person_2", "hyena")
    page.fill("#credit_character_2", "Trisk")
    page.check("input[name=rating][value=mature]")
    page.fill("#tags", "hyena, digital art")
    page.check("input[name=account]")  # the one Mastodon account

    # -- the live preview shows exactly what Mastodon gets ---------------------------------
    expected = expected_mastodon_text(app)
    mastodon_card = page.locator(".preview-card[data-platform=mastodon]")
    page.wait_for_function(
        "t => { const e = document.querySelector("
        "'.preview-card[data-platform=mastodon] [data-preview-text]');"
        " return e && e.textContent === t; }",
        arg=expected,
    )
    assert page.locator(".preview-card").count() == 1  # only the chosen account
    assert "@hyena@furry.engineer" in expected and "Trisk" in expected
    counter = mastodon_card.locator(".counter").text_content()
    assert counter.endswith("/ 500")
    assert mastodon_card.locator(".preview-error").count() == 0

    # -- schedule, in the artist's time zone ------------------------------------------------
    zone = ZoneInfo(ZONE)
    local = (dt.datetime.now(zone) + dt.timedelta(days=1)).replace(
        hour=10, minute=30, second=0, microsecond=0
    )
    page.fill("#scheduled_at", local.strftime("%Y-%m-%dT%H:%M"))
    assert page.is_checked("#when-later")  # picking a time chose "At"
    shoot(page, tmp_path, "compose", database)
    page.click("button:has-text('Post / schedule')")
    page.wait_for_url("**/app/artworks/*")
    assert "Scheduled for" in page.text_content(".flashes")
    delivery = page.locator(".delivery").first
    assert delivery.locator(".badge").text_content() == "Scheduled"
    assert f"{local:%Y-%m-%d %H:%M}" in delivery.text_content()
    with db.session_scope(app) as session:
        [row] = session.scalars(select(Delivery)).all()
        assert row.state == "scheduled"
        assert row.scheduled_at == local.astimezone(dt.UTC)
        when = row.scheduled_at

    # -- the delivery engine runs (synchronously) --------------------------------------------
    with db.session_scope(app) as session:
        assert queue.claim(session, WORKER, when - dt.timedelta(seconds=5), 10, 60) == []
    with db.session_scope(app) as session:
        ids = queue.claim(session, WORKER, when + dt.timedelta(seconds=1), 10, 60)
    assert [runner.run(app, i, WORKER) for i in ids] == ["posted"]
    [status] = mastodon.statuses
    assert "Hyena Dude" in status["content"] or "hyena" in status["content"]

    # -- the deliveries page shows it posted ------------------------------------------------
    page.click("nav >> text=Deliveries")
    done = page.locator(".delivery[data-state=posted]")
    assert done.count() == 1
    assert done.locator(".badge").text_content() == "Posted"
    assert done.locator("a.posted-link").get_attribute("href") == status["url"]
    assert "Trisk at dusk" in done.text_content()
    shoot(page, tmp_path, "deliveries", database)

    assert js_errors == []
