"""Credit fidelity: shorten, drop hashtags, move credits to a reply, or fail clearly."""

import pytest
from adapter_cases import request

from adapters.preview import render_preview
from adapters.registry import get

LONG = "A long description of the piece. " * 40


def _render(platform, **artwork):
    body = request(**artwork)
    body["platforms"] = [platform]
    return render_preview(body)[platform]


@pytest.mark.parametrize("platform", ["twitter", "bluesky", "mastodon", "telegram", "discord"])
def test_long_body_is_shortened_with_ellipsis_and_canonical_link(platform):
    result = _render(platform, description=LONG * 3 + "{credits}")
    assert result["ok"], result
    assert result["length"] <= result["limit"]
    assert any(w.startswith("description shortened") for w in result["warnings"])
    text = result["text"] + " ".join(map(str, result.get("replies", [])))
    assert "…" in result["text"]
    assert "art.example/a/7Hk2" in text
    assert "Trisk ©" in result["text"]  # credits kept inline


def test_x_keeps_credits_and_drops_hashtags_only_after_shortening():
    tags = [f"tag{i}" for i in range(40)]
    result = _render("twitter", description=LONG, tags=tags)
    assert result["ok"]
    assert result["length"] <= 280
    assert "description shortened to fit 280 weighted characters" in result["warnings"]
    assert any(w.startswith("hashtags dropped to fit: ") for w in result["warnings"])
    for credit in ("Art by @/tanraak", "Commissioned by @/hyena_dude", "Trisk © @/hyena_dude"):
        assert credit in result["text"]


def _many_credits(n):
    people = {f"p{i}": {"name": f"Person number {i:03d} with a long name"} for i in range(n)}
    credits = [{"role": "other", "person": f"p{i}"} for i in range(n)]
    return people, credits


@pytest.mark.parametrize("platform", ["twitter", "bluesky", "mastodon"])
def test_credits_too_long_for_the_post_go_to_replies(platform):
    people, credits = _many_credits(30)
    body = request(credits=credits, description="Short.")
    body["people"].update(people)
    body["platforms"] = [platform]
    result = render_preview(body)[platform]
    assert result["ok"], result
    assert "credits moved to a reply: they do not fit in the post" in result["warnings"]
    replies = [r["text"] if isinstance(r, dict) else r for r in result["replies"]]
    assert len(replies) >= 2
    joined = "\n".join(replies)
    for i in range(30):
        assert f"Person number {i:03d} with a long name" in joined
    adapter = get(platform)
    assert all(adapter.measure(r) <= adapter.text_limit for r in replies)


def test_no_threads_means_a_clear_error_naming_platform_and_limit():
    people, credits = _many_credits(80)
    body = request(credits=credits)
    body["people"].update(people)
    body["platforms"] = ["discord"]
    result = render_preview(body)["discord"]
    assert result["ok"] is False
    assert result["error"].startswith("Discord: does not fit in 2000 characters")
    assert "no threads" in result["error"]
    assert set(result) == {"ok", "error"}


def test_credits_position_reply_moves_them_even_when_they_fit():
    body = request()
    body["platforms"] = ["mastodon"]
    body["options"] = {"mastodon": {"credits_position": "reply"}}
    result = render_preview(body)["mastodon"]
    assert "Art by" not in result["text"]
    assert result["replies"] == [
        "Art by @tanraak@furry.engineer\n"
        "Commissioned by Hyena Dude (https://x.com/hyena_dude)\n"
        "Trisk © Hyena Dude (https://x.com/hyena_dude)"
    ]


def test_links_in_reply_on_x_moves_every_url():
    result = _render("twitter")
    assert "https://" not in result["text"]
    assert result["replies"] == ["https://patreon.com/tanraak"]
    off = request()
    off["platforms"] = ["twitter"]
    off["options"] = {"twitter": {"links_in_reply": False}}
    assert "https://patreon.com/tanraak" in render_preview(off)["twitter"]["text"]


def test_mastodon_content_warning_counts_against_the_limit():
    result = _render("mastodon", description="x" * 600, rating="adult")
    assert result["spoiler_text"] == "Adult (18+)"
    assert result["length"] <= 500
    assert get("mastodon").measure(result["text"]) + len("Adult (18+)") == result["length"]


@pytest.mark.parametrize("platform", ["twitter", "bluesky"])
def test_a_long_role_line_after_a_short_one_is_split_into_replies_that_fit(platform):
    people = {
        f"p{i}": {
            "name": f"P{i}",
            "accounts": {"twitter": f"patron{i:02d}", "bluesky": f"patron{i:02d}.bsky.social"},
        }
        for i in range(40)
    }
    credits = [{"role": "artist", "person": "p0"}]
    credits += [{"role": "commissioner", "person": f"p{i}"} for i in range(1, 40)]
    body = request(credits=credits, description="Short.")
    body["people"].update(people)
    body["platforms"] = [platform]
    result = render_preview(body)[platform]
    assert result["ok"], result
    replies = [r["text"] if isinstance(r, dict) else r for r in result["replies"]]
    adapter = get(platform)
    assert all(adapter.measure(r) <= adapter.text_limit for r in replies)
    assert all(f"patron{i:02d}" in "\n".join(replies) for i in range(40))
