"""e621 publishing against the loopback e621 API (tests/peers/e621_server.py): real HTTP."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import io
import random
from typing import Any

import pytest
import requests
from adapter_cases import ARTWORK, PEOPLE
from PIL import Image
from sqlalchemy import select

from adapters.base import ImageLimits
from adapters.e621 import E621
from adapters.errors import AuthError, ContentRejected, RateLimited, SiteChanged, TransientError
from adapters.publishing import Media, PublishJob
from server import db
from server.delivery import queue, runner
from server.models import Delivery, utcnow
from tests.peers.e621_server import E621Server, json_response
from tests.server.helpers import artwork_form

LOGIN, KEY = "Tanraak", "key-123"


def png(width: int = 64, height: int = 48, noise: bool = False) -> bytes:
    img = Image.new("RGB", (width, height), (200, 80, 40))
    if noise:
        rng = random.Random(7)
        img.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(width * height)])
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


IMAGE = Media(png(), "image/png", "trisk.png", 64, 48, "A hyena")


class Fast(E621):
    timeout = 0.3
    page_size = 2


class Saved:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, ids: Any) -> None:
        self.calls.append(dict(ids))

    def merged(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for call in self.calls:
            out.update(call)
        return out


@pytest.fixture
def server():
    with E621Server(keys={LOGIN: KEY, "other": "other-key"}) as srv:
        srv.artists.update({"tanraak", "base_maker"})
        yield srv


@pytest.fixture
def adapter() -> E621:
    return Fast()


def creds(server: E621Server, key: str = KEY) -> dict[str, str]:
    return {"login": LOGIN, "api_key": key, "site": server.base_url}


def people() -> dict[str, Any]:
    out = copy.deepcopy(PEOPLE)
    out["tanraak"]["accounts"]["e621"] = "Tanraak"
    out["hyena"]["accounts"]["e621"] = "hyena_dude"  # the commissioner: not an artist tag
    return out


def rendered(adapter: E621, **artwork: Any) -> dict[str, Any]:
    return adapter.render({**copy.deepcopy(ARTWORK), **artwork}, people())


def make_job(server, post, images=(IMAGE,), progress=None, key=KEY) -> PublishJob:
    return PublishJob("k1", post, tuple(images), creds(server, key), progress or {})


# -- render: credits as artist tags -----------------------------------------------------------
def test_credited_artists_with_an_e621_name_become_artist_tags(adapter):
    credits = [
        {"role": "artist", "person": "tanraak"},
        {"role": "commissioner", "person": "hyena"},
        {"role": "base_by", "person": "maker"},
        {"role": "colorist", "person": "nobody"},
    ]
    folks = people()
    folks["maker"] = {"name": "Base Maker", "accounts": {"e621": "Base_Maker"}}
    folks["nobody"] = {"name": "No Accounts"}
    post = adapter.render({**ARTWORK, "credits": credits}, folks)
    assert post["tags"] == "tanraak base_maker hyena digital_art"
    assert "Base Maker" in post["description"] and "No Accounts" in post["description"]


def test_without_e621_names_the_tags_are_the_artworks_own(adapter):
    assert adapter.render(ARTWORK, PEOPLE)["tags"] == "hyena digital_art"


# -- publish ----------------------------------------------------------------------------------
def test_upload_sends_every_field_e621_checks(server, adapter):
    post = rendered(adapter)
    post["sources"] = [*post["sources"], "https://x.com/tanraak/status/1", post["sources"][0]]
    saved = Saved()

    published = adapter.publish(make_job(server, post), saved)

    [upload] = server.requests
    assert (upload.method, upload.path) == ("POST", "/uploads.json")
    expected_auth = base64.b64encode(f"{LOGIN}:{KEY}".encode()).decode()
    assert upload.headers["Authorization"] == f"Basic {expected_auth}"
    assert upload.headers["User-Agent"].startswith("Creditline/")
    assert upload.headers["User-Agent"].endswith(f"(by {LOGIN} on e621)")
    assert upload.form["upload[tag_string]"] == ["tanraak hyena digital_art"]
    assert upload.form["upload[rating]"] == ["q"]
    assert upload.form["upload[source]"] == [
        "https://art.example/a/7Hk2\nhttps://x.com/tanraak/status/1"
    ]
    assert upload.form["upload[description]"] == [post["description"]]
    assert upload.form["upload[description]"][0].startswith("[b]Trisk at dusk[/b]")
    file = upload.files["upload[file]"]
    assert file["md5"] == hashlib.md5(IMAGE.data).hexdigest()  # the original, untouched
    assert file["filename"] == "trisk.png" and file["content_type"] == "image/png"

    [stored] = server.posts.values()
    assert stored["tags"]["artist"] == ["tanraak"]
    assert published.remote_id == str(stored["id"])
    assert published.url == f"{server.base_url}/posts/{stored['id']}"
    assert published.extra["duplicate"] is False
    assert saved.merged() == {"post_id": str(stored["id"]), "url": published.url}


def test_saved_progress_means_no_second_upload(server, adapter):
    progress = {"post_id": "77", "url": "https://e621.net/posts/77"}
    published = adapter.publish(make_job(server, rendered(adapter), progress=progress), Saved())
    assert published.remote_id == "77" and server.requests == []


def test_a_duplicate_file_is_adopted_as_the_post(server, adapter):
    first = adapter.publish(make_job(server, rendered(adapter)), Saved())
    again = adapter.publish(make_job(server, rendered(adapter)), Saved())
    assert again.remote_id == first.remote_id and again.extra["duplicate"] is True
    assert len(server.posts) == 1 and len(server.requests_to("POST", "/uploads.json")) == 2


def test_a_lost_answer_is_ambiguous_and_the_retry_adopts_the_post(server, adapter):
    server.fail_next(1, 0, path="/uploads.json", after=True)
    with pytest.raises(TransientError) as lost:
        adapter.publish(make_job(server, rendered(adapter)), Saved())
    assert lost.value.ambiguous is True
    [post] = server.posts.values()
    retried = adapter.publish(make_job(server, rendered(adapter)), Saved())
    assert retried.remote_id == str(post["id"]) and len(server.posts) == 1


def test_a_timeout_is_ambiguous_and_the_retry_adopts_the_post(server, adapter):
    server.delay_next(1, 0.6, path="/uploads.json")
    with pytest.raises(TransientError) as late:
        adapter.publish(make_job(server, rendered(adapter)), Saved())
    assert late.value.ambiguous is True and "in time" in late.value.message
    retried = adapter.publish(make_job(server, rendered(adapter)), Saved())
    assert retried.extra["duplicate"] is True and len(server.posts) == 1


def test_too_large_images_are_reencoded_to_fit(server):
    class Small(Fast):
        images = ImageLimits(
            max_count=1, max_bytes=6000, max_pixels=15_000, formats=Fast.images.formats
        )

    big = Media(png(120, 90, noise=True), "image/png", "noisy.png", 120, 90)
    assert len(big.data) > 6000
    Small().publish(make_job(server, rendered(Small()), images=(big,)), Saved())
    file = server.requests[-1].files["upload[file]"]
    assert file["size"] <= 6000
    with Image.open(io.BytesIO(file["data"])) as sent:
        assert sent.format in ("JPEG", "PNG", "WEBP") and sent.size[0] <= 120


def test_a_file_that_is_no_image_is_refused_before_any_request(server, adapter):
    broken = Media(b"not an image", "image/png", "x.png", 1, 1)
    with pytest.raises(ContentRejected, match="not an image e621 takes"):
        adapter.publish(make_job(server, rendered(adapter), images=(broken,)), Saved())
    assert server.requests == []


# -- errors ----------------------------------------------------------------------------------
def test_a_wrong_api_key_is_an_auth_error(server, adapter):
    with pytest.raises(AuthError, match="401"):
        adapter.publish(make_job(server, rendered(adapter), key="wrong"), Saved())
    assert server.posts == {}


def test_missing_credentials_are_an_auth_error_without_a_request(server, adapter):
    with pytest.raises(AuthError):
        adapter.check_auth({"login": LOGIN, "api_key": "", "site": server.base_url})
    assert server.requests == []


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_is_rate_limited(server, adapter, status):
    server.fail_next(1, status, path="/uploads.json")
    with pytest.raises(RateLimited) as limited:
        adapter.publish(make_job(server, rendered(adapter)), Saved())
    assert str(status) in limited.value.message
    assert server.posts == {}


def test_server_error_on_upload_is_transient_and_ambiguous(server, adapter):
    server.fail_next(1, 500, path="/uploads.json", after=True)
    with pytest.raises(TransientError) as failed:
        adapter.publish(make_job(server, rendered(adapter)), Saved())
    assert failed.value.ambiguous is True and "500" in failed.value.message


def test_server_error_on_a_read_is_not_ambiguous(server, adapter):
    server.fail_next(1, 502)
    with pytest.raises(TransientError) as failed:
        adapter.check_auth(creds(server))
    assert failed.value.ambiguous is False


def test_an_invalid_upload_is_rejected_with_e621s_reason(server, adapter):
    post = {**rendered(adapter), "rating": "x"}
    with pytest.raises(ContentRejected, match="412: Rating is invalid"):
        adapter.publish(make_job(server, post), Saved())


def test_an_upload_answer_without_post_id_is_a_site_change(adapter):
    class Changed(E621Server):
        def _upload(self, login, record):
            return json_response({"success": True, "location": "/posts/1"})

    with Changed(keys={LOGIN: KEY}) as changed, pytest.raises(SiteChanged, match="post_id"):
        adapter.publish(make_job(changed, rendered(adapter)), Saved())


def test_an_unreachable_site_is_transient_and_not_ambiguous(adapter):
    with E621Server() as gone:
        url = gone.base_url
    job = PublishJob(
        "k", rendered(adapter), (IMAGE,), {"login": LOGIN, "api_key": KEY, "site": url}
    )
    with pytest.raises(TransientError) as failed:
        adapter.publish(job, Saved())
    assert failed.value.ambiguous is False


def test_the_server_refuses_a_library_user_agent(server):
    with requests.get(f"{server.base_url}/posts.json", timeout=5) as answer:
        assert answer.status_code == 403


# -- edit, account, import -------------------------------------------------------------------
def test_edit_rewrites_the_description(server, adapter):
    published = adapter.publish(make_job(server, rendered(adapter)), Saved())
    new = {**rendered(adapter), "description": "[b]Trisk[/b]\n\nArt by Tanraak, colours by Kit"}

    edited = adapter.edit(published.remote_id, make_job(server, new))

    patch = server.requests[-1]
    assert (patch.method, patch.path) == ("PATCH", f"/posts/{published.remote_id}.json")
    assert patch.form["post[description]"] == [new["description"]]
    assert patch.form["post[edit_reason]"] == ["Credits updated by Creditline"]
    assert patch.headers["User-Agent"].endswith(f"(by {LOGIN} on e621)")
    assert server.posts[int(published.remote_id)]["description"] == new["description"]
    assert edited.remote_id == published.remote_id and edited.url == published.url


def test_edit_of_a_missing_post_is_rejected(server, adapter):
    with pytest.raises(ContentRejected, match="404"):
        adapter.edit("999", make_job(server, rendered(adapter)))


def test_delete_is_unsupported(adapter):
    from adapters.errors import Unsupported

    assert adapter.supports_delete is False
    with pytest.raises(Unsupported):
        adapter.delete("1", {"login": LOGIN, "api_key": KEY})


def test_check_auth_names_the_account(server, adapter):
    assert adapter.check_auth({**creds(server), "login": "tanraak"}) == "Tanraak"
    check = server.requests[-1]
    assert (check.method, check.path) == ("GET", "/users/tanraak.json")
    with pytest.raises(AuthError):
        adapter.check_auth(creds(server, "bad"))


def test_fetch_imports_the_accounts_uploads_newest_first_across_pages(server, adapter):
    ours = [server.add_post(LOGIN, f"[b]Piece {i}[/b]\n\nmore", data=bytes([i])) for i in range(3)]
    server.add_post("other", "not mine", data=b"x")

    found = adapter.fetch(creds(server), limit=5)

    assert [p.remote_id for p in found] == [str(p["id"]) for p in reversed(ours)]
    newest = found[0]
    assert newest.extra["title"] == "Piece 2"
    assert newest.extra["image_url"] == ours[2]["file"]["url"]
    assert newest.url == newest.extra["post_url"] == f"{server.base_url}/posts/{ours[2]['id']}"
    pages = server.requests_to("GET", "/posts.json")
    assert [p.query["tags"] for p in pages] == [[f"user:{LOGIN}"]] * 2
    assert pages[0].query["limit"] == ["2"] and "page" not in pages[0].query
    assert pages[1].query["page"] == [f"b{ours[1]['id']}"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://e621.net/posts/4123456", "4123456"),
        ("https://e621.net/posts/4123456?q=fox", "4123456"),
        ("https://www.e621.net/posts/12/", "12"),
        ("https://e926.net/posts/12", "12"),
        ("https://e621.net/post/show/12", "12"),
        ("https://e621.net/posts", None),
        ("https://e621.net/pools/12", None),
        ("https://e621.net.evil.example/posts/12", None),
        ("e621.net/posts/12", None),
    ],
)
def test_parse_url(url, expected):
    assert E621().parse_url(url) == expected


# -- through the delivery engine (both databases) ------------------------------------------------
E621_TAGS = ["hyena", "digital art", "scarf", "sunset", "dusk", "solo", "standing", "outside"]


def run_due(app, when: dt.datetime | None = None) -> list[str]:
    """Claim what is due at ``when`` and run it, as a worker would."""
    with db.session_scope(app) as session:
        ids = queue.claim(session, "e621-test", when or utcnow(), 10, 60)
    return [runner.run(app, i, "e621-test") for i in ids]


def test_a_lost_answer_then_an_edit_still_makes_one_post(app, artist):
    """The credits embedded in the file are fixed at the delivery's first attempt: the retry
    after a lost answer uploads the same bytes although the artist renamed the work meanwhile,
    so e621 answers its MD5 duplicate and the post is adopted, not made twice."""
    assert (
        artist.post(
            "/api/v1/people",
            json={"key": "tanraak", "name": "Tanraak", "accounts": {"e621": LOGIN}},
        ).status_code
        == 201
    )
    piece = {
        "title": "Trisk at dusk",
        "description": "Trisk on the ridge. {credits}",
        "rating": "mature",
        "tags": E621_TAGS,
        "credits": [{"role": "artist", "person": "tanraak"}],
    }
    artwork = artist.post("/api/v1/artworks", data=artwork_form(piece, png(noise=True))).json
    with E621Server(keys={LOGIN: KEY}) as e621:
        e621.artists.add("tanraak")
        account = artist.post(
            "/api/v1/accounts",
            json={"platform": "e621", "name": LOGIN, "credentials": creds(e621)},
        ).json["id"]
        queued = artist.post(
            f"/api/v1/artworks/{artwork['id']}/deliveries", json={"accounts": [account]}
        )
        assert queued.status_code == 201, queued.json
        e621.fail_next(1, 0, path="/uploads.json", method="POST", after=True)
        assert run_due(app) == ["retry_wait"]
        assert len(e621.posts) == 1  # e621 has it; Creditline does not know
        edited = artist.patch(f"/api/v1/artworks/{artwork['id']}", json={"title": "Trisk at dawn"})
        assert edited.status_code == 200, edited.json

        with db.session_scope(app) as session:
            [delivery] = session.scalars(select(Delivery).where(Delivery.kind == "post")).all()
            due, delivery_id = delivery.scheduled_at, delivery.id
            kept = delivery.progress["file_credits"]  # saved before the first upload
        assert kept["title"] == "Trisk at dusk" and kept["creators"] == ["Tanraak"]
        # e621 is paced (one upload per account every two minutes): past the next slot too
        when = max(due + dt.timedelta(seconds=1), utcnow() + dt.timedelta(minutes=5))
        assert run_due(app, when) == ["posted"]

        first, second = e621.requests_to("POST", "/uploads.json")
        [post_id] = e621.posts
    assert second.files["upload[file]"]["data"] == first.files["upload[file]"]["data"]
    done = artist.get(f"/api/v1/deliveries/{delivery_id}").json
    assert done["remote_id"] == str(post_id)
    sent = first.files["upload[file]"]["data"]
    with Image.open(io.BytesIO(sent)) as image:
        assert b"Trisk at dusk" in (image.info.get("XML:com.adobe.xmp") or "").encode()
