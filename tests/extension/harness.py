"""Loopback servers for the extension's end-to-end tests.

- ``SiteServer``: one HTTPS server (self-signed certificate; Chromium runs with
  ``--ignore-certificate-errors``) answering for x.com, bsky.app, furaffinity.net, tumblr.com
  and their image CDNs, which ``--host-resolver-rules`` maps to loopback. Pages are the saved
  fixtures in ``pages/``; images are made here.
- ``RegistryServer``: the project's own Flask app (``create_app``) in a werkzeug thread on
  127.0.0.1, with a log of every request the browser makes to it.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter
from werkzeug.serving import make_server

PAGES = Path(__file__).parent / "pages"

SITE_HOSTS = [
    "x.com",
    "pbs.twimg.com",
    "bsky.app",
    "cdn.bsky.app",
    "www.furaffinity.net",
    "d.furaffinity.net",
    "www.tumblr.com",
    "64.media.tumblr.com",
    "gallery.example",  # a site the extension knows nothing of ("all sites")
    "media.gallery.example",
]


# -- images ------------------------------------------------------------------------------------


def artwork(seed: int, size: tuple[int, int] = (1200, 900), hue_shift: int = 0) -> Image.Image:
    """A busy, colourful, deterministic picture (enough detail for a quality fingerprint)."""
    rnd = random.Random(seed)
    w, h = size
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    top = tuple(rnd.randrange(256) for _ in range(3))
    bottom = tuple(rnd.randrange(256) for _ in range(3))
    for y in range(h):
        t = y / max(1, h - 1)
        draw.line(
            [(0, y), (w, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(40):
        x0, y0 = rnd.randrange(w), rnd.randrange(h)
        x1, y1 = x0 + rnd.randrange(40, w // 2), y0 + rnd.randrange(40, h // 2)
        colour = tuple(rnd.randrange(256) for _ in range(3))
        if rnd.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour, outline=(0, 0, 0), width=4)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour, outline=(20, 20, 20), width=3)
    img = img.filter(ImageFilter.GaussianBlur(1))
    if hue_shift:
        hsv = img.convert("HSV")
        hch, s, v = hsv.split()
        hch = hch.point(lambda p: (p + hue_shift) % 256)
        img = Image.merge("HSV", (hch, s, v)).convert("RGB")
    return img


def encode(img: Image.Image, fmt: str = "PNG", **kwargs: Any) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kwargs)
    return out.getvalue()


def repost_of(img: Image.Image, scale: float = 0.55, quality: int = 60) -> bytes:
    """Resized and recompressed, the way a repost usually is."""
    small = img.resize((int(img.width * scale), int(img.height * scale)), Image.LANCZOS)
    return encode(small, "JPEG", quality=quality)


# -- TLS ---------------------------------------------------------------------------------------


def self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "creditline-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(h) for h in SITE_HOSTS]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# -- the sites -------------------------------------------------------------------------------


class SiteServer:
    """Every fake site on one HTTPS port; routes by Host header and path."""

    def __init__(self, directory: Path) -> None:
        self.routes: dict[tuple[str, str], tuple[str, bytes | Callable[[], bytes]]] = {}
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                host = (self.headers.get("Host") or "").split(":")[0]
                path = self.path.split("?")[0]
                outer.hits.append(f"{host}{self.path}")
                route = outer.routes.get((host, path))
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                ctype, body = route
                data = body() if callable(body) else body
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "max-age=3600")
                self.end_headers()
                self.wfile.write(data)

        cert, key = self_signed(directory)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def page(self, host: str, path: str, fixture: str) -> None:
        self.routes[(host, path)] = ("text/html; charset=utf-8", (PAGES / fixture).read_bytes())

    def html(self, host: str, path: str, text: str) -> None:
        self.routes[(host, path)] = ("text/html; charset=utf-8", text.encode())

    def image(self, host: str, path: str, data: bytes, ctype: str) -> None:
        self.routes[(host, path)] = (ctype, data)

    def resolver_rules(self) -> str:
        """Chromium --host-resolver-rules: the fake sites to loopback, nothing else resolves."""
        rules = [f"MAP {h} 127.0.0.1:{self.port}" for h in SITE_HOSTS]
        return ", ".join([*rules, "MAP * ~NOTFOUND", "EXCLUDE 127.0.0.1"])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the registry ------------------------------------------------------------------------------


class RegistryServer:
    """``create_app`` served by werkzeug on 127.0.0.1, recording the browser's requests."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.log: list[str] = []
        inner = app.wsgi_app
        log = self.log

        def recording(environ: dict[str, Any], start_response: Any) -> Any:
            query = environ.get("QUERY_STRING", "")
            log.append(environ.get("PATH_INFO", "") + (f"?{query}" if query else ""))
            return inner(environ, start_response)

        app.wsgi_app = recording
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        app.config["PUBLIC_URL"] = self.origin
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
