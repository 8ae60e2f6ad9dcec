"""Mention preference: native -> cross-site -> profile link -> name."""

import pytest

from adapters.draft import Person
from adapters.registry import get
from adapters.text.mentions import primary_profile, resolve

EVERYWHERE = Person(
    name="Tan_raak.Ü",
    primary="furaffinity",
    accounts={
        "twitter": "tan_raak",
        "bluesky": "art.tanraak.example",
        "mastodon": "tan_raak@furry.engineer",
        "furaffinity": "Tan_Raak",
        "weasyl": "tanraak",
        "inkbunny": "TanRaak",
        "deviantart": "tan-raak",
        "e621": "tan_raak",
        "tumblr": "tanraak-art",
        "telegram": "tan_raak",
        "discord": "123456789012345678",
    },
)


@pytest.mark.parametrize(
    ("platform", "form", "markup_or_url"),
    [
        ("twitter", "native", "@tan_raak"),
        ("bluesky", "native", "@art.tanraak.example"),
        ("mastodon", "native", "@tan_raak@furry.engineer"),
        ("furaffinity", "native", ":icontanraak:"),
        ("weasyl", "native", "<!~tanraak>"),
        ("inkbunny", "native", "[iconname]TanRaak[/iconname]"),
        ("deviantart", "link", "https://www.deviantart.com/tan-raak"),
        ("e621", "link", "https://e621.net/users?search%5Bname_matches%5D=tan_raak"),
        ("tumblr", "native", "tanraak-art"),
        ("telegram", "native", "@tan_raak"),
        ("discord", "native", "<@123456789012345678>"),
    ],
)
def test_native_when_the_person_has_an_account_there(platform, form, markup_or_url):
    adapter = get(platform)
    m = resolve("k", EVERYWHERE, adapter, adapter.rules({"mention_style": "native"}), get)
    assert m.form == form
    assert (m.markup if form == "native" else m.url) == markup_or_url


def test_x_defaults_to_delinked():
    x = get("twitter")
    m = resolve("k", EVERYWHERE, x, x.rules(), get)
    assert (m.form, m.markup) == ("delinked", "@/tan_raak")


def test_plain_style_links_the_local_profile_instead_of_pinging():
    x = get("twitter")
    m = resolve("k", EVERYWHERE, x, x.rules({"mention_style": "plain"}), get)
    assert (m.form, m.url) == ("link", "https://x.com/tan_raak")


@pytest.mark.parametrize(
    ("platform", "accounts", "primary", "markup"),
    [
        ("weasyl", {"furaffinity": "Some_One"}, None, "[Name](fa:someone)"),
        (
            "weasyl",
            {"deviantart": "some-one", "inkbunny": "SomeOne"},
            "inkbunny",
            "[Name](ib:SomeOne)",
        ),
        ("inkbunny", {"weasyl": "Some One"}, None, "[w]someone[/w]"),
        ("inkbunny", {"furaffinity": "x.y"}, None, "[fa]x.y[/fa]"),
    ],
)
def test_cross_site_form_prefers_the_primary(platform, accounts, primary, markup):
    person = Person(name="Name", primary=primary, accounts=accounts)
    adapter = get(platform)
    m = resolve("k", person, adapter, adapter.rules(), get)
    assert (m.form, m.markup) == ("cross", markup)


def test_profile_link_uses_primary_then_first_known_account():
    person = Person(
        name="N", primary="itaku", accounts={"itaku": "n", "tumblr": "Blog", "twitter": "n"}
    )
    assert primary_profile(person, get) == "https://www.tumblr.com/blog"
    fa = get("furaffinity")
    m = resolve("k", person, fa, fa.rules(), get)
    assert (m.form, m.url, m.name) == ("link", "https://www.tumblr.com/blog", "N")


def test_name_alone_without_any_account():
    m = resolve("k", Person(name="Just A Name"), get("bluesky"), get("bluesky").rules(), get)
    assert (m.form, m.name) == ("name", "Just A Name")
