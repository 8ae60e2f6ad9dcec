"""Every platform module is registered, tested and has golden output."""

import json
import pkgutil
from pathlib import Path

import pytest

import adapters
from adapters.base import Adapter
from adapters.errors import DraftError, UnknownPlatform
from adapters.registry import NOT_PLATFORMS, get, platform_ids

GOLDEN = Path(__file__).parent.parent / "golden"
ELEVEN = {
    "twitter",
    "bluesky",
    "mastodon",
    "furaffinity",
    "weasyl",
    "inkbunny",
    "deviantart",
    "e621",
    "tumblr",
    "telegram",
    "discord",
}


def test_the_eleven_platforms():
    assert set(platform_ids()) == ELEVEN


def test_unknown_platform_is_a_draft_error():
    with pytest.raises(UnknownPlatform) as info:
        get("myspace")
    assert isinstance(info.value, DraftError)
    assert info.value.code == "unknown_platform"


def test_module_name_is_the_platform_id():
    modules = {m.name for m in pkgutil.iter_modules(adapters.__path__) if not m.ispkg}
    assert modules - NOT_PLATFORMS == set(platform_ids())
    for platform_id in platform_ids():
        adapter = get(platform_id)
        assert isinstance(adapter, Adapter)
        assert type(adapter).__module__ == f"adapters.{platform_id}"


def test_every_platform_appears_in_golden_files():
    seen = set()
    for path in GOLDEN.glob("*.json"):
        seen |= set(json.loads(path.read_text()).get("expected", {}))
    assert seen >= set(platform_ids())
