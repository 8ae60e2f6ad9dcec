"""One person, one platform: the best mention form the platform allows.

Order of preference (DESIGN.md "Mentions"): native mention when the person has an
account there; the platform's cross-site form; a link to the primary profile; the name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from adapters.draft import Person
from adapters.errors import UnknownPerson, UnknownPlatform
from adapters.text.nodes import Mention

if TYPE_CHECKING:
    from adapters.base import Adapter
    from adapters.rules import Rules

logger = logging.getLogger(__name__)

Lookup = Callable[[str], "Adapter"]


def _known_accounts(person: Person, lookup: Lookup) -> dict[str, str]:
    """The person's accounts on platforms we know; accounts elsewhere cannot be linked."""
    known = {}
    for platform_id, handle in person.accounts.items():
        try:
            known[platform_id] = lookup(platform_id).check_handle(handle)
        except UnknownPlatform:
            logger.debug("ignoring account on unknown platform %r", platform_id)
    return known


def primary_profile(person: Person, lookup: Lookup) -> str | None:
    accounts = _known_accounts(person, lookup)
    if not accounts:
        return None
    platform_id = person.primary if person.primary in accounts else next(iter(accounts))
    return lookup(platform_id).profile_url(accounts[platform_id])


def resolve(key: str, person: Person, target: Adapter, rules: Rules, lookup: Lookup) -> Mention:
    accounts = _known_accounts(person, lookup)
    name = person.name
    here = accounts.get(target.id)
    escape = target.writer().escape
    if here is not None and rules.mention_style != "plain":
        if rules.mention_style == "delinked" and target.delinked_mention:
            markup = target.delinked_mention.format(handle=here)
            return Mention(key, name, "delinked", markup=markup, handle=here)
        if target.native_mention:
            markup = target.native_mention.format(handle=here, name=escape(name))
            return Mention(key, name, "native", markup=markup, handle=here)
    if here is not None and target.supports_links:
        # No native syntax (or plain style): link the account on this very platform.
        return Mention(key, name, "link", url=target.profile_url(here), handle=here)
    ordered = sorted(target.cross_site, key=lambda site: site != person.primary)
    for site in ordered:
        if site in accounts:
            markup = target.cross_site[site].format(handle=accounts[site], name=escape(name))
            return Mention(key, name, "cross", markup=markup, handle=accounts[site])
    url = primary_profile(person, lookup)
    if url and target.supports_links:
        return Mention(key, name, "link", url=url)
    return Mention(key, name, "name")


class Resolver:
    """Resolves ``@[key]`` and credit people for one platform, with a clear unknown-key error."""

    def __init__(
        self,
        target: Adapter,
        people: Mapping[str, Person],
        rules: Rules,
        lookup: Lookup,
    ) -> None:
        self.target, self.people, self.rules, self.lookup = target, people, rules, lookup
        self._cache: dict[str, Mention] = {}

    def __call__(self, key: str, field: str | None = None) -> Mention:
        if key not in self._cache:
            person = self.people.get(key)
            if person is None:
                raise UnknownPerson(key, field)
            self._cache[key] = resolve(key, person, self.target, self.rules, self.lookup)
        return self._cache[key]
