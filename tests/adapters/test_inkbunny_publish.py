"""Inkbunny publishing against the loopback Inkbunny API (tests/peers/inkbunny_server.py)."""

from __future__ import annotations

import copy
import hashlib
import io
from typing import Any

import pytest
from adapter_cases import ARTWORK, PEOPLE
from PIL import Image
from werkzeug.wrappers import Response

from adapters.errors import AuthError, ContentRejected, RateLimited, SiteChanged, TransientError
from adapters.inkbunny import Inkbunny
from adapters.publishing import Media, Presence, PublishJob
from tests.peers.inkbunny_server import InkbunnyServer
from tests.peers.loopback import json_response

USER, PASSWORD = "artist", "hunter2"


def png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, "PNG")
    return buf.getvalue()


IMAGES = (
    Media(png((200, 80, 40)), "image/png", "page1.png", 40, 30),
    Media(png((40, 80, 200)), "image/png", "page2.png", 40, 30),
)


class Fast(Inkbunny):
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


class Stored(Saved):
    """Where ``update_credentials`` puts a new session id."""


@pytest.fixture
def server():
    with InkbunnyServer({USER: PASSWORD, "other": "pw"}) as srv:
        yield srv


@pytest.fixture
def adapter() -> Inkbunny:
    return Fast()


def creds(server, **extra: str) -> dict[str, str]:
    return {"username": USER, "password": PASSWORD, "api_base": server.base_url, **extra}


def post(adapter: Inkbunny, **artwork: Any) -> dict[str, Any]:
    return adapter.render({**copy.deepcopy(ARTWORK), **artwork}, PEOPLE)


def make_job(server, post_, images=IMAGES, progress=None, stored=None, **extra) -> PublishJob:
    return PublishJob("k", post_, tuple(images), creds(server, **extra), progress or {}, stored)


def paths(records) -> list[str]:
    return [r.path for r in records]


# -- publish ----------------------------------------------------------------------------------
def test_login_upload_then_publish_with_metadata(server, adapter):
    saved, stored = Saved(), Stored()
    rendered = post(adapter, tags=["hyena", "digital art", "scarf", "sunset"])

    published = adapter.publish(make_job(server, rendered, stored=stored), saved)

    login, upload, edit = server.requests
    assert paths(server.requests) == [
        "/api_login.php",
        "/api_upload.php",
        "/api_editsubmission.php",
    ]
    assert all(r.method == "POST" for r in server.requests)
    assert all(r.headers["Content-Type"].startswith("multipart/form-data") for r in server.requests)
    assert login.form == {"username": [USER], "password": [PASSWORD]}
    sid = stored.merged()["sid"]
    assert upload.form == {"sid": [sid]}
    assert [f["md5"] for f in upload.files.values()] == [
        hashlib.md5(m.data).hexdigest() for m in IMAGES
    ]
    assert list(upload.files) == ["uploadedfile[0]", "uploadedfile[1]"]
    [submission_id] = server.submissions
    assert edit.form == {
        "sid": [sid],
        "submission_id": [submission_id],
        "title": ["Trisk at dusk"],
        "desc": [rendered["description"]],
        "keywords": ["hyena,digital_art,scarf,sunset"],
        "tag[2]": ["yes"],
        "tag[3]": ["no"],
        "tag[4]": ["no"],
        "tag[5]": ["no"],
        "visibility": ["yes"],
    }
    stored_submission = server.submissions[submission_id]
    assert stored_submission["public"] and stored_submission["notified"]
    assert stored_submission["ratings"] == [2]
    assert "[w]hyenadude[/w]" in stored_submission["description"]
    assert published.remote_id == submission_id
    assert published.url == f"{server.base_url}/s/{submission_id}"
    assert saved.calls == [
        {"submission_id": submission_id},
        {"published": True, "url": published.url},
    ]


def test_a_stored_session_is_reused_without_logging_in(server, adapter):
    adapter.check_auth(creds(server), update_credentials=(stored := Stored()))
    before = len(server.requests)
    adapter.publish(make_job(server, post(adapter), sid=stored.merged()["sid"]), Saved())
    assert paths(server.requests[before:]) == ["/api_upload.php", "/api_editsubmission.php"]


def test_an_expired_session_is_renewed_and_stored(server, adapter):
    first = Stored()
    adapter.check_auth(creds(server), update_credentials=first)
    server.expire_sessions()
    renewed = Stored()
    job = make_job(server, post(adapter), stored=renewed, sid=first.merged()["sid"])
    adapter.publish(job, Saved())
    assert paths(server.requests[1:]) == [
        "/api_upload.php",  # refused: error 2
        "/api_login.php",
        "/api_upload.php",
        "/api_editsubmission.php",
    ]
    assert renewed.merged()["sid"] not in ("", first.merged()["sid"])
    assert len(server.submissions) == 1


def test_resume_after_a_failed_publish_step_does_not_upload_again(server, adapter):
    server.fail_next(1, 503, path="/api_editsubmission.php")
    saved = Saved()
    with pytest.raises(TransientError) as failed:
        adapter.publish(make_job(server, post(adapter)), saved)
    assert failed.value.ambiguous is True  # a 5xx to a write: it may have happened
    [submission_id] = server.submissions
    assert not server.submissions[submission_id]["public"]
    assert saved.merged() == {"submission_id": submission_id}

    before = len(server.requests)
    published = adapter.publish(make_job(server, post(adapter), progress=saved.merged()), saved)
    assert "/api_upload.php" not in paths(server.requests[before:])
    assert published.remote_id == submission_id and server.submissions[submission_id]["public"]
    assert len(server.submissions) == 1


def test_a_lost_publish_answer_is_ambiguous_and_lookup_finds_the_post(server, adapter):
    server.fail_next(1, 0, path="/api_editsubmission.php", after=True)
    saved = Saved()
    with pytest.raises(TransientError) as lost:
        adapter.publish(make_job(server, post(adapter)), saved)
    assert lost.value.ambiguous is True
    found = adapter.lookup(make_job(server, post(adapter), progress=saved.merged()))
    assert found.presence is Presence.FOUND and found.published is not None
    assert found.published.remote_id == saved.merged()["submission_id"]
    assert found.published.extra["title"] == "Trisk at dusk"
    assert server.requests[-1].form["submission_ids"] == [saved.merged()["submission_id"]]


def test_lookup_without_a_saved_upload_or_with_an_unpublished_one_is_absent(server, adapter):
    assert adapter.lookup(make_job(server, post(adapter))).presence is Presence.ABSENT
    assert server.requests == []  # nothing public can exist without a saved upload
    server.fail_next(1, 503, path="/api_editsubmission.php")
    saved = Saved()
    with pytest.raises(TransientError):
        adapter.publish(make_job(server, post(adapter)), saved)
    again = adapter.lookup(make_job(server, post(adapter), progress=saved.merged()))
    assert again.presence is Presence.ABSENT


def test_a_timed_out_upload_is_ambiguous_and_the_retry_uploads_anew(server, adapter):
    server.delay_next(1, 0.6, path="/api_upload.php")
    saved = Saved()
    with pytest.raises(TransientError) as late:
        adapter.publish(make_job(server, post(adapter)), saved)
    assert late.value.ambiguous is True and saved.merged() == {}
    adapter.publish(make_job(server, post(adapter)), saved)
    public = [s for s in server.submissions.values() if s["public"]]
    assert len(public) == 1 and len(server.submissions) == 2  # the orphan stays unpublished


def test_a_deleted_unpublished_upload_is_uploaded_again(server, adapter):
    server.fail_next(1, 503, path="/api_editsubmission.php")
    saved = Saved()
    with pytest.raises(TransientError):
        adapter.publish(make_job(server, post(adapter)), saved)
    first = saved.merged()["submission_id"]
    server.submissions[first]["deleted"] = True
    published = adapter.publish(make_job(server, post(adapter), progress=saved.merged()), saved)
    assert published.remote_id != first and server.submissions[published.remote_id]["public"]


# -- errors ----------------------------------------------------------------------------------
def test_a_wrong_password_is_an_auth_error(server, adapter):
    with pytest.raises(AuthError, match="Invalid login"):
        adapter.publish(make_job(server, post(adapter), password="nope"), Saved())
    assert server.submissions == {}


def test_api_access_not_enabled_is_an_auth_error(server, adapter):
    server.api_access.clear()
    with pytest.raises(AuthError, match="API access"):
        adapter.check_auth(creds(server))


def test_the_hourly_limit_is_rate_limited(server, adapter):
    server.fail_next(1, 400, path="/api_upload.php", error="6")
    with pytest.raises(RateLimited, match="Hourly Limit"):
        adapter.publish(make_job(server, post(adapter)), Saved())


def test_http_429_is_rate_limited(server, adapter):
    server.fail_next(1, 429, path="/api_login.php")
    with pytest.raises(RateLimited):
        adapter.check_auth(creds(server))


def test_a_refusal_carries_inkbunnys_message(server, adapter):
    server.fail_next(1, 400, path="/api_upload.php", error="21")
    with pytest.raises(ContentRejected, match="unsupported file type"):
        adapter.publish(make_job(server, post(adapter)), Saved())


def test_an_upload_answer_without_submission_id_is_a_site_change(adapter):
    class Changed(InkbunnyServer):
        def _upload(self, user, form, record):
            return json_response({"sid": form["sid"], "submissionid": "1"})

    changed = Changed({USER: PASSWORD})
    with changed, pytest.raises(SiteChanged, match="submission_id"):
        adapter.publish(make_job(changed, post(adapter)), Saved())


def test_an_html_answer_is_a_site_change(adapter):
    class Html(InkbunnyServer):
        def _login(self, form):
            return Response("<html><body>Maintenance</body></html>", mimetype="text/html")

    with Html({USER: PASSWORD}) as html, pytest.raises(SiteChanged, match="without JSON"):
        adapter.check_auth(creds(html))


def test_no_credentials_is_an_auth_error_without_a_request(server, adapter):
    with pytest.raises(AuthError):
        adapter.check_auth({"username": USER, "password": "", "api_base": server.base_url})
    assert server.requests == []


# -- edit, delete, account, import -----------------------------------------------------------
def test_edit_rewrites_metadata_and_clears_flags(server, adapter):
    published = adapter.publish(make_job(server, post(adapter, rating="adult")), Saved())
    assert server.submissions[published.remote_id]["ratings"] == [4]
    new = post(adapter, rating="general", title="Trisk at dawn", tags=["a", "b", "c", "d"])

    edited = adapter.edit(published.remote_id, make_job(server, new))

    edit = server.requests[-1]
    assert edit.path == "/api_editsubmission.php" and "visibility" not in edit.form
    assert edit.form["tag[4]"] == ["no"] and edit.form["title"] == ["Trisk at dawn"]
    stored = server.submissions[published.remote_id]
    assert stored["ratings"] == [] and stored["keywords"] == ["a", "b", "c", "d"]
    assert stored["public"] and edited.remote_id == published.remote_id


def test_edit_of_someone_elses_submission_is_rejected(server, adapter):
    theirs = adapter.publish(
        make_job(server, post(adapter), username="other", password="pw"), Saved()
    )
    with pytest.raises(ContentRejected, match="permission"):
        adapter.edit(theirs.remote_id, make_job(server, post(adapter)))


def test_delete_and_delete_again(server, adapter):
    published = adapter.publish(make_job(server, post(adapter)), Saved())
    adapter.delete(published.remote_id, creds(server))
    delete = server.requests[-1]
    assert delete.path == "/api_delsubmission.php"
    assert delete.form["submission_id"] == [published.remote_id]
    assert server.submissions[published.remote_id]["deleted"]
    adapter.delete(published.remote_id, creds(server))  # already gone: no error


def test_check_auth_logs_in_and_keeps_the_session(server, adapter):
    stored = Stored()
    assert adapter.check_auth(creds(server), update_credentials=stored) == USER
    assert stored.merged()["sid"] in server.sessions


def test_fetch_imports_public_submissions_newest_first_across_pages(server, adapter):
    ids = [
        adapter.publish(make_job(server, post(adapter, title=f"P{i}")), Saved()).remote_id
        for i in range(3)
    ]
    adapter.publish(make_job(server, post(adapter), username="other", password="pw"), Saved())
    server.fail_next(1, 503, path="/api_editsubmission.php")
    with pytest.raises(TransientError):  # an unpublished upload is not imported
        adapter.publish(make_job(server, post(adapter)), Saved())

    found = adapter.fetch(creds(server), limit=10)

    assert [p.remote_id for p in found] == list(reversed(ids))
    assert found[0].extra["title"] == "P2" and found[0].url == f"{server.base_url}/s/{ids[2]}"
    assert found[0].extra["image_url"].endswith("/page1.png")
    assert found[0].extra["post_url"] == found[0].url
    searches = server.requests_to("POST", "/api_search.php")
    assert [s.form["page"] for s in searches] == [["1"], ["2"]]
    assert searches[0].form["username"] == [USER]
    assert searches[0].form["submissions_per_page"] == ["2"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://inkbunny.net/s/3123456", "3123456"),
        ("https://inkbunny.net/s/3123456-p2-#pictop", "3123456"),
        ("https://www.inkbunny.net/s/42/", "42"),
        ("https://inkbunny.net/submissionview.php?id=42", "42"),
        ("https://inkbunny.net/artist", None),
        ("https://inkbunny.net/s/", None),
        ("https://inkbunny.net.example/s/42", None),
        ("inkbunny.net/s/42", None),
    ],
)
def test_parse_url(url, expected):
    assert Inkbunny().parse_url(url) == expected
