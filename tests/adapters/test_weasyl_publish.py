"""Weasyl publishing against the loopback Weasyl (real HTTP): the submit form with the API key
header, the duplicate-file guard, edit, tags, removal and the documented API."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from adapters.errors import AuthError, ContentRejected, RateLimited, SiteChanged, TransientError
from adapters.metadata import FileCredits
from adapters.publishing import Media, Presence, PublishJob
from adapters.weasyl import Weasyl
from server import db
from server.delivery import queue, runner
from server.models import Delivery, utcnow
from tests.peers.weasyl_server import WeasylServer
from tests.server.helpers import artwork_form

KEY = "api-key-tanraak"


class FastWeasyl(Weasyl):
    timeout = 1.0


@pytest.fixture
def server() -> Iterator[WeasylServer]:
    with WeasylServer({KEY: "Tan_raak", "other-key": "Other"}) as srv:
        srv.user("Tan_raak").folders.update({"501": "Commissions"})
        yield srv


@pytest.fixture
def adapter() -> Weasyl:
    return FastWeasyl()


def png(colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(buffer, "PNG")
    return buffer.getvalue()


IMAGE = Media(png(), "image/png", "trisk.png", 8, 6)
DRAFT = {
    "title": "Trisk at dusk",
    "description": "Commission for @[hyena]. {credits}",
    "rating": "adult",
    "tags": ["hyena", "digital art", "commission"],
    "credits": [
        {"role": "artist", "person": "me"},
        {"role": "commissioner", "person": "hyena"},
    ],
}
PEOPLE = {
    "me": {"name": "Tanraak", "accounts": {"weasyl": "Tan_raak"}},
    "hyena": {"name": "Hyena Dude", "accounts": {"furaffinity": "hyenadude"}},
}


def creds(server: WeasylServer, key: str = KEY, **extra: str) -> dict[str, str]:
    return {"api_key": key, "site": server.base_url, **extra}


def make_job(
    server: WeasylServer,
    post: dict[str, Any] | None = None,
    progress: dict[str, Any] | None = None,
    image: Media = IMAGE,
    **extra: str,
) -> PublishJob:
    post = post or Weasyl().render(DRAFT, PEOPLE)
    return PublishJob("k", post, (image,), creds(server, **extra), progress=progress or {})


class Saved(list):
    def __call__(self, ids: Any) -> None:
        self.append(dict(ids))

    def merged(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for ids in self:
            out.update(ids)
        return out


def test_submit_visual_with_the_key_header_rating_and_tags(server, adapter):
    post = adapter.render(DRAFT, PEOPLE)
    assert (
        "<!~tanraak>" in post["description"] and "[Hyena Dude](fa:hyenadude)" in post["description"]
    )
    saved = Saved()

    published = adapter.publish(make_job(server, post, folderid="501", subtype="1030"), saved)

    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/submit/visual")
    assert request.headers["X-Weasyl-Api-Key"] == KEY
    assert request.headers["User-Agent"].startswith("Creditline/")
    assert "token" not in request.form and "Cookie" not in request.headers
    assert request.form == {
        "title": ["Trisk at dusk"],
        "rating": ["40"],
        "content": [post["description"]],
        "tags": ["hyena digital_art commission"],
        "folderid": ["501"],
        "subtype": ["1030"],
    }
    part = request.files["submitfile"]
    assert (part["filename"], part["content_type"], part["data"]) == (
        "trisk.png",
        "image/png",
        IMAGE.data,
    )
    [sub] = server.submissions.values()
    assert sub["rating"] == "explicit" and sub["tags"] == ["hyena", "digital_art", "commission"]
    assert sub["folderid"] == "501" and sub["subtype"] == "1030" and sub["notify"]
    assert published.remote_id == str(sub["submitid"])
    assert published.url == f"{server.base_url}/submission/{sub['submitid']}/trisk-at-dusk"
    digest = hashlib.sha256(IMAGE.data).hexdigest()
    assert saved[0]["sha256"] == digest and "submit_sent_at" in saved[0]
    assert saved[1] == {"submitid": published.remote_id, "url": published.url}


def test_options_critique_friends_and_no_notification(server, adapter):
    adapter.publish(make_job(server, critique="1", friends_only="1", notify="0"), Saved())
    form = server.requests[0].form
    assert form["critique"] == ["on"] and form["friends"] == ["on"]
    assert form["nonotification"] == ["on"]
    [sub] = server.submissions.values()
    assert sub["critique"] and sub["friends_only"] and not sub["notify"]


def test_fewer_than_two_tags_is_refused_before_any_request(server, adapter):
    post = {**adapter.render(DRAFT, PEOPLE), "tags": "hyena"}
    with pytest.raises(ContentRejected, match="at least 2 tags"):
        adapter.publish(make_job(server, post), Saved())
    assert server.requests == []


def test_the_sites_refusal_reason_is_shown(server, adapter):
    server.user("Tan_raak").vouched = False
    with pytest.raises(ContentRejected, match="has to be verified"):
        adapter.publish(make_job(server), Saved())
    server.user("Tan_raak").vouched = True
    with pytest.raises(ContentRejected, match="unexpected error"):
        adapter.publish(make_job(server, folderid="999"), Saved())  # not the account's folder
    odd = Media(b"GIF89a-not-really", "image/gif", "x.gif", 1, 1)
    with pytest.raises(ContentRejected, match="not an image"):
        adapter.publish(make_job(server, image=odd), Saved())
    assert server.submissions == {} and len(server.requests) == 2


def test_a_duplicate_file_adopts_the_existing_submission(server, adapter):
    first = adapter.publish(make_job(server), Saved())
    saved = Saved()

    again = adapter.publish(make_job(server), saved)  # the progress was lost

    assert again.remote_id == first.remote_id and again.extra["adopted"] is True
    assert len(server.submissions) == 1
    assert [(r.method, r.path) for r in server.requests[1:]] == [
        ("POST", "/submit/visual"),  # refused: duplicateSubmission
        ("GET", "/api/whoami"),
        ("GET", "/api/users/tanraak/gallery"),
    ]
    assert saved.merged()["submitid"] == first.remote_id


def test_dropped_answer_is_ambiguous_and_the_retry_finds_the_file_without_posting(server, adapter):
    server.fail_next(1, 0, path="/submit/visual", after=True)
    saved = Saved()
    with pytest.raises(TransientError) as failed:
        adapter.publish(make_job(server), saved)
    assert failed.value.ambiguous is True
    [sub] = server.submissions.values()

    before = len(server.requests)
    published = adapter.publish(make_job(server, progress=saved.merged()), saved)
    assert published.remote_id == str(sub["submitid"])
    assert all(r.method == "GET" for r in server.requests[before:])
    assert len(server.submissions) == 1


def test_timeout_is_ambiguous_and_lookup_finds_the_post_by_its_file(server, adapter):
    job = make_job(server)
    assert adapter.lookup(job).presence is Presence.ABSENT
    server.delay_next(1, 1.5, path="/submit/visual")
    with pytest.raises(TransientError) as failed:
        adapter.publish(job, Saved())
    assert failed.value.ambiguous is True
    found = adapter.lookup(job)
    assert found.presence is Presence.FOUND
    assert found.published.remote_id == str(next(iter(server.submissions)))


def test_lookup_matches_the_file_not_the_title(server, adapter):
    server.add_submission("Tan_raak", "Trisk at dusk", png("blue"))
    assert adapter.lookup(make_job(server)).presence is Presence.ABSENT


def test_bad_key_is_an_auth_error(server, adapter):
    with pytest.raises(AuthError, match="API key"):
        adapter.publish(
            PublishJob("k", adapter.render(DRAFT, PEOPLE), (IMAGE,), creds(server, "nope")), Saved()
        )
    assert server.submissions == {}
    with pytest.raises(AuthError):
        adapter.check_auth({"api_key": "", "site": server.base_url})


def test_server_errors_and_rate_limits(server, adapter):
    server.fail_next(1, 503, path="/submit/visual")
    with pytest.raises(TransientError) as failed:
        adapter.publish(make_job(server), Saved())
    assert failed.value.ambiguous is True and "503" in failed.value.message
    server.fail_next(1, 502, path="/api/whoami")
    with pytest.raises(TransientError) as read:
        adapter.check_auth(creds(server))
    assert read.value.ambiguous is False
    server.fail_next(1, 429, path="/submit/visual", headers={"Retry-After": "30"})
    with pytest.raises(RateLimited) as limited:
        adapter.publish(make_job(server), Saved())
    assert limited.value.retry_after == 30
    assert server.submissions == {}


def test_edit_rewrites_title_rating_text_and_tags_keeping_folder_and_subtype(server, adapter):
    published = adapter.publish(
        make_job(server, folderid="501", subtype="1010", critique="1"), Saved()
    )
    post = {
        **adapter.render(DRAFT, PEOPLE),
        "title": "Trisk at dawn",
        "description": "New **credits**",
        "rating": 30,
        "tags": "hyena dawn",
    }
    before = len(server.requests)

    edited = adapter.edit(published.remote_id, make_job(server, post))

    calls = server.requests[before:]
    assert [(r.method, r.path) for r in calls] == [
        ("GET", "/edit/submission"),
        ("POST", "/edit/submission"),
        ("POST", "/submit/tags"),
    ]
    assert calls[0].query == {"submitid": [published.remote_id]}
    assert all(r.headers["X-Weasyl-Api-Key"] == KEY for r in calls)
    assert calls[1].form == {
        "submitid": [published.remote_id],
        "title": ["Trisk at dawn"],
        "folderid": ["501"],
        "subtype": ["1010"],
        "rating": ["30"],
        "content": ["New **credits**"],
        "critique": ["on"],
    }
    assert calls[2].form == {"submitid": [published.remote_id], "tags": ["hyena dawn"]}
    sub = server.submissions[int(published.remote_id)]
    assert (sub["title"], sub["rating"], sub["content"]) == (
        "Trisk at dawn",
        "mature",
        "New **credits**",
    )
    assert sub["tags"] == ["hyena", "dawn"] and sub["subtype"] == "1010" and sub["critique"]
    assert edited.url == f"{server.base_url}/submission/{published.remote_id}"


def test_edit_page_without_the_subtype_field_is_site_changed(server, adapter):
    published = adapter.publish(make_job(server), Saved())
    server.overrides["edit_submission.html"] = (
        '<form action="/edit/submission" method="post"><input name="submitid" value="$submitid">'
        '<input name="title" value="$title"><select name="rating">$ratings</select>'
        '<select name="folderid"></select><textarea name="content">$content</textarea></form>'
        "$token$folders$subtypes$friends$critique$slug"
    )
    with pytest.raises(SiteChanged, match="'subtype'"):
        adapter.edit(published.remote_id, make_job(server))
    assert server.requests_to("POST", "/edit/submission") == []


def test_edit_of_someone_elses_submission_is_refused(server, adapter):
    theirs = server.add_submission("Other", "Theirs", png("green"))
    with pytest.raises(ContentRejected, match="permission"):
        adapter.edit(str(theirs["submitid"]), make_job(server))


def test_delete_removes_and_tolerates_gone(server, adapter):
    published = adapter.publish(make_job(server), Saved())
    adapter.delete(published.remote_id, creds(server))
    assert server.submissions[int(published.remote_id)]["hidden"] is True
    [remove] = server.requests_to("POST", "/remove/submission")
    assert remove.form == {"submitid": [published.remote_id]}
    adapter.delete(published.remote_id, creds(server))  # already gone: no error
    assert len(server.requests_to("POST", "/remove/submission")) == 1


def test_fetch_imports_the_gallery_across_pages(server, adapter):
    class Paged(FastWeasyl):
        page_size = 2

    published = adapter.publish(make_job(server), Saved())
    for i in range(4):
        server.add_submission("Tan_raak", f"Old {i}", png(f"#0{i}0000"))
    server.add_submission("Other", "Not mine", png("green"))

    found = Paged().fetch(creds(server), limit=10)

    assert [p.extra["title"] for p in found] == [
        "Old 3",
        "Old 2",
        "Old 1",
        "Old 0",
        "Trisk at dusk",
    ]
    mine = found[-1]
    assert mine.remote_id == published.remote_id
    assert mine.url == f"{server.base_url}/submission/{published.remote_id}/trisk-at-dusk"
    assert hashlib.sha256(IMAGE.data).hexdigest() in mine.extra["image_url"]
    pages = server.requests_to("GET", "/api/users/tanraak/gallery")
    assert [p.query.get("count") for p in pages] == [["2"], ["2"], ["2"]]
    assert "nextid" in pages[1].query
    assert len(Paged().fetch(creds(server), limit=3)) == 3


def test_check_auth_names_the_account(server, adapter):
    assert adapter.check_auth(creds(server)) == "Tan_raak"
    assert server.requests[0].path == "/api/whoami"
    assert server.requests[0].headers["X-Weasyl-Api-Key"] == KEY


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.weasyl.com/~tanraak/submissions/2300001/trisk-at-dusk", "2300001"),
        ("https://www.weasyl.com/~tanraak/submissions/2300001", "2300001"),
        ("https://weasyl.com/submission/2300001/trisk-at-dusk", "2300001"),
        ("https://www.weasyl.com/submission/2300001?anyway=true", "2300001"),
        ("https://www.weasyl.com/~tanraak", None),
        ("https://www.weasyl.com/journal/5/x", None),
        ("https://www.weasyl.com.evil.example/submission/1", None),
        ("https://www.furaffinity.net/view/1/", None),
    ],
)
def test_parse_url(url, expected):
    assert Weasyl().parse_url(url) == expected


# -- a retry after a lost answer, when the file's embedded credits changed meanwhile -----------
def credited(title: str) -> Media:
    """The image as the runner hands it over: Weasyl keeps metadata, so the credits (with the
    work's title) are embedded and the file's hash depends on them."""
    credits = FileCredits(("Tanraak",), "Art: Tanraak", "© 2026 Tanraak", title=title)
    return dataclasses.replace(IMAGE, credits=credits)


def test_the_retry_looks_for_the_file_it_saved_before_sending(server, adapter):
    server.fail_next(1, 0, path="/submit/visual", after=True)
    saved = Saved()
    with pytest.raises(TransientError):
        adapter.publish(make_job(server, image=credited("Trisk at dusk")), saved)
    [sub] = server.submissions.values()
    progress = saved.merged()
    renamed = make_job(server, progress=progress, image=credited("Trisk at dawn"))
    assert renamed.images[0].credits != credited("Trisk at dusk").credits

    found = adapter.lookup(renamed)  # the engine asks first (Weasyl has no idempotent create)
    assert found.presence is Presence.FOUND and found.published.remote_id == str(sub["submitid"])
    published = adapter.publish(renamed, saved)  # and a publish that resumes finds it too

    assert published.remote_id == str(sub["submitid"])
    assert len(server.submissions) == 1
    assert server.requests_to("POST", "/submit/visual")[1:] == []


# -- through the delivery engine (both databases) ------------------------------------------------
def run_due(app, when: dt.datetime | None = None) -> list[str]:
    with db.session_scope(app) as session:
        ids = queue.claim(session, "weasyl-test", when or utcnow(), 10, 60)
    return [runner.run(app, i, "weasyl-test") for i in ids]


def test_a_lost_answer_then_an_edit_still_makes_one_submission(app, artist):
    """The file credits are fixed at the delivery's first attempt, so the lookup before the
    retry finds the first upload by its hash although the artist renamed the work."""
    person = {"key": "me", "name": "Tanraak", "accounts": {"weasyl": "Tan_raak"}}
    assert artist.post("/api/v1/people", json=person).status_code == 201
    piece = {
        "title": "Trisk at dusk",
        "description": "Trisk on the ridge. {credits}",
        "rating": "mature",
        "tags": ["hyena", "digital art"],
        "credits": [{"role": "artist", "person": "me"}],
    }
    artwork = artist.post("/api/v1/artworks", data=artwork_form(piece, png())).json
    with WeasylServer({KEY: "Tan_raak"}) as weasyl:
        account = artist.post(
            "/api/v1/accounts",
            json={"platform": "weasyl", "name": "Tan_raak", "credentials": creds(weasyl)},
        ).json["id"]
        queued = artist.post(
            f"/api/v1/artworks/{artwork['id']}/deliveries", json={"accounts": [account]}
        )
        assert queued.status_code == 201, queued.json
        weasyl.fail_next(1, 0, path="/submit/visual", method="POST", after=True)
        assert run_due(app) == ["retry_wait"]
        [sub] = weasyl.submissions.values()
        edited = artist.patch(f"/api/v1/artworks/{artwork['id']}", json={"title": "Trisk at dawn"})
        assert edited.status_code == 200, edited.json

        with db.session_scope(app) as session:
            [delivery] = session.scalars(select(Delivery).where(Delivery.kind == "post")).all()
            due, delivery_id = delivery.scheduled_at, delivery.id
        when = max(due + dt.timedelta(seconds=1), utcnow() + dt.timedelta(minutes=5))
        assert run_due(app, when) == ["posted"]

        assert len(weasyl.submissions) == 1
        assert len(weasyl.requests_to("POST", "/submit/visual")) == 1
    done = artist.get(f"/api/v1/deliveries/{delivery_id}").json
    assert done["remote_id"] == str(sub["submitid"])
