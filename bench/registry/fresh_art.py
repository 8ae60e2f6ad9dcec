"""Turn Debian packages into folders of pictures for ``run.py --holdout-dir`` (issue 8).

The registry benchmark's fresh holdouts need pictures nobody tuned on. Most game-data packages
ship plain picture files; some ship their art in other shapes, so this writes it out as files
(nothing here is used by the service):

- ``gcompris DIR``: GCompris (``gcompris-qt-data``) keeps its drawings, paintings and photos in
  Qt resource bundles (``/usr/share/gcompris-qt/rcc/*.rcc``); each bundle is unpacked (Qt's rcc
  format: a tree of names and zlib-compressed or stored blobs), SVG/SVGZ files are rendered
  with ``rsvg-convert`` (``librsvg2-bin``) to fit 768 × 768 on white, WebP files are copied;
- ``cards DIR``: the KDE card decks (``kdegames-card-data-kf5``) are one SVG per deck; each
  card (ranks, back, jokers) is rendered by its element id at about 560 px high and trimmed;
- ``wallpapers DIR``: links to the largest file of each Plasma wallpaper
  (``plasma-workspace-wallpapers``) and to the MATE and GNOME backgrounds (``mate-backgrounds``,
  ``gnome-backgrounds``; their SVGs rendered to fit 1600 px);
- ``packages DIR PKG…``: every picture file an installed package lists (``dpkg -L``): links to
  its PNG, JPEG and WebP files, its SVG/SVGZ files rendered to fit 1024 px (e.g.
  ``stellarium-data``'s constellation drawings and nebula photos).

Names are made unique across folders (``run.py`` de-duplicates by file name).

    apt-get install gcompris-qt-data kdegames-card-data-kf5 plasma-workspace-wallpapers \\
        mate-backgrounds gnome-backgrounds librsvg2-bin
    .venv/bin/python bench/registry/fresh_art.py gcompris /tmp/fresh/gcompris
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing as mp
import re
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

from PIL import Image, ImageChops

RCC = Path("/usr/share/gcompris-qt/rcc")
DECKS = Path("/usr/share/carddecks")
RANKS = [str(i) for i in range(1, 11)] + ["jack", "queen", "king"]
SUITS = ["club", "diamond", "heart", "spade"]
CARDS = [f"{r}_{s}" for r in RANKS for s in SUITS] + ["back", "red_joker", "black_joker"]
CARD_HEIGHT = 560
PICTURES = (".png", ".jpg", ".jpeg", ".webp")  # the files run.py --holdout-dir reads


def rcc_files(bundle: bytes) -> dict[str, bytes]:
    """Every file of a Qt resource bundle by its path (zstd-compressed entries are skipped)."""
    if bundle[:4] != b"qres":
        raise ValueError("not a Qt resource bundle")
    version, tree, data, names = struct.unpack(">IIII", bundle[4:20])
    node = 22 if version >= 2 else 14
    out: dict[str, bytes] = {}

    def name(offset: int) -> str:
        (length,) = struct.unpack(">H", bundle[names + offset : names + offset + 2])
        return bundle[names + offset + 6 : names + offset + 6 + 2 * length].decode("utf-16-be")

    def walk(index: int, prefix: str) -> None:
        at = tree + index * node
        name_offset, flags = struct.unpack(">IH", bundle[at : at + 6])
        path = f"{prefix}/{name(name_offset)}" if index else ""
        if flags & 2:  # a directory: its children are consecutive nodes
            count, first = struct.unpack(">II", bundle[at + 6 : at + 14])
            for child in range(first, first + count):
                walk(child, path)
            return
        (offset,) = struct.unpack(">I", bundle[at + 10 : at + 14])
        (size,) = struct.unpack(">I", bundle[data + offset : data + offset + 4])
        blob = bundle[data + offset + 4 : data + offset + 4 + size]
        if flags & 1:  # zlib, after a 4-byte uncompressed length
            out[path.lstrip("/")] = zlib.decompress(blob[4:])
        elif not flags & 4:
            out[path.lstrip("/")] = blob

    walk(0, "")
    return out


def render_svg(svg: bytes, target: Path, side: int) -> bool:
    with tempfile.NamedTemporaryFile(suffix=".svg") as src:
        src.write(svg)
        src.flush()
        args = ["rsvg-convert", "-a", "-w", str(side), "-h", str(side), "-b", "white"]
        done = subprocess.run([*args, src.name, "-o", str(target)], capture_output=True, timeout=60)
    return done.returncode == 0


def gcompris(out: Path) -> int:
    written = 0
    for bundle in sorted(RCC.glob("*.rcc")):
        for path, blob in rcc_files(bundle.read_bytes()).items():
            stem = f"{bundle.stem}__{path.replace('/', '__')}"
            if path.endswith(".svgz"):
                written += render_svg(gzip.decompress(blob), out / f"{stem}.png", 768)
            elif path.endswith(".svg"):
                written += render_svg(blob, out / f"{stem}.png", 768)
            elif path.endswith(".webp"):
                (out / stem).write_bytes(blob)
                written += 1
    return written


def render_element(svg: str, ident: str, zoom: float) -> Image.Image | None:
    """One element of an SVG, trimmed of the white page around it."""
    with tempfile.NamedTemporaryFile(suffix=".png") as png:
        args = ["rsvg-convert", "-i", ident, "-z", f"{zoom:.3f}", "-b", "white", svg]
        if subprocess.run([*args, "-o", png.name], capture_output=True, timeout=120).returncode:
            return None
        img = Image.open(png.name).convert("RGB")
        img.load()
    box = ImageChops.difference(img, Image.new("RGB", img.size, "white")).getbbox()
    return None if box is None else img.crop(box)


def render_card(job: tuple[str, str, str, float, str]) -> int:
    svg, deck, ident, zoom, out = job
    img = render_element(svg, ident, zoom)
    if img is None or min(img.size) < 100:
        return 0
    img.save(Path(out) / f"{deck}__{ident}.png")
    return 1


def cards(out: Path) -> int:
    with tempfile.TemporaryDirectory() as scratch:  # the decks, decompressed for rsvg-convert
        jobs = []
        for deck in sorted(DECKS.iterdir()):
            source = next(iter(sorted(deck.glob("*.svgz"))), None)
            if source is None:
                continue
            text = gzip.decompress(source.read_bytes())
            svg = Path(scratch) / f"{deck.name}.svg"
            svg.write_bytes(text)
            ids = set(re.findall(rb'id="([a-z0-9_]+)"', text))
            probe = render_element(str(svg), "king_heart", 1.0) if b"king_heart" in ids else None
            if probe is None:  # another naming scheme: left out
                continue
            zoom = CARD_HEIGHT / probe.height
            jobs += [(str(svg), deck.name, w, zoom, str(out)) for w in CARDS if w.encode() in ids]
        with mp.Pool(2) as pool:
            return sum(pool.map(render_card, jobs, chunksize=4))


def wallpapers(out: Path) -> int:
    written = 0
    for folder in sorted(Path("/usr/share/wallpapers").glob("*/contents/images")):
        largest = max(folder.iterdir(), key=lambda f: f.stat().st_size)
        (out / f"plasma__{folder.parent.parent.name}{largest.suffix}").symlink_to(largest)
        written += 1
    for f in sorted(Path("/usr/share/backgrounds").rglob("*")):  # MATE's and GNOME's
        if f.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
            (out / f"backgrounds__{f.name}").symlink_to(f)
            written += 1
        elif f.suffix.lower() == ".svg":
            written += render_svg(f.read_bytes(), out / f"svg__{f.stem}.png", 1600)
    return written


def render_file(job: tuple[str, str]) -> int:
    source, target = job
    text = Path(source).read_bytes()
    if source.endswith(".svgz"):
        text = gzip.decompress(text)
    return render_svg(text, Path(target), 1024)


def packages(out: Path, names: list[str]) -> int:
    written, jobs = 0, []
    for package in names:
        listed = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
        if listed.returncode:
            raise SystemExit(f"{package} is not installed: apt-get install {package}")
        for line in sorted(set(listed.stdout.splitlines())):
            source = Path(line)
            suffix = source.suffix.lower()
            if suffix not in (*PICTURES, ".svg", ".svgz") or not source.is_file():
                continue
            where = source.relative_to("/usr/share" if line.startswith("/usr/share/") else "/")
            stem = f"{package}__{'__'.join(where.parts)}"
            target = out / (stem if suffix in PICTURES else f"{stem}.png")
            if target.exists() or target.is_symlink():  # a rerun into the same folder
                written += 1
            elif suffix in PICTURES:
                target.symlink_to(source)
                written += 1
            else:
                jobs.append((str(source), str(target)))
    with mp.Pool(2) as pool:
        return written + sum(pool.map(render_file, jobs, chunksize=4))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("collection", choices=["gcompris", "cards", "wallpapers", "packages"])
    parser.add_argument("out", type=Path)
    parser.add_argument("package", nargs="*", help="with packages: the Debian packages to take")
    args = parser.parse_args()
    if (args.collection == "packages") != bool(args.package):
        parser.error("name Debian packages with (and only with) the packages collection")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.collection == "packages":
        n = packages(args.out, args.package)
    else:
        make = {"gcompris": gcompris, "cards": cards, "wallpapers": wallpapers}
        n = make[args.collection](args.out)
    print(f"{n} pictures in {args.out}")


if __name__ == "__main__":
    main()
