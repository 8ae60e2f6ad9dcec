import pytest

from adapters.rules import X_CENSOR
from adapters.text.censor import censor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Support me on Patreon!", "Support me on Patr*on!"),
        ("PATREON", "PATR*ON"),
        ("patreon.com/me", "patreon.com/me"),  # a domain X links: left intact
        ("Patreon.", "Patr*on."),
        ("Commissions open", "C*mmissions open"),
        ("a commission, two commissions", "a c*mmission, two c*mmissions"),
        ("cOmMiSsIoN", "c*mMiSsIoN"),
        # whole words only
        ("Commissioned by", "Commissioned by"),
        ("precommission", "precommission"),
        ("Patreonite", "Patreonite"),
        ("my_patreon", "my_patreon"),
        ("", ""),
    ],
)
def test_x_default_censor(text, expected):
    assert censor(text, X_CENSOR) == expected


def test_custom_words_and_empty_table():
    assert censor("Ko-fi and kofi", {"kofi": "k0fi"}) == "Ko-fi and k0fi"
    assert censor("Patreon", {}) == "Patreon"
