"""The Adapter base class: a platform's limits and rules as class data, plus ``render``.

A platform module subclasses ``Adapter``, fills in the class data and overrides at most a
few small hooks (``rating_fields``, ``fields``). ``render`` is pure: no network, no state.
Publishing lives beside it: ``publish`` is a template method around each platform's own
``_publish`` steps, and the engine never needs to know a platform's protocol.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from adapters.draft import Artwork, Person, RuleOptions, validate
from adapters.errors import ContentRejected, InvalidHandle, MissingRatingMapping, Unsupported
from adapters.publishing import (
    Checkpoint,
    CredentialsUpdate,
    Lookup,
    Presence,
    Published,
    PublishJob,
)
from adapters.rules import Rules
from adapters.text.censor import censor
from adapters.text.compose import Parts, resolve_document, resolve_inlines
from adapters.text.counting import counter
from adapters.text.credits import credit_lines, credits_block
from adapters.text.fitting import Fitted, NoFit, fit
from adapters.text.mentions import Resolver
from adapters.text.nodes import Block, Styled, Text
from adapters.text.template import parse
from adapters.text.writers.base import Rendered, Writer

logger = logging.getLogger(__name__)

EMPTY: MappingProxyType[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class ImageLimits:
    max_count: int | None = 1
    max_bytes: int | None = None
    max_pixels: int | None = None  # longest side or total, see each platform's note
    formats: tuple[str, ...] = ("image/jpeg", "image/png", "image/gif")
    # The platform keeps the uploaded file's metadata, so the credits are embedded in it
    # (adapters/metadata.py, done by adapters/images.py). False where unknown.
    keeps_metadata: bool = False


@dataclass(frozen=True)
class TagRules:
    """How a platform takes tags: inline hashtags, or a separate field with its own rules."""

    inline_hashtags: bool = False
    supported: bool = True
    min_count: int = 0
    max_count: int | None = None
    max_joined: int | None = None  # length of the joined field, e.g. FA keywords < 500
    separator: str = " "
    space: str = "_"  # what a space inside a tag becomes
    lowercase: bool = False
    drop: str = r"[^\w\-.'/()]"  # regex of characters removed from a tag


@dataclass
class RenderContext:
    """What the per-platform ``fields`` hook may read to add its own output fields."""

    draft: Artwork
    rules: Rules
    fitted: Fitted
    tags: list[str]
    rating: Any
    title: str | None
    alt_text: str | None
    warnings: list[str] = field(default_factory=list)


class Adapter:
    # identity
    id: ClassVar[str] = ""
    name: ClassVar[str] = ""
    # text
    text_limit: ClassVar[int | None] = None
    length_unit: ClassVar[str] = "code_points"  # see adapters.text.counting.COUNTERS
    limit_unit: ClassVar[str] = "characters"  # wording used in errors and warnings
    byte_limit: ClassVar[int | None] = None
    reply_limit: ClassVar[int | None] = None  # defaults to text_limit
    text_field: ClassVar[str] = "text"  # "text" or "description" in the preview output
    title_limit: ClassVar[int | None] = None
    has_title: ClassVar[bool] = False
    title_in_text: ClassVar[bool] = False  # no title field: the title opens the text
    markup: ClassVar[str] = "plain"
    writer: ClassVar[type[Writer]] = Writer
    supports_links: ClassVar[bool] = True
    link_moved_marker: ClassVar[str] = "(link in reply)"
    # media
    images: ClassVar[ImageLimits] = ImageLimits()
    alt_text_limit: ClassVar[int | None] = None
    supports_alt_text: ClassVar[bool] = True
    # tags and ratings
    tag_rules: ClassVar[TagRules] = TagRules()
    rating_map: ClassVar[Mapping[str, Any]] = EMPTY
    flag_map: ClassVar[Mapping[str, Any]] = EMPTY
    # people
    profile_url_template: ClassVar[str] = ""
    handle_pattern: ClassVar[re.Pattern[str]] = re.compile(r".+")
    handle_hint: ClassVar[str] = ""
    native_mention: ClassVar[str | None] = None  # format string with {handle} and {name}
    delinked_mention: ClassVar[str | None] = None
    cross_site: ClassVar[Mapping[str, str]] = EMPTY  # platform id -> format string
    # rules and capabilities
    default_rules: ClassVar[Rules] = Rules()
    default_censor: ClassVar[Mapping[str, str]] = EMPTY
    supports_edit: ClassVar[bool] = False
    supports_delete: ClassVar[bool] = False
    supports_threads: ClassVar[bool] = False
    supports_idempotent_create: ClassVar[bool] = False
    # delivery pacing
    min_interval: ClassVar[float] = 0.0  # seconds between two posts of one account
    max_concurrency: ClassVar[int | None] = None  # in-flight deliveries per platform, per worker
    timeout: ClassVar[float] = 60.0  # seconds for one HTTP request

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"

    # -- people ----------------------------------------------------------------------------
    def check_handle(self, handle: str) -> str:
        """Validate and normalise a handle; invalid handles are errors, never garbage output."""
        if not isinstance(handle, str):
            raise InvalidHandle(self.id, str(handle), "not a string")
        m = self.handle_pattern.fullmatch(handle.strip())
        if not m:
            raise InvalidHandle(self.id, handle, self.handle_hint or "not a valid handle")
        return self.normalise_handle(m.group(m.lastindex or 0))

    def normalise_handle(self, handle: str) -> str:
        return handle

    def profile_url(self, handle: str) -> str:
        return self.profile_url_template.format(handle=self.check_handle(handle))

    # -- rules -----------------------------------------------------------------------------
    def rules(self, options: RuleOptions | Mapping[str, Any] | None = None) -> Rules:
        if options is not None and not isinstance(options, RuleOptions):
            options = validate(RuleOptions, options, f"options.{self.id}")
        return self.default_rules.merged(options, MappingProxyType(dict(self.default_censor)))

    # -- length ----------------------------------------------------------------------------
    def measure(self, text: str) -> int:
        return counter(self.length_unit)(text)

    # -- tags ------------------------------------------------------------------------------
    def normalise_tag(self, tag: str) -> str | None:
        rules = self.tag_rules
        if rules.inline_hashtags:
            cleaned = re.sub(r"[^\w]", "", tag.replace(" ", ""))
            return cleaned if cleaned and not cleaned.isdigit() else None
        cleaned = re.sub(r"\s+", rules.space, tag.strip())
        cleaned = re.sub(rules.drop, "", cleaned)
        return (cleaned.lower() if rules.lowercase else cleaned) or None

    def prepare_tags(self, tags: tuple[str, ...]) -> tuple[list[str], list[str]]:
        rules, warnings = self.tag_rules, []
        if not rules.supported:
            return [], []
        normal = [t for t in (self.normalise_tag(tag) for tag in tags) if t]
        result = list(dict.fromkeys(normal))
        if len(result) < len(tags):
            skipped = [t for t in tags if not self.normalise_tag(t)]
            if skipped:
                warnings.append(f"tags left out (nothing usable on {self.name}): {skipped}")
        if rules.max_count is not None and len(result) > rules.max_count:
            warnings.append(f"{self.name} takes at most {rules.max_count} tags; extra tags dropped")
            result = result[: rules.max_count]
        if rules.max_joined is not None:
            while result and len(rules.separator.join(result)) >= rules.max_joined:
                dropped = result.pop()
                warnings.append(
                    f"tag {dropped!r} dropped: {self.name} tags must stay under "
                    f"{rules.max_joined} characters"
                )
        if len(result) < rules.min_count:
            warnings.append(
                f"{self.name} expects at least {rules.min_count} tags, got {len(result)}"
            )
        return result, warnings

    # -- ratings ---------------------------------------------------------------------------
    def map_rating(self, draft: Artwork, rules: Rules) -> tuple[Any, list[str]]:
        """The platform's value for the rating; an unmapped rating is an error, never general."""
        table = rules.rating_map if rules.rating_map is not None else self.rating_map
        if draft.rating not in table:
            raise MissingRatingMapping(self.id, draft.rating)
        flags = [self.flag_map[f] for f in draft.content_flags if f in self.flag_map]
        warnings = []
        lost = [f for f in draft.content_flags if f not in self.flag_map]
        if lost:
            warnings.append(f"content flags {lost} have no equivalent on {self.name}")
        return self.rating_fields(table[draft.rating], flags), warnings

    def rating_fields(self, value: Any, flags: list[Any]) -> Any:
        return value

    def reserve(self, rating: Any) -> int:
        """Units of the text limit used by something other than the text (Mastodon's CW)."""
        return 0

    # -- title and alt text ----------------------------------------------------------------
    def clean_title(self, title: str) -> tuple[str, list[str]]:
        return title, []

    def prepare_title(self, title: str, rules: Rules) -> tuple[str, list[str]]:
        title, warnings = self.clean_title(censor(title.strip(), rules.censor))
        if self.title_limit is not None and len(title) > self.title_limit:
            title = title[: self.title_limit - 1].rstrip() + "…"
            warnings.append(f"title shortened to {self.title_limit} characters")
        return title, warnings

    def prepare_alt_text(self, alt: str) -> tuple[str | None, list[str]]:
        if not alt:
            return ("" if self.supports_alt_text else None), []
        if not self.supports_alt_text:
            return None, [f"{self.name} has no alt text; the image will go without it"]
        if self.alt_text_limit is not None and len(alt) > self.alt_text_limit:
            return alt[: self.alt_text_limit - 1] + "…", [
                f"alt text shortened to {self.alt_text_limit} characters"
            ]
        return alt, []

    # -- rendering -------------------------------------------------------------------------
    def render(
        self,
        draft: Artwork | Mapping[str, Any],
        people: Mapping[str, Person | Mapping[str, Any]],
        options: RuleOptions | Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The preview result for this platform (see DESIGN.md "Preview")."""
        from adapters.registry import get as lookup

        if not isinstance(draft, Artwork):
            draft = validate(Artwork, draft, "artwork")
        people = {
            key: p if isinstance(p, Person) else validate(Person, p, f"people.{key}")
            for key, p in people.items()
        }
        rules = self.rules(options)
        rating, warnings = self.map_rating(draft, rules)
        tags, tag_warnings = self.prepare_tags(draft.tags)
        warnings += tag_warnings
        censored = {  # one line per name: a newline typed in a name must not split a credit
            k: p.model_copy(update={"name": censor(" ".join(p.name.split()), rules.censor)})
            for k, p in people.items()
        }
        resolver = Resolver(self, censored, rules, lookup)
        body = resolve_document(
            parse(draft.description),
            lambda key: resolver(key, "artwork.description"),
            rules.censor,
        )
        lines = [
            resolve_inlines(line, resolver, rules.censor)
            for line in credit_lines(draft.credits, resolver, rules.credit_labels)
        ]
        title, title_warnings = self.prepare_title(draft.title, rules)
        warnings += title_warnings
        title_block = None
        if self.title_in_text and title:
            title_block = Block((Styled("bold", (Text(title),)),), "title")
        parts = Parts(
            body=body,
            credits=credits_block(lines),
            hashtags=tuple(tags) if self.tag_rules.inline_hashtags else (),
            canonical_url=draft.canonical_url,
            title=title_block,
        )
        fitted = fit(self, parts, rules, reserve=self.reserve(rating))
        if isinstance(fitted, NoFit):
            logger.info("%s: %s", self.id, fitted.error)
            return {"ok": False, "error": fitted.error}
        alt_text, alt_warnings = self.prepare_alt_text(draft.alt_text)
        context = RenderContext(
            draft=draft,
            rules=rules,
            fitted=fitted,
            tags=tags,
            rating=rating,
            title=title if self.has_title else None,
            alt_text=alt_text,
            warnings=warnings + fitted.warnings + alt_warnings,
        )
        return self.result(context)

    def result(self, ctx: RenderContext) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": True}
        if self.has_title:
            out["title"] = ctx.title
        out[self.text_field] = self.text_of(ctx.fitted.main)
        if self.supports_threads:
            out["replies"] = [self.reply_of(r) for r in ctx.fitted.replies]
        out["length"] = ctx.fitted.length
        out["limit"] = self.text_limit
        out.update(self.fields(ctx))
        if ctx.alt_text is not None:
            out["alt_text"] = ctx.alt_text
        out["warnings"] = ctx.warnings
        return out

    def text_of(self, rendered: Rendered) -> Any:
        return rendered.text

    def reply_of(self, rendered: Rendered) -> Any:
        return rendered.text

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        """Platform-specific output fields (tags, rating...); documented per platform."""
        return {"tags": ctx.tags, "rating": ctx.rating}

    # -- publishing ------------------------------------------------------------------------
    # Adapters that can post override ``_publish`` (and, where the platform allows, ``edit``,
    # ``delete``, ``lookup``, ``fetch``, ``parse_url``, ``check_auth``). Every failure must be
    # raised as one of the ``adapters.errors.PlatformError`` classes.

    def for_account(self, credentials: Mapping[str, str]) -> Adapter:
        """This platform as the account's own server configures it (a Mastodon instance's
        limits); the class data where a platform has one configuration for everyone.

        Must not raise: when the server cannot be asked, the defaults apply.
        """
        return self

    def new_idempotency_key(self) -> str:
        """The delivery's key, made once when the delivery is created (Bluesky: a TID)."""
        return uuid.uuid4().hex

    @property
    def can_publish(self) -> bool:
        return type(self)._publish is not Adapter._publish

    def publish(self, job: PublishJob, checkpoint: Checkpoint) -> Published:
        """Post ``job``, saving each intermediate id through ``checkpoint`` before moving on.

        ``job.progress`` holds what earlier attempts saved; ``_publish`` must skip the steps
        that are already done (two-phase resume).
        """
        if not job.post.get("ok"):
            raise ContentRejected(str(job.post.get("error") or "the post does not render"))
        if len(job.images) > (self.images.max_count or len(job.images)):
            raise ContentRejected(
                f"{self.name} takes at most {self.images.max_count} images per post"
            )
        progress = dict(job.progress)

        def save(ids: Mapping[str, Any]) -> None:
            progress.update(ids)
            checkpoint(ids)

        return self._publish(job, progress, save)

    def _publish(self, job: PublishJob, progress: dict[str, Any], save: Checkpoint) -> Published:
        raise Unsupported(f"posting to {self.name} is not available yet")

    def lookup(self, job: PublishJob) -> Lookup:
        """Is this job's post already on the account? Asked before retrying an ambiguous
        failure on platforms without idempotent create."""
        return Lookup(Presence.UNKNOWN)

    def edit(self, remote_id: str, job: PublishJob) -> Published:
        raise Unsupported(f"{self.name} posts cannot be edited")

    # ``update_credentials``: where to store a session these calls create or refresh.

    def delete(
        self,
        remote_id: str,
        credentials: Mapping[str, str],
        *,
        update_credentials: CredentialsUpdate | None = None,
    ) -> None:
        raise Unsupported(f"{self.name} posts cannot be deleted by Creditline")

    def check_auth(
        self, credentials: Mapping[str, str], *, update_credentials: CredentialsUpdate | None = None
    ) -> str:
        """Verify credentials; returns the account's public name or raises ``AuthError``."""
        raise Unsupported(f"checking {self.name} credentials is not available yet")

    def fetch(
        self,
        credentials: Mapping[str, str],
        limit: int = 100,
        *,
        update_credentials: CredentialsUpdate | None = None,
        since: dt.datetime | None = None,
    ) -> list[Published]:
        """The account's own recent posts, newest first (for import and reconciliation);
        an adapter may stop reading at the first post older than ``since``."""
        raise Unsupported(f"importing from {self.name} is not available yet")

    @property
    def can_import(self) -> bool:
        """Whether this platform's posts can be read back (``fetch`` is implemented)."""
        return type(self).fetch is not Adapter.fetch

    def parse_url(self, url: str) -> str | None:
        """The remote id of a post URL on this platform, or ``None`` if it is not one."""
        return None
