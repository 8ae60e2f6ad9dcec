"""Credits embedded in uploaded files (adapters/metadata.py, wired in adapters/images.py).

Everything is read back with readers independent of the writer: Pillow for the XMP packet, the
IPTC datasets, EXIF, the ICC profile and the decoded pixels; ``xml.etree`` for the RDF; and a
few lines below that walk the JPEG segments, PNG chunks and WebP RIFF chunks, so "the pixels are
untouched" means the compressed image data is the same bytes, not merely similar pixels.
"""

from __future__ import annotations

import dataclasses
import io
import random
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from adapter_cases import ARTWORK, PEOPLE
from PIL import Image, ImageCms, IptcImagePlugin, PngImagePlugin

from adapters import registry
from adapters.base import ImageLimits
from adapters.bluesky import Bluesky
from adapters.discord import Discord
from adapters.e621 import E621
from adapters.images import fit_image, fit_media
from adapters.metadata import (
    PROGRESS_KEY,
    FileCredits,
    MetadataError,
    embed,
    file_credits,
    kept_credits,
    request_credits,
    strip_location,
    xmp_packet,
)
from adapters.metadata_segments import SegmentError, drop_exif
from adapters.publishing import Media, PublishJob
from server import db
from server.delivery import queue, runner
from server.models import Artwork, utcnow
from tests.peers.discord_server import DiscordServer
from tests.peers.e621_server import E621Server
from tests.server.helpers import artwork_form

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PREFIXES = {
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/exif/1.0/": "exif",
}
CREDITS = FileCredits(
    creators=("Tanraak",),
    credit_line="Art: Tanraak · Commissioned by Hyena Dude · Character: Trisk (Hyena Dude)",
    copyright="© 2026 Tanraak",
    url="https://art.example/a/7Hk2",
    title="Trisk at dusk",
)
OLD_XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="' + RDF + '">'
    '<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/" exif:GPSLatitude="52,30.0N" '
    'xmp:CreatorTool="C:\\Users\\tan\\secret-project.kra"/></rdf:RDF></x:xmpmeta>'
)


# -- independent readers ----------------------------------------------------------------------
def qname(tag: str) -> str:
    uri, _, local = tag[1:].partition("}")
    return f"{PREFIXES.get(uri, uri)}:{local}"


def xmp_of(data: bytes) -> dict[str, Any] | None:
    """The file's XMP properties as Pillow finds the packet, parsed by xml.etree; attribute
    and element forms of RDF both read; arrays as lists, structs as dicts."""
    with Image.open(io.BytesIO(data)) as img:
        packet = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    if not packet:
        return None
    root = ET.fromstring(packet.encode() if isinstance(packet, str) else packet)
    return _props(root.iter(f"{{{RDF}}}Description"))


def _props(descriptions: Iterator[ET.Element]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for desc in descriptions:
        for name, value in desc.attrib.items():
            if not name.startswith(f"{{{RDF}}}"):
                out[qname(name)] = value
        for child in desc:
            out[qname(child.tag)] = _value(child)
    return out


def _value(element: ET.Element) -> Any:
    container = next(iter(element), None)
    if container is not None and container.tag in {f"{{{RDF}}}{k}" for k in ("Seq", "Bag", "Alt")}:
        return [li.text or "" for li in container]
    if element.get(f"{{{RDF}}}parseType") == "Resource" or len(element) or element.attrib:
        return _props(iter([element]))
    return element.text or ""


def iptc_of(data: bytes) -> dict[tuple[int, int], Any]:
    with Image.open(io.BytesIO(data)) as img:
        return IptcImagePlugin.getiptcinfo(img) or {}


def pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as img:
        return img.mode, img.size, img.tobytes()


def jpeg_parts(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """(marker, payload) of each segment before the first scan, and everything from the first
    SOS on (scan headers, tables between progressive scans, entropy-coded data, EOI)."""
    assert data[:2] == b"\xff\xd8"
    i, segments = 2, []
    while True:
        assert data[i] == 0xFF, f"not a marker at {i}"
        marker = data[i + 1]
        if marker == 0xDA:
            return segments, data[i:]
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        segments.append((marker, data[i + 4 : i + 2 + length]))
        i += 2 + length


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    i, chunks = 8, []
    while i < len(data):
        length = int.from_bytes(data[i : i + 4], "big")
        chunks.append((data[i + 4 : i + 8], data[i + 8 : i + 8 + length]))
        i += 12 + length
    return chunks


def webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    i, chunks = 12, []
    while i < len(data):
        size = int.from_bytes(data[i + 4 : i + 8], "little")
        chunks.append((data[i : i + 4], data[i + 8 : i + 8 + size]))
        i += 8 + size + (size & 1)
    return chunks


def image_data(data: bytes, media_type: str) -> Any:
    """The compressed image data and the tables needed to decode it, as bytes."""
    if media_type == "image/jpeg":
        segments, scans = jpeg_parts(data)
        tables = [(m, p) for m, p in segments if not (0xE0 <= m <= 0xEF or m == 0xFE)]
        assert tables, "a JPEG has quantisation and frame segments"
        return tables, scans
    if media_type == "image/png":
        keep = {b"IHDR", b"PLTE", b"tRNS", b"IDAT"}
        return [(t, p) for t, p in png_chunks(data) if t in keep]
    pixel_chunks = [(t, p) for t, p in webp_chunks(data) if t in (b"VP8 ", b"VP8L", b"ALPH")]
    assert pixel_chunks
    return pixel_chunks


# -- test images ------------------------------------------------------------------------------
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def noisy(size: tuple[int, int] = (96, 64), mode: str = "RGB", seed: int = 7) -> Image.Image:
    rng = random.Random(seed)
    img = Image.new(mode, size)
    bands = len(mode)
    img.putdata([tuple(rng.randrange(256) for _ in range(bands)) for _ in range(size[0] * size[1])])
    return img


def gps_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make: kept
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 30.0, 0.0)
    return exif.tobytes()


def encoded(fmt: str, img: Image.Image | None = None, **extra: Any) -> bytes:
    img = img or noisy()
    buffer = io.BytesIO()
    options: dict[str, Any] = {"exif": gps_exif(), "icc_profile": SRGB}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", OLD_XMP)
        options["pnginfo"] = info
    else:
        options["xmp"] = OLD_XMP.encode()
    if fmt == "JPEG":
        options["quality"] = 90
    img.save(buffer, fmt, **{**options, **extra})
    return buffer.getvalue()


FORMATS = [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]


# -- what goes into the file ------------------------------------------------------------------
def test_the_credits_of_the_design_example():
    request = {"artwork": ARTWORK, "people": PEOPLE}
    credits = request_credits(request, 2026)
    assert credits.creators == ("Tanraak",)
    assert credits.credit_line == (
        "Art: Tanraak · Commissioned by Hyena Dude · Character: Trisk (Hyena Dude)"
    )
    assert credits.copyright == "© 2026 Tanraak"
    assert credits.url == ARTWORK["canonical_url"]
    assert credits.title == ARTWORK["title"]


def test_every_role_in_the_credit_line_in_the_credits_block_order():
    from adapters.draft import Artwork, Person

    draft = Artwork(
        rating="general",
        credits=[
            {"role": "other", "person": "e"},
            {"role": "character_owner", "person": "c", "character": "Rook"},
            {"role": "character_owner", "person": "c", "character": "Trisk"},
            {"role": "character_owner", "person": "d"},
            {"role": "colorist", "person": "b"},
            {"role": "co_artist", "person": "b"},
            {"role": "artist", "person": "a"},
            {"role": "gift_for", "person": "d"},
        ],
    )
    people = {k: Person(name=f"Name {k.upper()}") for k in "abcde"}
    credits = file_credits(draft, people, 2025)
    assert credits.credit_line == (
        "Art: Name A · Co-artist: Name B · Colors: Name B · Gift for Name D · "
        "Characters: Rook, Trisk (Name C) · Characters of Name D · Thanks to Name E"
    )
    assert credits.creators == ("Name A", "Name B")  # artist, co-artist and colourist, once
    assert credits.copyright == "© 2025 Name A, Name B"
    assert credits.url == ""


@pytest.mark.parametrize("fmt, media_type", FORMATS)
def test_embedding_writes_xmp_and_keeps_the_image_data_byte_for_byte(fmt, media_type):
    original = encoded(fmt)
    out = embed(original, media_type, CREDITS)

    assert out != original
    assert image_data(out, media_type) == image_data(original, media_type)
    assert pixels(out) == pixels(original)
    xmp = xmp_of(out)
    assert xmp is not None
    assert xmp["dc:creator"] == ["Tanraak"]
    assert xmp["photoshop:Credit"] == CREDITS.credit_line
    assert xmp["dc:rights"] == ["© 2026 Tanraak"]
    assert xmp["dc:title"] == ["Trisk at dusk"]
    assert xmp["xmpRights:WebStatement"] == "https://art.example/a/7Hk2"
    assert xmp["xmpRights:Marked"] == "True"
    assert xmp["Iptc4xmpCore:CreatorContactInfo"] == {
        "Iptc4xmpCore:CiUrlWork": "https://art.example/a/7Hk2"
    }
    # the old packet (a location, a local file path) is gone, not merged
    assert not any(key.startswith(("exif:", "xmp:")) for key in xmp), xmp
    with Image.open(io.BytesIO(out)) as img:
        assert img.info.get("icc_profile") == SRGB  # colours stay as the artist saw them
        exif = img.getexif()
        assert exif.get(0x010F) == "Camera maker"
        assert 0x8825 not in exif and not exif.get_ifd(0x8825)  # no GPS block


def test_jpeg_also_gets_iptc_iim():
    out = embed(encoded("JPEG"), "image/jpeg", dataclasses.replace(CREDITS, creators=("A", "Bé")))
    iptc = iptc_of(out)
    assert iptc[(1, 90)] == b"\x1b%G"  # UTF-8
    assert iptc[(2, 80)] == [b"A", "Bé".encode()]
    assert iptc[(2, 110)].decode() == CREDITS.credit_line
    assert iptc[(2, 116)].decode() == "© 2026 Tanraak"
    assert iptc[(2, 5)] == b"Trisk at dusk"
    assert iptc[(2, 115)] == b"https://art.example/a/7Hk2"


def test_a_progressive_jpeg_keeps_every_scan():
    original = encoded("JPEG", progressive=True)
    out = embed(original, "image/jpeg", CREDITS)
    assert image_data(out, "image/jpeg") == image_data(original, "image/jpeg")
    assert pixels(out) == pixels(original)


def test_a_transparent_png_and_a_lossless_webp_keep_their_data():
    for fmt, media_type, extra in (
        ("PNG", "image/png", {}),
        ("WEBP", "image/webp", {"lossless": True}),
    ):
        original = encoded(fmt, noisy(mode="RGBA"), **extra)
        out = embed(original, media_type, CREDITS)
        assert image_data(out, media_type) == image_data(original, media_type)
        assert pixels(out) == pixels(original)
        assert xmp_of(out)["dc:creator"] == ["Tanraak"]


NASTY = [
    "Tän</rdf:li><x:evil/>",
    '"><rdf:Description xmlns:e="urn:e" e:owned="1"/>',
    "]]> & <!-- -->",
    'lang="de" C\'mon',
    "Bell\x07 \x00and\tnew\nline\u2028",
]


@pytest.mark.parametrize("fmt, media_type", FORMATS)
def test_markup_in_a_name_stays_text_and_control_characters_are_dropped(fmt, media_type):
    credits = FileCredits(
        creators=tuple(NASTY),
        credit_line="Art: " + NASTY[0],
        copyright="© 2026 " + NASTY[1],
        url="https://art.example/a/1?x=1&y=<2>",
        title=NASTY[3],
    )
    packet = xmp_packet(credits)
    ET.fromstring(packet)  # well-formed on its own
    out = embed(encoded(fmt), media_type, credits)
    xmp = xmp_of(out)
    assert xmp["dc:creator"] == [
        "Tän</rdf:li><x:evil/>",
        '"><rdf:Description xmlns:e="urn:e" e:owned="1"/>',
        "]]> & <!-- -->",
        'lang="de" C\'mon',
        "Bell and new line",  # one line, as in the rendered post
    ]
    assert xmp["photoshop:Credit"] == "Art: " + NASTY[0]
    assert xmp["dc:rights"] == ["© 2026 " + NASTY[1]]
    assert xmp["dc:title"] == [NASTY[3]]  # not read as a language qualifier
    assert xmp["xmpRights:WebStatement"] == "https://art.example/a/1?x=1&y=<2>"
    assert not any("evil" in key or "owned" in key for key in xmp)


def test_the_same_input_gives_the_same_file():
    """A retry uploads the same bytes (Weasyl and e621 find a post again by its file hash)."""
    original = encoded("JPEG")
    assert embed(original, "image/jpeg", CREDITS) == embed(original, "image/jpeg", CREDITS)


def test_files_that_cannot_carry_credits_are_refused_with_a_reason():
    gif = io.BytesIO()
    noisy().convert("P").save(gif, "GIF")
    with pytest.raises(MetadataError, match="image/gif"):
        embed(gif.getvalue(), "image/gif", CREDITS)
    with pytest.raises(MetadataError, match="could not write"):
        embed(b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg", CREDITS)
    huge = dataclasses.replace(
        CREDITS, creators=tuple(f"Person {i} " + "x" * 190 for i in range(400))
    )
    with pytest.raises(MetadataError, match="too many"):
        embed(encoded("JPEG"), "image/jpeg", huge)


# -- removing the location (server/media.py calls this at upload) ------------------------------
def canon_with_bad_maker_note() -> bytes:
    """A readable GPS block beside a Canon maker note that claims 65,535 entries: Exiv2 only
    skips the maker note, but logs an error, which pyexiv2 raises."""
    exif = Image.Exif()
    exif.load(gps_exif())
    exif[0x010F] = "Canon"
    exif.get_ifd(0x8769)[0x927C] = b"\xff\xff" + bytes(64)
    return encoded("JPEG", exif=exif.tobytes())


def gps_of(data: bytes) -> dict[int, Any]:
    with Image.open(io.BytesIO(data)) as img:
        return dict(img.getexif().get_ifd(0x8825))


def test_the_location_goes_from_exif_and_xmp_and_the_rest_stays():
    original = encoded("JPEG")
    assert gps_of(original) and "exif:GPSLatitude" in xmp_of(original)
    stripped = strip_location(original, "image/jpeg")
    assert gps_of(stripped) == {}
    assert "exif:GPSLatitude" not in xmp_of(stripped)
    assert xmp_of(stripped)["xmp:CreatorTool"].endswith("secret-project.kra")  # not a place
    assert image_data(stripped, "image/jpeg") == image_data(original, "image/jpeg")


def test_a_maker_note_exiv2_cannot_parse_neither_blocks_the_strip_nor_the_credits():
    original = canon_with_bad_maker_note()
    stripped = strip_location(original, "image/jpeg")
    assert gps_of(stripped) == {}
    with Image.open(io.BytesIO(stripped)) as img:
        assert img.getexif()[0x010F] == "Canon"  # only the location went
    assert image_data(stripped, "image/jpeg") == image_data(original, "image/jpeg")
    with_credits = embed(original, "image/jpeg", CREDITS)  # before: "sent without credits"
    assert xmp_of(with_credits)["photoshop:Credit"] == CREDITS.credit_line
    assert gps_of(with_credits) == {}
    assert with_credits == embed(original, "image/jpeg", CREDITS)  # still deterministic


@pytest.mark.parametrize("fmt,media_type", FORMATS)
def test_the_last_resort_drops_the_whole_exif_segment_and_nothing_else(fmt, media_type):
    original = encoded(fmt)
    dropped = drop_exif(original, media_type)
    with Image.open(io.BytesIO(dropped)) as img:
        img.load()
        assert dict(img.getexif()) == {}
        assert img.info.get("icc_profile") == SRGB  # other metadata stays
    assert xmp_of(dropped) is None  # OLD_XMP names a place: the packet went too
    assert image_data(dropped, media_type) == image_data(original, media_type)
    assert pixels(dropped) == pixels(original)
    if media_type == "image/webp":
        chunks = dict(webp_chunks(dropped))
        assert b"EXIF" not in chunks and b"XMP " not in chunks
        assert chunks[b"VP8X"][0] & 0x0C == 0  # the EXIF and XMP flags are cleared
        assert int.from_bytes(dropped[4:8], "little") == len(dropped) - 8
    clean = encoded(fmt, exif=b"", **({"xmp": b""} if fmt != "PNG" else {"pnginfo": None}))
    assert drop_exif(clean, media_type) == clean  # nothing to drop: the same bytes


def test_a_file_whose_structure_is_broken_is_refused_not_guessed_at():
    jpeg = encoded("JPEG")
    cut = jpeg[: jpeg.index(b"\xff\xe1") + 40]  # inside the EXIF segment
    with pytest.raises(SegmentError, match="runs past the end"):
        drop_exif(cut, "image/jpeg")
    with pytest.raises(SegmentError, match="image/gif"):
        drop_exif(b"GIF89a", "image/gif")
    with pytest.raises(MetadataError, match="location"):
        strip_location(cut, "image/jpeg")


# -- credits fixed once per delivery (the runner keeps them in its progress) -------------------
def test_file_credits_survive_a_round_trip_through_json():
    assert FileCredits.from_json(CREDITS.to_json()) == CREDITS
    assert kept_credits({PROGRESS_KEY: CREDITS.to_json()}) == CREDITS
    assert kept_credits({}) is None


@pytest.mark.parametrize(
    "bad",
    [None, "Tanraak", {"creators": "Tanraak"}, {"creators": [1]}, {"credit_line": 5}],
)
def test_unreadable_kept_credits_are_ignored_with_a_warning(bad, caplog):
    with pytest.raises(ValueError, match="file credits"):
        FileCredits.from_json(bad)
    assert kept_credits({PROGRESS_KEY: bad}) is None
    assert "unreadable file credits" in caplog.text


# -- the fitter: where and when the credits go in ----------------------------------------------
KEEPS = ImageLimits(
    max_count=4,
    formats=("image/jpeg", "image/png", "image/webp", "image/gif"),
    keeps_metadata=True,
)


def media(data: bytes, media_type: str, credits: FileCredits | None = CREDITS) -> Media:
    with Image.open(io.BytesIO(data)) as img:
        width, height = img.size
    ext = media_type.split("/")[1]
    return Media(data, media_type, f"art.{ext}", width, height, credits=credits)


def test_nothing_is_added_where_the_platform_does_not_keep_metadata():
    original = encoded("PNG")
    limits = dataclasses.replace(KEEPS, keeps_metadata=False)
    assert fit_image(media(original, "image/png"), limits, "Site").data is original
    assert fit_image(media(original, "image/png", None), KEEPS, "Site").data is original


@pytest.mark.parametrize("fmt, media_type", FORMATS)
def test_an_original_that_fits_is_sent_with_the_credits_and_its_own_image_data(fmt, media_type):
    original = encoded(fmt)
    fitted = fit_image(media(original, media_type), KEEPS, "Site")
    assert fitted.media_type == media_type
    assert image_data(fitted.data, media_type) == image_data(original, media_type)
    assert xmp_of(fitted.data)["photoshop:Credit"] == CREDITS.credit_line
    sent = fit_media(media(original, media_type), KEEPS, "Site")
    assert sent.data == fitted.data and sent.media_type == media_type


def test_an_original_that_fits_only_without_credits_is_sent_untouched(caplog):
    original = encoded("PNG")
    limits = dataclasses.replace(KEEPS, max_bytes=len(original) + 100)
    with caplog.at_level("WARNING", logger="adapters.images"):
        fitted = fit_image(media(original, "image/png"), limits, "Site")
    assert fitted.data is original  # never re-encoded for the sake of metadata
    assert "only without embedded credits" in caplog.text


@pytest.mark.parametrize("fraction", [0.3, 0.45, 0.6, 0.8])
def test_the_byte_limit_holds_for_the_file_with_its_credits(fraction):
    original = encoded("PNG", noisy((240, 160)))  # noise: PNG is large, JPEG must be used
    limit = int(len(original) * fraction)
    limits = dataclasses.replace(KEEPS, max_bytes=limit)
    fitted = fit_image(media(original, "image/png"), limits, "Site")
    assert fitted.media_type == "image/jpeg"  # re-encoded to fit...
    assert len(fitted.data) <= limit  # ...and still within the limit with the credits in it
    assert xmp_of(fitted.data)["dc:creator"] == ["Tanraak"]
    assert iptc_of(fitted.data)[(2, 110)].decode() == CREDITS.credit_line


def test_a_gif_goes_out_as_it_is(caplog):
    gif = io.BytesIO()
    noisy().convert("P").save(gif, "GIF")
    with caplog.at_level("WARNING", logger="adapters.images"):
        fitted = fit_image(media(gif.getvalue(), "image/gif"), KEEPS, "Site")
    assert fitted.data == gif.getvalue()
    assert "without embedded credits" in caplog.text


def test_platforms_declare_whether_they_keep_metadata():
    keepers = {a.id for a in map(registry.get, registry.platform_ids()) if a.images.keeps_metadata}
    assert keepers == {"bluesky", "e621", "weasyl"}


# -- through a platform's publish path (loopback servers, real HTTP) ---------------------------
def test_e621_receives_the_credits_in_the_file_and_the_same_image_data():
    original = encoded("PNG")
    adapter = E621()
    post = adapter.render(ARTWORK, PEOPLE)
    with E621Server(keys={"Tanraak": "key"}) as server:
        creds = {"login": "Tanraak", "api_key": "key", "site": server.base_url}
        job = PublishJob("k1", post, (media(original, "image/png"),), creds, {})
        adapter.publish(job, lambda ids: None)
        [upload] = server.requests_to("POST", "/uploads.json")
    received = upload.files["upload[file]"]["data"]
    assert image_data(received, "image/png") == image_data(original, "image/png")
    assert pixels(received) == pixels(original)
    xmp = xmp_of(received)
    assert xmp["dc:creator"] == ["Tanraak"]
    assert xmp["xmpRights:WebStatement"] == ARTWORK["canonical_url"]


def test_the_bluesky_pds_keeps_the_credits_in_the_blob(bluesky_pds):
    """Why Bluesky keeps_metadata: the real PDS serves the blob back byte for byte."""
    account = bluesky_pds.create_account("meta")
    original = encoded("JPEG")
    post = {"ok": True, "text": "Trisk at dusk", "facets": [], "labels": [], "replies": []}
    saved: dict[str, Any] = {}
    job = PublishJob(
        Bluesky().new_idempotency_key(),
        post,
        (media(original, "image/jpeg"),),
        dict(account.credentials),
        {},
    )
    Bluesky().publish(job, saved.update)
    [image] = saved["images"]
    blob = bluesky_pds.get_blob(account.did, image["image"]["ref"]["$link"])
    assert image_data(blob, "image/jpeg") == image_data(original, "image/jpeg")
    assert xmp_of(blob)["photoshop:Credit"] == CREDITS.credit_line
    assert iptc_of(blob)[(2, 116)].decode() == CREDITS.copyright


def test_discord_receives_the_file_exactly_as_stored():
    original = encoded("PNG")
    Discord._exhausted.clear()
    adapter = Discord()
    post = adapter.render(ARTWORK, PEOPLE)
    with DiscordServer() as server:
        job = PublishJob(
            "k1", post, (media(original, "image/png"),), {"webhook_url": server.webhook_url}, {}
        )
        adapter.publish(job, lambda ids: None)
        [execute] = [r for r in server.requests if r.method == "POST"]
    [received] = [f["data"] for f in execute.files.values()]
    assert received == original


# -- the delivery engine fills in the credits from the artwork (both databases) ----------------
E621_TAGS = ["hyena", "digital art", "scarf", "sunset", "dusk", "solo", "standing", "outside"]


def test_a_delivery_embeds_the_artworks_credits_where_the_platform_keeps_them(app, artist):
    original = encoded("JPEG")
    for person in (
        {"key": "tanraak", "name": "Tanraak", "accounts": {"e621": "tanraak"}},
        {"key": "hyena", "name": "Hyena <b>Dude</b> & co"},
    ):
        assert artist.post("/api/v1/people", json=person).status_code == 201
    piece = {
        "title": "Trisk at dusk",
        "description": "Trisk on the ridge. {credits}",
        "rating": "mature",
        "tags": [*E621_TAGS, "red scarf", "orange sky"],
        "credits": [
            {"role": "artist", "person": "tanraak"},
            {"role": "commissioner", "person": "hyena"},
            {"role": "character_owner", "person": "hyena", "character": "Trisk"},
        ],
    }
    form = artwork_form(piece, original)
    form["images"] = [(io.BytesIO(original), "trisk.jpg")]
    artwork = artist.post("/api/v1/artworks", data=form)
    assert artwork.status_code == 201, artwork.json
    Discord._exhausted.clear()
    with E621Server(keys={"Tanraak": "key"}) as e621, DiscordServer() as discord:
        e621.artists.add("tanraak")
        accounts = [
            artist.post(
                "/api/v1/accounts",
                json={"platform": platform, "name": name, "credentials": credentials},
            ).json["id"]
            for platform, name, credentials in (
                ("e621", "Tanraak", {"login": "Tanraak", "api_key": "key", "site": e621.base_url}),
                ("discord", "#art", {"webhook_url": discord.webhook_url}),
            )
        ]
        queued = artist.post(
            f"/api/v1/artworks/{artwork.json['id']}/deliveries", json={"accounts": accounts}
        )
        assert queued.status_code == 201, queued.json
        with db.session_scope(app) as session:
            ids = queue.claim(session, "metadata-test", utcnow(), 10, 60)
            public_id = session.get(Artwork, artwork.json["id"]).public_id
            year = session.get(Artwork, artwork.json["id"]).created_at.year
        assert [runner.run(app, i, "metadata-test") for i in ids] == ["posted", "posted"]
        [upload] = e621.requests_to("POST", "/uploads.json")
        [execute] = [r for r in discord.requests if r.method == "POST"]

    stored = artist.get(f"/api/v1/artworks/{artwork.json['id']}/images/0").data
    received = upload.files["upload[file]"]["data"]
    assert image_data(received, "image/jpeg") == image_data(stored, "image/jpeg")
    assert pixels(received) == pixels(stored)
    xmp = xmp_of(received)
    assert xmp["dc:creator"] == ["Tanraak"]
    assert xmp["photoshop:Credit"] == (
        "Art: Tanraak · Commissioned by Hyena <b>Dude</b> & co · "
        "Character: Trisk (Hyena <b>Dude</b> & co)"
    )
    assert xmp["dc:rights"] == [f"© {year} Tanraak"]
    canonical = f"{app.config['PUBLIC_URL'].rstrip('/')}/a/{public_id}"
    assert xmp["xmpRights:WebStatement"] == canonical
    assert iptc_of(received)[(2, 80)] == b"Tanraak"  # one By-line: Pillow gives it bare
    with Image.open(io.BytesIO(stored)) as kept, Image.open(io.BytesIO(received)) as sent:
        # the upload lost its GPS block when it was stored (server/media.py), the rest stays
        assert not kept.getexif().get_ifd(0x8825) and not sent.getexif().get_ifd(0x8825)

    [discord_file] = [f["data"] for f in execute.files.values()]
    assert discord_file == stored  # Discord is not known to keep metadata: nothing added
