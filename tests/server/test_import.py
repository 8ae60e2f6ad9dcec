"""Import: an account's existing posts become artworks and copies (server/importer.py).

Real adapter code over real HTTP to the loopback Mastodon server (which here also serves its
media files), on both databases; the SSRF guard is tested on its own with addresses that are
never contacted.
"""

from __future__ import annotations

import io
import random
import re
import socket
import threading
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw
from sqlalchemy import func, select
from werkzeug.wrappers import Request, Response

from server import db, import_mentions, importer, media_guard
from server.cli import main
from server.models import Artwork, Copy, CreditProposal, Fingerprint, User
from tests.peers.mastodon_server import MastodonServer
from tests.server.registry_helpers import picture as registry_picture

MEDIA_PATH = re.compile(r"/system/media_attachments/files/(\w+)/original/\w+")


class MediaMastodon(MastodonServer):
    """The loopback Mastodon server, also serving the files of its media attachments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.files: dict[str, tuple[bytes, str]] = {}
        self.redirects: dict[str, str] = {}
        # When set, each file is answered only once this many downloads are waiting: two
        # imports running at once then reach the recording of a post at the same moment.
        self.gate: threading.Barrier | None = None

    def add_image_status(
        self, username: str, text: str, data: bytes, content_type: str = "image/png", **fields: Any
    ) -> dict[str, Any]:
        """A status with one image attachment, as if posted from another client."""
        with self._lock:
            account = self.accounts[username]
            media_id = str(next(self._ids))
            url = f"http://{self._host()}/system/media_attachments/files/{media_id}/original/x"
            self.files[media_id] = (data, content_type)
            self._state.media[media_id] = {
                "json": {"id": media_id, "type": "image", "url": url, "description": "alt"},
                "account": account.id,
                "status_id": None,
                "pending_polls": 0,
                "sha256": "",
                "size": len(data),
            }
            return self._create_status(account, {"status": text, **fields}, [media_id])

    def _answer(self, request: Request, environ: dict[str, Any], start_response: Any) -> Any:
        if self.gate is not None and MEDIA_PATH.fullmatch(request.path):
            self.gate.wait(20)  # outside the server's lock, which _route runs under
        return super()._answer(request, environ, start_response)

    def _route(self, request: Request, record: Any) -> Response:
        m = MEDIA_PATH.fullmatch(request.path)
        if m and request.method == "GET":
            if m.group(1) in self.redirects:
                return Response(b"", 302, headers={"Location": self.redirects[m.group(1)]})
            data, content_type = self.files.get(m.group(1), (b"", ""))
            return Response(data, 200 if data else 404, content_type=content_type or "text/plain")
        return super()._route(request, record)

    def media_gets(self) -> int:
        return sum(1 for r in self.requests if MEDIA_PATH.fullmatch(r.path))


def picture(seed: int, size: tuple[int, int] = (120, 90)) -> Image.Image:
    """A picture with enough structure to be fingerprinted, different for every seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        x1, y1 = x0 + rng.randrange(15, 60), y0 + rng.randrange(15, 50)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return image


def encoded(image: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


@pytest.fixture
def mastodon():
    server = MediaMastodon(tokens={"tok": "tanraak", "tok2": "second"})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def loopback_ok(app):
    app.config["IMPORT_ALLOW_LOOPBACK"] = True  # the peers live on 127.0.0.1
    return app


def connect(artist, mastodon, token="tok", name="@tanraak"):
    response = artist.post(
        "/api/v1/accounts",
        json={
            "platform": "mastodon",
            "name": name,
            "credentials": {"instance": mastodon.base_url, "access_token": token},
        },
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def run_import(artist, account_id, **body):
    response = artist.post(f"/api/v1/accounts/{account_id}/import", json=body)
    assert response.status_code == 200, response.json
    return response.json


def copies(app) -> list[Copy]:
    with db.session_scope(app) as session:
        rows = list(session.scalars(select(Copy).order_by(Copy.id)))
        session.expunge_all()
        return rows


# -- a seeded account of 50 posts, imported twice -------------------------------------------


def test_fifty_posts_import_once_and_again_adds_nothing(loopback_ok, artist, mastodon):
    app = loopback_ok
    for i in range(50):
        fields: dict[str, Any] = {}
        if i == 7:
            fields = {"sensitive": "true"}  # sensitive, no words: read strictly
        elif i == 8:
            fields = {"sensitive": "true", "spoiler_text": "Mature"}
        text = f"Piece number {i}\n\nmore words"
        mastodon.add_image_status("tanraak", text, encoded(picture(i)), **fields)
    mastodon.add_status("tanraak", "just words, no picture")
    account_id = connect(artist, mastodon)

    first = run_import(artist, account_id)
    assert first["fetched"] == 51
    assert (first["imported"], first["new_artworks"], first["skipped"]) == (50, 50, 0)
    assert first["failed"] == [] and first["grouped"] == 0
    assert first["ignored"] == [{"url": mastodon.statuses[-1]["url"], "reason": "no image"}]
    assert mastodon.media_gets() == 50

    listed = artist.get("/api/v1/artworks").json["items"]
    assert len(listed) == 50
    by_title = {a["title"]: a for a in listed}
    assert by_title["Piece number 0"]["rating"] == "general"
    assert by_title["Piece number 7"]["rating"] == "adult"  # sensitive: never "general"
    assert by_title["Piece number 8"]["rating"] == "mature"
    assert all(a["published_at"] is None for a in listed)  # drafts for the artist to review
    assert all(len(a["images"]) == 1 and a["images"][0]["alt_text"] == "alt" for a in listed)
    rows = copies(app)
    assert len(rows) == 50 and {c.source for c in rows} == {"import"}
    assert {c.remote_id for c in rows} == {s["id"] for s in mastodon.statuses[:50]}
    assert {c.url for c in rows} == {s["url"] for s in mastodon.statuses[:50]}
    with db.session_scope(app) as session:  # every imported picture is in the registry
        fingerprinted = session.scalar(select(func.count(func.distinct(Fingerprint.artwork_id))))
    assert fingerprinted == 50

    second = run_import(artist, account_id)
    assert (second["imported"], second["new_artworks"], second["skipped"]) == (0, 0, 50)
    assert second["failed"] == []
    assert mastodon.media_gets() == 50  # nothing downloaded again
    assert len(copies(app)) == 50 and len(artist.get("/api/v1/artworks").json["items"]) == 50

    # a new post later: only it is added
    mastodon.add_image_status("tanraak", "Piece number 50", encoded(picture(50)))
    third = run_import(artist, account_id)
    assert (third["imported"], third["new_artworks"], third["skipped"]) == (1, 1, 50)

    # --since in the future leaves everything out
    later = run_import(artist, account_id, since="2999-01-01T00:00:00Z")
    assert later["imported"] == 0 and len(later["ignored"]) == 52


def test_the_same_picture_on_two_accounts_is_one_artwork(loopback_ok, artist, mastodon):
    app = loopback_ok
    art = picture(1000, (160, 120))
    mastodon.add_image_status("tanraak", "Trisk at dusk", encoded(art))
    # the other account's copy was re-encoded (as sites do): other bytes, same picture
    mastodon.add_image_status(
        "second", "Trisk (repost)", encoded(art, "JPEG", quality=85), "image/jpeg"
    )
    mastodon.add_image_status("second", "Something else", encoded(picture(2000, (160, 120))))
    first_account = connect(artist, mastodon)
    second_account = connect(artist, mastodon, "tok2", "@second")

    one = run_import(artist, first_account)
    assert (one["imported"], one["new_artworks"]) == (1, 1)
    two = run_import(artist, second_account)
    assert (two["imported"], two["new_artworks"], two["grouped"]) == (2, 1, 1)
    assert two["artworks"][0] == one["artworks"][0]

    listed = artist.get("/api/v1/artworks").json["items"]
    assert sorted(a["title"] for a in listed) == ["Something else", "Trisk at dusk"]
    trisk = next(a for a in listed if a["title"] == "Trisk at dusk")
    shown = artist.get(f"/api/v1/artworks/{trisk['id']}/copies").json["items"]
    urls = {s["url"] for s in mastodon.statuses}
    assert len(shown) == 2 and {c["url"] for c in shown} <= urls
    assert {c["source"] for c in shown} == {"import"}
    # the re-encoded file of the grouped copy is not kept
    with db.session_scope(app) as session:
        assert session.get(Artwork, trisk["id"]).images[0].sha256 == trisk["images"][0]["sha256"]
    media = app.extensions["creditline.media"]
    kept = {p.name for p in media.root.glob("*/*")}
    assert kept == {a["images"][0]["sha256"] for a in listed}


def test_the_same_outline_in_another_shading_is_another_artwork(loopback_ok, artist, mastodon):
    """Grouping an imported post with an existing artwork uses the registry's whole matcher,
    detail grid included: a washed-out version of a grey drawing (same hash, same grey colour
    grid, gain 1/3) is another picture, not a copy of the first."""
    grey = registry_picture(50).convert("L").convert("RGB")  # outlines: keeps its hash faded
    faded = Image.eval(grey, lambda v: 170 + v * 85 // 255)
    mastodon.add_image_status("tanraak", "Trisk at dusk", encoded(grey))
    mastodon.add_image_status("second", "Trisk, pastel", encoded(faded))
    mastodon.add_image_status(
        "second", "Trisk again", encoded(grey, "JPEG", quality=85), "image/jpeg"
    )
    first = run_import(artist, connect(artist, mastodon))
    second = run_import(artist, connect(artist, mastodon, "tok2", "@second"))
    assert (first["new_artworks"], second["new_artworks"], second["grouped"]) == (1, 1, 1)
    titles = sorted(a["title"] for a in artist.get("/api/v1/artworks").json["items"])
    assert titles == ["Trisk at dusk", "Trisk, pastel"]


# -- the SSRF guard ---------------------------------------------------------------------------


def no_lookup(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} must be refused before it is even resolved")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/a.png",
        "https://10.0.0.1/a.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/a.png",
        "https://localhost/a.png",  # a name that resolves to loopback (from /etc/hosts)
        "https://192.168.1.20/a.png",
        "https://100.64.0.1/a.png",  # carrier-grade NAT
        "https://[::ffff:127.0.0.1]/a.png",  # IPv4-mapped loopback
        "https://[fe80::1]/a.png",
        "https://0.0.0.0/a.png",
    ],
)
def test_guard_refuses_addresses_that_are_not_public(url):
    host = re.sub(r"^https://\[?([^\]/]+)\]?/.*$", r"\1", url)
    with pytest.raises(media_guard.Refused, match="not a public address"):
        media_guard.guard(url, [host])


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1 (Python calls it global)
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:808:808::1",  # 6to4 even of a public address: a relay would be the hop
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64
    ],
)
def test_guard_refuses_ipv4_translating_addresses(address):
    def resolve(host: str, port: int) -> list[str]:
        return [address]

    with pytest.raises(media_guard.Refused, match="IPv4-translating"):
        media_guard.guard("https://cdn.example/a.png", ["cdn.example"], resolve=resolve)


def test_guard_allows_loopback_only_when_configured():
    target = media_guard.guard(
        "http://127.0.0.1:8080/x.png?a=1", ["127.0.0.1"], allow_loopback=True
    )
    assert (target.scheme, target.address, target.port, target.path) == (
        "http",
        "127.0.0.1",
        8080,
        "/x.png?a=1",
    )
    assert media_guard.guard("https://localhost/x", ["localhost"], allow_loopback=True).host == (
        "localhost"
    )
    for private in ("10.0.0.1", "169.254.169.254"):  # loopback yes, the rest never
        with pytest.raises(media_guard.Refused):
            media_guard.guard(f"https://{private}/x", [private], allow_loopback=True)


def test_guard_wants_https_and_the_platforms_own_hosts():
    public = lambda host, port: ["93.184.216.34"]  # noqa: E731 - a fake lookup: no traffic
    hosts = ["cdn.example", "*.media.example"]
    ok = media_guard.guard("https://cdn.example/a.png", hosts, resolve=public)
    assert ok.address == "93.184.216.34" and ok.port == 443
    assert media_guard.guard("https://64.media.example/a", hosts, resolve=public).host
    for url in (
        "https://evil.example/a.png",  # not the platform's host
        "https://media.example/a.png",  # "*." means subdomains only
        "https://cdn.example.evil.example/a.png",
        "ftp://cdn.example/a.png",
        "file:///etc/passwd",
        "https://user:pw@cdn.example/a.png",
        "not a url",
    ):
        with pytest.raises(media_guard.Refused):
            media_guard.guard(url, hosts, resolve=no_lookup)
    with pytest.raises(media_guard.Refused, match="https"):
        media_guard.guard("http://cdn.example/a.png", hosts, resolve=public)
    # one bad address among several is enough to refuse (no choosing the nice one)
    mixed = lambda host, port: ["93.184.216.34", "10.1.2.3"]  # noqa: E731
    with pytest.raises(media_guard.Refused, match=r"10\.1\.2\.3"):
        media_guard.guard("https://cdn.example/a.png", hosts, resolve=mixed)


def test_the_mastodon_instance_host_is_a_media_host(app):
    hosts = importer.media_hosts(app, "mastodon", {"instance": "https://furry.engineer"})
    assert media_guard.host_allowed("furry.engineer", hosts)
    assert media_guard.host_allowed("files.furry.engineer", hosts)
    assert not media_guard.host_allowed("furry.engineer.evil", hosts)


def test_redirects_to_a_private_address_are_refused(loopback_ok, artist, mastodon):
    mastodon.add_image_status("tanraak", "redirected", encoded(picture(3)))
    media_id = next(iter(mastodon.files))
    mastodon.redirects[media_id] = "http://169.254.169.254/latest/meta-data/"
    report = run_import(artist, connect(artist, mastodon))
    assert report["imported"] == 0
    [failed] = report["failed"]
    assert "169.254.169.254" in failed["reason"]


def test_import_from_loopback_is_refused_unless_allowed(app, artist, mastodon, monkeypatch):
    app.config["IMPORT_ALLOW_LOOPBACK"] = False
    connects = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):
        connects.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    mastodon.add_image_status("tanraak", "one", encoded(picture(4)))
    report = run_import(artist, connect(artist, mastodon))
    assert report["imported"] == 0 and report["new_artworks"] == 0
    [failed] = report["failed"]
    assert "not a public address" in failed["reason"]
    assert mastodon.media_gets() == 0  # refused before any request
    assert artist.get("/api/v1/artworks").json["items"] == []
    assert all(host in ("127.0.0.1", "::1", "localhost") for host, *_ in connects)


# -- credits found in the text are proposed, then accepted ----------------------------------


def test_credits_in_the_text_are_proposed_and_accepted(loopback_ok, artist, mastodon):
    artist.post(
        "/api/v1/people",
        json={"key": "hyena", "name": "Hyena Dude", "accounts": {"furaffinity": "hyenadude"}},
    )
    mastodon.add_image_status(
        "tanraak",
        "Trisk at dusk\n\nCommission for @hyena_dude@furry.engineer, "
        "character by :iconhyenadude: and thanks to @/someone",
        encoded(picture(5)),
    )
    report = run_import(artist, connect(artist, mastodon))
    assert report["imported"] == 1 and report["proposals"] == 3
    artwork_id = report["artworks"][0]
    artwork = artist.get(f"/api/v1/artworks/{artwork_id}").json
    assert artwork["credits"] == []  # proposed, not applied
    assert artwork["title"] == "Trisk at dusk"

    proposals = artist.get(f"/api/v1/artworks/{artwork_id}/proposals").json["items"]
    found = {(p["platform"], p["handle"]): p for p in proposals}
    assert set(found) == {
        ("mastodon", "hyena_dude@furry.engineer"),
        ("furaffinity", "hyenadude"),
        ("twitter", "someone"),
    }
    fa = found[("furaffinity", "hyenadude")]
    assert (fa["role"], fa["person"], fa["found"]) == (
        "character_owner",
        "hyena",
        ":iconhyenadude:",
    )
    masto = found[("mastodon", "hyena_dude@furry.engineer")]
    assert (masto["role"], masto["person"], masto["state"]) == ("commissioner", None, "open")
    assert masto["source_url"] == mastodon.statuses[0]["url"]

    url = f"/api/v1/artworks/{artwork_id}/proposals/accept"
    done = artist.post(url, json={"proposal": fa["id"], "character": "Trisk"})
    assert done.status_code == 200, done.json
    assert done.json["credits"] == [
        {"role": "character_owner", "person": "hyena", "character": "Trisk"}
    ]
    # nobody has the Mastodon handle: a person is made from the proposal
    done = artist.post(url, json={"proposal": masto["id"], "name": "Hyena (fedi)"})
    assert done.status_code == 200, done.json
    assert done.json["credits"][1] == {
        "role": "commissioner",
        "person": "hyena_dude",
        "character": None,
    }
    person = artist.get("/api/v1/people/hyena_dude").json
    assert person["name"] == "Hyena (fedi)"
    assert person["accounts"] == {"mastodon": "hyena_dude@furry.engineer"}
    # accepting twice adds nothing; the list shows what was accepted
    again = artist.post(url, json={"proposal": fa["id"], "character": "Trisk"})
    assert len(again.json["credits"]) == 2
    states = {
        p["handle"]: (p["state"], p["person"])
        for p in artist.get(f"/api/v1/artworks/{artwork_id}/proposals").json["items"]
    }
    assert states["hyena_dude@furry.engineer"] == ("accepted", "hyena_dude")
    assert states["someone"] == ("open", None)
    # a role override, an unknown person, an unknown proposal
    twitter = found[("twitter", "someone")]
    bad = artist.post(url, json={"proposal": twitter["id"], "person": "nobody"})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "person"
    assert artist.post(url, json={"proposal": 999999}).status_code == 404
    assert artist.post(url, json={"role": "artist"}).status_code == 400
    ok = artist.post(url, json={"proposal": twitter["id"], "role": "other", "key": "someone_x"})
    assert ok.status_code == 200 and ok.json["credits"][2]["person"] == "someone_x"
    # re-importing proposes nothing new
    assert run_import(artist, report_account(artist))["proposals"] == 0
    with db.session_scope(loopback_ok) as session:
        assert session.scalar(select(func.count(CreditProposal.id))) == 3


def report_account(artist) -> int:
    return artist.get("/api/v1/accounts").json["items"][0]["id"]


def test_mentions_found_per_platform():
    found = import_mentions.find_mentions(
        "bluesky", "Art by @tanraak.bsky.social for @buyer.test. YCH base by :iconbaser:"
    )
    assert [(m.platform, m.handle, m.role) for m in found] == [
        ("bluesky", "tanraak.bsky.social", "artist"),
        ("bluesky", "buyer.test", "commissioner"),
        ("furaffinity", "baser", "base_by"),
    ]
    x = import_mentions.find_mentions("twitter", "gift for @pal — mail me at a@b.com, @/shy too")
    assert [(m.platform, m.handle, m.role) for m in x] == [
        ("twitter", "pal", "gift_for"),
        ("twitter", "shy", "other"),
    ]
    local = import_mentions.find_mentions("mastodon", "thanks @friend", "", "furry.engineer")
    assert [(m.platform, m.handle) for m in local] == [("mastodon", "friend@furry.engineer")]


# -- the command line ----------------------------------------------------------------------------


def test_cli_import_shows_progress_and_counts(loopback_ok, artist, mastodon):
    for i in range(3):
        mastodon.add_image_status("tanraak", f"cli {i}", encoded(picture(100 + i)))
    account_id = connect(artist, mastodon)
    result = CliRunner().invoke(
        main, ["import", str(account_id), "--user", "tanraak"], obj=loopback_ok
    )
    assert result.exit_code == 0, result.output
    assert "3 imported (3 new artworks, 0 added to existing ones), 0 already known" in result.output
    again = CliRunner().invoke(
        main, ["import", str(account_id), "--user", "tanraak", "--json"], obj=loopback_ok
    )
    assert again.exit_code == 0, again.output
    assert '"skipped": 3' in again.output
    wrong = CliRunner().invoke(main, ["import", "999", "--user", "tanraak"], obj=loopback_ok)
    assert wrong.exit_code != 0 and "not found" in wrong.output


def test_cli_since_is_a_day_in_the_users_time_zone(loopback_ok, artist, mastodon):
    """As on the web form: "--since 2024-01-02" for an artist in Berlin starts at 23:00 UTC on
    the 1st, so a post made at 23:30 UTC that evening is in (in UTC it would be left out)."""
    status = mastodon.add_image_status("tanraak", "late evening", encoded(picture(120)))
    status["created_at"] = "2024-01-01T23:30:00.000Z"
    with db.session_scope(loopback_ok) as session:
        session.scalar(select(User).where(User.username == "tanraak")).timezone = "Europe/Berlin"
    account_id = connect(artist, mastodon)
    args = ["import", str(account_id), "--user", "tanraak", "--json"]
    result = CliRunner().invoke(main, [*args, "--since", "2024-01-02"], obj=loopback_ok)
    assert result.exit_code == 0, result.output
    assert '"imported": 1' in result.output
    for bad in ("0001-01-01", "1969-12-31", "yesterday"):
        refused = CliRunner().invoke(main, [*args, "--since", bad], obj=loopback_ok)
        assert refused.exit_code != 0 and "between 1970 and 9999" in refused.output


# -- Bluesky, against the real PDS ------------------------------------------------------------


def test_bluesky_import_against_the_real_pds(loopback_ok, artist, bluesky_pds):
    account = bluesky_pds.create_account("imp")
    session = bluesky_pds.xrpc(
        "POST",
        "com.atproto.server.createSession",
        json={"identifier": account.handle, "password": account.password},
    )
    session.raise_for_status()
    jwt = session.json()["accessJwt"]

    def post(text: str, data: bytes, labels: list[str] = ()) -> None:
        blob = httpx.post(  # xrpc() sets its own headers; a blob needs its content type
            f"{bluesky_pds.url}/xrpc/com.atproto.repo.uploadBlob",
            content=data,
            headers={"Authorization": f"Bearer {jwt}", "Content-Type": "image/png"},
        )
        blob.raise_for_status()
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": "2025-01-01T00:00:00.000Z",
            "embed": {
                "$type": "app.bsky.embed.images",
                "images": [{"image": blob.json()["blob"], "alt": "a picture"}],
            },
        }
        if labels:
            record["labels"] = {
                "$type": "com.atproto.label.defs#selfLabels",
                "values": [{"val": v} for v in labels],
            }
        created = bluesky_pds.xrpc(
            "POST",
            "com.atproto.repo.createRecord",
            token=jwt,
            json={"repo": account.did, "collection": "app.bsky.feed.post", "record": record},
        )
        created.raise_for_status()

    post("Trisk at dusk, art by @tanraak.bsky.social", encoded(picture(7)))
    post("After dark", encoded(picture(8)), ["porn"])
    created = artist.post(
        "/api/v1/accounts",
        json={"platform": "bluesky", "name": account.handle, "credentials": account.credentials},
    )
    assert created.status_code == 201, created.json
    report = run_import(artist, created.json["id"])
    assert (report["imported"], report["new_artworks"], report["failed"]) == (2, 2, [])
    titles = {a["title"]: a for a in artist.get("/api/v1/artworks").json["items"]}
    assert titles["After dark"]["rating"] == "adult"
    trisk = titles["Trisk at dusk, art by @tanraak.bsky.social"]
    assert trisk["rating"] == "general" and trisk["images"][0]["alt_text"] == "a picture"
    [proposal] = artist.get(f"/api/v1/artworks/{trisk['id']}/proposals").json["items"]
    assert (proposal["platform"], proposal["handle"], proposal["role"]) == (
        "bluesky",
        "tanraak.bsky.social",
        "artist",
    )
    assert {c.url for c in copies(loopback_ok)} == {
        c["url"]
        for a in titles.values()
        for c in artist.get(f"/api/v1/artworks/{a['id']}/copies").json["items"]
    }
    again = run_import(artist, created.json["id"])
    assert (again["imported"], again["skipped"]) == (0, 2)


def test_a_trickling_download_is_cut_at_the_deadline(app):
    """A media host that sends one byte at a time cannot hold an import past its deadline."""
    import socket
    import threading
    import time as clock

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n")
            while not stop.is_set():
                try:
                    conn.sendall(b"x")
                except OSError:
                    return
                clock.sleep(0.1)

    server = threading.Thread(target=trickle, daemon=True)
    server.start()
    with app.app_context():
        downloader = media_guard.Downloader(
            allowed_hosts=("127.0.0.1",),
            allow_loopback=True,
            max_bytes=1_000_000,
            connect_timeout=1.0,
            read_timeout=1.0,
            total_seconds=0.8,
        )
        started = clock.monotonic()
        with pytest.raises(media_guard.Refused, match="too long"):
            downloader.get(f"http://127.0.0.1:{port}/slow.png")
        assert clock.monotonic() - started < 3
    stop.set()
    listener.close()
    server.join(5)
