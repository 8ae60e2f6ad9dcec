"""People, accounts, compose, artwork and deliveries pages through the Flask test client:
happy paths, bad input, and what must never happen (escaping, credentials, wrong times)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server import db, vault
from server.models import Account, Artwork, Delivery, utcnow
from tests.web.conftest import (
    HYENA_FORM,
    add_people,
    artwork_form,
    connect_mastodon,
    create_artwork,
    image,
)

# -- people -----------------------------------------------------------------------------------


def test_people_crud(web):
    add_people(web)
    page = web.get("/app/people").get_data(as_text=True)
    assert "Hyena Dude" in page and "@[hyena]" in page and "hyena@furry.engineer" in page
    duplicate = web.post("/app/people/new", HYENA_FORM)
    assert duplicate.status_code == 400 and b"already have a person" in duplicate.data
    bad = web.post(
        "/app/people/new",
        {"key": "x y", "name": "", "handle_mastodon": "nodomain", "handle_twitter": "a b"},
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "invalid mastodon handle" in text and "invalid twitter handle" in text
    assert 'value="a b"' in text  # what was typed comes back
    not_an_account = web.post(
        "/app/people/hyena", {"name": "Hyena", "handle_twitter": "hyena_dude", "primary": "weasyl"}
    )
    assert not_an_account.status_code == 400 and b"primary" in not_an_account.data
    edit = web.post(
        "/app/people/hyena",
        {"name": "Hyena D.", "handle_weasyl": "hyenadude", "primary": "weasyl"},
    )
    assert edit.status_code == 302
    exported = web.get("/app/people/export.json")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    hyena = next(p for p in exported.json["people"] if p["key"] == "hyena")
    assert hyena == {
        "key": "hyena",
        "name": "Hyena D.",
        "primary": "weasyl",
        "accounts": {"weasyl": "hyenadude"},
        "notes": "",
    }
    assert web.post("/app/people/hyena/delete").status_code == 302
    assert web.get("/app/people/hyena").status_code == 404
    assert web.get("/app/people/%00").status_code == 404


def test_people_import(web):
    document = {
        "people": [
            {"key": "sam", "name": "Sam", "accounts": {"bluesky": "sam.bsky.social"}},
            {"key": "kit", "name": "Kit"},
        ]
    }
    upload = (io.BytesIO(json.dumps(document).encode()), "people.json")
    response = web.post("/app/people/import", {"file": upload})
    assert response.status_code == 302
    assert "Sam" in web.get("/app/people").get_data(as_text=True)
    again = web.post("/app/people/import", {"document": json.dumps(document["people"])})
    assert again.status_code == 302
    for bad, words in (
        ("{", "not valid JSON"),
        ('{"people": [{"key": "z", "name": "Z", "accounts": {"twitter": "no way"}}]}', "twitter"),
        ('{"people": [{"key": "z"}]}', "name"),
        ("", "choose an exported JSON file"),
        ('{"people": [{"key": "z", "name": "\\u0000"}]}', "NUL"),
    ):
        response = web.post("/app/people/import", {"document": bad})
        assert response.status_code == 400, bad
        assert words in response.get_data(as_text=True), bad
    assert "z" not in [p["key"] for p in web.get("/app/people/export.json").json["people"]]


def test_a_credited_person_is_not_removed(web):
    add_people(web)
    create_artwork(web)
    response = web.post("/app/people/hyena/delete", follow_redirects=True)
    assert b"is credited on an artwork" in response.data
    assert web.get("/app/people/hyena").status_code == 200


# -- accounts ---------------------------------------------------------------------------------


def test_connect_verify_and_rules(app, web, mastodon):
    page = web.get("/app/accounts/new/mastodon").get_data(as_text=True)
    assert 'name="cred_access_token" type="password"' in page
    assert 'name="cred_instance" type="text"' in page
    account_id = connect_mastodon(web, mastodon)
    listing = web.get("/app/accounts").get_data(as_text=True)
    assert "Needs attention" not in listing and ">OK<" in listing
    # rule overrides
    response = web.post(
        f"/app/accounts/{account_id}",
        {
            "name": "@tanraak",
            "mention_style": "delinked",
            "links_in_reply": "yes",
            "censor": "custom",
            "censor_words": "Patreon=Patr*on\ncommission = c*mmission",
        },
    )
    assert response.status_code == 302
    with db.session_scope(app) as session:
        account = session.get(Account, account_id)
        assert account.options == {
            "mention_style": "delinked",
            "censor": {"Patreon": "Patr*on", "commission": "c*mmission"},
            "links_in_reply": True,
        }
        # blank credential inputs kept what was stored
        assert vault.box_for(app).open(account.credentials)["access_token"] == "tok"
    bad = web.post(
        f"/app/accounts/{account_id}",
        {"name": "@tanraak", "censor": "custom", "censor_words": "no equals sign"},
    )
    assert bad.status_code == 400 and b"word=replacement" in bad.data
    bad_style = web.post(f"/app/accounts/{account_id}", {"name": "x", "mention_style": "loud"})
    assert bad_style.status_code == 400
    # pause, resume, verify, disconnect
    web.post(f"/app/accounts/{account_id}/pause")
    assert b"Paused" in web.get("/app/accounts").data
    web.post(f"/app/accounts/{account_id}/resume")
    verified = web.post(f"/app/accounts/{account_id}/verify", follow_redirects=True)
    assert b"Signed in as @tanraak@" in verified.data
    web.post(f"/app/accounts/{account_id}/delete")
    assert web.get(f"/app/accounts/{account_id}").status_code == 404


def test_a_refused_token_needs_attention_and_is_not_echoed(app, web, mastodon):
    secret = "wrong-token-0123456789-abcdef"
    response = web.post(
        "/app/accounts/new/mastodon",
        {"name": "@me", "cred_instance": mastodon.base_url, "cred_access_token": secret},
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert "Needs attention" in text and secret not in text
    missing = web.post("/app/accounts/new/mastodon", {"name": "@me"})
    assert missing.status_code == 400 and b"required" in missing.data
    assert web.get("/app/accounts/new/nosuchsite").status_code == 404


def test_fixing_credentials_resumes_the_account(app, web, mastodon):
    account_id = connect_mastodon(web, mastodon, token="bad")
    assert b"Needs attention" in web.get("/app/accounts").data
    web.post(f"/app/accounts/{account_id}", {"name": "@tanraak", "cred_access_token": "tok"})
    with db.session_scope(app) as session:
        assert session.get(Account, account_id).state == "ok"


# -- compose and artworks ---------------------------------------------------------------------


def test_compose_without_javascript_saves_a_draft_and_previews(app, web, mastodon):
    add_people(web)
    account_id = connect_mastodon(web, mastodon)
    form = artwork_form(account=str(account_id), action="preview")
    response = web.post("/app/compose", form)
    assert response.status_code == 302 and response.headers["Location"].endswith("/edit")
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-platform="mastodon"' in page
    assert "Commission for @hyena@furry.engineer" in page
    assert re.search(r'class="counter[^"]*"[^>]*>\d+ / 500<', page)
    with db.session_scope(app) as session:
        [artwork] = session.scalars(select(Artwork)).all()
        assert artwork.deliveries == [] and len(artwork.images) == 1
        assert artwork.images[0].alt_text == "A hyena in a red scarf at sunset"
        assert [c.role for c in artwork.credits] == ["artist", "commissioner", "character_owner"]
        assert artwork.tags == ["hyena", "digital art"]


def test_compose_preview_shows_every_platform_without_accounts(web):
    add_people(web)
    page = web.post("/app/preview", artwork_form(images=None)).get_data(as_text=True)
    for platform in ("twitter", "bluesky", "mastodon", "furaffinity", "e621"):
        assert f'data-platform="{platform}"' in page
    assert "@/hyena_dude" in page  # X de-links mentions by default
    no_rating = web.post("/app/preview", artwork_form(images=None, rating=""))
    assert b"Choose a rating" in no_rating.data
    unknown = web.post(
        "/app/preview", artwork_form(images=None, description="hi @[nobody]")
    ).get_data(as_text=True)
    assert "Cannot post here" in unknown and "nobody" in unknown


def test_compose_errors_come_back_next_to_their_fields(web):
    add_people(web)
    response = web.post(
        "/app/compose",
        artwork_form(
            images=None,
            title=" ",
            rating="",
            credit_role_1="boss",
            action="post",
            when="later",
            scheduled_at="soon",
        ),
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    for words in (
        "choose at least one image",
        "choose a rating",
        "choose a role",
        "choose at least one account",
        "give a date and time",
    ):
        assert words in text, words
    assert 'value="Trisk at dusk"' not in text  # the blank title stayed blank


def test_compose_keeps_the_language_and_refuses_a_bad_one(app, web):
    add_people(web)
    bad = web.post("/app/compose", artwork_form(language="en<b>", action="preview"))
    assert bad.status_code == 400
    assert 'id="language" name="language" value="en&lt;b&gt;"' in bad.get_data(as_text=True)
    saved = web.post("/app/compose", artwork_form(language="pt-BR", action="preview"))
    assert saved.status_code == 302
    assert 'value="pt-BR"' in web.get(saved.headers["Location"]).get_data(as_text=True)
    with db.session_scope(app) as session:
        [artwork] = session.scalars(select(Artwork)).all()
        assert artwork.language == "pt-BR"


def test_compose_refuses_bad_images_and_unknown_people(web):
    add_people(web)
    broken = web.post("/app/compose", artwork_form(images=(io.BytesIO(b"not an image"), "x.png")))
    assert broken.status_code == 400 and b"image 1" in broken.data
    unknown = web.post("/app/compose", artwork_form(credit_person_0="ghost"))
    assert unknown.status_code == 400 and b"unknown person" in unknown.data


def test_post_now_and_schedule_in_the_artists_zone(app, web, mastodon):
    add_people(web)
    account_id = connect_mastodon(web, mastodon)
    now = web.post("/app/compose", artwork_form(account=str(account_id), action="post"))
    assert now.status_code == 302 and re.search(r"/app/artworks/\d+$", now.headers["Location"])
    page = web.get(now.headers["Location"]).get_data(as_text=True)
    assert "Posting now" in page or "Will be posted" in page
    # scheduled: 10:30 in Berlin is 09:30 UTC in winter, 08:30 in summer
    zone = ZoneInfo("Europe/Berlin")
    local = (dt.datetime.now(zone) + dt.timedelta(days=3)).replace(
        hour=10, minute=30, second=0, microsecond=0
    )
    later = web.post(
        "/app/compose",
        artwork_form(
            account=str(account_id),
            action="post",
            when="later",
            scheduled_at=local.strftime("%Y-%m-%dT%H:%M"),
            title="Second",
            images=image(colour=(1, 2, 3)),
        ),
    )
    assert later.status_code == 302
    with db.session_scope(app) as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert len(rows) == 2
        assert rows[1].scheduled_at == local.astimezone(dt.UTC)
    overview = web.get("/app/deliveries").get_data(as_text=True)
    assert f"{local:%Y-%m-%d %H:%M}" in overview and "Second" in overview


def test_times_that_do_not_exist_or_have_passed_are_refused(app, web, mastodon):
    add_people(web)
    artwork_id = create_artwork(web)
    account_id = connect_mastodon(web, mastodon)
    year = dt.datetime.now(dt.UTC).year + 1
    # the last Sunday of March, 02:30 does not exist in Berlin
    march = max(d for d in (dt.date(year, 3, day) for day in range(25, 32)) if d.weekday() == 6)
    gap = web.post(
        f"/app/artworks/{artwork_id}/deliveries",
        {"account": str(account_id), "when": "later", "scheduled_at": f"{march}T02:30"},
    )
    assert gap.status_code == 400 and b"does not exist in Europe/Berlin" in gap.data
    past = web.post(
        f"/app/artworks/{artwork_id}/deliveries",
        {"account": str(account_id), "when": "later", "scheduled_at": "2020-01-01T10:00"},
    )
    assert past.status_code == 400 and b"has passed" in past.data
    with db.session_scope(app) as session:
        assert session.scalars(select(Delivery)).all() == []


def test_a_post_that_does_not_fit_shows_the_error_that_blocks_it(web):
    add_people(web)
    names = {f"p{i}": f"Person number {i} " + "x" * 150 for i in range(30)}
    for key, name in names.items():
        web.post("/app/people/new", {"key": key, "name": name})
    credits = {}
    for i, key in enumerate(names):
        credits[f"credit_role_{i + 3}"] = "other"
        credits[f"credit_person_{i + 3}"] = key
    page = web.post("/app/preview", {**artwork_form(images=None), **credits}).get_data(as_text=True)
    discord = page.split('data-platform="discord"')[1].split("</article>")[0]
    assert "Cannot post here" in discord and "Discord" in discord


def test_user_text_is_escaped_everywhere(web, mastodon):
    add_people(web)
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    web.post("/app/people/new", {"key": "evil", "name": evil, "handle_twitter": "evil"})
    artwork_id = create_artwork(
        web, title=evil, description=evil, tags=evil, alt_text_0=evil, credit_character_2=evil
    )
    for path in (
        "/app/people",
        f"/app/artworks/{artwork_id}",
        f"/app/artworks/{artwork_id}/edit",
        "/app/deliveries",
        "/app/compose",
    ):
        text = web.get(path).get_data(as_text=True)
        assert "<script>alert" not in text and "<img src=x" not in text, path
    fragment = web.post("/app/preview", artwork_form(images=None, title=evil)).get_data(
        as_text=True
    )
    assert "<script>alert" not in fragment and "&lt;script&gt;" in fragment


def test_edit_artwork_and_credits(app, web, mastodon):
    add_people(web)
    artwork_id = create_artwork(web)
    page = web.get(f"/app/artworks/{artwork_id}").get_data(as_text=True)
    assert 'href="/a/' in page and "Canonical page" in page
    image_url = f"/app/artworks/{artwork_id}/images/0"
    assert image_url in page
    picture = web.get(image_url)
    assert picture.status_code == 200 and picture.mimetype == "image/png"
    assert web.get(f"/app/artworks/{artwork_id}/images/5").status_code == 404
    saved = web.post(
        f"/app/artworks/{artwork_id}/credits",
        {"credit_role_0": "artist", "credit_person_0": "hyena", "credit_person_1": ""},
    )
    assert saved.status_code == 302
    with db.session_scope(app) as session:
        artwork = session.get(Artwork, artwork_id)
        assert [(c.role, c.person.key) for c in artwork.credits] == [("artist", "hyena")]
    bad = web.post(
        f"/app/artworks/{artwork_id}/credits",
        {"credit_role_0": "artist", "credit_person_0": "ghost"},
    )
    assert bad.status_code == 400 and b"unknown person" in bad.data
    edited = web.post(
        f"/app/artworks/{artwork_id}/edit",
        {**artwork_form(images=None, title="New title"), "action": "save"},
    )
    assert edited.status_code == 302
    preview_only = web.post(
        f"/app/artworks/{artwork_id}/edit",
        {**artwork_form(images=None, title="Not saved"), "action": "preview"},
    )
    assert preview_only.status_code == 200 and b"Not saved" in preview_only.data
    with db.session_scope(app) as session:
        assert session.get(Artwork, artwork_id).title == "New title"
    assert web.post(f"/app/artworks/{artwork_id}/delete").status_code == 302
    assert web.get(f"/app/artworks/{artwork_id}").status_code == 404


# -- deliveries -------------------------------------------------------------------------------


def test_cancel_reschedule_retry(app, web, mastodon):
    add_people(web)
    account_id = connect_mastodon(web, mastodon)
    artwork_id = create_artwork(web)
    web.post(
        f"/app/artworks/{artwork_id}/deliveries",
        {"account": str(account_id), "when": "later", "scheduled_at": "2099-05-01T12:00"},
    )
    with db.session_scope(app) as session:
        delivery_id = session.scalars(select(Delivery.id)).one()
    moved = web.post(
        f"/app/deliveries/{delivery_id}/reschedule",
        {"scheduled_at": "2099-06-01T08:15", "back": "artwork"},
    )
    assert moved.headers["Location"].endswith(f"/app/artworks/{artwork_id}")
    with db.session_scope(app) as session:
        assert session.get(Delivery, delivery_id).scheduled_at == dt.datetime(
            2099, 6, 1, 6, 15, tzinfo=dt.UTC
        )
    bad = web.post(
        f"/app/deliveries/{delivery_id}/reschedule", {"scheduled_at": "nope"}, follow_redirects=True
    )
    assert b"Not rescheduled" in bad.data
    not_now = web.post(f"/app/deliveries/{delivery_id}/retry", follow_redirects=True)
    assert b"cannot be retried" in not_now.data
    web.post(f"/app/deliveries/{delivery_id}/cancel")
    with db.session_scope(app) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery.state == "cancelled"
        delivery.state, delivery.last_error = "failed", "the site said: file too big"
    page = web.get("/app/deliveries").get_data(as_text=True)
    assert "Needs you" in page and "Not posted: the site said: file too big" in page
    web.post(f"/app/deliveries/{delivery_id}/retry")
    with db.session_scope(app) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery.state == "scheduled" and delivery.scheduled_at <= utcnow()
