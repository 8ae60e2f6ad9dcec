from adapters.draft import Credit
from adapters.rules import DEFAULT_CREDIT_LABELS
from adapters.text.credits import credit_lines
from adapters.text.nodes import Mention
from adapters.text.writers.base import Writer, plain_text


def _mention(key, field=None):
    return Mention(key, key.upper(), "name")


def _lines(credits, labels=DEFAULT_CREDIT_LABELS):
    return [plain_text(line) for line in credit_lines(credits, _mention, labels)]


def test_every_role_gets_a_line_in_a_fixed_order():
    credits = [
        Credit(role=role, person=f"p{i}")
        for i, role in enumerate(
            [
                "other",
                "trade_with",
                "gift_for",
                "commissioner",
                "base_by",
                "colorist",
                "co_artist",
                "artist",
            ]
        )
    ]
    credits.append(Credit(role="character_owner", person="own", character="Trisk"))
    assert _lines(credits) == [
        "Art by P7",
        "Co-artist P6",
        "Colors by P5",
        "Base by P4",
        "Commissioned by P3",
        "Gift for P2",
        "Art trade with P1",
        "Trisk © OWN",
        "Thanks to P0",
    ]


def test_people_share_a_role_line_and_duplicates_collapse():
    credits = [
        Credit(role="artist", person="a"),
        Credit(role="artist", person="b"),
        Credit(role="artist", person="a"),
    ]
    assert _lines(credits) == ["Art by A, B"]


def test_character_owner_lines_group_by_owner():
    credits = [
        Credit(role="character_owner", person="h", character="Trisk"),
        Credit(role="character_owner", person="z"),
        Credit(role="character_owner", person="h", character="Bo"),
    ]
    assert _lines(credits) == ["Trisk, Bo © H", "Characters © Z"]


def test_labels_are_configurable():
    labels = {**DEFAULT_CREDIT_LABELS, "artist": "Artist:", "character_owner": "belongs to"}
    credits = [
        Credit(role="artist", person="a"),
        Credit(role="character_owner", person="h", character="Trisk"),
    ]
    assert _lines(credits, labels) == ["Artist: A", "Trisk belongs to H"]


def test_block_renders_one_line_per_role():
    from adapters.text.credits import credits_block

    block = credits_block(
        credit_lines(
            [Credit(role="artist", person="a"), Credit(role="gift_for", person="b")],
            _mention,
            DEFAULT_CREDIT_LABELS,
        )
    )
    assert Writer().render([block]).text == "Art by A\nGift for B"
