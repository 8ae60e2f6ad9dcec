"""Import from FurAffinity, Weasyl, Inkbunny, DeviantArt, e621 and Tumblr (server/importer.py
through each adapter's ``fetch``), against the loopback peers in ``tests/peers/``.

Each peer answers its listing in the platform's documented shape and here also serves the
files (its media address is pointed at itself). For every platform: a seeded account of seven
posts read over three pages; ``since`` stops the listing at older posts; a second run adds
nothing and downloads nothing; a picture the artist already has (imported from Mastodon,
re-encoded) is grouped with that artwork; every new picture is fingerprinted; a credit written
in the platform's own syntax is proposed, not applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.deviantart import DeviantArt
from adapters.e621 import E621
from adapters.inkbunny import Inkbunny
from adapters.tumblr import Tumblr
from adapters.weasyl import Weasyl
from server import db, importer, media_guard
from server.models import Copy, Fingerprint
from tests.peers.deviantart_server import DeviantArtServer
from tests.peers.e621_server import E621Server
from tests.peers.furaffinity_server import FurAffinityServer
from tests.peers.inkbunny_server import InkbunnyServer
from tests.peers.tumblr_server import TumblrServer
from tests.peers.weasyl_server import WeasylServer
from tests.server.test_import import MediaMastodon, connect, encoded, picture, run_import

OLD = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
NEW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
SINCE = "2024-01-01T00:00:00Z"
PAGE = 3  # listing page size in these tests: seven posts are three pages


@dataclass
class Site:
    """One platform's peer, how to seed a post on it, and the account's credentials."""

    platform: str
    server: Any
    credentials: dict[str, str]
    mention: str  # a credit in the platform's syntax
    expected: tuple[str, str]  # (platform, handle) it is proposed as

    def seed(self, n: int, data: bytes, text: str, when: dt.datetime) -> None:
        stamp = int(when.timestamp())
        title = f"Piece {n}"
        s = self.server
        if self.platform == "furaffinity":
            s.add_submission("Tan_raak", title, data, message=text, rating="general", stamp=stamp)
        elif self.platform == "weasyl":
            iso = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            s.add_submission("Tan_raak", title, data, content=text, posted_at=iso)
        elif self.platform == "inkbunny":
            created = when.strftime("%Y-%m-%d %H:%M:%S.000000+00")
            s.add_submission("artist", title, data, description=text, created=created)
        elif self.platform == "deviantart":
            s.add_deviation("tanraak", title, data, description=text, published=stamp)
        elif self.platform == "e621":
            s.add_post(
                "other_uploader",  # on e621 others upload an artist's work, under their tag
                f"{title}\n\n{text}",
                data,
                tags="tanraak solo",
                rating="s",
                created_at=when.isoformat(),
            )
        elif self.platform == "tumblr":
            s.add_image_post("artist", [title, text], data, alt="alt", timestamp=stamp)
        else:  # pragma: no cover
            raise AssertionError(self.platform)

    def listing_requests(self) -> int:
        paths = {
            "furaffinity": "/gallery/",
            "weasyl": "/api/users/",
            "inkbunny": "/api_search.php",
            "deviantart": "/api/v1/oauth2/gallery/all",
            "e621": "/posts.json",
            "tumblr": "/v2/blog/artist/posts",
        }
        wanted = paths[self.platform]
        return sum(1 for r in self.server.requests if r.path.startswith(wanted))


def start(platform: str, monkeypatch: pytest.MonkeyPatch) -> Site:
    """The peer, started, with its media address pointed at itself; the adapter's page size
    (class data) made small so that seven posts take three pages."""
    if platform == "furaffinity":
        server = FurAffinityServer({("a-cookie", "b-cookie"): "Tan_raak"}, page_size=PAGE)
        server.start()
        creds = {"cookie_a": "a-cookie", "cookie_b": "b-cookie", "site": server.base_url}
        return Site(platform, server, creds, ":iconhyenadude:", ("furaffinity", "hyenadude"))
    if platform == "weasyl":
        monkeypatch.setattr(Weasyl, "page_size", PAGE)
        server = WeasylServer({"api-key": "Tan_raak"})
        server.start()
        creds = {"api_key": "api-key", "site": server.base_url}
        return Site(platform, server, creds, "<!~hyenadude>", ("weasyl", "hyenadude"))
    if platform == "inkbunny":
        monkeypatch.setattr(Inkbunny, "page_size", PAGE)
        server = InkbunnyServer({"artist": "hunter2"})
        server.start()
        server.media_base = server.base_url
        creds = {"username": "artist", "password": "hunter2", "api_base": server.base_url}
        mention = "[iconname]hyenadude[/iconname]"
        return Site(platform, server, creds, mention, ("inkbunny", "hyenadude"))
    if platform == "deviantart":
        monkeypatch.setattr(DeviantArt, "page_size", PAGE)
        server = DeviantArtServer(("1234", "app-secret"))
        server.start()
        server.media_base = server.base_url
        creds = {
            **server.connect("tanraak"),
            "client_id": "1234",
            "client_secret": "app-secret",
            "api_base": server.base_url,
        }
        return Site(platform, server, creds, ":iconhyenadude:", ("deviantart", "hyenadude"))
    if platform == "e621":
        monkeypatch.setattr(E621, "page_size", PAGE)
        server = E621Server(keys={"tanraak": "key", "other_uploader": "k2"})
        server.artists.add("tanraak")
        server.start()
        server.media_base = server.base_url
        creds = {"login": "tanraak", "api_key": "key", "site": server.base_url}
        creds["artist_tag"] = "tanraak"
        return Site(platform, server, creds, "@hyena_dude", ("e621", "hyena_dude"))
    if platform == "tumblr":
        monkeypatch.setattr(Tumblr, "page_size", PAGE)
        server = TumblrServer()
        server.start()
        server.media_base = server.base_url
        return Site(platform, server, server.credentials(), "@hyena-dude", ("tumblr", "hyena-dude"))
    raise AssertionError(platform)


PLATFORMS = ["furaffinity", "weasyl", "inkbunny", "deviantart", "e621", "tumblr"]


@pytest.fixture(params=PLATFORMS)
def site(request, monkeypatch) -> Iterator[Site]:
    started = start(request.param, monkeypatch)
    yield started
    started.server.stop()


@pytest.fixture
def mastodon() -> Iterator[MediaMastodon]:
    server = MediaMastodon(tokens={"tok": "tanraak"})
    server.start()
    yield server
    server.stop()


def downloads(site: Site) -> int:
    """Requests for image files (the media paths each peer serves)."""
    marks = ("/art/", "/static/media/", "/files/full/", "/f/", "/data/", "/s1280x1920/")
    return sum(
        1 for r in site.server.requests if r.method == "GET" and any(m in r.path for m in marks)
    )


def test_import_reads_the_gallery_groups_known_pictures_and_proposes_credits(
    app, artist, site, mastodon
):
    app.config["IMPORT_ALLOW_LOOPBACK"] = True
    known = picture(500, (160, 120))
    # the artist already has this picture: imported from Mastodon before
    mastodon.add_image_status("tanraak", "Trisk at dusk", encoded(known))
    first = run_import(artist, connect(artist, mastodon))
    assert first["new_artworks"] == 1
    trisk_id = first["artworks"][0]

    # seven posts, oldest first: two from 2020, five from 2025 (one of them the known picture,
    # re-encoded by the site, one with a credit in the platform's syntax)
    for n in range(7):
        when = OLD + dt.timedelta(days=n) if n < 2 else NEW + dt.timedelta(days=n)
        if n == 4:
            data, text = encoded(known, "JPEG", quality=88), "the same picture, reposted"
        elif n == 5:
            data, text = encoded(picture(600 + n)), f"Commission for {site.mention} thanks!"
        else:
            data, text = encoded(picture(600 + n)), "more words"
        site.seed(n, data, text, when)

    created = artist.post(
        "/api/v1/accounts",
        json={"platform": site.platform, "name": "tanraak", "credentials": site.credentials},
    )
    assert created.status_code == 201, created.json
    account_id = created.json["id"]

    # since: only the five recent posts, and the listing stops before the old ones
    recent = run_import(artist, account_id, since=SINCE)
    assert recent["failed"] == [], recent["failed"]
    assert (recent["imported"], recent["grouped"], recent["new_artworks"]) == (5, 1, 4)
    assert trisk_id in recent["artworks"]
    pages_for_recent = site.listing_requests()
    assert pages_for_recent == 2  # the listing stopped at the first older post

    # everything: the two old ones are added, the rest is known
    full = run_import(artist, account_id)
    assert full["failed"] == [], full["failed"]
    assert (full["imported"], full["new_artworks"], full["skipped"]) == (2, 2, 5)
    assert full["fetched"] == 7
    assert site.listing_requests() - pages_for_recent >= 3  # three pages of three

    # the known picture joined the Mastodon artwork; its copies are both posts
    shown = artist.get(f"/api/v1/artworks/{trisk_id}/copies").json["items"]
    assert sorted(c["platform"] for c in shown) == sorted(["mastodon", site.platform])
    artworks = artist.get("/api/v1/artworks").json["items"]
    assert len(artworks) == 1 + 6
    titles = {a["title"] for a in artworks}
    assert {f"Piece {n}" for n in (0, 1, 2, 3, 5, 6)} <= titles
    with db.session_scope(app) as session:
        fingerprinted = session.scalar(select(func.count(func.distinct(Fingerprint.artwork_id))))
        platform_copies = session.scalar(
            select(func.count(Copy.id)).where(Copy.platform == site.platform)
        )
    assert fingerprinted == 7 and platform_copies == 7

    # the credit in the text is proposed on the artwork of post 5, not applied
    piece5 = next(a for a in artworks if a["title"] == "Piece 5")
    assert piece5["credits"] == []
    proposals = artist.get(f"/api/v1/artworks/{piece5['id']}/proposals").json["items"]
    found = {(p["platform"], p["handle"].lower()): p for p in proposals}
    assert site.expected in found, proposals
    assert found[site.expected]["role"] == "commissioner"
    assert found[site.expected]["state"] == "open"

    # once more: nothing new, nothing downloaded again
    before = downloads(site)
    again = run_import(artist, account_id)
    assert (again["imported"], again["skipped"], again["failed"]) == (0, 7, [])
    assert downloads(site) == before
    assert len(artist.get("/api/v1/artworks").json["items"]) == 7


@pytest.mark.parametrize(
    ("platform", "url"),
    [
        (
            "furaffinity",
            "https://d.furaffinity.net/art/tanraak/1700000000/1700000000.tanraak_a.png",
        ),
        ("furaffinity", "https://t.furaffinity.net/54000001@200-1700000000.jpg"),
        ("weasyl", "https://cdn.weasyl.com/static/media/ab/cd/ef/abcdef.png"),
        ("inkbunny", "https://tx.ib.metapix.net/files/full/3100001/art.png"),
        (
            "deviantart",
            "https://images-wixmp-ed30a86b8c4ca887773594c2.wixmp.com/f/0a1b/d1-abc.png",
        ),
        ("e621", "https://static1.e621.net/data/ab/cd/abcd0123.png"),
        ("tumblr", "https://64.media.tumblr.com/0a1b2c/s1280x1920/3d4e.png"),
    ],
)
def test_each_platforms_real_media_hosts_are_allowed(app, platform, url):
    """The file addresses each peer gives by default (the real sites' shapes) pass the host
    check; the account's own host is not needed for them."""
    from urllib.parse import urlsplit

    hosts = importer.media_hosts(app, platform, {})
    assert media_guard.host_allowed(urlsplit(url).hostname, hosts)


def test_media_host_patterns_do_not_reach_beyond_their_label(app):
    hosts = importer.media_hosts(app, "deviantart", {})
    assert media_guard.host_allowed("images-wixmp-ed30a86b8c4ca887773594c2.wixmp.com", hosts)
    for host in (
        "wixmp.com",
        "evil.wixmp.com",  # another Wix customer's files
        "images-wixmp-x.evil.wixmp.com",
        "images-wixmp-.wixmp.com",
        "images-wixmp-x.wixmp.com.evil.example",
    ):
        assert not media_guard.host_allowed(host, hosts), host
    assert not media_guard.host_allowed("media.tumblr.com", importer.media_hosts(app, "tumblr", {}))


def test_peer_defaults_point_at_the_real_media_hosts(app):
    """What the peers hand out when not pointed at themselves is allowed by MEDIA_HOSTS."""
    from urllib.parse import urlsplit

    e = E621Server()
    ib = InkbunnyServer()
    da = DeviantArtServer()
    tu = TumblrServer()
    for platform, base in (
        ("e621", e.media_base),
        ("inkbunny", ib.media_base),
        ("deviantart", da.media_base),
        ("tumblr", tu.media_base),
    ):
        assert media_guard.host_allowed(
            urlsplit(base).hostname, importer.media_hosts(app, platform, {})
        )
