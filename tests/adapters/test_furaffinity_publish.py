"""FurAffinity publishing against the loopback FurAffinity web forms (real HTTP).

Each test checks what reached the server (paths, cookies, User-Agent, form keys, multipart
parts, finalize fields) and what the server ended up holding, not only the return value.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from adapters.errors import (
    AuthError,
    ContentRejected,
    RateLimited,
    SiteChanged,
    TransientError,
    Unsupported,
)
from adapters.furaffinity import FurAffinity
from adapters.images import fit_media
from adapters.publishing import Media, Presence, PublishJob
from tests.peers.furaffinity_server import FurAffinityServer

A, B = "a-cookie-1", "b-cookie-1"


class FastFurAffinity(FurAffinity):
    """The real adapter with a test-sized timeout (class data, not a patch)."""

    timeout = 1.0


@pytest.fixture
def server() -> Iterator[FurAffinityServer]:
    with FurAffinityServer({(A, B): "Tan_raak", ("a2", "b2"): "Other"}) as srv:
        srv.user("Tan_raak").folders.update({"1111": "Commissions", "2222": "Hyenas"})
        yield srv


@pytest.fixture
def adapter() -> FurAffinity:
    return FastFurAffinity()


def png(colour: str = "red", size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


IMAGE = Media(png(), "image/png", "trisk.png", 8, 6, "A hyena")
DRAFT = {
    "title": "Trisk at dusk",
    "description": "Commission for @[hyena]. {credits}",
    "rating": "mature",
    "tags": ["hyena", "digital art", "commission"],
    "credits": [
        {"role": "artist", "person": "me"},
        {"role": "commissioner", "person": "hyena"},
    ],
}
PEOPLE = {
    "me": {"name": "Tanraak", "accounts": {"furaffinity": "Tan_raak"}},
    "hyena": {"name": "Hyena Dude", "accounts": {"furaffinity": "hyenadude"}},
}


def creds(server: FurAffinityServer, **extra: str) -> dict[str, str]:
    return {"cookie_a": A, "cookie_b": B, "site": server.base_url, **extra}


def make_job(
    server: FurAffinityServer,
    post: dict[str, Any] | None = None,
    progress: dict[str, Any] | None = None,
    **extra: str,
) -> PublishJob:
    post = post or FurAffinity().render(DRAFT, PEOPLE)
    return PublishJob("key-1", post, (IMAGE,), creds(server, **extra), progress=progress or {})


class Saved(list):
    def __call__(self, ids: Any) -> None:
        self.append(dict(ids))

    def merged(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for ids in self:
            out.update(ids)
        return out


FLOW = [
    ("GET", "/submit/"),
    ("POST", "/submit/upload/"),
    ("GET", "/gallery/tanraak/"),
    ("POST", "/submit/finalize/"),
]


# -- the post --------------------------------------------------------------------------------
def test_three_step_submit_with_the_rendered_post(server, adapter):
    post = adapter.render(DRAFT, PEOPLE)
    assert ":icontanraak:" in post["description"] and post["rating"] == "mature"
    saved = Saved()

    published = adapter.publish(make_job(server, post), saved)

    sent = server.requests
    assert [(r.method, r.path) for r in sent] == FLOW
    assert all(r.cookies == {"a": A, "b": B} for r in sent)
    assert all(r.headers["User-Agent"].startswith("Creditline/") for r in sent)
    upload, finalize = sent[1], sent[3]
    assert upload.form["submission_type"] == ["submission"]
    assert len(upload.form["key"][0]) == 40  # the key the /submit/ page handed out
    part = upload.files["submission"]
    assert (part["filename"], part["content_type"], part["data"]) == (
        "trisk.png",
        "image/png",
        IMAGE.data,
    )
    assert finalize.form["key"][0] != upload.form["key"][0]
    assert {k: v for k, v in finalize.form.items() if k != "key"} == {
        "title": ["Trisk at dusk"],
        "message": [post["description"]],
        "keywords": ["hyena digital_art commission"],
        "rating": ["2"],  # FA's value for Mature
        "cat": ["1"],
        "atype": ["1"],
        "species": ["1"],
        "gender": ["0"],
    }
    [sub] = server.submissions.values()
    assert sub["title"] == "Trisk at dusk" and sub["rating"] == "mature"
    assert sub["file"]["data"] == IMAGE.data and sub["owner"] == "tanraak"
    assert published.remote_id == sub["id"]
    assert published.url == f"{server.base_url}/view/{sub['id']}/"
    # each intermediate id saved before the next step
    merged = saved.merged()
    assert saved[0] == {"finalize_key": finalize.form["key"][0], "user": "tanraak"}
    assert saved[1]["gallery_top"] == 0 and saved[1]["finalize_sent_at"] <= time.time()
    assert merged["submission_id"] == sub["id"] and merged["finalize_key"] is None


def test_category_species_folders_scraps_and_comments_from_the_account(server, adapter):
    job = make_job(
        server,
        category="2",
        species="6018",
        gender="6",
        theme="4",
        folder_ids="1111, 2222",
        scraps="1",
        lock_comments="1",
    )
    published = adapter.publish(job, Saved())
    finalize = server.requests_to("POST", "/submit/finalize/")[0]
    assert finalize.form["cat"] == ["2"] and finalize.form["species"] == ["6018"]
    assert finalize.form["gender"] == ["6"] and finalize.form["atype"] == ["4"]
    assert finalize.form["folder_ids[]"] == ["1111", "2222"]
    assert finalize.form["scrap"] == ["1"] and finalize.form["lock_comments"] == ["on"]
    sub = server.submissions[published.remote_id]
    assert sub["scrap"] and sub["folder_ids"] == ["1111", "2222"] and sub["lock_comments"]
    assert ("GET", "/scraps/tanraak/") in [(r.method, r.path) for r in server.requests]


def test_an_unknown_folder_is_refused_with_the_sites_reason(server, adapter):
    with pytest.raises(ContentRejected, match="folder does not exist"):
        adapter.publish(make_job(server, folder_ids="9999"), Saved())
    assert server.submissions == {}


def test_a_big_image_is_fitted_to_the_limit(server, adapter):
    class Small(FastFurAffinity):
        images = FurAffinity.images.__class__(max_count=1, max_bytes=30_000)

    noisy = Image.effect_noise((400, 300), 80).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    big = Media(buffer.getvalue(), "image/png", "noise.png", 400, 300)
    assert len(big.data) > 30_000
    job = PublishJob("k", adapter.render(DRAFT, PEOPLE), (big,), creds(server))
    Small().publish(job, Saved())
    part = server.requests_to("POST", "/submit/upload/")[0].files["submission"]
    assert part["size"] <= 30_000 and part["content_type"] == "image/jpeg"
    assert part["filename"] == "noise.jpg"
    assert fit_media(IMAGE, FurAffinity.images, "FA").data == IMAGE.data  # fits: untouched


# -- errors ----------------------------------------------------------------------------------
def test_expired_cookies_are_an_auth_error_before_any_upload(server, adapter):
    job = PublishJob("k", adapter.render(DRAFT, PEOPLE), (IMAGE,), creds(server, cookie_a="old"))
    with pytest.raises(AuthError, match="session expired"):
        adapter.publish(job, Saved())
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/submit/")]


def test_missing_cookies_are_an_auth_error_without_a_request(server, adapter):
    with pytest.raises(AuthError, match="cookies"):
        adapter.check_auth({"cookie_a": A, "site": server.base_url})
    assert server.requests == []


def test_cloudflare_challenge_is_an_auth_error_that_says_so(server, adapter):
    server.cloudflare = True
    with pytest.raises(AuthError, match="Cloudflare"):
        adapter.publish(make_job(server), Saved())
    with pytest.raises(AuthError, match="cf_clearance"):
        adapter.check_auth(creds(server))


def test_clearance_cookie_and_browser_user_agent_are_sent(server, adapter):
    name = adapter.check_auth(creds(server, cf_clearance="cf-123", user_agent="Mozilla/5.0 X"))
    assert name == "Tan_raak"
    [request] = server.requests
    assert request.path == "/controls/submissions/"
    assert request.cookies == {"a": A, "b": B, "cf_clearance": "cf-123"}
    assert request.headers["User-Agent"] == "Mozilla/5.0 X"


def test_new_account_captcha_is_refused_with_a_clear_reason(server, adapter):
    server.user("Tan_raak").captcha = True
    with pytest.raises(ContentRejected, match="CAPTCHA") as refused:
        adapter.publish(make_job(server), Saved())
    assert "submissions" in refused.value.message
    assert server.requests_to("POST", "/submit/upload/") == []


def test_flood_protection_is_rate_limited_and_the_retry_skips_the_upload(server, adapter):
    server.flood_seconds = 40
    adapter.publish(make_job(server), Saved())
    saved = Saved()
    with pytest.raises(RateLimited) as limited:
        adapter.publish(make_job(server), saved)
    assert 35 <= (limited.value.retry_after or 0) <= 40
    assert len(server.submissions) == 1
    progress = saved.merged()
    assert progress["finalize_key"]

    server.flood_seconds = 0
    before = len(server.requests)
    published = adapter.publish(make_job(server, progress=progress), saved)
    assert [(r.method, r.path) for r in server.requests[before:]] == [
        ("GET", "/gallery/tanraak/"),  # the earlier finalize may have landed: look first
        ("GET", "/gallery/tanraak/"),
        ("POST", "/submit/finalize/"),
    ]
    assert len(server.requests_to("POST", "/submit/upload/")) == 2  # one per post, none again
    assert len(server.submissions) == 2 and published.remote_id in server.submissions


def test_server_error_on_finalize_is_ambiguous_and_resumes_without_upload(server, adapter):
    server.fail_next(1, 503, path="/submit/finalize/")
    saved = Saved()
    with pytest.raises(TransientError) as failed:
        adapter.publish(make_job(server), saved)
    assert "503" in failed.value.message and failed.value.ambiguous is True
    assert server.submissions == {}

    before = len(server.requests)
    published = adapter.publish(make_job(server, progress=saved.merged()), saved)
    resumed = [(r.method, r.path) for r in server.requests[before:]]
    assert ("POST", "/submit/upload/") not in resumed and ("GET", "/submit/") not in resumed
    assert resumed[-1] == ("POST", "/submit/finalize/")
    assert list(server.submissions) == [published.remote_id]


def test_server_error_before_anything_was_sent_is_not_ambiguous(server, adapter):
    server.fail_next(1, 502, path="/submit/")
    with pytest.raises(TransientError) as failed:
        adapter.publish(make_job(server), Saved())
    assert failed.value.ambiguous is False


def test_rate_limit_status_carries_retry_after(server, adapter):
    server.fail_next(1, 429, path="/submit/", headers={"Retry-After": "120"})
    with pytest.raises(RateLimited) as limited:
        adapter.publish(make_job(server), Saved())
    assert limited.value.retry_after == 120


def test_timeout_after_finalize_is_ambiguous_and_the_retry_adopts_the_post(server, adapter):
    server.delay_next(1, 1.5, path="/submit/finalize/")
    saved = Saved()
    with pytest.raises(TransientError) as failed:
        adapter.publish(make_job(server), saved)
    assert failed.value.ambiguous is True
    [sub] = server.submissions.values()  # FA did post it

    before = len(server.requests)
    published = adapter.publish(make_job(server, progress=saved.merged()), saved)
    assert published.remote_id == sub["id"] and published.extra["adopted"] is True
    assert [(r.method, r.path) for r in server.requests[before:]] == [("GET", "/gallery/tanraak/")]
    assert len(server.submissions) == 1


def test_dropped_connection_on_finalize_then_lookup_finds_it(server, adapter):
    server.fail_next(1, 0, path="/submit/finalize/", after=True)
    saved = Saved()
    with pytest.raises(TransientError) as failed:
        adapter.publish(make_job(server), saved)
    assert failed.value.ambiguous is True
    [sub] = server.submissions.values()
    found = adapter.lookup(make_job(server, progress=saved.merged()))
    assert found.presence is Presence.FOUND and found.published.remote_id == sub["id"]


def test_lookup_ignores_an_older_post_with_the_same_title(server, adapter):
    older = server.add_submission("Tan_raak", "Trisk at dusk")
    progress = {"user": "tanraak", "gallery_top": older["id"]}
    assert adapter.lookup(make_job(server, progress=progress)).presence is Presence.ABSENT
    # without a recorded top, a same-title post counts
    assert adapter.lookup(make_job(server)).presence is Presence.FOUND


def test_a_stale_stored_key_uploads_again(server, adapter):
    saved = Saved()
    progress = {"finalize_key": "expired-key", "user": "tanraak"}
    published = adapter.publish(make_job(server, progress=progress), saved)
    assert [(r.method, r.path) for r in server.requests] == [
        ("GET", "/gallery/tanraak/"),
        ("POST", "/submit/finalize/"),  # refused: the key expired
        *FLOW,
    ]
    assert published.remote_id in server.submissions
    assert {"finalize_key": None, "finalize_sent_at": None} in saved


def test_submit_page_without_the_key_is_site_changed(server, adapter):
    server.overrides["submit.html"] = '<form id="upload_form" action="/submit/upload/"></form>'
    with pytest.raises(SiteChanged, match="'key'"):
        adapter.publish(make_job(server), Saved())
    assert server.requests_to("POST", "/submit/upload/") == []


def test_finalize_form_without_keywords_is_site_changed_before_posting(server, adapter):
    page = (
        '<form id="myform" action="/submit/finalize/"><input type="hidden" name="key" value="k">'
        '<input name="title"><textarea name="message"></textarea>'
        '<input type="radio" name="rating" value="0"></form>'
    )
    server.overrides["finalize.html"] = page
    with pytest.raises(SiteChanged, match="'keywords'"):
        adapter.publish(make_job(server), Saved())
    assert server.requests_to("POST", "/submit/finalize/") == []


def test_a_post_without_title_or_with_an_unknown_rating_is_refused_before_requests(server, adapter):
    post = adapter.render(DRAFT, PEOPLE)
    with pytest.raises(ContentRejected, match="title"):
        adapter.publish(make_job(server, {**post, "title": " "}), Saved())
    with pytest.raises(ContentRejected, match="rating"):
        adapter.publish(make_job(server, {**post, "rating": "explicit"}), Saved())
    assert server.requests == []


# -- edit, import, account -------------------------------------------------------------------
def test_edit_rewrites_text_and_keeps_the_other_fields(server, adapter):
    published = adapter.publish(make_job(server, category="2", species="6018", scraps="1"), Saved())
    post = {
        **adapter.render(DRAFT, PEOPLE),
        "title": "Trisk at dawn",
        "description": "New [b]credits[/b]",
        "keywords": "hyena dawn sketch",
        "rating": "adult",
    }
    edited = adapter.edit(published.remote_id, make_job(server, post))

    path = f"/controls/submissions/changeinfo/{published.remote_id}/"
    get, post_request = server.requests_to("GET", path)[0], server.requests_to("POST", path)[0]
    assert get.cookies == post_request.cookies == {"a": A, "b": B}
    form = {k: v[-1] for k, v in post_request.form.items()}
    assert form["title"] == "Trisk at dawn" and form["message"] == "New [b]credits[/b]"
    assert form["keywords"] == "hyena dawn sketch" and form["rating"] == "1"
    assert form["update"] == "yes" and form["cat"] == "2" and form["species"] == "6018"
    assert form["scrap"] == "1"
    sub = server.submissions[published.remote_id]
    assert (sub["title"], sub["rating"], sub["cat"], sub["scrap"]) == (
        "Trisk at dawn",
        "adult",
        "2",
        True,
    )
    assert edited.url == f"{server.base_url}/view/{published.remote_id}/"


def test_edit_of_someone_elses_submission_is_refused(server, adapter):
    theirs = server.add_submission("Other", "Not mine")
    with pytest.raises(ContentRejected, match="not allowed"):
        adapter.edit(theirs["id"], make_job(server))


def test_delete_is_unsupported(server, adapter):
    with pytest.raises(Unsupported):
        adapter.delete("1", creds(server))


def test_fetch_imports_the_gallery_with_titles_and_image_urls(server, adapter):
    server.page_size = 2
    posted = adapter.publish(make_job(server), Saved())
    for i in range(3):
        server.add_submission("Tan_raak", f"Old {i}")
    server.add_submission("Tan_raak", "A scrap", scrap="1")
    server.add_submission("Other", "Not mine")

    found = adapter.fetch(creds(server), limit=10)

    assert [p.extra["title"] for p in found] == ["Old 2", "Old 1", "Old 0", "Trisk at dusk"]
    mine = found[-1]
    assert mine.remote_id == posted.remote_id and mine.url == posted.url
    host = server.base_url
    assert mine.extra["image_url"].startswith(f"{host}/art/tanraak/{posted.remote_id}/")
    assert mine.extra["thumbnail_url"].startswith(f"{host}/thumb/{posted.remote_id}@200-")
    assert adapter.fetch(creds(server), limit=1)[0].extra["title"] == "Old 2"


def test_check_auth_names_the_account(server, adapter):
    assert adapter.check_auth(creds(server)) == "Tan_raak"
    with pytest.raises(AuthError):
        adapter.check_auth(creds(server, cookie_b="wrong"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.furaffinity.net/view/54321/", "54321"),
        ("https://www.furaffinity.net/view/54321", "54321"),
        ("https://furaffinity.net/full/54321/", "54321"),
        ("http://sfw.furaffinity.net/view/7/?upload-successful", "7"),
        ("https://www.furaffinity.net/user/tanraak/", None),
        ("https://www.furaffinity.net/gallery/tanraak/", None),
        ("https://www.furaffinity.net.evil.example/view/1/", None),
        ("https://www.weasyl.com/submission/1", None),
        ("furaffinity.net/view/1/", None),
    ],
)
def test_parse_url(url, expected):
    assert FurAffinity().parse_url(url) == expected
