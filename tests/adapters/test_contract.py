"""The contract every registered adapter keeps, checked the same way for all of them.

A new platform module is picked up by the registry and lands here without any edit: its class
data must be coherent, its render must follow the preview contract, bad handles must be errors,
and its publishing side must refuse what it cannot post with the error taxonomy — never with a
library exception or a silent success.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from adapters.base import Adapter
from adapters.errors import ContentRejected, DraftError, InvalidHandle, PlatformError
from adapters.publishing import Lookup, Media, PublishJob
from adapters.registry import get, platform_ids

PLATFORMS = platform_ids()

DRAFT = {
    "title": "Trisk at dusk",
    "description": "Commission for @[hyena]. {credits}",
    "rating": "general",
    "tags": ["hyena", "digital art", "commission"],
    "alt_text": "A hyena in a red scarf",
    "credits": [
        {"role": "artist", "person": "tanraak"},
        {"role": "commissioner", "person": "hyena"},
    ],
    "canonical_url": "https://art.example/a/7Hk2",
}
PEOPLE: dict[str, Any] = {
    "tanraak": {"name": "Tanraak", "accounts": {}},
    "hyena": {"name": "Hyena Dude", "accounts": {}},
}
CORE_FIELDS = {"ok", "length", "limit", "warnings"}


@pytest.fixture(params=PLATFORMS)
def adapter(request: pytest.FixtureRequest) -> Adapter:
    return get(request.param)


def test_every_module_platform_is_registered_and_documented():
    assert len(PLATFORMS) >= 11
    readme = Path("README.md").read_text(encoding="utf-8")
    for platform in PLATFORMS:
        assert f"`{platform}`" in readme, f"{platform} has no row in the README platform table"


def test_identity_and_limits_are_declared_as_data(adapter):
    assert adapter.id and adapter.name and adapter.id == type(adapter).__module__.split(".")[-1]
    assert adapter.text_limit is None or adapter.text_limit > 0
    assert adapter.images.max_count is None or adapter.images.max_count >= 1
    assert adapter.images.formats and all(f.startswith("image/") for f in adapter.images.formats)
    assert adapter.min_interval >= 0 and adapter.timeout > 0
    assert adapter.profile_url_template or type(adapter).profile_url is not Adapter.profile_url
    assert set(adapter.rating_map) >= {"general", "mature", "adult"}


def test_render_follows_the_preview_contract(adapter):
    result = adapter.render(DRAFT, PEOPLE)
    assert result["ok"] is True, result
    assert set(result) >= CORE_FIELDS
    text = result.get("text") or result.get("description") or result.get("content")
    assert text, "a rendered post carries its text"
    flat = str(result)
    assert "Tanraak" in flat and "Hyena Dude" in flat, "every credit is present"
    if adapter.text_limit and result["limit"]:
        assert result["length"] <= result["limit"]


def test_unknown_rating_is_an_error_never_general(adapter):
    with pytest.raises(DraftError):
        adapter.render({**DRAFT, "rating": "spicy"}, PEOPLE)


@pytest.mark.parametrize("handle", ["", "@@@ ###", "<script>", "a" * 300])
def test_garbage_handles_are_errors(adapter, handle):
    with pytest.raises(InvalidHandle):
        adapter.check_handle(handle)


def test_idempotency_keys_are_unique(adapter):
    keys = {adapter.new_idempotency_key() for _ in range(50)}
    assert len(keys) == 50


def test_foreign_urls_are_not_mistaken_for_posts(adapter):
    for url in ("https://example.com/post/1", "not a url", ""):
        assert adapter.parse_url(url) is None


def job(adapter: Adapter, post: dict[str, Any], images: int = 1) -> PublishJob:
    media = tuple(
        Media(data=b"\x89PNG", media_type="image/png", filename=f"i{i}.png", width=1, height=1)
        for i in range(images)
    )
    return PublishJob(key=adapter.new_idempotency_key(), post=post, images=media, credentials={})


def test_publish_refuses_a_post_that_did_not_render(adapter):
    with pytest.raises(ContentRejected):
        adapter.publish(job(adapter, {"ok": False, "error": "too long"}), lambda ids: None)


def test_publish_refuses_too_many_images_before_any_request(adapter):
    if adapter.images.max_count is None:
        pytest.skip("no image limit")
    post = adapter.render(DRAFT, PEOPLE)
    with pytest.raises(ContentRejected):
        adapter.publish(job(adapter, post, adapter.images.max_count + 1), lambda ids: None)


def test_capabilities_match_what_is_implemented(adapter):
    overridden = {
        name
        for name in ("edit", "delete", "check_auth", "fetch", "lookup", "parse_url")
        if getattr(type(adapter), name) is not getattr(Adapter, name)
    }
    if adapter.supports_edit:
        assert "edit" in overridden, f"{adapter.id} says it edits but has no edit()"
    if adapter.supports_delete:
        assert "delete" in overridden, f"{adapter.id} says it deletes but has no delete()"
    if adapter.can_publish:
        assert "check_auth" in overridden and "parse_url" in overridden
        assert adapter.supports_idempotent_create or "lookup" in overridden, (
            f"{adapter.id} has no idempotent create and no lookup: a retry could post twice"
        )


def test_unimplemented_operations_raise_the_taxonomy(adapter):
    """Calling what a platform cannot do is an ``Unsupported`` error, not a crash."""
    calls = {
        "edit": lambda: adapter.edit("1", job(adapter, {"ok": True})),
        "delete": lambda: adapter.delete("1", {}),
    }
    for name, call in calls.items():
        if getattr(type(adapter), name) is getattr(Adapter, name):
            with pytest.raises(PlatformError):
                call()


def test_lookup_answers_with_a_lookup(adapter):
    if type(adapter).lookup is Adapter.lookup:
        assert isinstance(adapter.lookup(job(adapter, {"ok": True})), Lookup)


def test_publishing_methods_take_the_documented_arguments(adapter):
    for name in ("delete", "check_auth", "fetch"):
        params = inspect.signature(getattr(adapter, name)).parameters
        assert "update_credentials" in params, f"{adapter.id}.{name} lacks update_credentials"
