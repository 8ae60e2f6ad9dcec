"""POST /api/v1/preview and ``creditline preview``: the text engine behind HTTP and the CLI."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from server.cli import main
from tests.server.helpers import HYENA, TANRAAK

DRAFT = {
    "artwork": {
        "title": "Trisk at dusk",
        "description": (
            "Commission for @[hyena]. Support me on Patreon: https://patreon.com/tanraak {credits}"
        ),
        "rating": "mature",
        "tags": ["hyena", "digital art"],
        "alt_text": "A hyena in a red scarf at sunset",
        "credits": [
            {"role": "artist", "person": "tanraak"},
            {"role": "commissioner", "person": "hyena"},
            {"role": "character_owner", "person": "hyena", "character": "Trisk"},
        ],
        "canonical_url": "https://art.example/a/7Hk2",
    },
    "people": {
        "tanraak": {
            "name": "Tanraak",
            "primary": "furaffinity",
            "accounts": {"furaffinity": "tanraak", "bluesky": "tanraak.bsky.social"},
        },
        "hyena": {
            "name": "Hyena Dude",
            "accounts": {"twitter": "hyena_dude", "weasyl": "hyenadude"},
        },
    },
    "platforms": ["twitter", "bluesky", "furaffinity", "weasyl"],
}


def test_stateless_preview_renders_each_platform(client):
    response = client.post("/api/v1/preview", json=DRAFT)
    assert response.status_code == 200, response.json
    result = response.json
    assert list(result) == DRAFT["platforms"]
    assert all(post["ok"] for post in result.values())
    assert "@/hyena_dude" in result["twitter"]["text"]  # X defaults to de-linked mentions
    assert result["twitter"]["length"] <= result["twitter"]["limit"] == 280
    assert ":icontanraak:" in result["furaffinity"]["description"]
    assert "<!~hyenadude>" in result["weasyl"]["description"]
    text = result["bluesky"]["text"].encode()
    mentions = [
        f for f in result["bluesky"]["facets"] if f["features"][0]["$type"].endswith("#mention")
    ]
    assert [text[m["index"]["byteStart"] : m["index"]["byteEnd"]] for m in mentions] == [
        b"@tanraak.bsky.social"
    ]


def test_options_override_platform_defaults(client):
    draft = {**DRAFT, "platforms": ["twitter"], "options": {"twitter": {"mention_style": "native"}}}
    text = client.post("/api/v1/preview", json=draft).json["twitter"]["text"]
    assert "@hyena_dude" in text and "@/hyena_dude" not in text


def test_authenticated_preview_uses_the_directory(artist):
    artist.post("/api/v1/people", json=TANRAAK)
    artist.post("/api/v1/people", json={**HYENA, "name": "Hyena From Directory"})
    draft = {k: v for k, v in DRAFT.items() if k != "people"}
    response = artist.post("/api/v1/preview", json={**draft, "platforms": ["furaffinity"]})
    assert response.status_code == 200, response.json
    assert "Hyena From Directory" in response.json["furaffinity"]["description"]


def test_directory_is_per_user(artist, other_artist):
    artist.post("/api/v1/people", json=HYENA)
    draft = {k: v for k, v in DRAFT.items() if k != "people"}
    response = other_artist.post("/api/v1/preview", json=draft)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "unknown_person"


def mutate(path: str, value) -> dict:
    draft = copy.deepcopy(DRAFT)
    *parents, last = path.split(".")
    target = draft
    for part in parents:
        target = target[part]
    target[last] = value
    return draft


@pytest.mark.parametrize(
    ("draft", "code", "words"),
    [
        (mutate("platforms", ["twitter", "myspace"]), "unknown_platform", "myspace"),
        (
            mutate("artwork.credits", [{"role": "artist", "person": "ghost"}]),
            "unknown_person",
            "ghost",
        ),
        (mutate("artwork.description", "thanks @[nobody]"), "unknown_person", "nobody"),
        (
            mutate("people.hyena.accounts", {"twitter": "has spaces in it"}),
            "invalid_handle",
            "twitter",
        ),
        (mutate("artwork.rating", "spicy"), "missing_rating_mapping", "spicy"),
        (mutate("artwork.credits", [{"role": "muse", "person": "hyena"}]), "invalid_draft", "role"),
    ],
    ids=["platform", "credited-person", "mentioned-person", "handle", "rating", "role"],
)
def test_bad_drafts_are_400_naming_the_problem(client, draft, code, words):
    response = client.post("/api/v1/preview", json=draft)
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == code
    assert words in error["message"] or words in (error["field"] or "")


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/preview", data=b"{", content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json"


def test_a_bad_token_is_still_401(client):
    response = client.post("/api/v1/preview", json=DRAFT, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_cli_preview(tmp_path):
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(DRAFT))
    runner = CliRunner()
    result = runner.invoke(main, ["preview", str(draft), "-p", "twitter"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("== twitter ")
    assert "@/hyena_dude" in result.output
    assert "== bluesky" not in result.output
    as_json = runner.invoke(main, ["preview", str(draft), "--json"])
    assert set(json.loads(as_json.output)) == set(DRAFT["platforms"])
    draft.write_text(json.dumps(mutate("artwork.rating", "spicy")))
    failed = runner.invoke(main, ["preview", str(draft)])
    assert failed.exit_code == 1
    assert "spicy" in failed.output and "artwork.rating" in failed.output
