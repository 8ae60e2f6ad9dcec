"""Rules every web route keeps, checked over the whole URL map so a new page cannot forget:
sign-in required, CSRF on every unsafe method, another artist's object is a 404, and no page
shows a stored credential."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import add_people, connect_mastodon, create_artwork

PUBLIC = {"web.login", "web.setup"}


def web_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("web.")]


def fill(rule, values):
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:\w+:)?{name}>", str(values[name]), path)
    return path


def unsafe(rule):
    return sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})


def test_every_page_needs_sign_in(app, anon, web):
    values = {
        "artwork_id": 1,
        "account_id": 1,
        "delivery_id": 1,
        "key": "x",
        "position": 0,
        "platform": "mastodon",
    }
    for rule in web_rules(app):
        if rule.endpoint in PUBLIC:
            continue
        path = fill(rule, values)
        if "GET" in rule.methods:
            response = anon.get(path)
            assert response.status_code == 302, path
            assert "/app/login" in response.headers["Location"], path
        for method in unsafe(rule):
            response = anon.client.open(path, method=method, data={"csrf_token": anon.token()})
            assert response.status_code == 302 and "/app/login" in response.headers["Location"]


def test_every_unsafe_request_needs_the_csrf_token(app, web):
    values = {
        "artwork_id": 1,
        "account_id": 1,
        "delivery_id": 1,
        "key": "x",
        "position": 0,
        "platform": "mastodon",
    }
    checked = 0
    for rule in web_rules(app):
        for method in unsafe(rule):
            path = fill(rule, values)
            response = web.client.open(path, method=method, data={"title": "x"})
            assert response.status_code == 400, (method, path)
            assert b"Form expired" in response.data
            response = web.client.open(
                path, method=method, data={"csrf_token": "x" * 43}, headers={"X-CSRF-Token": "y"}
            )
            assert response.status_code == 400, (method, path)
            checked += 1
    assert checked >= 20


@pytest.fixture
def owned(app, web, mastodon):
    """One of everything, owned by ``web``'s artist, with a delivery."""
    add_people(web)
    account_id = connect_mastodon(web, mastodon)
    artwork_id = create_artwork(web)
    response = web.post(
        f"/app/artworks/{artwork_id}/deliveries",
        {"account": str(account_id), "when": "later", "scheduled_at": "2099-01-01T10:00"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return {
        "artwork_id": artwork_id,
        "account_id": account_id,
        "delivery_id": 1,
        "key": "hyena",
        "position": 0,
        "platform": "mastodon",
    }


def test_another_artists_objects_are_404_everywhere(app, web, intruder, owned):
    checked = []
    for rule in web_rules(app):
        if not set(rule.arguments) & {"artwork_id", "account_id", "delivery_id", "key"}:
            continue
        path = fill(rule, owned)
        if "GET" in rule.methods:
            assert intruder.get(path).status_code == 404, path
            assert web.get(path).status_code == 200, path  # the owner sees it
            checked.append(path)
        for method in unsafe(rule):
            response = intruder.client.open(
                path, method=method, data={"csrf_token": intruder.token(), "title": "x"}
            )
            assert response.status_code == 404, (method, path)
            checked.append((method, path))
    assert len(checked) >= 15
    # the preview fragment does not render someone else's artwork either
    response = intruder.post("/app/preview", {"artwork_id": str(owned["artwork_id"])})
    assert response.status_code == 404
    # nothing of the owner's changed
    page = web.get(f"/app/artworks/{owned['artwork_id']}").get_data(as_text=True)
    assert "Trisk at dusk" in page and "Scheduled" in page
    assert web.get("/app/people/hyena").status_code == 200
    assert b"@tanraak" in web.get("/app/accounts").data


def test_lists_show_only_your_own(app, web, intruder, owned):
    for path in ("/app/people", "/app/accounts", "/app/deliveries", "/app/compose"):
        text = intruder.get(path).get_data(as_text=True)
        assert "Hyena Dude" not in text and "Trisk at dusk" not in text, path
        assert "@tanraak" not in text, path
    export = intruder.get("/app/people/export.json").json
    assert export == {"people": []}


def test_no_page_shows_a_credential(app, web, owned, mastodon):
    secret = "tok"  # the access token; too short to search for, so use a long one too
    long_secret = "s3cr3t-access-token-that-must-never-appear-0123456789"
    mastodon.add_token(long_secret, "tanraak")
    response = web.post(
        f"/app/accounts/{owned['account_id']}",
        {"name": "@tanraak", "cred_access_token": long_secret},
    )
    assert response.status_code == 302
    seen = []
    for rule in web_rules(app):
        if "GET" not in rule.methods or rule.endpoint in ("web.artwork_image",):
            continue
        response = web.get(fill(rule, owned), follow_redirects=True)
        body = response.get_data(as_text=True)
        assert long_secret not in body, rule.rule
        assert mastodon.base_url not in body, rule.rule  # not even the instance address
        seen.append(rule.rule)
    assert secret and len(seen) >= 10
    page = web.get(f"/app/accounts/{owned['account_id']}").get_data(as_text=True)
    assert 'value=""' in page and "set" in page
