"""The extension end to end: Debian's Chromium, the unpacked extension, the project's registry.

Pages shaped like X, Bluesky, FurAffinity and a Tumblr repost are served from loopback under
their real host names; the registry is ``create_app`` with published works.
"""

from __future__ import annotations

import json
import re
import statistics
from typing import Any

from tests.extension.conftest import ARTIFACTS, BSKY_POST, EVIL_NAME, X_POST, wait_until

BADGE = "[data-creditline-badge]"


def badge_data(page: Any) -> dict[str, Any]:
    """What the badge shows, read through its (open) shadow root."""
    return page.eval_on_selector(
        BADGE,
        """host => {
          const r = host.shadowRoot;
          const li = [...r.querySelectorAll('li')].map(li => ({
            role: li.dataset.role,
            label: li.querySelector('.role').textContent,
            name: li.querySelector('.name').textContent,
            href: li.querySelector('a.name') ? li.querySelector('a.name').href : null,
            character: li.querySelector('.char') ? li.querySelector('.char').textContent : null,
            profiles: [...li.querySelectorAll('a.profile')].map(a => [a.textContent, a.href]),
          }));
          return {
            id: host.dataset.creditlineBadge,
            summary: r.querySelector('summary').textContent,
            title: r.querySelector('.title').textContent,
            canonical: r.querySelector('a.canonical') ? r.querySelector('a.canonical').href : null,
            foot: r.querySelector('.foot').textContent,
            credits: li,
            elements: r.querySelectorAll('*').length,
            imgs: r.querySelectorAll('img, script, b').length,
          };
        }""",
    )


def test_worker_is_up(browser: Any) -> None:
    assert browser.worker.url.endswith("/background/worker.js")
    assert re.fullmatch(r"[a-p]{32}", browser.extension_id)


def test_x_post_badge_and_restored_credits(page: Any, registry: Any) -> None:
    start = len(registry.log)
    page.goto(X_POST)
    page.wait_for_selector(BADGE, state="attached", timeout=20_000)
    data = badge_data(page)
    work = registry.works["dusk"]
    assert data["id"] == work
    assert data["title"] == "Trisk at dusk"
    assert data["canonical"] == f"{registry.origin}/a/{work}"
    assert "registered copy" in data["foot"]  # resolved by the post URL, our own copy
    roles = {c["role"]: c for c in data["credits"]}
    assert set(roles) == {"artist", "commissioner", "character_owner"}
    assert roles["artist"]["name"] == "Tanraak"
    assert roles["artist"]["href"] == "https://x.com/tanraak"  # the profile on this site first
    assert ["FurAffinity", "https://www.furaffinity.net/user/tanraak/"] in roles["artist"][
        "profiles"
    ]
    assert roles["commissioner"]["href"] == "https://x.com/hyena_dude"
    assert roles["character_owner"]["character"] == "Trisk © "
    assert data["summary"].startswith(
        "©Art by Tanraak · Commissioned by Hyena Dude · Trisk © Hyena Dude"
    )
    # the badge sits after the photo block, outside X's clipped media box
    assert (
        page.eval_on_selector(BADGE, "b => b.previousElementSibling.dataset.testid") == "tweetPhoto"
    )

    # @/name became a real link to the profile on this site; censored words are restored
    links = page.eval_on_selector_all(
        "#text a[data-creditline=mention]", "els => els.map(a => [a.textContent, a.href])"
    )
    assert links == [["@hyena_dude", "https://x.com/hyena_dude"]]
    restored = page.eval_on_selector_all(
        "#text [data-creditline=uncensored]", "els => els.map(e => e.textContent)"
    )
    assert restored == ["Commission", "Commissions", "Patreon"]
    text = page.text_content("#text")
    assert text == (
        "Trisk at dusk 🌅 Commission for @hyena_dude, thanks! Commissions open on Patreon. "
        "@/not_me Follow foo@/bar too."
    )
    # ...but never inside links, form fields, editable text or code
    assert page.text_content("#inlink") == "@/not_me"
    assert page.input_value("#compose") == "Thanks @/hyena_dude for the c*mmission"
    assert page.text_content("#editable") == "Draft: @/someone on Patr*on"
    assert page.text_content("#code") == "@/in_code Patr*on"
    # the page's own click handler still works on the post's text
    page.click("#text span >> nth=0")
    assert page.evaluate("window.clicks") == 1

    calls = registry.log[start:]
    assert any(c.startswith("/api/v1/lookup?bucket=") for c in calls), calls
    assert any(c.startswith("/api/v1/attribution?url=") for c in calls), calls

    page.eval_on_selector(BADGE, "b => b.shadowRoot.querySelector('details').open = true")
    page.screenshot(path=str(ARTIFACTS / "x_status.png"), full_page=True)


def test_bluesky_ych_recolour_resolves_to_its_own_commissioner(page: Any, registry: Any) -> None:
    page.goto(BSKY_POST)
    page.wait_for_selector(BADGE, state="attached", timeout=20_000)
    data = badge_data(page)
    assert data["id"] == registry.works["ych"]
    roles = {c["role"]: c for c in data["credits"]}
    assert roles["commissioner"]["name"] == "Hyena Dude"  # not the recolour's "Second Buyer"
    assert roles["commissioner"]["href"] == "https://bsky.app/profile/hyena.bsky.social"
    assert roles["artist"]["href"] == "https://bsky.app/profile/tanraak.bsky.social"
    links = page.eval_on_selector_all(
        "#text a[data-creditline=mention]", "els => els.map(a => [a.textContent, a.href])"
    )
    assert links == [["@hyena.bsky.social", "https://bsky.app/profile/hyena.bsky.social"]]
    assert "Patreon exclusive" in page.text_content("#text")


def test_furaffinity_credit_name_with_html_is_text(page: Any, registry: Any) -> None:
    page.goto("https://www.furaffinity.net/view/4242/")
    page.wait_for_selector(BADGE, state="attached", timeout=20_000)
    data = badge_data(page)
    assert data["id"] == registry.works["moonlit"]
    assert "matched by image" in data["foot"]  # no copy registered here: found by fingerprint
    trade = next(c for c in data["credits"] if c["role"] == "trade_with")
    assert trade["name"] == EVIL_NAME
    assert trade["label"] == "Art trade with"
    assert data["imgs"] == 0  # the name's markup stayed text: no <img>, <b> or <script>
    assert page.evaluate("window.pwned") is None
    links = page.eval_on_selector_all(
        "#text a[data-creditline=mention]", "els => els.map(a => [a.textContent, a.href])"
    )
    assert links == [["Some_Friend", "https://www.furaffinity.net/user/somefriend/"]]


def shows_the_dusk_credits_for_a_repost(page: Any, registry: Any, url: str, shot: str) -> None:
    """A resized, recompressed copy of "Trisk at dusk" on ``url`` gets its badge, found by the
    image; the opened badge is saved as ``shot`` in the artifacts."""
    page.goto(url)
    page.wait_for_selector(BADGE, state="attached", timeout=20_000)
    data = badge_data(page)
    assert data["id"] == registry.works["dusk"]
    assert "matched by image" in data["foot"]
    assert {c["role"] for c in data["credits"]} == {"artist", "commissioner", "character_owner"}
    page.eval_on_selector(BADGE, "b => b.shadowRoot.querySelector('details').open = true")
    page.screenshot(path=str(ARTIFACTS / shot), full_page=True)


def test_unrelated_repost_of_a_resized_recompressed_copy(page: Any, registry: Any) -> None:
    url = "https://www.tumblr.com/aesthetic-dump-blog/7000000000001"
    shows_the_dusk_credits_for_a_repost(page, registry, url, "tumblr_repost.png")


def test_popup_lists_the_attributions_of_the_tab(browser: Any, page: Any, registry: Any) -> None:
    page.goto(X_POST)
    page.wait_for_selector(BADGE, state="attached", timeout=20_000)
    tab_id = browser.worker.evaluate(
        "async () => (await chrome.tabs.query({url: 'https://x.com/tanraak/*'}))[0].id"
    )
    popup = browser.context.new_page()
    try:
        popup.goto(f"chrome-extension://{browser.extension_id}/popup/popup.html?tab={tab_id}")
        popup.wait_for_selector("#list li", timeout=10_000)
        items = popup.eval_on_selector_all("#list li", "els => els.map(e => e.dataset.work)")
        assert items == [registry.works["dusk"]]
        assert "Hyena Dude" in popup.text_content("#list")
    finally:
        popup.close()


def test_feed_of_50_unregistered_images_reveals_only_buckets(
    browser: Any, page: Any, registry: Any
) -> None:
    before_fp = browser.worker.evaluate("creditline.stats.fingerprints.length")
    start = len(registry.log)
    page.goto("https://x.com/home")
    done = wait_until(
        lambda: browser.worker.evaluate("creditline.stats.fingerprints.length") - before_fp >= 50,
        timeout=60,
    )
    assert done, "the worker did not fingerprint the 50 images"
    # let the last lookups land
    wait_until(lambda: False, timeout=1.5)
    calls = registry.log[start:]
    # Only the protocol's 16-bit buckets: no image, no fingerprint, no URL, no work id.
    assert calls, "no lookup at all"
    assert all(re.fullmatch(r"/api/v1/lookup\?bucket=[0-9a-f]{4}", c) for c in calls), calls
    assert page.query_selector(BADGE) is None
    timings = browser.worker.evaluate("creditline.stats.fingerprints.slice(-50)")
    record(
        "feed",
        {
            "images": 50,
            "registry_requests": len(calls),
            "distinct_buckets": len(set(calls)),
            "fingerprint_ms_median_680x510": statistics.median(t["fingerprintMs"] for t in timings),
            "decode_ms_median_680x510": statistics.median(t["decodeMs"] for t in timings),
        },
    )


def test_fingerprint_time_for_a_1080p_image(browser: Any, sites: Any) -> None:
    result = browser.worker.evaluate(
        """async () => {
          const blob = await (await fetch('https://pbs.twimg.com/media/FullHD')).blob();
          const decodes = [], prints = [];
          let px;
          for (let i = 0; i < 12; i++) {
            const t0 = performance.now();
            px = await creditline.decode(blob);
            const t1 = performance.now();
            creditline.queryVariants(px.data, px.width, px.height);
            const t2 = performance.now();
            decodes.push(t1 - t0); prints.push(t2 - t1);
          }
          return {width: px.width, height: px.height,
                  decodes: decodes.slice(2), prints: prints.slice(2)};
        }"""
    )
    assert (result["width"], result["height"]) == (1920, 1080)
    fp = statistics.median(result["prints"])
    record(
        "fingerprint_1080p",
        {
            "fingerprint_ms_median": fp,
            "fingerprint_ms_max": max(result["prints"]),
            "decode_ms_median": statistics.median(result["decodes"]),
            "runs": len(result["prints"]),
        },
    )
    assert fp <= 60, f"fingerprinting a 1080p image took {fp:.1f} ms (goal 15 ms)"


def test_no_errors_in_the_extension(browser: Any) -> None:
    assert browser.errors == []


def record(name: str, values: dict[str, Any]) -> None:
    path = ARTIFACTS / "bench.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = values
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\n[bench] {name}: {values}")
