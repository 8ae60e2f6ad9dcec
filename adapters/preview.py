"""The stateless preview: the design's request body in, one result per platform out.

Everything that makes the *request* wrong (unknown platform or person, invalid handle,
unmapped rating, malformed draft) is raised as a ``DraftError`` before any rendering, with
the dotted field to blame. A post that does not fit one platform is that platform's
``{"ok": false}`` result instead, so the other platforms still render.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from adapters.base import Adapter
from adapters.draft import PreviewRequest, validate
from adapters.errors import InvalidHandle, UnknownPerson, UnknownPlatform
from adapters.registry import get, platform_ids
from adapters.text.nodes import Inline, Link, PersonRef, Styled
from adapters.text.template import CREDITS_SLOT, escape_template, parse

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
    payload: Mapping[str, Any],
    adapters: Mapping[str, Adapter] | None = None,
    *,
    also_on: bool = False,
) -> dict[str, dict[str, Any]]:
    """One result per platform; ``adapters`` replaces a platform's default adapter (e.g. one
    configured with a Mastodon instance's own limits). ``also_on`` asks for the closing link
    to the canonical page (see ``with_also_on``); each result then says ``also_on``."""
    request, targets = prepare(payload)
    chosen = [(adapters or {}).get(adapter.id, adapter) for adapter in targets]
    results = {}
    for adapter in chosen:
        options = request.options.get(adapter.id)
        result = adapter.render(request.artwork, request.people, options)
        if also_on:
            result = with_also_on(adapter, request, options, result)
        results[adapter.id] = result
    return results


ALSO_ON_LABEL = "All copies & credits:"


def with_also_on(
    adapter: Adapter, request: PreviewRequest, options: Any, plain: dict[str, Any]
) -> dict[str, Any]:
    """``plain`` with a last line "All copies & credits: <canonical url>" after the credits.

    The line goes through the template like the artist's own text, so each platform writes the
    link in its own syntax and the fitter counts it against the limit. It is added only when
    it costs nothing else: if the post would then need shortening, dropped hashtags or another
    reply, or already links the canonical page (a shortened body ends with that link), the
    result is ``plain`` with ``also_on: false`` and a warning saying why — an earlier copy is
    better left alone than edited into a worse post.
    """
    url = request.artwork.canonical_url

    def left_out(reason: str) -> dict[str, Any]:
        logger.info("%s: 'also on' link left out: %s", adapter.id, reason)
        warnings = [*plain.get("warnings", ()), f"'also on' link left out: {reason}"]
        return {**plain, "also_on": False, "warnings": warnings}

    if not plain.get("ok"):
        return {**plain, "also_on": False}
    if not url:
        return left_out("the artwork has no canonical page")
    if url in json.dumps(plain, default=str):
        return left_out("the post already links the canonical page")
    description = request.artwork.description
    has_slot = any(block.kind == "credits_slot" for block in parse(description))
    line = f"{escape_template(ALSO_ON_LABEL)} {url}"
    slot = "" if has_slot else CREDITS_SLOT + "\n\n"  # the credits first, then the line
    extended = f"{description}\n\n{slot}{line}"
    linked = adapter.render(
        request.artwork.model_copy(update={"description": extended}), request.people, options
    )
    if not linked.get("ok"):
        return left_out(str(linked.get("error") or "the post would not fit"))
    extra = [w for w in linked.get("warnings", ()) if w not in plain.get("warnings", ())]
    if extra:
        return left_out(f"it does not fit without changing the post ({'; '.join(extra)})")
    if len(linked.get("replies") or ()) != len(plain.get("replies") or ()):
        return left_out("it would need another reply in the thread")
    if url not in json.dumps(linked, default=str):
        return left_out("the line was cut to fit")
    return {**linked, "also_on": True}
