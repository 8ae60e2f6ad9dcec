"""The SSRF guard for downloads from URLs that other sites hand us (gallery import).

Only ``https`` URLs whose host is one of the allowed hosts are fetched; the host is resolved
once and refused if any address is not globally routable (loopback, private, link-local,
reserved, multicast, IPv4-translating prefixes) unless ``allow_loopback`` is on (tests) — and
even then only loopback is let through, over ``http`` too. The connection goes to the address
that was checked (no second lookup, no DNS rebinding), with connect/read timeouts, a byte cap,
an overall deadline, and redirects followed by hand only to hosts that pass the same guard.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import urllib3

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
USER_AGENT = "Creditline-import/1 (+https://github.com/creditline)"


class Refused(Exception):
    """The guard refused a URL (not an allowed host, not public, not https, too big)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str  # the checked address the connection goes to
    path: str  # path and query


Resolver = Callable[[str, int], list[str]]

# IPv6 prefixes that carry an IPv4 address a gateway or relay would connect to (6to4, NAT64 and
# local-use NAT64): Python calls some of them global, but through them "2002:7f00:1::" is
# 127.0.0.1. No media host of a platform is reached this way, so they are refused outright.
TRANSLATED_NETS = (
    ipaddress.ip_network("2002::/16"),
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)


def resolve_addresses(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """``*.x`` is any subdomain of x (not x itself); a ``*`` inside a label
    (``images-wixmp-*.wixmp.com``) stands for letters, digits and hyphens within that label."""
    host = host.lower().rstrip(".")
    for pattern in allowed:
        pattern = pattern.lower().rstrip(".")
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
        elif "*" in pattern:
            if re.fullmatch("[a-z0-9-]+".join(re.escape(p) for p in pattern.split("*")), host):
                return True
        elif host == pattern:
            return True
    return False


def guard(
    url: str,
    allowed_hosts: Iterable[str],
    *,
    allow_loopback: bool = False,
    resolve: Resolver = resolve_addresses,
) -> Target:
    """Check ``url`` before anything is sent; raises ``Refused``. Returns where to connect."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a valid URL: {url!r}") from exc
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise Refused(f"not an http(s) URL: {url!r}")
    if parts.username or parts.password:
        raise Refused("URLs with credentials are refused")
    if not host_allowed(host, allowed_hosts):
        raise Refused(f"{host} is not one of this platform's media hosts")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except OSError as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise Refused(f"{host} has no address")
    for raw in addresses:
        address = ipaddress.ip_address(raw.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if any(address in net for net in TRANSLATED_NETS):
            raise Refused(f"{host} resolves to {address}, an IPv4-translating address")
        if address.is_loopback and allow_loopback:
            continue
        if not address.is_global or address.is_multicast or address.is_reserved:
            raise Refused(f"{host} resolves to {address}, which is not a public address")
    loopback_only = (
        all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses)
        and allow_loopback
    )
    if parts.scheme != "https" and not loopback_only:
        raise Refused(f"only https URLs are fetched, not {url!r}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, addresses[0], path)


@dataclass
class Downloader:
    """Fetch image bytes through the guard, pinned to the checked address."""

    allowed_hosts: tuple[str, ...]
    allow_loopback: bool = False
    max_bytes: int = 50 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_seconds: float = 120.0
    resolve: Resolver = resolve_addresses

    def get(self, url: str) -> bytes:
        deadline = time.monotonic() + self.total_seconds
        for _ in range(MAX_REDIRECTS + 1):
            target = guard(
                url, self.allowed_hosts, allow_loopback=self.allow_loopback, resolve=self.resolve
            )
            pool, response = self._open(target)
            try:
                if response.status in (301, 302, 303, 307, 308):
                    location = response.headers.get("Location")
                    if not location:
                        raise Refused(f"redirect without a Location from {target.host}")
                    url = urljoin(url, location)  # checked by the guard on the next turn
                    continue
                if response.status != 200:
                    raise Refused(f"{target.host} answered {response.status}")
                return self._read(response, deadline)
            finally:
                response.release_conn()
                pool.close()
        raise Refused(f"more than {MAX_REDIRECTS} redirects")

    def _open(self, target: Target) -> tuple[urllib3.HTTPConnectionPool, Any]:
        timeout = urllib3.Timeout(connect=self.connect_timeout, read=self.read_timeout)
        default = 443 if target.scheme == "https" else 80
        host_header = target.host if target.port == default else f"{target.host}:{target.port}"
        if target.scheme == "https":
            pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
                target.address,
                target.port,
                timeout=timeout,
                retries=False,
                maxsize=1,
                server_hostname=target.host,
                assert_hostname=target.host,
                cert_reqs="CERT_REQUIRED",
            )
        else:
            pool = urllib3.HTTPConnectionPool(
                target.address, target.port, timeout=timeout, retries=False, maxsize=1
            )
        try:
            return pool, pool.urlopen(
                "GET",
                target.path,
                headers={"Host": host_header, "User-Agent": USER_AGENT, "Accept": "image/*"},
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            pool.close()
            raise Refused(f"cannot download from {target.host}: {exc}") from exc

    def _read(self, response: Any, deadline: float) -> bytes:
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self.max_bytes:
            raise Refused(f"the image is larger than {self.max_bytes} bytes")
        out = bytearray()
        try:
            # read1 returns whatever has arrived, so a server that trickles bytes still meets
            # the deadline (stream() would wait for each full chunk, however slowly it came).
            while chunk := response.read1(64 * 1024):
                out += chunk
                if len(out) > self.max_bytes:
                    raise Refused(f"the image is larger than {self.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise Refused("the download took too long")
        except urllib3.exceptions.HTTPError as exc:
            raise Refused(f"the download failed: {exc}") from exc
        return bytes(out)
