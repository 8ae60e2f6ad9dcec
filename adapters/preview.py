"""The stateless preview: the design's request body in, one result per platform out.

Everything that makes the *request* wrong (unknown platform or person, invalid handle,
unmapped rating, malformed draft) is raised as a ``DraftError`` before any rendering, with
the dotted field to blame. A post that does not fit one platform is that platform's
``{"ok": false}`` result instead, so the other platforms still render.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from adapters.base import Adapter
from adapters.draft import PreviewRequest, validate
from adapters.errors import InvalidHandle, UnknownPerson, UnknownPlatform
from adapters.registry import get, platform_ids
from adapters.text.nodes import Inline, Link, PersonRef, Styled
from adapters.text.template import parse

logger = logging.getLogger(__name__)


def _refs(nodes: tuple[Inline, ...]) -> Iterator[str]:
    for node in nodes:
        if isinstance(node, PersonRef):
            yield node.key
        elif isinstance(node, Styled | Link):
            yield from _refs(node.children)


def referenced_people(request: PreviewRequest) -> dict[str, str]:
    """Every person key the draft uses, mapped to the field that uses it first."""
    keys: dict[str, str] = {}
    for i, credit in enumerate(request.artwork.credits):
        keys.setdefault(credit.person, f"artwork.credits.{i}.person")
    for block in parse(request.artwork.description):
        for key in _refs(block.inlines):
            keys.setdefault(key, "artwork.description")
    return keys


def check_people(request: PreviewRequest) -> None:
    for key, field in referenced_people(request).items():
        person = request.people.get(key)
        if person is None:
            raise UnknownPerson(key, field)
        for platform_id, handle in person.accounts.items():
            try:
                adapter = get(platform_id)
            except UnknownPlatform:
                continue  # accounts on sites we do not post to are simply not linked
            try:
                adapter.check_handle(handle)
            except InvalidHandle as exc:
                exc.field = f"people.{key}.accounts.{platform_id}"
                raise


def prepare(payload: Mapping[str, Any]) -> tuple[PreviewRequest, list[Adapter]]:
    """Validate a preview request and find its target adapters; raises ``DraftError``."""
    request: PreviewRequest = validate(PreviewRequest, payload)
    ids = (
        list(dict.fromkeys(request.platforms)) if request.platforms is not None else platform_ids()
    )
    targets = []
    for i, platform_id in enumerate(ids):
        try:
            targets.append(get(platform_id))
        except UnknownPlatform as exc:
            exc.field = f"platforms.{i}"
            raise
    for platform_id in request.options:
        try:
            get(platform_id)
        except UnknownPlatform as exc:
            exc.field = f"options.{platform_id}"
            raise
    check_people(request)
    for adapter in targets:  # fail the whole request on an unmapped rating, before rendering
        adapter.map_rating(request.artwork, adapter.rules(request.options.get(adapter.id)))
    return request, targets


def render_preview(
    payload: Mapping[str, Any], adapters: Mapping[str, Adapter] | None = None
) -> dict[str, dict[str, Any]]:
    """One result per platform; ``adapters`` replaces a platform's default adapter (e.g. one
    configured with a Mastodon instance's own limits)."""
    request, targets = prepare(payload)
    chosen = [(adapters or {}).get(adapter.id, adapter) for adapter in targets]
    return {
        adapter.id: adapter.render(request.artwork, request.people, request.options.get(adapter.id))
        for adapter in chosen
    }
