"""Property tests over random drafts, for every platform."""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.draft import Person
from adapters.preview import render_preview
from adapters.registry import get, platform_ids
from adapters.text.mentions import resolve
from adapters.text.template import escape_template

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HOSTILE = "[]<>\"'*_~|`#@:&(){}\\/=!-.\n 1 everyone here icon url b i nodtext http ＠ 漢 😀 é"
text = st.text(alphabet=st.sampled_from([*HOSTILE, "a", "b", "Z", " "]), max_size=120)
names = st.text(
    alphabet=st.sampled_from(list(HOSTILE) + list("abcXYZ")), min_size=1, max_size=30
).filter(lambda s: s.strip())
HANDLES = {
    "twitter": "hyena_dude",
    "bluesky": "art.hyena.example",
    "mastodon": "hyena@furry.engineer",
    "furaffinity": "hyena_dude",
    "weasyl": "hyenadude",
    "inkbunny": "HyenaDude",
    "deviantart": "hyena-dude",
    "e621": "hyena_dude",
    "tumblr": "hyena-dude",
    "telegram": "hyena_dude",
    "discord": "123456789012345678",
}
accounts = st.dictionaries(st.sampled_from(sorted(HANDLES)), st.just(None), max_size=4).map(
    lambda d: {k: HANDLES[k] for k in d}
)
ROLES = [
    "artist",
    "co_artist",
    "colorist",
    "commissioner",
    "character_owner",
    "gift_for",
    "trade_with",
    "base_by",
    "other",
]


@st.composite
def drafts(draw, with_accounts=True):
    n = draw(st.integers(1, 5))
    people = {
        f"p{i}": {"name": draw(names), "accounts": draw(accounts) if with_accounts else {}}
        for i in range(n)
    }
    credits = [
        {"role": draw(st.sampled_from(ROLES)), "person": f"p{draw(st.integers(0, n - 1))}"}
        for _ in range(draw(st.integers(1, 6)))
    ]
    description = escape_template(draw(text)) + draw(st.sampled_from(["", " {credits}"]))
    description = description * draw(st.sampled_from([1, 1, 8]))  # sometimes over the limits
    artwork = {
        "title": draw(text),
        "description": description.replace("{credits}", "", description.count("{credits}") - 1),
        "rating": draw(st.sampled_from(["general", "mature", "adult"])),
        "tags": draw(st.lists(text, max_size=6)),
        "alt_text": draw(text),
        "credits": credits,
        "canonical_url": "https://art.example/a/x",
    }
    return {"artwork": artwork, "people": people}


def _all_text(result):
    parts = [result.get("text") or result.get("description") or ""]
    for reply in result.get("replies", []):
        parts.append(reply["text"] if isinstance(reply, dict) else reply)
    return "\n".join(parts)


@SETTINGS
@given(drafts())
def test_within_limit_or_explicit_error_and_every_person_credited(body):
    results = render_preview(body)
    credited = {c["person"] for c in body["artwork"]["credits"]}
    for platform, result in results.items():
        adapter = get(platform)
        if not result["ok"]:
            assert adapter.name in result["error"] and str(adapter.text_limit) in result["error"]
            continue
        if adapter.text_limit is not None:
            assert result["length"] <= adapter.text_limit
            for reply in result.get("replies", []):
                reply_text = reply["text"] if isinstance(reply, dict) else reply
                assert adapter.measure(reply_text) <= (adapter.reply_limit or adapter.text_limit)
        everything = _all_text(result)
        for key in credited:
            raw = body["people"][key]
            person = Person(name=" ".join(raw["name"].split()), accounts=raw["accounts"])
            rules = adapter.rules()
            m = resolve(key, person, adapter, rules, get)
            if m.form in ("native", "delinked", "cross"):
                assert m.markup in everything, (platform, m)
            elif m.form == "link":
                assert m.url in _urls(platform, result) or m.url in everything, (platform, m)


def _urls(platform, result):
    """Link targets held outside the text: Bluesky facets and Tumblr formatting ranges."""
    if platform == "bluesky":
        facets = result["facets"] + [f for r in result["replies"] for f in r["facets"]]
        return {f["features"][0].get("uri") for f in facets}
    if platform == "tumblr":
        return {r.get("url") for b in result["content"] for r in b.get("formatting", [])}
    return set()


@SETTINGS
@given(drafts())
def test_bluesky_facets_cover_exactly_the_mention_and_link_text(body):
    body["platforms"] = ["bluesky"]
    result = render_preview(body)["bluesky"]
    if not result["ok"]:
        return
    posts = [{"text": result["text"], "facets": result["facets"]}, *result["replies"]]
    for post in posts:
        encoded = post["text"].encode()
        for facet in post["facets"]:
            covered = encoded[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
            feature = facet["features"][0]
            if feature["$type"].endswith("#mention"):
                assert covered == "@" + feature["handle"]
            elif feature["$type"].endswith("#tag"):
                assert covered == "#" + feature["tag"]
            else:
                assert covered and "\n" not in covered


# What would be markup, a link or a ping if it appeared in output made from user text only.
DANGER = {
    "twitter": re.compile(r"[@＠][A-Za-z0-9_]"),
    "mastodon": re.compile(r"@[A-Za-z0-9_]"),
    "bluesky": None,
    "tumblr": None,
    "furaffinity": re.compile(r"\[/?[A-Za-z*]|:(icon|link)\S*:|\((c|r|tm)\)|-----", re.I),
    "inkbunny": re.compile(r"\[/?[A-Za-z*]"),
    "weasyl": re.compile(r"(?<!\\)[<\[\]*_`~]"),
    "discord": re.compile(r"(?<!\\)[<\[\]*_`~|]|@(everyone|here)"),
    "deviantart": re.compile(r"<(?!/?b>|br />)|:(icon|dev)\S*:", re.I),
    "telegram": re.compile(r"<(?!/?b>)|@[A-Za-z0-9_]"),
    "e621": None,  # checked separately: nothing outside [nodtext] but our own markup
}


@SETTINGS
@given(drafts(with_accounts=False))
def test_no_markup_from_user_text(body):
    for post in body["artwork"]["credits"]:
        post["role"] = "artist"
    results = render_preview(body)
    for platform, result in results.items():
        if not result["ok"] or DANGER[platform] is None:
            continue
        everything = _all_text(result).replace("\\\\", "")
        everything = everything.replace("https://art.example/a/x", "")
        if platform == "discord":  # our own bold title wrapper
            everything = re.sub(r"^\*\*((?:\\.|[^*\\])*)\*\*", r"\1", everything, flags=re.S)
        assert not DANGER[platform].search(everything), (platform, everything)
    e621 = results["e621"]
    if e621["ok"]:
        outside = re.sub(r"\[nodtext\].*?\[/nodtext\]", "", e621["description"], flags=re.S)
        outside = (
            outside.replace("https://art.example/a/x", "").replace("[b]", "").replace("[/b]", "")
        )
        assert not re.search(r"[\[\]\"{}*#<>@`]", outside), outside


def test_every_platform_is_covered_by_the_danger_table():
    assert set(DANGER) == set(platform_ids())
