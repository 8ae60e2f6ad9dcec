"""How far an import's listing reads (adapters' ``fetch``), against the loopback peers.

Tumblr's reblogs are read and left out, so they never bring the wanted count nearer: a blog of
reblogs, or an ``api_base`` that answers full pages forever or ignores ``offset``, must still
end after a bounded number of pages. Inkbunny's ``page`` counts pages of the size asked for,
so the size must not change between pages. A post's text is cut to a bounded length.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from adapters.inkbunny import Inkbunny
from adapters.publishing import Published
from adapters.tumblr import Tumblr
from server import importer
from tests.peers.inkbunny_server import InkbunnyServer
from tests.peers.tumblr_server import TumblrServer


@pytest.fixture
def tumblr() -> Iterator[TumblrServer]:
    server = TumblrServer()
    server.start()
    yield server
    server.stop()


def listing_reads(server: TumblrServer) -> list[int]:
    """The ``offset`` of every listing request, in order."""
    return [
        int(r.query.get("offset", ["0"])[0])
        for r in server.requests
        if r.path == "/v2/blog/artist/posts"
    ]


def test_a_listing_of_endless_reblogs_is_read_a_bounded_number_of_pages(tumblr):
    tumblr.reblog_flood = 500  # a full page of reblogs for 500 pages (and a billion "posts")
    got = Tumblr().fetch(tumblr.credentials(), limit=10)
    assert got == []
    budget = math.ceil(10 / Tumblr.page_size) * Tumblr.fetch_page_factor
    assert len(listing_reads(tumblr)) == budget  # not 500 pages
    assert listing_reads(tumblr) == [n * Tumblr.page_size for n in range(budget)]


def test_a_server_that_ignores_offset_is_read_until_its_pages_repeat(tumblr, monkeypatch):
    monkeypatch.setattr(Tumblr, "page_size", 3)  # class data: three posts to a page
    for n in range(3):
        tumblr.add_image_post("artist", [f"reblog {n}"], b"x", reblog=True)
    tumblr.ignore_offset = 500  # the same page for any offset, "total_posts" a billion
    assert Tumblr().fetch(tumblr.credentials(), limit=100) == []
    assert listing_reads(tumblr) == [0, 3]  # the second page held no new post: stop


def test_own_posts_behind_reblogs_are_found_and_total_posts_ends_the_listing(tumblr, monkeypatch):
    monkeypatch.setattr(Tumblr, "page_size", 3)
    own = []
    for n in range(6):  # newest first: reblog, own, reblog, own, …
        if n % 2:
            tumblr.add_image_post("artist", [f"reblog {n}"], b"x", reblog=True)
        else:
            own.append(tumblr.add_image_post("artist", [f"own {n}"], b"x")["id"])
    got = Tumblr().fetch(tumblr.credentials(), limit=10)
    assert [p.remote_id for p in got] == list(reversed(own))
    # two full pages cover all six posts: the blog's total_posts says there is no third
    assert listing_reads(tumblr) == [0, 3]


def test_inkbunny_reads_each_submission_once_with_a_limit_between_pages():
    server = InkbunnyServer({"artist": "hunter2"})
    server.start()
    try:
        ids = [server.add_submission("artist", f"n{n}", b"x")["submission_id"] for n in range(300)]
        credentials = {"username": "artist", "password": "hunter2", "api_base": server.base_url}
        got = [p.remote_id for p in Inkbunny().fetch(credentials, limit=150)]
        searches = [r for r in server.requests if r.path == "/api_search.php"]
    finally:
        server.stop()
    newest = list(reversed(ids))[:150]
    assert got == newest  # 150 different submissions, newest first, none skipped
    sizes = {
        (r.form.get("submissions_per_page") or r.query.get("submissions_per_page"))[0]
        for r in searches
    }
    assert sizes == {str(Inkbunny.page_size)}
    assert len(searches) == 2


def test_a_huge_description_is_cut():
    text = "Commission for @someone.bsky.social " + "x" * (5 * 1024 * 1024)
    post = importer.normalise(
        "inkbunny", Published("1", "https://inkbunny.net/s/1", {"description": text})
    )
    assert len(post.text) == importer.MAX_TEXT_CHARS
    assert post.text.startswith("Commission for @someone.bsky.social")
