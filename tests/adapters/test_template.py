import pytest

from adapters.errors import TemplateError
from adapters.text.nodes import Block, LineBreak, Link, PersonRef, Styled, Text, Url
from adapters.text.template import escape_template, parse


def test_paragraphs_bold_italic_links_and_refs():
    doc = parse("Hi **bold *it*** and [site](https://a.example/x) by @[k.e-y_1]\nnext\n\nsecond")
    assert doc == (
        Block(
            (
                Text("Hi "),
                Styled("bold", (Text("bold "), Styled("italic", (Text("it"),)))),
                Text(" and "),
                Link("https://a.example/x", (Text("site"),)),
                Text(" by "),
                PersonRef("k.e-y_1"),
                LineBreak(),
                Text("next"),
            )
        ),
        Block((Text("second"),)),
    )


def test_credits_slot_becomes_its_own_block():
    doc = parse("Before {credits} after")
    assert [b.kind for b in doc] == ["body", "credits_slot", "body"]
    assert doc[0].inlines == (Text("Before"),)
    assert doc[2].inlines == (Text("after"),)


@pytest.mark.parametrize(
    ("url_text", "url"),
    [
        ("see https://a.example/p.", "https://a.example/p"),
        ("(https://a.example/p)", "https://a.example/p"),
        ("https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)"),
        ("https://a.example/?q=1&r=2!", "https://a.example/?q=1&r=2"),
    ],
)
def test_bare_urls_drop_trailing_punctuation(url_text, url):
    urls = [n for n in parse(url_text)[0].inlines if isinstance(n, Url)]
    assert urls == [Url(url)]


@pytest.mark.parametrize(
    "literal", ["2 * 3 * 4", "**", "a ** b", "[not a link]", "x@y.z", "{other}"]
)
def test_unclosed_or_foreign_syntax_stays_literal(literal):
    assert parse(literal) == (Block((Text(literal),)),)


def test_backslash_escapes_make_syntax_literal():
    assert parse(r"\*\*no\*\* \@[k] \{credits\}") == (Block((Text("**no** @[k] {credits}"),)),)


@pytest.mark.parametrize(
    "text", ["a *b* [c](https://x.y) @[k] {credits} https://q.r \\ _ :)", "**x**", "@[", "\\"]
)
def test_escape_template_round_trips_to_literal_text(text):
    assert parse(escape_template(text)) == (Block((Text(text),)),)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("hi @[unterminated", "unterminated"),
        ("@[bad key]", "invalid person key 'bad key'"),
        ("{credits} and {credits}", "more than once"),
    ],
)
def test_template_errors_name_the_problem(template, message):
    with pytest.raises(TemplateError, match=message) as info:
        parse(template)
    assert info.value.field == "artwork.description"
