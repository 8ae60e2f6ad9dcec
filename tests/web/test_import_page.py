"""The web app's import pages (server/web/imports.py) through the test client: the accounts
page's Import button, starting an import job, the JSON the progress bar polls, the worker's
tick running it, and confirming a proposed credit. The browser test is
tests/web/test_import_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from server import db, import_jobs
from server.models import Account, User
from tests.server.test_import import MediaMastodon, encoded, picture
from tests.web.conftest import connect_mastodon


@pytest.fixture
def media_mastodon() -> Iterator[MediaMastodon]:
    server = MediaMastodon(tokens={"tok": "tanraak"})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def importing(app):
    app.config["IMPORT_ALLOW_LOOPBACK"] = True
    return app


def test_import_from_the_web_app(importing, web, intruder, media_mastodon):
    media_mastodon.add_image_status(
        "tanraak", "Trisk at dusk\n\nCommission for @hyena@furry.engineer", encoded(picture(1))
    )
    media_mastodon.add_image_status("tanraak", "After dark", encoded(picture(2)))
    account_id = connect_mastodon(web, media_mastodon)

    accounts = web.get("/app/accounts").get_data(as_text=True)
    assert f'href="/app/accounts/{account_id}/import"' in accounts
    page = web.get(f"/app/accounts/{account_id}/import").get_data(as_text=True)
    assert "Start import" in page and "import-progress" not in page
    assert web.get(f"/app/accounts/{account_id}/import.json").json["job"] is None

    started = web.post(f"/app/accounts/{account_id}/import", {"since": ""})
    assert started.status_code == 302
    status = web.get(f"/app/accounts/{account_id}/import.json").json
    assert (status["job"]["state"], status["job"]["percent"]) == ("queued", 0)
    page = web.get(f"/app/accounts/{account_id}/import").get_data(as_text=True)
    assert 'id="import-bar"' in page and "Waiting for a worker" in page
    assert re.search(r'<script src="/static/js/import\.js[^"]*" defer>', page)
    assert "<script>" not in page  # no inline script: the CSP forbids it
    # starting again while it waits does not queue a second import
    web.post(f"/app/accounts/{account_id}/import", {})
    assert import_jobs.tick(importing, "web-test") == 1

    status = web.get(f"/app/accounts/{account_id}/import.json").json
    job = status["job"]
    assert (job["state"], job["percent"], job["total"], job["new"]) == ("done", 100, 2, 2)
    assert status["proposals"] == 1
    page = web.get(f"/app/accounts/{account_id}/import").get_data(as_text=True)
    assert 'value="2"' in page and "2 of 2 posts read, 2 imported" in page
    assert 'Confirm proposed credits (<span id="import-proposal-count">1</span>)' in page

    # the proposal, confirmed with the role the artist picks
    proposals = web.get(status["proposals_url"]).get_data(as_text=True)
    assert "hyena@furry.engineer" in proposals and "Trisk at dusk" in proposals
    proposal_id = re.search(r'name="proposal" value="(\d+)"', proposals).group(1)
    # another artist can neither see the pages nor accept it
    for path in (
        f"/app/accounts/{account_id}/import",
        f"/app/accounts/{account_id}/import.json",
        status["proposals_url"],
    ):
        assert intruder.get(path).status_code == 404
    stolen = intruder.post(status["proposals_url"], {"proposal": proposal_id})
    assert stolen.status_code == 404
    bad_role = web.post(status["proposals_url"], {"proposal": proposal_id, "role": "boss"})
    assert bad_role.status_code == 302
    accepted = web.post(status["proposals_url"], {"proposal": proposal_id, "role": "commissioner"})
    assert accepted.status_code == 302
    assert "Nothing to confirm" in web.get(status["proposals_url"]).get_data(as_text=True)
    artwork_id = re.search(r"/app/artworks/(\d+)", proposals).group(1)
    artwork = web.get(f"/app/artworks/{artwork_id}").get_data(as_text=True)
    assert "hyena" in artwork.lower() and "commissioner" in artwork.lower()
    assert web.post(status["proposals_url"], {"proposal": "999999"}).status_code == 404


def test_a_bad_since_date_is_refused_and_nothing_is_queued(importing, web, media_mastodon):
    account_id = connect_mastodon(web, media_mastodon)
    response = web.post(f"/app/accounts/{account_id}/import", {"since": "last tuesday"})
    assert response.status_code == 302
    page = web.get(f"/app/accounts/{account_id}/import").get_data(as_text=True)
    assert "must be a date" in page
    assert web.get(f"/app/accounts/{account_id}/import.json").json["job"] is None
    web.post(f"/app/accounts/{account_id}/import", {"since": "2024-03-01"})
    job = web.get(f"/app/accounts/{account_id}/import.json").json["job"]
    assert job["state"] == "queued"
    page = web.get(f"/app/accounts/{account_id}/import").get_data(as_text=True)
    assert 'value="2024-03-01"' in page  # shown back in the artist's zone (Europe/Berlin)


def test_only_platforms_that_can_be_read_back_offer_an_import(app, web, media_mastodon):
    mastodon_id = connect_mastodon(web, media_mastodon)
    with db.session_scope(app) as session:
        user = session.scalar(select(User).where(User.username == "tanraak"))
        discord = Account(user_id=user.id, platform="discord", name="#art", options={})
        session.add(discord)
        session.flush()
        discord_id = discord.id
    accounts = web.get("/app/accounts").get_data(as_text=True)
    assert f'href="/app/accounts/{mastodon_id}/import"' in accounts
    assert f'href="/app/accounts/{discord_id}/import"' not in accounts  # Discord cannot fetch


def test_the_e621_form_asks_for_the_artist_tag_as_an_optional_name(web):
    page = web.get("/app/accounts/new/e621").get_data(as_text=True)
    field = re.search(r'<input id="cred_artist_tag"[^>]*>', page)
    assert field and 'type="text"' in field.group(0) and "required" not in field.group(0)
    assert re.search(r'name="cred_api_key" type="password"[^>]*required', page)


@pytest.mark.parametrize("since", ["0001-01-01", "1969-12-31", "9999-12-31"])
def test_a_date_at_the_edge_of_the_calendar_is_refused_not_a_500(
    importing, web, media_mastodon, since
):
    """0001-01-01 in Europe/Berlin is still year 0 in UTC (OverflowError); years before 1970
    have no posts; 9999-12-31 is accepted."""
    account_id = connect_mastodon(web, media_mastodon)
    response = web.post(f"/app/accounts/{account_id}/import", {"since": since})
    assert response.status_code == 302
    page = web.get(f"/app/accounts/{account_id}/import").get_data(as_text=True)
    job = web.get(f"/app/accounts/{account_id}/import.json").json["job"]
    if since == "9999-12-31":
        assert job["state"] == "queued"
    else:
        assert "between 1970 and 9999" in page
        assert job is None


def test_running_the_import_again_keeps_the_earlier_imports_proposals(importing, web):
    server = MediaMastodon(tokens={"tok": "tanraak"})
    server.start()
    try:
        server.add_image_status(
            "tanraak", "Trisk\n\nCommission for @hyena@furry.engineer", encoded(picture(1))
        )
        account_id = connect_mastodon(web, server)
        url = f"/app/accounts/{account_id}/import/proposals"
        web.post(f"/app/accounts/{account_id}/import", {"since": ""})
        assert import_jobs.tick(importing, "w") == 1
        first = re.findall(r'name="proposal" value="(\d+)"', web.get(url).get_data(as_text=True))
        assert len(first) == 1
        # the artist imports again (a new post) before confirming the first import's credit
        server.add_image_status(
            "tanraak", "Sketch, art by @wolf@furry.engineer", encoded(picture(2))
        )
        web.post(f"/app/accounts/{account_id}/import", {"since": ""})
        assert import_jobs.tick(importing, "w") == 1
        page = web.get(url).get_data(as_text=True)
        both = re.findall(r'name="proposal" value="(\d+)"', page)
        assert first[0] in both and len(both) == 2
        status = web.get(f"/app/accounts/{account_id}/import.json").json
        assert status["proposals"] == 2
        # and the earlier one can still be confirmed from here
        assert web.post(url, {"proposal": first[0]}).status_code == 302
        assert re.findall(
            r'name="proposal" value="(\d+)"', web.get(url).get_data(as_text=True)
        ) == [p for p in both if p != first[0]]
    finally:
        server.stop()
