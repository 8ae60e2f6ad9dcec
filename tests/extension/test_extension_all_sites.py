"""'Look for reposts on all sites': the options page turns the generic content script on and off,
and with it on, a repost on a site the extension knows nothing of gets its credits."""

from __future__ import annotations

from typing import Any

from tests.extension.conftest import wait_until
from tests.extension.test_extension_e2e import BADGE, shows_the_dusk_credits_for_a_repost

GALLERY = "https://gallery.example/post/{}"  # 1, 2, 3: the same picture under three URLs
TUMBLR = "https://www.tumblr.com/aesthetic-dump-blog/7000000000001"
REGISTERED = "async () => (await chrome.scripting.getRegisteredContentScripts()).map(s => s.id)"


def set_all_sites(browser: Any, on: bool) -> None:
    """Tick or untick the box on the options page and save, as a viewer would."""
    options = browser.context.new_page()
    try:
        options.goto(f"chrome-extension://{browser.extension_id}/options/options.html")
        options.wait_for_selector("body[data-shown='true']", state="attached")  # boxes loaded
        options.set_checked("#allSites", on)
        options.click("#save")
        options.wait_for_selector("#status:text('Saved')", timeout=10_000)
        assert options.is_checked("#allSites") is on
    finally:
        options.close()


def gallery_left_alone(browser: Any, page: Any, visit: int) -> bool:
    """Visit the gallery, then the Tumblr repost, whose badge shows that the extension is at
    work; the gallery's picture (600 px wide, the only one) must not have been fingerprinted."""
    seen = "creditline.stats.fingerprints.filter(f => f.width === 600).length"
    before = browser.worker.evaluate(seen)
    page.goto(GALLERY.format(visit))
    page.wait_for_load_state("load")
    # time for a script to ask (document_idle, then one message); with the script registered
    # the picture is fetched and fingerprinted whether or not the tab is still there
    wait_until(lambda: browser.worker.evaluate(seen) > before, timeout=3.0)
    page.goto(TUMBLR)
    page.wait_for_selector(BADGE, state="attached", timeout=20_000)
    return browser.worker.evaluate(seen) == before


def test_all_sites_finds_a_repost_on_an_unknown_site_and_stops_when_unticked(
    all_sites_browser: Any, registry: Any
) -> None:
    b = all_sites_browser
    page = b.context.new_page()
    try:
        assert b.worker.evaluate(REGISTERED) == []
        assert gallery_left_alone(b, page, 1)  # off by default: the page is not read

        set_all_sites(b, True)
        assert wait_until(lambda: b.worker.evaluate(REGISTERED) == ["creditline-generic"])
        url = GALLERY.format(2)
        shows_the_dusk_credits_for_a_repost(page, registry, url, "all_sites_repost.png")

        # a site with its own script is left to it: the generic one is not injected there (a
        # second copy would stop early in main.js, so counting badges could not tell)
        [script] = b.worker.evaluate("chrome.scripting.getRegisteredContentScripts()")
        assert script["matches"] == ["http://*/*", "https://*/*"]
        assert {"https://www.tumblr.com/*", "https://x.com/*"} <= set(script["excludeMatches"])

        set_all_sites(b, False)
        assert wait_until(lambda: b.worker.evaluate(REGISTERED) == [])
        assert gallery_left_alone(b, page, 3)
        assert b.errors == []
    finally:
        page.close()
