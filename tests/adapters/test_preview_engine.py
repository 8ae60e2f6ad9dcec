"""render_preview: request-level errors with code and field, and the response shape."""

import pytest
from adapter_cases import request

from adapters.errors import DraftError
from adapters.preview import render_preview
from adapters.registry import platform_ids


def _error(body):
    with pytest.raises(DraftError) as info:
        render_preview(body)
    return info.value


def test_all_platforms_by_default_in_registry_order():
    result = render_preview(request())
    assert list(result) == platform_ids()
    for platform, post in result.items():
        assert post["ok"] is True, platform
        assert isinstance(post["warnings"], list)
        assert ("text" in post) != ("description" in post)


def test_unknown_platform():
    body = request()
    body["platforms"] = ["twitter", "myspace"]
    err = _error(body)
    assert (err.code, err.field) == ("unknown_platform", "platforms.1")
    assert "myspace" in err.message


def test_unknown_platform_in_options():
    body = request()
    body["options"] = {"myspace": {}}
    assert _error(body).field == "options.myspace"


def test_unknown_person_in_credits_and_in_description():
    body = request(credits=[{"role": "artist", "person": "ghost"}])
    err = _error(body)
    assert (err.code, err.field) == ("unknown_person", "artwork.credits.0.person")
    assert "'ghost'" in err.message
    err = _error(request(description="hi @[phantom]"))
    assert (err.code, err.field) == ("unknown_person", "artwork.description")


def test_invalid_handle_names_person_and_platform():
    body = request()
    body["people"]["hyena"]["accounts"]["bluesky"] = "not a handle"
    err = _error(body)
    assert (err.code, err.field) == ("invalid_handle", "people.hyena.accounts.bluesky")
    assert "bluesky" in err.message and "'not a handle'" in err.message


def test_accounts_on_unknown_sites_are_ignored():
    body = request()
    body["people"]["hyena"]["accounts"]["itaku"] = "whatever goes"
    assert render_preview(body)["twitter"]["ok"]


def test_missing_rating_mapping():
    err = _error(request(rating="explicit"))
    assert (err.code, err.field) == ("missing_rating_mapping", "artwork.rating")
    assert "'explicit'" in err.message


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["artwork"].pop("rating"), "artwork.rating"),
        (
            lambda b: b["artwork"]["credits"].append({"role": "muse", "person": "x"}),
            "artwork.credits.3.role",
        ),
        (lambda b: b["artwork"].update(tags="not-a-list"), "artwork.tags"),
        (lambda b: b["artwork"].update(content_flags=["spiders"]), "artwork.content_flags.0"),
        (lambda b: b["people"]["hyena"].pop("name"), "people.hyena.name"),
        (
            lambda b: b.update(options={"twitter": {"mention_style": "loud"}}),
            "options.twitter.mention_style",
        ),
        (lambda b: b.update(surprise=1), "surprise"),
        (
            lambda b: b["artwork"].update(canonical_url="javascript:alert(1)"),
            "artwork.canonical_url",
        ),
    ],
)
def test_malformed_drafts_name_the_field(mutate, field):
    body = request()
    mutate(body)
    err = _error(body)
    assert (err.code, err.field) == ("invalid_draft", field)
    assert err.to_dict() == {"code": "invalid_draft", "message": err.message, "field": field}


def test_template_error_is_a_draft_error():
    err = _error(request(description="@[oops"))
    assert (err.code, err.field) == ("invalid_template", "artwork.description")


def test_options_override_defaults_per_platform():
    body = request()
    body["platforms"] = ["twitter"]
    body["options"] = {"twitter": {"mention_style": "native", "censor": False}}
    text = render_preview(body)["twitter"]["text"]
    assert "@tanraak" in text and "@/tanraak" not in text
    assert "Patreon" in text and "Commission for" in text
