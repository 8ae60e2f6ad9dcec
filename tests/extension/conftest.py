"""Fixtures for the extension's end-to-end tests: a real Creditline registry with published
works, fake sites on loopback HTTPS, and Debian's Chromium with the unpacked extension
(the recipe in the shared reference ``browser-testing.md``).

The browser tests fail under ``CREDITLINE_REQUIRE_BROWSER=1`` when Chromium or Playwright is
missing, and skip with the reason otherwise.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.extension import harness

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "extension"
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("CREDITLINE_REQUIRE_BROWSER") == "1"

X_POST = "https://x.com/tanraak/status/1790000000000000001"
BSKY_POST = "https://bsky.app/profile/tanraak.bsky.social/post/3kzqw2xyzab22"
EVIL_NAME = '<img src=x onerror="window.pwned=1">Evil <b>Fox</b>'


def _need_browser() -> Any:
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright Python package is not installed (pip install playwright)"
    else:
        if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
            problem = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if problem:
        if REQUIRE_BROWSER:
            pytest.fail(f"CREDITLINE_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(problem)
    return sync_playwright


# -- the registry --------------------------------------------------------------------------------


class Works(dict):
    """name -> public id, plus the artwork images for the pages."""

    images: dict[str, Any]


def _publish(client: Any, token: str, artwork: dict[str, Any], png: bytes) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    boundary, body = encode_multipart(
        {
            "artwork": json.dumps(artwork),
            "images": [
                FileStorage(stream=io.BytesIO(png), filename="a.png", content_type="image/png")
            ],
        }
    )
    r = client.post(
        "/api/v1/artworks",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers,
    )
    assert r.status_code == 201, r.get_json()
    artwork_id = r.get_json()["id"]
    r = client.post(f"/api/v1/artworks/{artwork_id}/publish", headers=headers)
    assert r.status_code == 200, r.get_json()
    doc = r.get_json()
    assert doc["registration"] == "registered", doc
    return artwork_id, doc["work"]["public_id"]


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.RegistryServer]:
    from adapters import registry as platforms
    from server import auth, create_app, db
    from server.models import Copy

    base = tmp_path_factory.mktemp("registry")
    url = f"sqlite:///{base / 'creditline.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    app = create_app(
        {"TESTING": True, "DATABASE_URL": url, "INSTANCE_PATH": str(base / "instance")}
    )
    with db.session_scope(app) as session:
        user = auth.create_user(session, "tanraak", "correct horse battery staple")
        token = auth.create_token(session, user, "tests")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    people = [
        {
            "key": "tanraak",
            "name": "Tanraak",
            "primary": "furaffinity",
            "accounts": {
                "furaffinity": "tanraak",
                "twitter": "tanraak",
                "bluesky": "tanraak.bsky.social",
                "mastodon": "tanraak@furry.engineer",
            },
        },
        {
            "key": "hyena",
            "name": "Hyena Dude",
            "accounts": {"twitter": "hyena_dude", "bluesky": "hyena.bsky.social"},
        },
        {"key": "buyer2", "name": "Second Buyer", "accounts": {"bluesky": "buyer2.bsky.social"}},
        {"key": "evil", "name": EVIL_NAME, "accounts": {"furaffinity": "somefriend"}},
    ]
    for p in people:
        r = client.post("/api/v1/people", json=p, headers=headers)
        assert r.status_code == 201, r.get_json()

    images = {
        "dusk": harness.artwork(1),
        "ych": harness.artwork(2),
        "ych_recolour": harness.artwork(2, hue_shift=110),
        "moonlit": harness.artwork(3, size=(900, 1100)),
    }
    specs = {
        "dusk": {
            "title": "Trisk at dusk",
            "rating": "general",
            "credits": [
                {"role": "artist", "person": "tanraak"},
                {"role": "commissioner", "person": "hyena"},
                {"role": "character_owner", "person": "hyena", "character": "Trisk"},
            ],
        },
        "ych": {
            "title": "Sunset YCH (Hyena's slot)",
            "rating": "general",
            "credits": [
                {"role": "artist", "person": "tanraak"},
                {"role": "commissioner", "person": "hyena"},
            ],
        },
        "ych_recolour": {
            "title": "Sunset YCH (second slot)",
            "rating": "general",
            "credits": [
                {"role": "artist", "person": "tanraak"},
                {"role": "commissioner", "person": "buyer2"},
            ],
        },
        "moonlit": {
            "title": "Moonlit",
            "rating": "general",
            "credits": [
                {"role": "artist", "person": "tanraak"},
                {"role": "trade_with", "person": "evil"},
            ],
        },
    }
    works = Works()
    ids = {}
    for name, spec in specs.items():
        ids[name], works[name] = _publish(client, token, spec, harness.encode(images[name]))
    with db.session_scope(app) as session:  # our own copies, as deliveries would record them
        for name, post in (("dusk", X_POST), ("ych", BSKY_POST)):
            platform = next(a for a in platforms.all_adapters() if a.parse_url(post))
            session.add(
                Copy(
                    artwork_id=ids[name],
                    url=post,
                    platform=platform.id,
                    remote_id=platform.parse_url(post),
                    source="import",
                )
            )
    works.images = images
    server = harness.RegistryServer(app)
    server.works = works
    yield server
    server.close()
    db.engine_for(app).dispose()


# -- the sites ----------------------------------------------------------------------------------

FEED_ITEM = """<article data-testid="tweet"><div>Someone @someone{n}</div>
<div data-testid="tweetText"><span>Random picture number {n}</span></div>
<div><div data-testid="tweetPhoto"><img alt="" src="https://pbs.twimg.com/media/Feed{n:02d}?format=jpg&amp;name=small"></div></div>
<a href="/someone{n}/status/18000000000000000{n:02d}"><time>1h</time></a></article>"""


GALLERY_SCALE = 0.5  # the Tumblr repost is 0.55: the worker's stats tell the two apart
GALLERY_POST = """<!doctype html><html><head><meta charset="utf-8"><title>Nice pic</title></head>
<body><h1>found this, no idea who drew it</h1>
<img src="https://media.gallery.example/full/77.jpg?v={n}" alt="">
<p>reposted by <a href="/u/somebody">somebody</a></p></body></html>"""


@pytest.fixture(scope="session")
def sites(
    registry: harness.RegistryServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[harness.SiteServer]:
    s = harness.SiteServer(tmp_path_factory.mktemp("tls"))
    images = registry.works.images
    s.page("x.com", "/tanraak/status/1790000000000000001", "x_status.html")
    s.image("pbs.twimg.com", "/media/TriskDusk01", harness.encode(images["dusk"]), "image/png")
    s.page("bsky.app", "/profile/tanraak.bsky.social/post/3kzqw2xyzab22", "bluesky_post.html")
    s.image(
        "cdn.bsky.app",
        "/img/feed_fullsize/plain/did:plc:tanraakexample/bafkreiych01@png",
        harness.encode(images["ych"]),
        "image/png",
    )
    s.page("www.furaffinity.net", "/view/4242/", "furaffinity_view.html")
    s.image(
        "d.furaffinity.net",
        "/art/tanraak/1700000000/1700000000.tanraak_moonlit.png",
        harness.encode(images["moonlit"]),
        "image/png",
    )
    s.page("www.tumblr.com", "/aesthetic-dump-blog/7000000000001", "tumblr_repost.html")
    s.image(
        "64.media.tumblr.com",
        "/0a1b2c3d/s640x960/repost.jpg",
        harness.repost_of(images["dusk"]),
        "image/jpeg",
    )
    for n in range(1, 4):  # one page per visit: the worker caches fingerprints by image URL
        s.html("gallery.example", f"/post/{n}", GALLERY_POST.replace("{n}", str(n)))
    gallery = harness.repost_of(images["dusk"], scale=GALLERY_SCALE)  # 600 × 450, its own size
    s.image("media.gallery.example", "/full/77.jpg", gallery, "image/jpeg")
    # a feed of 50 unregistered pictures, and one 1080p picture for the timing
    feed = "\n".join(FEED_ITEM.format(n=n) for n in range(50))
    template = (harness.PAGES / "x_feed.html").read_text()
    s.html("x.com", "/home", template.replace("<!-- FEED -->", feed))
    for n in range(50):
        s.image(
            "pbs.twimg.com",
            f"/media/Feed{n:02d}",
            harness.encode(harness.artwork(1000 + n, (680, 510)), "JPEG", quality=85),
            "image/jpeg",
        )
    s.image(
        "pbs.twimg.com",
        "/media/FullHD",
        harness.encode(harness.artwork(77, (1920, 1080)), "JPEG", quality=90),
        "image/jpeg",
    )
    yield s
    s.close()


# -- the browser --------------------------------------------------------------------------------


class Browser:
    def __init__(self, context: Any, worker: Any) -> None:
        self.context = context
        self.worker = worker
        self.extension_id = worker.url.split("/")[2]
        self.errors: list[str] = []


@contextlib.contextmanager
def launched(
    extension: Path, sites: harness.SiteServer, registry: harness.RegistryServer, playwright: Any
) -> Iterator[Browser]:
    """Chromium with the unpacked ``extension``, pointed at ``registry`` by its options page."""
    _need_browser()
    profile = tempfile.mkdtemp(prefix="creditline-ext-")
    args = [
        f"--disable-extensions-except={extension}",
        f"--load-extension={extension}",
        f"--host-resolver-rules={sites.resolver_rules()}",
        "--ignore-certificate-errors",
        "--no-sandbox",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--disable-gpu",
    ]
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        headless=True,
        args=args,
        viewport={"width": 900, "height": 1000},
    )
    try:
        worker = (
            context.service_workers[0]
            if context.service_workers
            else context.wait_for_event("serviceworker", timeout=15_000)
        )
        b = Browser(context, worker)

        def on_console(msg: Any) -> None:
            if msg.type == "error":
                b.errors.append(f"{msg.type}: {msg.text} @ {msg.location}")

        worker.on("console", on_console)
        context.on("weberror", lambda e: b.errors.append(f"weberror: {e.error}"))
        # point the extension at the registry through its options page
        page = context.new_page()
        page.on("console", on_console)
        page.goto(f"chrome-extension://{b.extension_id}/options/options.html")
        page.fill("#registry", registry.origin)
        page.click("#save")
        page.wait_for_selector("#status:text('Saved')", timeout=10_000)
        page.close()
        yield b
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(
    sites: harness.SiteServer, registry: harness.RegistryServer, playwright_session: Any
) -> Iterator[Browser]:
    with launched(EXTENSION, sites, registry, playwright_session) as b:  # one driver per run
        yield b


@pytest.fixture(scope="module")
def all_sites_browser(
    sites: harness.SiteServer,
    registry: harness.RegistryServer,
    playwright_session: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Browser]:
    """The extension as installed by a viewer who has granted "all sites": a copy whose
    manifest holds ``*://*/*`` from the start, since a headless browser cannot click the
    permission prompt. Everything else (the options page, the worker registering the generic
    script) is the extension's own code."""
    copy = tmp_path_factory.mktemp("extension") / "extension"
    shutil.copytree(EXTENSION, copy, ignore=shutil.ignore_patterns("node_modules", "test"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["host_permissions"] = [*manifest["host_permissions"], "*://*/*"]
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2))
    with launched(copy, sites, registry, playwright_session) as b:
        yield b


@pytest.fixture
def page(browser: Browser) -> Iterator[Any]:
    p = browser.context.new_page()

    def on_console(msg: Any) -> None:
        # the page's own messages are not ours; the extension's content scripts log here too
        if msg.type == "error" and "chrome-extension://" in str(msg.location):
            browser.errors.append(f"content: {msg.text} @ {msg.location}")

    p.on("console", on_console)
    p.on("pageerror", lambda e: browser.errors.append(f"pageerror: {e}"))
    yield p
    p.close()


def wait_until(fn: Any, timeout: float = 15.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@pytest.fixture(scope="session", autouse=True)
def _artifacts() -> None:
    ARTIFACTS.mkdir(exist_ok=True)
