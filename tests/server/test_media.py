"""MediaStore: what is kept, what is refused, and that a refusal leaves nothing on disk."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pyexiv2
import pytest
from PIL import Image, PngImagePlugin

from adapters import metadata
from server.media import MediaError, MediaStore, StoredImage

ORIENTATION = 0x0112
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def store(root: Path) -> MediaStore:
    return MediaStore(root)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def two_tone(width: int = 64, height: int = 32) -> Image.Image:
    """Left half red, right half blue: enough to tell which way an image was turned."""
    image = Image.new("RGB", (width, height), (255, 0, 0))
    image.paste((0, 0, 255), (width // 2, 0, width, height))
    return image


def sample(fmt: str, size: tuple[int, int] = (40, 30)) -> bytes:
    image = two_tone(*size)
    return encode(image.convert("P") if fmt == "GIF" else image, fmt)


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_nothing_left(root: Path) -> None:
    leftovers = sorted(root.rglob("*")) if root.exists() else []
    assert leftovers == [], f"left behind: {leftovers}"


def refuse(store: MediaStore, data: bytes | io.BufferedIOBase, code: str) -> MediaError:
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    with pytest.raises(MediaError) as info:
        store.save(stream)
    assert info.value.code == code, info.value.message
    assert info.value.message and str(info.value) == info.value.message
    assert_nothing_left(store.root)
    return info.value


def png_with_size(width: int, height: int) -> bytes:
    """A tiny real PNG whose IHDR claims other dimensions (CRC fixed so it still parses)."""
    data = bytearray(encode(Image.new("L", (8, 8), 0), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


class CountingStream(io.RawIOBase):
    """An endless body that records how much was asked of it."""

    def __init__(self, prefix: bytes = b"") -> None:
        self.prefix = prefix
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        assert n is not None and n > 0, "save() must never read without a bound"
        start = self.consumed
        self.consumed += n
        head = self.prefix[start : start + n]
        return head + b"\0" * (n - len(head))


# --- accepted uploads ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_round_trips_byte_for_byte(store: MediaStore, root: Path, fmt: str) -> None:
    data = sample(fmt)
    stored = store.save(io.BytesIO(data))

    sha = hashlib.sha256(data).hexdigest()
    assert stored == StoredImage(sha, FORMATS[fmt], 40, 30, len(data))
    assert store.exists(sha)
    assert store.read(sha) == data
    assert store.path_for(sha) == root / sha[:2] / sha
    assert stored_files(root) == [root / sha[:2] / sha]


def test_animated_gif_is_kept_whole(store: MediaStore) -> None:
    frames = [Image.new("RGB", (20, 10), (i * 50, 0, 255 - i * 50)) for i in range(5)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)

    stored = store.save(io.BytesIO(data))

    assert store.read(stored.sha256) == data
    with Image.open(io.BytesIO(store.read(stored.sha256))) as reopened:
        assert reopened.n_frames == 5


def test_same_content_is_stored_once(store: MediaStore, root: Path) -> None:
    data = sample("PNG")
    first = store.save(io.BytesIO(data))
    second = store.save(io.BytesIO(data))

    assert first == second
    assert stored_files(root) == [store.path_for(first.sha256)]


def test_extension_and_status_helpers(store: MediaStore) -> None:
    assert store.save(io.BytesIO(sample("JPEG"))).extension == "jpg"
    assert store.save(io.BytesIO(sample("WEBP"))).extension == "webp"
    assert MediaError("too_large", "x").status == 413
    assert MediaError("unsupported_format", "x").status == 415
    assert MediaError("corrupt_image", "x").status == 422


def test_delete_is_idempotent(store: MediaStore) -> None:
    stored = store.save(io.BytesIO(sample("PNG")))
    store.delete(stored.sha256)
    assert not store.exists(stored.sha256)
    store.delete(stored.sha256)
    with pytest.raises(FileNotFoundError):
        store.read(stored.sha256)


def test_constructing_a_store_touches_no_disk(tmp_path: Path) -> None:
    MediaStore(tmp_path / "not-yet")
    assert not (tmp_path / "not-yet").exists()


# --- EXIF orientation ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_orientation_6_is_applied(store: MediaStore, fmt: str) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # "rotate 90° clockwise to display"
    exif[0x010F] = "Camera maker"  # other EXIF must survive
    options: dict[str, object] = {"exif": exif}
    if fmt == "WEBP":
        options["lossless"] = True
    data = encode(two_tone(64, 32), fmt, **options)

    stored = store.save(io.BytesIO(data))

    assert (stored.width, stored.height) == (32, 64)
    kept = store.read(stored.sha256)
    assert kept != data
    assert stored.sha256 == hashlib.sha256(kept).hexdigest()
    assert stored.size == len(kept)
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == fmt
        assert image.size == (32, 64)
        rgb = image.convert("RGB")
        # The left (red) half is now on top, the right (blue) half at the bottom.
        for (x, y), colour in (((16, 8), (255, 0, 0)), ((16, 56), (0, 0, 255))):
            pixel = rgb.getpixel((x, y))
            assert all(abs(a - b) <= 8 for a, b in zip(pixel, colour, strict=True)), pixel
        assert image.getexif().get(ORIENTATION, 1) == 1  # not rotated a second time later
        assert image.getexif().get(0x010F) == "Camera maker"


def test_orientation_1_keeps_the_original_bytes(store: MediaStore) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 1
    data = encode(two_tone(), "JPEG", exif=exif)
    stored = store.save(io.BytesIO(data))
    assert store.read(stored.sha256) == data
    assert (stored.width, stored.height) == (64, 32)


# --- location --------------------------------------------------------------------------------

GPS_IFD = 0x8825


def with_gps(exif: Image.Exif) -> Image.Exif:
    exif[0x010F] = "Camera maker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    return exif


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_the_gps_location_is_removed_without_touching_the_pixels(store: MediaStore, fmt) -> None:
    options: dict[str, object] = {"exif": with_gps(Image.Exif())}
    if fmt == "WEBP":
        options["lossless"] = True
    data = encode(two_tone(64, 32), fmt, **options)
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(GPS_IFD)  # the test file really has a location
        pixels = original.convert("RGBA").tobytes()

    stored = store.save(io.BytesIO(data))

    kept = store.read(stored.sha256)
    assert stored.sha256 == hashlib.sha256(kept).hexdigest() and stored.size == len(kept)
    with Image.open(io.BytesIO(kept)) as image:
        assert not image.getexif().get_ifd(GPS_IFD)
        assert image.getexif().get(0x010F) == "Camera maker"  # other EXIF stays
        assert image.convert("RGBA").tobytes() == pixels
    if fmt == "JPEG":  # the compressed data itself was copied, not re-encoded
        assert kept[kept.index(b"\xff\xda") :] == data[data.index(b"\xff\xda") :]


def test_a_rotated_photo_loses_its_location_too(store: MediaStore) -> None:
    exif = with_gps(Image.Exif())
    exif[ORIENTATION] = 6
    stored = store.save(io.BytesIO(encode(two_tone(64, 32), "JPEG", exif=exif)))
    assert (stored.width, stored.height) == (32, 64)
    with Image.open(io.BytesIO(store.read(stored.sha256))) as image:
        assert not image.getexif().get_ifd(GPS_IFD)
        assert image.getexif().get(ORIENTATION, 1) == 1


def canon_with_bad_maker_note(fmt: str = "JPEG") -> bytes:
    """A photo whose GPS block is readable but whose Canon maker note claims 65,535 entries:
    Exiv2 logs "Directory Canon with 65535 entries considered invalid", which pyexiv2 turns
    into an exception although only the maker note is skipped."""
    exif = with_gps(Image.Exif())
    exif[0x010F] = "Canon"
    exif.get_ifd(0x8769)[0x927C] = b"\xff\xff" + bytes(64)  # MakerNote: entry count 0xFFFF
    return encode(two_tone(64, 32), fmt, exif=exif)


def test_a_location_next_to_an_unreadable_maker_note_is_removed(store: MediaStore) -> None:
    data = canon_with_bad_maker_note()
    with pytest.raises(RuntimeError, match="65535 entries"), pyexiv2.ImageData(data) as image:
        image.read_exif()  # what made such uploads fail as "corrupt_image"

    stored = store.save(io.BytesIO(data))

    kept = store.read(stored.sha256)
    with Image.open(io.BytesIO(kept)) as image:
        assert not image.getexif().get_ifd(GPS_IFD)
        assert image.getexif().get(0x010F) == "Canon"  # the rest of the EXIF stays
    assert kept[kept.index(b"\xff\xda") :] == data[data.index(b"\xff\xda") :]


def exif_segment(data: bytes) -> bytes | None:
    """The JPEG's APP1 Exif segment body, found by walking the markers."""
    i = 2
    while data[i + 1] != 0xDA:
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if data[i + 1] == 0xE1 and data[i + 4 : i + 10] == b"Exif\x00\x00":
            return data[i + 4 : i + 2 + length]
        i += 2 + length
    return None


def test_damaged_exif_that_exiv2_refuses_goes_whole_and_the_upload_is_kept(
    store: MediaStore,
) -> None:
    """EXIF that is not even TIFF: Exiv2 refuses it, nobody can say what is in it, so the
    segment goes; the picture is kept, its compressed data untouched."""
    clean = encode(two_tone(64, 32), "JPEG")
    body = b"Exif\x00\x00XX*\x00" + bytes(20) + b"GPSLatitude 52.5N"
    data = clean[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + clean[2:]
    with Image.open(io.BytesIO(data)) as probe:  # Pillow opens it, so the upload gets here
        probe.load()
    with pytest.raises(RuntimeError), pyexiv2.ImageData(data) as image:
        image.read_exif()

    stripped = metadata.strip_location(data, "image/jpeg")
    assert exif_segment(data) is not None and exif_segment(stripped) is None
    assert stripped == clean  # nothing else changed
    stored = store.save(io.BytesIO(data))
    assert store.read(stored.sha256) == data  # Pillow finds no location: kept as uploaded


XMP_WITH_PLACE = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'exif:GPSLatitude="52,31.2N" exif:GPSLongitude="13,24.6E">'
    "<dc:format>image/jpeg</dc:format></rdf:Description></rdf:RDF></x:xmpmeta>"
)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_location_in_the_xmp_is_removed_too(store: MediaStore, fmt: str) -> None:
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP_WITH_PLACE)
        data = encode(two_tone(64, 32), fmt, pnginfo=info)
    else:
        data = encode(two_tone(64, 32), fmt, xmp=XMP_WITH_PLACE.encode())
    with Image.open(io.BytesIO(data)) as original:
        original.load()
        assert "GPSLatitude" in str(original.info)  # the test file really has one

    stored = store.save(io.BytesIO(data))

    with Image.open(io.BytesIO(store.read(stored.sha256))) as image:
        image.load()
        packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
        packet = packet if isinstance(packet, bytes) else packet.encode()
        assert b"GPSLatitude" not in packet and b"GPSLongitude" not in packet
        assert b"image/jpeg" in packet  # the rest of the XMP stays


# --- refused uploads leave nothing behind --------------------------------------------------


def test_empty_upload(store: MediaStore) -> None:
    refuse(store, b"", "empty")


def test_text_file_is_not_an_image(store: MediaStore) -> None:
    refuse(store, b"Commission sheet: 3 slots open!\n" * 10, "not_an_image")


def test_random_bytes_are_not_an_image(store: MediaStore) -> None:
    refuse(store, bytes(range(256)) * 4, "not_an_image")


@pytest.mark.parametrize(
    ("label", "data"),
    [
        ("SVG", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'),
        ("SVG", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'),
        ("BMP", encode(two_tone(), "BMP")),
        ("TIFF", encode(two_tone(), "TIFF")),
        ("ICO", encode(two_tone(16, 16), "ICO")),
    ],
)
def test_other_image_formats_are_unsupported(store: MediaStore, label: str, data: bytes) -> None:
    error = refuse(store, data, "unsupported_format")
    assert label in error.message
    assert "PNG, JPEG, GIF or WEBP" in error.message


def test_corrupt_bytes_after_a_valid_signature(store: MediaStore) -> None:
    refuse(store, b"\x89PNG\r\n\x1a\n" + b"\x13garbage" * 50, "corrupt_image")


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_image_is_corrupt(store: MediaStore, fmt: str) -> None:
    # Noise so the compressed data is long and a cut lands inside the pixel data.
    noise = Image.frombytes("RGB", (64, 64), bytes((i * 7919) % 251 for i in range(64 * 64 * 3)))
    data = encode(noise.convert("P") if fmt == "GIF" else noise, fmt)
    refuse(store, data[: len(data) * 2 // 3], "corrupt_image")


def test_damaged_pixel_data_is_corrupt(store: MediaStore) -> None:
    data = bytearray(sample("PNG", (64, 64)))
    idat = data.index(b"IDAT")
    data[idat + 8 : idat + 16] = b"\xff" * 8  # breaks the zlib stream (and the chunk CRC)
    refuse(store, bytes(data), "corrupt_image")


def test_over_cap_stops_reading(root: Path) -> None:
    store = MediaStore(root, max_bytes=10_000)
    stream = io.BytesIO(sample("PNG") + b"\0" * 1_000_000)

    refuse(store, stream, "too_large")

    assert stream.tell() <= 10_001  # read one byte past the cap, not to the end


def test_endless_stream_is_cut_off(root: Path) -> None:
    store = MediaStore(root, max_bytes=3 * 1024 * 1024 + 5)
    stream = CountingStream(prefix=b"\x89PNG\r\n\x1a\n")

    error = refuse(store, stream, "too_large")

    assert stream.consumed == 3 * 1024 * 1024 + 6
    assert "3 MiB" in error.message


def test_exactly_at_cap_is_accepted(root: Path) -> None:
    data = sample("PNG")
    assert MediaStore(root, max_bytes=len(data)).save(io.BytesIO(data)).size == len(data)


def test_decompression_bomb_header_is_refused(store: MediaStore) -> None:
    # 100 000 x 100 000 pixels declared by a file of under 100 bytes.
    refuse(store, png_with_size(100_000, 100_000), "too_many_pixels")


def test_own_pixel_limit_applies_before_decoding(root: Path) -> None:
    data = encode(Image.new("RGB", (2000, 2000), "white"), "PNG")
    assert len(data) < 20_000  # compresses tiny, expands to 12 MB
    refuse(MediaStore(root, max_pixels=1_000_000), data, "too_many_pixels")


def test_own_pixel_limit_even_when_pillow_would_allow(root: Path) -> None:
    # A header-only bomb under Pillow's global limit: our limit alone must catch it.
    refuse(MediaStore(root, max_pixels=1_000_000), png_with_size(5000, 5000), "too_many_pixels")


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_pillow_bomb_warning_becomes_media_error(root: Path) -> None:
    # 90 M pixels: above Pillow's warning threshold (~89.5 M), below our own generous limit.
    store = MediaStore(root, max_pixels=10**9)
    refuse(store, png_with_size(10_000, 9_000), "too_many_pixels")


def test_animation_frame_budget(root: Path) -> None:
    frames = [Image.new("RGB", (100, 100), (i * 25, 0, 0)) for i in range(10)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    with Image.open(io.BytesIO(data)) as check:
        assert check.n_frames == 10
    # 10 frames x 10 000 px = 100 000 px decoded > 4 x 20 000 budget.
    refuse(MediaStore(root, max_pixels=20_000), data, "too_many_pixels")
    assert MediaStore(root, max_pixels=30_000).save(io.BytesIO(data)).width == 100


def test_stream_failure_midway_leaves_nothing(store: MediaStore, root: Path) -> None:
    class Disconnecting(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            if getattr(self, "done", False):
                raise ConnectionResetError("client went away")
            self.done = True
            return b"\x89PNG\r\n\x1a\n" + b"\0" * 100

    with pytest.raises(ConnectionResetError):
        store.save(Disconnecting())
    assert_nothing_left(root)


def test_failed_upload_does_not_disturb_stored_images(store: MediaStore, root: Path) -> None:
    kept = store.save(io.BytesIO(sample("PNG")))
    refuse_root_files = stored_files(root)
    with pytest.raises(MediaError):
        store.save(io.BytesIO(b"not an image"))
    assert stored_files(root) == refuse_root_files == [store.path_for(kept.sha256)]


# --- addressing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "../../etc/passwd",
        "../" + "a" * 61,
        "/" + "a" * 63,
        "a" * 63,
        "a" * 65,
        "A" * 64,
        "a" * 64 + "\n",
        "g" * 64,
        "",
        "ab/" + "c" * 61,
        None,
    ],
)
def test_path_for_rejects_anything_but_a_digest(store: MediaStore, bad: object) -> None:
    for method in (store.path_for, store.read, store.exists, store.delete):
        with pytest.raises(ValueError):
            method(bad)  # type: ignore[arg-type]


def test_path_for_shards_by_prefix(store: MediaStore, root: Path) -> None:
    sha = "0123456789abcdef" * 4
    assert store.path_for(sha) == root / "01" / sha
