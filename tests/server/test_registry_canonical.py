"""The canonical record: publishing, /a/<id> (microformats2 + JSON-LD), /api/v1/works, URL
attribution, and the public endpoints' rate limit."""

from __future__ import annotations

import json

import mf2py
from bs4 import BeautifulSoup
from sqlalchemy import select

from server import db
from server.models import Artwork, Copy, Delivery, Registration
from server.registry.ratelimit import TokenBucket
from tests.server.registry_helpers import encode, picture, publish_picture

INJECTION = '</script><script>alert(1)</script><b onmouseover="x">T & "q"'


def _page(client, public_id: str):  # type: ignore[no-untyped-def]
    response = client.get(f"/a/{public_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return html, mf2py.parse(doc=html, url="http://127.0.0.1:8000/"), _jsonld(html)


def _jsonld(html: str) -> dict:
    [script] = BeautifulSoup(html, "html.parser").find_all("script", type="application/ld+json")
    return json.loads(script.string)


def test_unpublished_is_404_and_publish_makes_it_public(client, artist):
    for person in ("hyena", "tanraak"):
        artist.post("/api/v1/people", json={"key": person, "name": person.title()})
    from tests.server.helpers import artwork_form

    body = {"title": "t", "rating": "general", "credits": [{"role": "artist", "person": "hyena"}]}
    created = artist.post("/api/v1/artworks", data=artwork_form(body, encode(picture(1)))).json
    pid = created["public_id"]
    assert client.get(f"/a/{pid}").status_code == 404
    assert client.get(f"/api/v1/works/{pid}").status_code == 404
    assert client.get(f"/a/{pid}/images/0").status_code == 404
    published = artist.post(f"/api/v1/artworks/{created['id']}/publish")
    assert published.status_code == 200
    assert published.json["registration"] == "registered"
    assert client.get(f"/a/{pid}").status_code == 200
    assert client.get(f"/api/v1/works/{pid}").json["public_id"] == pid
    image = client.get(f"/a/{pid}/images/0")
    assert image.status_code == 200 and image.mimetype == "image/png"
    again = artist.post(f"/api/v1/artworks/{created['id']}/publish")  # idempotent
    assert again.json["work"]["published_at"] == published.json["work"]["published_at"]


def test_another_user_cannot_publish_my_artwork(app, client, artist, other_artist):
    from tests.server.helpers import artwork_form

    created = artist.post(
        "/api/v1/artworks", data=artwork_form({"title": "t", "rating": "general"})
    ).json
    response = other_artist.post(f"/api/v1/artworks/{created['id']}/publish")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert client.get(f"/a/{created['public_id']}").status_code == 404
    assert other_artist.get(f"/api/v1/artworks/{created['id']}/conflicts").status_code == 404
    with db.session_scope(app) as session:
        assert session.get(Artwork, created["id"]).published_at is None
        assert session.scalars(select(Registration)).all() == []


def test_canonical_page_is_an_h_entry_with_every_profile_and_copy(app, client, artist):
    work = publish_picture(artist, encode(picture(2)))
    with db.session_scope(app) as session:
        session.add(
            Copy(
                artwork_id=work["id"],
                url="https://furry.engineer/@tanraak/111222333",
                platform="mastodon",
                remote_id="111222333",
                source="delivery",
            )
        )
        session.add(
            Copy(artwork_id=work["id"], url="javascript:alert(1)", platform=None, source="report")
        )
    pid = work["work"]["public_id"]
    html, parsed, ld = _page(client, pid)
    [entry] = [i for i in parsed["items"] if "h-entry" in i["type"]]
    props = entry["properties"]
    assert props["name"] == ["Trisk at dusk"]
    assert props["url"] == [f"http://127.0.0.1:8000/a/{pid}"]
    assert props["syndication"] == ["https://furry.engineer/@tanraak/111222333"]
    assert "javascript:" not in html
    assert props["photo"][0]["value"].endswith(f"/a/{pid}/images/0")
    [author] = props["author"]
    assert author["properties"]["name"] == ["Tanraak"]
    assert author["properties"]["url"] == [
        "https://www.furaffinity.net/user/tanraak/",  # the primary profile first
        "https://bsky.app/profile/tanraak.bsky.social",
    ]
    contributors = props["contributor"]
    assert [c["properties"]["role"] for c in contributors] == [
        ["commissioner"],
        ["character_owner"],
    ]
    assert contributors[1]["properties"]["character"] == ["Trisk"]
    assert len(contributors[0]["properties"]["url"]) == 2  # twitter + weasyl
    # JSON-LD
    assert ld["@type"] == "VisualArtwork"
    assert ld["name"] == "Trisk at dusk"
    assert ld["url"] == f"http://127.0.0.1:8000/a/{pid}"
    assert [c["name"] for c in ld["creator"]] == ["Tanraak"]
    assert [c["roleName"] for c in ld["contributor"]] == [
        "artist",
        "commissioner",
        "character_owner",
    ]
    assert ld["sameAs"] == ["https://furry.engineer/@tanraak/111222333"]
    # the JSON document says the same
    doc = client.get(f"/api/v1/works/{pid}").json
    assert doc["title"] == "Trisk at dusk"
    assert [c["person"]["name"] for c in doc["credits"]] == ["Tanraak", "Hyena Dude", "Hyena Dude"]
    assert doc["copies"] == [
        {
            "url": "https://furry.engineer/@tanraak/111222333",
            "platform": "mastodon",
            "source": "delivery",
        }
    ]
    profiles = doc["credits"][0]["person"]["profiles"]
    assert profiles[0]["platform"] == "furaffinity"  # the primary profile first
    assert doc["review"] == "none"


def test_markup_in_titles_and_names_stays_text(client, artist):
    artist.post("/api/v1/people", json={"key": "evil", "name": INJECTION})
    work = publish_picture(artist, encode(picture(3)), title=INJECTION)
    from tests.server.helpers import artwork_form

    credited = artist.post(
        "/api/v1/artworks",
        data=artwork_form(
            {
                "title": INJECTION,
                "rating": "general",
                "credits": [{"role": "artist", "person": "evil"}],
            }
        ),
    ).json
    artist.post(f"/api/v1/artworks/{credited['id']}/publish")
    for pid in (work["work"]["public_id"], credited["public_id"]):
        html, parsed, ld = _page(client, pid)
        assert "<script>alert" not in html
        assert "<b onmouseover" not in html
        assert html.count("</script>") == 1  # only the JSON-LD element's own end tag
        [entry] = [i for i in parsed["items"] if "h-entry" in i["type"]]
        assert entry["properties"]["name"] == [INJECTION]
        assert ld["name"] == INJECTION
    assert ld["creator"][0]["name"] == INJECTION


def test_a_posted_delivery_publishes_and_registers_the_artwork(app, client, artist):
    from server.delivery import queue
    from server.models import utcnow
    from tests.server.test_deliveries import add_delivery

    delivery_id = add_delivery(app, artist.username, state="publishing")
    with db.session_scope(app) as session:
        delivery = session.get(Delivery, delivery_id)
        queue.record_posted(
            session, delivery, "123456", "https://example.social/@me/123456", utcnow()
        )
        public_id = delivery.artwork.public_id
    with db.session_scope(app) as session:
        artwork = session.scalar(select(Artwork).where(Artwork.public_id == public_id))
        assert artwork.published_at is not None
        assert session.get(Registration, artwork.id).state == "pending"
    _html, parsed, _ = _page(client, public_id)
    [entry] = [i for i in parsed["items"] if "h-entry" in i["type"]]
    assert entry["properties"]["syndication"] == ["https://example.social/@me/123456"]


def test_attribution_by_post_url(app, client, artist):
    from server.delivery import queue
    from server.models import utcnow
    from tests.server.test_deliveries import add_delivery

    delivery_id = add_delivery(app, artist.username, state="publishing")
    with db.session_scope(app) as session:
        delivery = session.get(Delivery, delivery_id)
        queue.record_posted(
            session, delivery, "123456", "https://example.social/@me/123456", utcnow()
        )
        public_id = delivery.artwork.public_id

    def works(url: str) -> list[str]:
        response = client.get("/api/v1/attribution", query_string={"url": url})
        assert response.status_code == 200, response.json
        return [w["public_id"] for w in response.json["works"]]

    assert works("https://example.social/@me/123456") == [public_id]
    assert works("https://example.social/@me/123456/") == [public_id]  # normalised by parse_url
    assert works("https://example.social/users/me/statuses/123456") == [public_id]
    assert works("https://other.example/@me/123456") == []  # same id, another server
    assert works("https://example.social/@me/999") == []
    assert works("https://nowhere.example/post") == []
    bad = client.get("/api/v1/attribution", query_string={"url": "x" * 3000})
    assert bad.status_code == 400
    assert client.get("/api/v1/attribution").status_code == 400


def test_public_endpoints_are_rate_limited_per_client(app, client, artist):
    work = publish_picture(artist, encode(picture(4)))
    pid = work["work"]["public_id"]
    app.extensions["creditline.registry.limits"]["read"] = TokenBucket(rate=0.01, burst=3)
    statuses = [client.get(f"/api/v1/works/{pid}").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = client.get(f"/a/{pid}")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json["error"]["code"] == "rate_limited"
    other = app.test_client()
    assert (
        other.get(f"/api/v1/works/{pid}", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code
        == 200
    )
    # the artist side is not rate limited by the public buckets
    assert artist.get(f"/api/v1/artworks/{work['id']}").status_code == 200


def test_token_bucket_refills():
    now = [0.0]
    bucket = TokenBucket(rate=1.0, burst=2, clock=lambda: now[0])
    assert [bucket.take("a"), bucket.take("a")] == [0.0, 0.0]
    assert bucket.take("a") == 1.0
    now[0] = 1.0
    assert bucket.take("a") == 0.0
    assert bucket.take("b") == 0.0
