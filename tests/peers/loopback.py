"""The shared harness of the loopback peers: what a request looked like (``Recorded``), a
failure to inject (``Failure``), and ``LoopbackSite`` — a werkzeug server on 127.0.0.1 in a
thread that records every request, injects failures and lets a subclass answer the rest in
``_route``::

    server = SomeSite()
    base = server.start()
    server.fail_next(1, 503)                                # refused before any work
    server.fail_next(1, 0, path="/upload", after=True)      # done, then the answer is lost
    server.delay_next(1, 0.6, path="/upload")               # done, answered late
    server.requests, server.requests_to("POST", "/upload")
    server.stop()
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]  # urlencoded or multipart text fields, keys as sent
    json: Any  # the JSON body, when there is one
    files: dict[str, dict[str, Any]]  # name -> filename, content_type, size, sha256, md5, data

    @property
    def cookies(self) -> dict[str, str]:
        out = {}
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name:
                out[name] = value
        return out

    @property
    def bearer(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None

    def public(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["files"] = {
            k: {kk: vv for kk, vv in v.items() if kk != "data"} for k, v in self.files.items()
        }
        return out


@dataclass
class Failure:
    status: int  # HTTP status; 0 drops the connection without an answer
    path: str | None = None  # a path prefix the failure applies to
    method: str | None = None
    after: bool = False  # handle the request first, then fail (an ambiguous outcome)
    error: str | None = None
    reset_in: float = 30.0  # for 429: X-RateLimit-Reset this many seconds ahead
    delay: float = 0.0  # answer this late (with status 200: the real answer, late)
    headers: dict[str, str] = field(default_factory=dict)  # sent with the failure's answer

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or path.startswith(self.path)) and (
            self.method is None or self.method == method
        )


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(value), status, headers, mimetype="application/json")


def drop_connection(environ: dict[str, Any]) -> Response:
    """Shut the connection down: the client sees no answer at all."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    return Response(b"", 500)


def uploads(request: Request, *, md5: bool = False, multi: bool = False) -> dict[str, Any]:
    """The request's files: name -> filename, content_type, size, sha256 (md5), data."""
    files: dict[str, dict[str, Any]] = {}
    for name, f in request.files.items(multi=multi):
        data = f.read()
        files[name] = {
            "filename": f.filename,
            "content_type": f.mimetype,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            **({"md5": hashlib.md5(data).hexdigest()} if md5 else {}),
            "data": data,
        }
    return files


def request_fields(request: Request, *, md5: bool = False, multi: bool = False) -> dict[str, Any]:
    """``Recorded``'s fields from a werkzeug request, for any ``Recorded``-shaped dataclass."""
    return {
        "method": request.method,
        "path": request.path,
        "query": {k: request.args.getlist(k) for k in request.args},
        "headers": dict(request.headers.items()),
        "form": {k: request.form.getlist(k) for k in request.form},
        "json": request.get_json(silent=True) if request.is_json else None,
        "files": uploads(request, md5=md5, multi=multi),
    }


class RecordingMixin:
    """Request log and injected failures of a server keeping ``_lock`` and a ``_state`` with
    ``requests`` and ``failures`` lists."""

    _lock: threading.RLock
    _state: Any

    @property
    def requests(self) -> list[Any]:
        with self._lock:
            return list(self._state.requests)

    def _append(self, record: Any) -> Any:
        with self._lock:
            self._state.requests.append(record)
        return record

    def _take_failure(self, matches: Callable[[Any], bool]) -> Any:
        """Pop the first injected failure ``matches`` accepts (``None`` if there is none)."""
        with self._lock:
            for i, failure in enumerate(self._state.failures):
                if matches(failure):
                    return self._state.failures.pop(i)
        return None


class LoopbackServer:
    """A WSGI app (``_wsgi``) served on 127.0.0.1 in a thread: ``start`` / ``stop``, or ``with``."""

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def start(self, port: int = 0) -> str:
        self._server = make_server(
            "127.0.0.1", port, self._wsgi, threaded=True, request_handler=QuietHandler
        )
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raise NotImplementedError


class LoopbackSite(LoopbackServer):
    """A site on 127.0.0.1 in a thread; subclasses answer in ``_route``."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._requests: list[Recorded] = []
        self._failures: list[Failure] = []

    # -- inspection and failure injection ---------------------------------------------------
    @property
    def host(self) -> str:
        return self.base_url.split("://", 1)[1]

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        path: str | None = None,
        method: str | None = None,
        after: bool = False,
        error: str | None = None,
        reset_in: float = 30.0,
        delay: float = 0.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The next ``n`` matching requests fail with ``status`` (0: connection dropped);
        ``after``: the request is handled first, then its answer is replaced (ambiguous)."""
        failure = Failure(status, path, method, after, error, reset_in, delay, dict(headers or {}))
        with self._lock:
            self._failures.extend(dataclasses.replace(failure) for _ in range(n))

    def delay_next(self, n: int, seconds: float, *, path: str | None = None) -> None:
        """Handle the next ``n`` matching requests, then answer ``seconds`` late."""
        self.fail_next(n, 200, path=path, after=True, delay=seconds)

    # -- WSGI --------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            record = self._record(request)
            failure = self._pick(request.method, request.path)
            if failure is not None and not failure.after and failure.status != 200:
                response = self._failure(failure, environ)
            else:
                with self._lock:
                    response = self._route(request, record)
                if failure is not None and failure.status != 200:
                    response = self._failure(failure, environ)
            if failure is not None and failure.delay:
                self._stopping.wait(failure.delay)
            return response(environ, start_response)
        finally:
            request.close()

    def _record(self, request: Request) -> Recorded:
        record = Recorded(**request_fields(request, md5=True, multi=True))
        with self._lock:
            self._requests.append(record)
        return record

    def _pick(self, method: str, path: str) -> Failure | None:
        with self._lock:
            for i, failure in enumerate(self._failures):
                if failure.matches(method, path):
                    return self._failures.pop(i)
        return None

    def _failure(self, failure: Failure, environ: dict[str, Any]) -> Response:
        if failure.status == 0:
            return drop_connection(environ)
        return self._error_response(failure)

    def _error_response(self, failure: Failure) -> Response:
        return Response(failure.error or "error", failure.status, failure.headers)

    def _route(self, request: Request, record: Recorded) -> Response:
        raise NotImplementedError
