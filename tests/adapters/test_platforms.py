"""Per-platform data: handles, profile URLs, ratings, tags, titles."""

import pytest

from adapters.draft import Artwork
from adapters.errors import InvalidHandle, MissingRatingMapping
from adapters.registry import all_adapters, get

HANDLES = {
    "twitter": [("@Hyena_Dude", "Hyena_Dude"), ("a", "a")],
    "bluesky": [
        ("@Tanraak.bsky.social", "tanraak.bsky.social"),
        ("art.example.co.uk", "art.example.co.uk"),
    ],
    "mastodon": [
        ("@tan.raak@Furry.Engineer", "tan.raak@furry.engineer"),
        ("a_b@x.social", "a_b@x.social"),
    ],
    "furaffinity": [("Tan_Raak", "tanraak"), ("some.one~", "some.one~")],
    "weasyl": [("Hyena Dude", "hyenadude"), ("x_1", "x1")],
    "inkbunny": [("TanRaak", "TanRaak")],
    "deviantart": [("Tan-Raak", "tan-raak")],
    "e621": [("tan_raak", "tan_raak")],
    "tumblr": [("Tanraak-Art", "tanraak-art")],
    "telegram": [("@tan_raak", "tan_raak")],
    "discord": [("<@123456789012345678>", "123456789012345678")],
}
BAD = {
    "twitter": ["has space", "x" * 16, "a-b", ""],
    "bluesky": ["tanraak", "-bad.example", "a..b", "@"],
    "mastodon": ["tanraak", "@tanraak", "a@b", "a b@x.social"],
    "furaffinity": ["a b", "[b]x", ":iconx:"],
    "weasyl": ["___", "<~x>"],
    "inkbunny": ["a_b", "a.b"],
    "deviantart": ["ab", "a_b"],
    "e621": ["a", "a b"],
    "tumblr": ["a_b", "a.b"],
    "telegram": ["abc", "1abcd", "a-bcd"],
    "discord": ["name", "12345"],
}
PROFILES = {
    "twitter": ("hyena_dude", "https://x.com/hyena_dude"),
    "bluesky": ("tanraak.bsky.social", "https://bsky.app/profile/tanraak.bsky.social"),
    "mastodon": ("tanraak@furry.engineer", "https://furry.engineer/@tanraak"),
    "furaffinity": ("Tan_Raak", "https://www.furaffinity.net/user/tanraak/"),
    "weasyl": ("HyenaDude", "https://www.weasyl.com/~hyenadude"),
    "inkbunny": ("TanRaak", "https://inkbunny.net/TanRaak"),
    "deviantart": ("Tan-Raak", "https://www.deviantart.com/tan-raak"),
    "e621": ("tan_raak", "https://e621.net/users?search%5Bname_matches%5D=tan_raak"),
    "tumblr": ("tanraak", "https://www.tumblr.com/tanraak"),
    "telegram": ("tan_raak", "https://t.me/tan_raak"),
    "discord": ("123456789012345678", "https://discord.com/users/123456789012345678"),
}


def test_every_platform_has_handle_and_profile_cases():
    ids = {a.id for a in all_adapters()}
    assert ids == set(HANDLES) == set(BAD) == set(PROFILES)


@pytest.mark.parametrize(
    ("platform", "handle", "normal"), [(p, h, n) for p, cases in HANDLES.items() for h, n in cases]
)
def test_valid_handles_are_normalised(platform, handle, normal):
    assert get(platform).check_handle(handle) == normal


@pytest.mark.parametrize(("platform", "handle"), [(p, h) for p, hs in BAD.items() for h in hs])
def test_invalid_handles_raise_naming_platform_and_handle(platform, handle):
    with pytest.raises(InvalidHandle) as info:
        get(platform).check_handle(handle)
    assert info.value.code == "invalid_handle"
    assert platform in info.value.message and repr(handle) in info.value.message


@pytest.mark.parametrize(("platform", "case"), PROFILES.items())
def test_profile_urls(platform, case):
    assert get(platform).profile_url(case[0]) == case[1]


RATINGS = {
    ("twitter", "adult", ("gore",)): {
        "sensitive_media_warning": ["adult_content", "graphic_violence"]
    },
    ("twitter", "general", ()): {"sensitive_media_warning": []},
    ("bluesky", "mature", ()): ["sexual"],
    ("bluesky", "adult", ("nudity", "violence")): ["porn", "nudity", "graphic-media"],
    ("mastodon", "general", ()): {"sensitive": False, "spoiler_text": ""},
    ("mastodon", "mature", ("gore",)): {"sensitive": True, "spoiler_text": "Mature: gore"},
    ("mastodon", "general", ("language",)): {
        "sensitive": True,
        "spoiler_text": "Content warning: language",
    },
    ("furaffinity", "adult", ()): "adult",
    ("weasyl", "mature", ()): 30,
    ("inkbunny", "general", ()): {},
    ("inkbunny", "mature", ()): {"tag[2]": "yes"},
    ("inkbunny", "mature", ("violence",)): {"tag[3]": "yes"},
    ("inkbunny", "adult", ("violence",)): {"tag[3]": "yes", "tag[4]": "yes"},
    ("inkbunny", "adult", ("gore",)): {"tag[5]": "yes"},
    ("deviantart", "general", ()): {"is_mature": False},
    ("deviantart", "adult", ("sexual",)): {
        "is_mature": True,
        "mature_level": "strict",
        "mature_classification": ["sexual"],
    },
    ("e621", "general", ()): "s",
    ("e621", "mature", ()): "q",
    ("e621", "adult", ()): "e",
    ("tumblr", "adult", ("drugs",)): {
        "has_community_label": True,
        "community_label_categories": ["sexual_themes", "drug_use"],
    },
    ("telegram", "general", ()): False,
    ("telegram", "general", ("gore",)): True,
    ("discord", "adult", ()): True,
}


@pytest.mark.parametrize(("key", "expected"), RATINGS.items(), ids=lambda v: str(v))
def test_rating_mapping(key, expected):
    platform, rating, flags = key
    adapter = get(platform)
    draft = Artwork(rating=rating, content_flags=flags)
    assert adapter.map_rating(draft, adapter.rules())[0] == expected


@pytest.mark.parametrize("platform", sorted(p for p in HANDLES))
def test_unmapped_rating_is_an_error_never_general(platform):
    adapter = get(platform)
    with pytest.raises(
        MissingRatingMapping, match=f"{platform} has no mapping for rating 'explicit'"
    ):
        adapter.map_rating(Artwork(rating="explicit"), adapter.rules())


def test_rating_map_override_per_account():
    adapter = get("e621")
    rules = adapter.rules({"rating_map": {"explicit": "e"}})
    assert adapter.map_rating(Artwork(rating="explicit"), rules)[0] == "e"
    with pytest.raises(MissingRatingMapping):
        adapter.map_rating(Artwork(rating="general"), rules)


@pytest.mark.parametrize(
    ("platform", "tags", "expected"),
    [
        ("twitter", ["digital art", "c++", "2024", "#ych"], ["digitalart", "c", "ych"]),
        ("furaffinity", ["digital art", "[b]x[/b]"], ["digital_art", "bx/b"]),
        ("weasyl", ["Digital Art!", "ÜBER"], ["digital_art", "ber"]),
        ("e621", ["Digital Art", "a,b"], ["digital_art", "ab"]),
        ("tumblr", ["digital art", "a,b#c"], ["digital art", "abc"]),
        ("deviantart", ["digital-art"], ["digitalart"]),
        ("telegram", ["digital art"], []),
    ],
)
def test_tag_normalisation(platform, tags, expected):
    assert get(platform).prepare_tags(tuple(tags))[0] == expected


def test_tag_count_and_length_warnings():
    fa = get("furaffinity")
    tags, warnings = fa.prepare_tags(("one",))
    assert warnings == ["FurAffinity expects at least 3 tags, got 1"]
    many = tuple(f"tag{i:03d}" for i in range(100))
    tags, warnings = fa.prepare_tags(many)
    assert len(" ".join(tags)) < 500
    assert any("must stay under 500" in w for w in warnings)
    tags, warnings = get("deviantart").prepare_tags(many)
    assert len(tags) == 30


@pytest.mark.parametrize(
    ("platform", "title", "expected", "warned"),
    [
        ("furaffinity", "x" * 70, "x" * 59 + "…", True),
        ("deviantart", "Trisk at dusk ✨ 夕方", "Trisk at dusk", True),
        ("deviantart", "漢字", "Untitled", True),
        ("deviantart", "Plain [title] (v2)", "Plain [title] (v2)", False),
        ("weasyl", "Ünïcödé title", "Ünïcödé title", False),
    ],
)
def test_titles(platform, title, expected, warned):
    adapter = get(platform)
    result, warnings = adapter.prepare_title(title, adapter.rules())
    assert result == expected
    assert bool(warnings) is warned


def test_capabilities_are_declared():
    assert get("mastodon").supports_idempotent_create and get("mastodon").supports_edit
    assert get("twitter").supports_threads and not get("discord").supports_threads
    assert get("twitter").default_rules.mention_style == "delinked"
    assert get("twitter").default_rules.links_in_reply
    for adapter in all_adapters():
        assert adapter.id and adapter.name
        assert adapter.images.max_count and adapter.images.max_count >= 1
        assert adapter.length_unit in {"graphemes", "code_points", "utf16", "weighted", "mastodon"}
