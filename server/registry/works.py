"""The public attribution record of a work: one document for the JSON API, the HTML page
(microformats2) and its schema.org JSON-LD."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters import registry as platforms
from server.models import Artwork, Person, RegistryConflict
from server.registry.conflicts import for_artwork, kept_after_dispute, kept_under_appeal

PUBLIC_ID = re.compile(r"[A-Za-z0-9]{1,16}")
ARTIST_ROLES = ("artist", "co_artist", "colorist")


def find_public(session: Session, public_id: str) -> Artwork | None:
    """A published work by its public id; unpublished and unknown ids are both ``None``."""
    if not PUBLIC_ID.fullmatch(public_id or ""):
        return None
    return session.scalar(
        select(Artwork).where(Artwork.public_id == public_id, Artwork.published_at.is_not(None))
    )


def is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def profiles(person: Person) -> list[dict[str, str]]:
    """Every profile of a person, primary platform first, as (platform, handle, url)."""
    found = []
    for account in sorted(
        person.accounts, key=lambda a: (a.platform != person.primary_platform, a.platform)
    ):
        try:
            url = platforms.get(account.platform).profile_url(account.handle)
        except Exception:  # an unknown platform or a handle its adapter no longer accepts
            url = ""
        found.append({"platform": account.platform, "handle": account.handle, "url": url})
    return found


def canonical_url(public_url: str, artwork: Artwork) -> str:
    return f"{public_url.rstrip('/')}/a/{artwork.public_id}"


def document(session: Session, artwork: Artwork, public_url: str) -> dict[str, Any]:
    base = public_url.rstrip("/")
    history = for_artwork(session, artwork.id)  # one query: the open ones and the decided
    # Most pressing first: an open conflict, then an appeal waiting for an operator, then a
    # decided dispute that left this work the attribution.
    appealed: RegistryConflict | None = None
    disputed: RegistryConflict | None = None
    if any(c.state == "open" for c in history):
        review = "under_review"
    elif appealed := kept_under_appeal(history, artwork.id):
        review, disputed = "appealed", appealed
    elif disputed := kept_after_dispute(history, artwork.id):
        review = "disputed"
    else:
        review = "none"
    return {
        "public_id": artwork.public_id,
        "url": canonical_url(public_url, artwork),
        "title": artwork.title,
        "rating": artwork.rating,
        "published_at": artwork.published_at,
        "images": [
            {
                "position": i.position,
                "url": f"{base}/a/{artwork.public_id}/images/{i.position}",
                "media_type": i.media_type,
                "width": i.width,
                "height": i.height,
                "alt_text": i.alt_text,
                "sha256": i.sha256,
            }
            for i in artwork.images
        ],
        "credits": [
            {
                "role": c.role,
                "character": c.character,
                "person": {"name": c.person.name, "profiles": profiles(c.person)},
            }
            for c in artwork.credits
        ],
        "copies": [
            {"url": c.url, "platform": c.platform, "source": c.source}
            for c in artwork.copies
            if c.source != "replaced"  # deleted by a repost; its URL still resolves to the work
            if is_web_url(c.url)
        ],
        "review": review,
        "review_decided_at": disputed.resolved_at if disputed else None,
    }


def json_ld(doc: dict[str, Any]) -> dict[str, Any]:
    def person(credit: dict[str, Any]) -> dict[str, Any]:
        p = credit["person"]
        out: dict[str, Any] = {"@type": "Person", "name": p["name"]}
        urls = [x["url"] for x in p["profiles"] if x["url"]]
        if urls:
            out["url"] = urls[0]
            out["sameAs"] = urls
        return out

    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "VisualArtwork",
        "@id": doc["url"],
        "url": doc["url"],
        "name": doc["title"],
        "image": [i["url"] for i in doc["images"]],
        "creator": [person(c) for c in doc["credits"] if c["role"] in ARTIST_ROLES],
        "contributor": [
            {
                "@type": "PerformanceRole" if c["character"] else "Role",
                "roleName": c["role"],
                **({"characterName": c["character"]} if c["character"] else {}),
                "contributor": person(c),
            }
            for c in doc["credits"]
        ],
        "sameAs": [c["url"] for c in doc["copies"]],
    }
    if doc["published_at"] is not None:
        data["datePublished"] = doc["published_at"].isoformat()
    return data


_SCRIPT_UNSAFE = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_json(data: Any) -> str:
    """JSON that is safe inside ``<script>``: no ``<``, ``>`` or ``&`` survives unescaped, so
    ``</script>`` or ``<!--`` in a title cannot end or alter the element."""
    text = json.dumps(data, ensure_ascii=False, default=str)
    return re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_UNSAFE[m.group(0)], text)
