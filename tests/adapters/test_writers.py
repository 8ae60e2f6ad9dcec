"""Each writer: styling, links, and escaping of hostile user text."""

import pytest

from adapters.text.nodes import Block, Hashtag, LineBreak, Link, Mention, Styled, Text, Url
from adapters.text.writers.base import Writer
from adapters.text.writers.bbcode import FurAffinityWriter, InkbunnyWriter
from adapters.text.writers.dtext import DTextWriter
from adapters.text.writers.facets import FacetWriter, facets, short_url
from adapters.text.writers.html import DeviantArtWriter, TelegramWriter
from adapters.text.writers.markdown import DiscordWriter, WeasylWriter
from adapters.text.writers.npf import NpfWriter, content_blocks
from adapters.text.writers.plain import PlainWriter

ZW = "\u200b"
DOC = (
    Block(
        (
            Text("Hi "),
            Styled("bold", (Text("there"),)),
            Text(" "),
            Link("https://a.example/x", (Text("site"),)),
            LineBreak(),
            Url("https://b.example/"),
        )
    ),
)


@pytest.mark.parametrize(
    ("writer", "expected"),
    [
        (Writer, "Hi there site (https://a.example/x)\nhttps://b.example/"),
        (
            FurAffinityWriter,
            "Hi [b]there[/b] [url=https://a.example/x]site[/url]\nhttps://b.example/",
        ),
        (InkbunnyWriter, "Hi [b]there[/b] [url=https://a.example/x]site[/url]\nhttps://b.example/"),
        (WeasylWriter, "Hi **there** [site](https://a.example/x)\nhttps://b.example/"),
        (DiscordWriter, "Hi **there** [site](<https://a.example/x>)\nhttps://b.example/"),
        (
            DeviantArtWriter,
            'Hi <b>there</b> <a href="https://a.example/x">site</a><br />'
            '<a href="https://b.example/">https://b.example/</a>',
        ),
        (
            TelegramWriter,
            'Hi <b>there</b> <a href="https://a.example/x">site</a>\nhttps://b.example/',
        ),
        (DTextWriter, 'Hi [b]there[/b] "site":[https://a.example/x]\nhttps://b.example/'),
        (FacetWriter, "Hi there site\nb.example"),
    ],
)
def test_styling_and_links(writer, expected):
    assert writer().render(DOC).text == expected


@pytest.mark.parametrize(
    ("writer", "hostile", "expected"),
    [
        (PlainWriter, "hi @someone and ＠other", f"hi @{ZW}someone and ＠{ZW}other"),
        (PlainWriter, "mail me at a@b", f"mail me at a@{ZW}b"),
        (FurAffinityWriter, "[url=http://evil]x[/url]", f"[{ZW}url=http://evil]x[{ZW}/url]"),
        (
            FurAffinityWriter,
            ":iconevil: :linkevil: :evilicon:",
            f":{ZW}iconevil: :{ZW}linkevil: :evilicon{ZW}:",
        ),
        (FurAffinityWriter, "(c) -----", f"({ZW}c) -{ZW}----"),
        (InkbunnyWriter, "[iconname]x[/iconname]", f"[{ZW}iconname]x[{ZW}/iconname]"),
        (
            WeasylWriter,
            "<!~evil> **x** [a](b) 1. &amp;",
            r"\<!\~evil\> \*\*x\*\* \[a\](b) 1. \&amp;",
        ),
        (WeasylWriter, "1. not a list", r"1\. not a list"),
        (
            DiscordWriter,
            "@everyone @here <@123> ||s|| # h",
            f"@{ZW}everyone @{ZW}here \\<@123\\> \\|\\|s\\|\\| \\# h",
        ),
        (
            DeviantArtWriter,
            '<a href="x">:iconevil:</a>',
            f'&lt;a href="x"&gt;:{ZW}iconevil:&lt;/a&gt;',
        ),
        (TelegramWriter, "<b>x</b> & @chan", f"&lt;b&gt;x&lt;/b&gt; &amp; @{ZW}chan"),
        (DTextWriter, "plain words only", "plain words only"),
        (DTextWriter, '"x":http://evil [b]', '[nodtext]"x":http://evil [b][/nodtext]'),
        (DTextWriter, "post #1 [/nodtext][b]", f"[nodtext]post #1 [/{ZW}nodtext][b][/nodtext]"),
    ],
)
def test_user_text_is_escaped(writer, hostile, expected):
    assert writer().render((Block((Text(hostile),)),)).text == expected


def test_link_urls_cannot_break_out_of_markup():
    evil = "https://a.example/x]y[b]"
    text = FurAffinityWriter().render((Block((Link(evil, (Text("t"),)),)),)).text
    assert text == "[url=https://a.example/x%5Dy%5Bb%5D]t[/url]"
    text = WeasylWriter().render((Block((Link("https://a.example/(x)", (Text("t"),)),)),)).text
    assert text == "[t](https://a.example/%28x%29)"
    text = TelegramWriter().render((Block((Link('https://a.example/"><b>', (Text("t"),)),)),)).text
    assert text == '<a href="https://a.example/&quot;&gt;&lt;b&gt;">t</a>'


def test_mentions_by_form():
    nodes = (
        Mention("a", "A", "native", markup="@a.bsky.social", handle="a.bsky.social"),
        Text(" "),
        Mention("b", "B [x]", "link", url="https://b.example/"),
        Text(" "),
        Mention("c", "C <c>", "name"),
    )
    assert FurAffinityWriter().render((Block(nodes),)).text == (
        f"@a.bsky.social [url=https://b.example/]B [{ZW}x][/url] C <c>"
    )
    assert TelegramWriter().render((Block(nodes),)).text == (
        '@a.bsky.social <a href="https://b.example/">B [x]</a> C &lt;c&gt;'
    )


def test_facets_use_utf8_byte_offsets():
    doc = (
        Block(
            (
                Text("é😀 "),
                Mention("a", "A", "native", markup="@a.bsky.social", handle="a.bsky.social"),
                Text(" "),
                Hashtag("art"),
                Text(" "),
                Url("https://example.com/a/very/long/path"),
            )
        ),
    )
    rendered = FacetWriter().render(doc)
    assert rendered.text == "é😀 @a.bsky.social #art example.com/a/very/long/..."
    encoded = rendered.text.encode()
    result = facets(rendered)
    slices = [encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in result]
    assert slices == ["@a.bsky.social", "#art", "example.com/a/very/long/..."]
    assert result[0]["index"] == {"byteStart": 7, "byteEnd": 21}
    assert [f["features"][0]["$type"].rsplit("#")[1] for f in result] == ["mention", "tag", "link"]
    assert result[2]["features"][0]["uri"] == "https://example.com/a/very/long/path"


@pytest.mark.parametrize(
    ("url", "short"),
    [
        ("https://example.com/", "example.com"),
        ("https://example.com/short", "example.com/short"),
        # social-app toShortUrl: the 13 kept characters include the leading "/"
        ("https://example.com/0123456789abcdefgh", "example.com/0123456789ab..."),
        ("https://example.com/?q=1", "example.com?q=1"),
    ],
)
def test_bluesky_short_urls(url, short):
    assert short_url(url) == short


def test_npf_blocks_have_per_block_ranges():
    doc = (
        Block((Text("Title"),), "title"),
        Block((Text("a "), Styled("bold", (Text("b"), LineBreak(), Text("c"))), Text(" d"))),
    )
    blocks = content_blocks(NpfWriter().render(doc))
    assert blocks == [
        {"type": "text", "text": "Title", "subtype": "heading1"},
        {"type": "text", "text": "a b", "formatting": [{"start": 2, "end": 3, "type": "bold"}]},
        {"type": "text", "text": "c d", "formatting": [{"start": 0, "end": 1, "type": "bold"}]},
    ]


def test_npf_splits_blocks_over_4096_code_points():
    long = ("word " * 1000).strip()  # 4999 code points
    blocks = content_blocks(NpfWriter().render((Block((Text(long),)),)))
    assert len(blocks) == 2
    assert all(len(b["text"]) <= 4096 for b in blocks)
    assert " ".join(b["text"] for b in blocks) == long


def test_telegram_bare_urls_are_html_escaped():
    url = "https://a.example/p?id=1&amp=2&x=3"
    text = TelegramWriter().render((Block((Url(url),)),)).text
    assert text == "https://a.example/p?id=1&amp;amp=2&amp;x=3"
