"""End-to-end acceptance of the art-site adapters (issue 5) and the social adapters (issue 6).

Real code all the way: the artwork, people and accounts are made through the HTTP API, the
deliveries are queued by ``creditline post`` (issue 5) or the API (issue 6), the engine claims
and runs them (``queue.claim`` + ``runner.run``), and each site's loopback server from
``tests/peers/`` records what reached it. The assertions are on those recordings.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner
from twitter_text import parse_tweet

from adapters.discord import Discord
from server import db
from server.cli import main
from server.delivery import queue, runner
from server.models import utcnow
from tests.peers.deviantart_server import DeviantArtServer
from tests.peers.discord_server import CHANNEL_ID, GUILD_ID, DiscordServer
from tests.peers.e621_server import E621Server
from tests.peers.furaffinity_server import FurAffinityServer
from tests.peers.inkbunny_server import InkbunnyServer
from tests.peers.weasyl_server import WeasylServer
from tests.server.helpers import artwork_form, png_bytes

WORKER = "acceptance-worker"


def run_due(app) -> dict[int, str]:
    """Claim everything due now and run it here, as the worker would; delivery id -> state."""
    with db.session_scope(app) as session:
        ids = queue.claim(session, WORKER, utcnow(), 20, 60)
    return {delivery_id: runner.run(app, delivery_id, WORKER) for delivery_id in ids}


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.json
    return response.json


# -- issue 5: one artwork to FurAffinity, Weasyl, Inkbunny, DeviantArt and e621 ---------------

FA_COOKIES = ("a-cookie-acceptance", "b-cookie-acceptance")
WEASYL_KEY = "weasyl-api-key-acceptance"
IB_USER, IB_PASSWORD = "Tanraak", "hunter2"
DA_CLIENT = ("1234", "app-secret")
E621_LOGIN, E621_KEY = "Tanraak", "e621-key-acceptance"

ARTIST = {
    "key": "tanraak",
    "name": "Tanraak",
    "primary": "furaffinity",
    "accounts": {
        "furaffinity": "tanraak",
        "weasyl": "tanraak",
        "inkbunny": "Tanraak",
        "deviantart": "Tanraak",
        "e621": "tanraak",
    },
}
FRIEND = {  # the credited person: an account on every one of the five sites
    "key": "hyena",
    "name": "Hyena Dude",
    "accounts": {
        "furaffinity": "hyenadude",
        "weasyl": "hyenadude",
        "inkbunny": "HyenaDude",
        "deviantart": "HyenaDude",
        "e621": "hyena_dude",
    },
}
ART_TAGS = [  # e621 wants at least ten tags
    "hyena",
    "digital art",
    "scarf",
    "sunset",
    "dusk",
    "solo",
    "standing",
    "outside",
    "orange sky",
    "red scarf",
]
ART_PIECE = {
    "title": "Trisk at dusk",
    "description": "Trisk on the ridge at sunset. {credits}",
    "rating": "mature",
    "tags": ART_TAGS,
    "credits": [
        {"role": "artist", "person": "tanraak"},
        {"role": "commissioner", "person": "hyena"},
    ],
    "alt_text": ["A hyena in a red scarf at sunset"],
}


@dataclass
class ArtSites:
    furaffinity: FurAffinityServer
    weasyl: WeasylServer
    inkbunny: InkbunnyServer
    deviantart: DeviantArtServer
    e621: E621Server
    da_tokens: dict[str, str]


@pytest.fixture
def art_sites() -> Iterator[ArtSites]:
    with contextlib.ExitStack() as stack:
        fa = stack.enter_context(FurAffinityServer({FA_COOKIES: "Tan_raak"}))
        weasyl = stack.enter_context(WeasylServer({WEASYL_KEY: "Tan_raak"}))
        inkbunny = stack.enter_context(InkbunnyServer({IB_USER: IB_PASSWORD}))
        deviantart = stack.enter_context(DeviantArtServer(DA_CLIENT))
        e621 = stack.enter_context(E621Server(keys={E621_LOGIN: E621_KEY}))
        e621.artists.update({"tanraak", "hyena_dude"})
        yield ArtSites(fa, weasyl, inkbunny, deviantart, e621, deviantart.connect("Tanraak"))


def art_accounts(sites: ArtSites) -> dict[str, dict[str, Any]]:
    return {
        "furaffinity": {
            "name": "Tan_raak",
            "credentials": {
                "cookie_a": FA_COOKIES[0],
                "cookie_b": FA_COOKIES[1],
                "site": sites.furaffinity.base_url,
            },
        },
        "weasyl": {
            "name": "Tan_raak",
            "credentials": {"api_key": WEASYL_KEY, "site": sites.weasyl.base_url},
        },
        "inkbunny": {
            "name": IB_USER,
            "credentials": {
                "username": IB_USER,
                "password": IB_PASSWORD,
                "api_base": sites.inkbunny.base_url,
            },
        },
        "deviantart": {
            "name": "Tanraak",
            "credentials": {
                **sites.da_tokens,
                "client_id": DA_CLIENT[0],
                "client_secret": DA_CLIENT[1],
                "api_base": sites.deviantart.base_url,
            },
        },
        "e621": {
            "name": E621_LOGIN,
            "credentials": {
                "login": E621_LOGIN,
                "api_key": E621_KEY,
                "site": sites.e621.base_url,
            },
        },
    }


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_one_artwork_to_all_five_art_sites_through_the_cli(app, artist, art_sites, monkeypatch):
    for person in (ARTIST, FRIEND):
        created(artist.post("/api/v1/people", json=person))
    artwork = created(
        artist.post("/api/v1/artworks", data=artwork_form(ART_PIECE, png_bytes((64, 48))))
    )
    accounts = {
        platform: created(artist.post("/api/v1/accounts", json={"platform": platform, **body}))
        for platform, body in art_accounts(art_sites).items()
    }
    monkeypatch.setenv("CREDITLINE_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("CREDITLINE_INSTANCE_PATH", app.instance_path)

    targets = [arg for a in accounts.values() for arg in ("--to", str(a["id"]))]
    code, out = cli("post", str(artwork["id"]), *targets, "--user", "tanraak")
    assert code == 0, out
    for platform, account in accounts.items():
        assert re.search(
            rf"delivery \d+ to {platform} \({re.escape(account['name'])}\): queued", out
        )

    # FurAffinity and e621 pace their posts, but per account: all five go out in one round
    states = run_due(app)
    assert list(states.values()) == ["posted"] * 5, states
    assert run_due(app) == {}  # nothing was held back or left to retry
    deliveries = {
        d["account_id"]: d
        for d in artist.get(f"/api/v1/artworks/{artwork['id']}/deliveries").json["items"]
    }
    by_platform = {p: deliveries[a["id"]] for p, a in accounts.items()}
    for platform, delivery in by_platform.items():
        assert delivery["state"] == "posted", (platform, delivery)
        assert delivery["remote_url"], platform

    # FurAffinity: the three-step form with the session cookies; :iconname: in the message
    fa = art_sites.furaffinity
    assert [(r.method, r.path) for r in fa.requests] == [
        ("GET", "/submit/"),
        ("POST", "/submit/upload/"),
        ("GET", "/gallery/tanraak/"),
        ("POST", "/submit/finalize/"),
    ]
    assert all(r.cookies == {"a": FA_COOKIES[0], "b": FA_COOKIES[1]} for r in fa.requests)
    finalize = fa.requests[-1].form
    assert finalize["title"] == ["Trisk at dusk"]
    assert finalize["rating"] == ["2"]  # FurAffinity's value for Mature
    message = finalize["message"][0]
    assert "Commissioned by :iconhyenadude:" in message and ":icontanraak:" in message
    assert finalize["keywords"] == [" ".join(t.replace(" ", "_") for t in ART_TAGS)]
    [fa_sub] = fa.submissions.values()
    assert by_platform["furaffinity"]["remote_url"] == f"{fa.base_url}/view/{fa_sub['id']}/"

    # Weasyl: the submit form with the API key header; <!~name> in the description
    weasyl = art_sites.weasyl
    [submit] = weasyl.requests_to("POST", "/submit/visual")
    assert submit.headers["X-Weasyl-Api-Key"] == WEASYL_KEY
    assert submit.form["title"] == ["Trisk at dusk"]
    assert submit.form["rating"] == ["30"]  # Weasyl's code for Mature
    assert "<!~hyenadude>" in submit.form["content"][0]
    assert "<!~tanraak>" in submit.form["content"][0]
    assert submit.form["tags"] == [" ".join(t.replace(" ", "_") for t in ART_TAGS)]
    [ws_sub] = weasyl.submissions.values()
    assert ws_sub["rating"] == "mature"
    assert by_platform["weasyl"]["remote_url"] == (
        f"{weasyl.base_url}/submission/{ws_sub['submitid']}/trisk-at-dusk"
    )

    # Inkbunny: login, private upload, then the metadata and publish with the session id
    inkbunny = art_sites.inkbunny
    assert [(r.method, r.path) for r in inkbunny.requests] == [
        ("POST", "/api_login.php"),
        ("POST", "/api_upload.php"),
        ("POST", "/api_editsubmission.php"),
    ]
    login, upload, edit = inkbunny.requests
    assert login.form == {"username": [IB_USER], "password": [IB_PASSWORD]}
    [ib_id] = inkbunny.submissions
    sid = upload.form["sid"][0]
    assert sid in inkbunny.sessions and edit.form["sid"] == [sid]
    assert edit.form["submission_id"] == [ib_id] and edit.form["title"] == ["Trisk at dusk"]
    assert "[iconname]HyenaDude[/iconname]" in edit.form["desc"][0]
    assert [edit.form[f"tag[{n}]"] for n in (2, 3, 4, 5)] == [["yes"], ["no"], ["no"], ["no"]]
    assert edit.form["visibility"] == ["yes"]
    assert by_platform["inkbunny"]["remote_url"].endswith(f"/s/{ib_id}")

    # DeviantArt: Sta.sh submit then publish, with the bearer token and the maturity fields
    deviantart = art_sites.deviantart
    assert [(r.method, r.path) for r in deviantart.requests] == [
        ("POST", "/api/v1/oauth2/stash/submit"),
        ("POST", "/api/v1/oauth2/stash/publish"),
    ]
    token = art_sites.da_tokens["access_token"]
    assert all(r.bearer == token for r in deviantart.requests)
    stash, publish = deviantart.requests
    assert stash.form["title"] == ["Trisk at dusk"]
    assert (
        '<a href="https://www.deviantart.com/hyenadude">Hyena Dude</a>'
        in (stash.form["artist_comments"][0])
    )
    assert publish.form["is_mature"] == ["1"] and publish.form["mature_level"] == ["moderate"]
    [deviation] = deviantart.deviations.values()
    assert by_platform["deviantart"]["remote_url"] == deviation["url"]

    # e621: one upload with Basic auth; credited artists as artist tags; a DText profile link
    e621 = art_sites.e621
    [e621_upload] = e621.requests
    assert (e621_upload.method, e621_upload.path) == ("POST", "/uploads.json")
    basic = base64.b64encode(f"{E621_LOGIN}:{E621_KEY}".encode()).decode()
    assert e621_upload.headers["Authorization"] == f"Basic {basic}"
    assert e621_upload.headers["User-Agent"].endswith(f"(by {E621_LOGIN} on e621)")
    assert e621_upload.form["upload[rating]"] == ["q"]
    description = e621_upload.form["upload[description]"][0]
    assert description.startswith("[b]Trisk at dusk[/b]")
    assert (
        '"Hyena Dude":[https://e621.net/users?search%5Bname_matches%5D=hyena_dude]' in description
    )
    tags = e621_upload.form["upload[tag_string]"][0].split()
    assert tags[0] == "tanraak" and "hyena_dude" not in tags  # the commissioner is no artist
    assert len(tags) >= 10
    canonical = f"{app.config['PUBLIC_URL'].rstrip('/')}/a/{artwork['public_id']}"
    assert e621_upload.form["upload[source]"] == [canonical]
    [e621_post] = e621.posts.values()
    assert e621_post["tags"]["artist"] == ["tanraak"]
    assert by_platform["e621"]["remote_url"] == f"{e621.base_url}/posts/{e621_post['id']}"


# -- issue 6: one draft to X and to Discord ---------------------------------------------------

SOCIAL_PEOPLE = [
    {
        "key": "tanraak",
        "name": "Tanraak",
        "primary": "furaffinity",
        "accounts": {"furaffinity": "tanraak", "twitter": "tanraak"},
    },
    {"key": "hyena", "name": "Hyena Dude", "accounts": {"twitter": "hyena_dude"}},
    {"key": "wolf", "name": "Wolf Kid", "accounts": {"furaffinity": "wolfkid"}},
]
PROFILES = {
    "Tanraak": "https://www.furaffinity.net/user/tanraak/",
    "Hyena Dude": "https://x.com/hyena_dude",
    "Wolf Kid": "https://www.furaffinity.net/user/wolfkid/",
}
SOCIAL_PIECE = {
    "title": "Trisk at dusk",
    "description": (
        "A commission for @[hyena], thanks! Sketches on Patreon: https://patreon.com/tanraak "
        "@everyone {credits}"
    ),
    "rating": "mature",
    "tags": ["hyena", "digital art"],
    "credits": [
        {"role": "artist", "person": "tanraak"},
        {"role": "commissioner", "person": "hyena"},
        {"role": "character_owner", "person": "wolf", "character": "Rook"},
    ],
    "alt_text": ["A hyena in a red scarf at sunset"],
}


@pytest.fixture
def discord_server() -> Iterator[DiscordServer]:
    Discord._exhausted.clear()  # rate-limit memory is per process: start empty
    with DiscordServer() as server:
        yield server


def test_one_draft_to_x_and_discord(app, artist, x_server, discord_server):
    for person in SOCIAL_PEOPLE:
        created(artist.post("/api/v1/people", json=person))
    artwork = created(
        artist.post("/api/v1/artworks", data=artwork_form(SOCIAL_PIECE, png_bytes((64, 48))))
    )
    x_account = created(
        artist.post(
            "/api/v1/accounts",
            json={
                "platform": "twitter",
                "name": "@artist",
                "credentials": {
                    "consumer_key": "app-key",
                    "consumer_secret": "app-secret",
                    "access_token": "1500000001-usertoken",
                    "access_token_secret": "user-secret",
                    "api_base": x_server.base_url,
                },
            },
        )
    )
    discord_account = created(
        artist.post(
            "/api/v1/accounts",
            json={
                "platform": "discord",
                "name": "#art",
                "credentials": {"webhook_url": discord_server.webhook_url},
            },
        )
    )
    queued = created(
        artist.post(
            f"/api/v1/artworks/{artwork['id']}/deliveries",
            json={"accounts": [x_account["id"], discord_account["id"]]},
        )
    )
    assert len(queued["items"]) == 2

    states = run_due(app)
    assert sorted(states.values()) == ["posted", "posted"], states
    deliveries = {
        d["account_id"]: d
        for d in artist.get(f"/api/v1/artworks/{artwork['id']}/deliveries").json["items"]
    }

    # X: the main post with @/name and censored words, the link in a self-reply
    main_post, reply = x_server.tweets
    text = main_post["text"]
    assert text.startswith("Trisk at dusk")
    assert "@/hyena_dude" in text and "@/tanraak" in text
    assert not re.search(r"@\w", text)  # no live mention anywhere
    assert "c*mmission" in text
    assert "Patr*on" in text
    assert not re.search(r"(?i)patreon|\bcommission\b", text)
    assert not re.search(r"https?://", text)
    assert parse_tweet(text).weightedLength <= 280 and parse_tweet(text).valid
    assert reply["reply_to"] == main_post["id"]
    assert "https://patreon.com/tanraak" in reply["text"]
    assert parse_tweet(reply["text"]).weightedLength <= 280
    assert main_post["media"] and not reply["media"]
    posts = [r for r in x_server.requests if (r.method, r.path) == ("POST", "/2/tweets")]
    assert [p.json.get("reply") for p in posts] == [
        None,
        {"in_reply_to_tweet_id": main_post["id"]},
    ]
    assert all(r.oauth["oauth_token"] == "1500000001-usertoken" for r in x_server.requests)
    x_delivery = deliveries[x_account["id"]]
    assert x_delivery["state"] == "posted"
    assert x_delivery["remote_url"] == f"https://x.com/artist/status/{main_post['id']}"

    # Discord: nobody is pinged, every credited person is a masked profile link
    [message] = discord_server.messages
    execute = [r for r in discord_server.requests if r.method == "POST"][-1]
    assert execute.query.get("wait") == "true"
    assert execute.payload["allowed_mentions"]["parse"] == []
    assert not execute.payload["allowed_mentions"].get("users")
    assert message["mentions"] == [] and message["mention_everyone"] is False
    content = message["content"]
    for name, profile in PROFILES.items():
        assert f"[{name}](<{profile}>)" in content, (name, content)
    discord_delivery = deliveries[discord_account["id"]]
    assert discord_delivery["state"] == "posted"
    assert discord_delivery["remote_url"] == (
        f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{message['id']}"
    )
