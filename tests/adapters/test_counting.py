import pytest

from adapters.text import counting


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        # twitter-text config/README.md: Latin 1, CJK 2, emoji sequences 2, URLs 23.
        ("a" * 280, 280),
        ("あ" * 140, 280),
        ("😀", 2),
        ("👩‍👩‍👧‍👦", 2),
        ("https://example.com/a/very/long/path/indeed/1234567890", 23),
        ("Hi https://t.co", 26),
        ("e\u0301", 1),  # NFC-normalised to é first
        ("‘quoted’ …", 11),  # U+2018-U+201F weigh 1; U+2026 (…) is outside: 2
    ],
)
def test_x_weighted_count(text, weight):
    assert counting.x_weighted(text) == weight


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("hello", 5),
        ("https://example.com/" + "x" * 100, 23),
        ("hi @alice@example.social", 9),  # only "@alice" counts
        ("hi @alice", 9),
        ("hi @ann.draws@mastodon.art", 13),  # a dotted user part counts as "@ann.draws"
        ("hi @bo-c@a.b.example!", 9),
        ("👩‍👩‍👧‍👦 é", 3),
        ("see https://a.com and https://b.org", 4 + 23 + 5 + 23),
        ("see https://a.example", 21),  # not a URL to Mastodon: unknown TLD,
    ],
)
def test_mastodon_count(text, length):
    assert counting.mastodon(text) == length


def test_mastodon_counts_spoiler_text_too():
    assert counting.mastodon("abc", "CW!") == 6


@pytest.mark.parametrize(
    ("text", "graphemes", "code_points", "utf16", "utf8"),
    [
        ("abc", 3, 3, 3, 3),
        ("é", 1, 1, 1, 2),
        ("e\u0301", 1, 2, 2, 3),
        ("😀", 1, 1, 2, 4),
        ("🏳️‍🌈", 1, 4, 6, 14),
        ("漢字", 2, 2, 2, 6),
    ],
)
def test_unit_counters(text, graphemes, code_points, utf16, utf8):
    assert counting.graphemes(text) == graphemes
    assert counting.code_points(text) == code_points
    assert counting.utf16_units(text) == utf16
    assert counting.utf8_bytes(text) == utf8
