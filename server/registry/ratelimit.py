"""A small in-process token bucket per client IP for the public registry endpoints.

Each process keeps its own buckets in memory: with P web processes a client gets up to P times
the configured rate (and a restart forgets every bucket). That is acceptable for the abuse it
is meant to stop (one client hammering the match endpoint); an operator who needs one shared
limit sets it at the reverse proxy. The client address is ``request.remote_addr``: behind a
proxy, configure werkzeug's ``ProxyFix`` so it is the viewer's address, not the proxy's.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

MAX_CLIENTS = 10_000  # least recently seen clients are forgotten beyond this


class TokenBucket:
    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        self.rate, self.burst, self.clock = rate, burst, clock
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str, cost: float = 1.0) -> float:
        """0 when allowed; otherwise the seconds to wait before asking again."""
        now = self.clock()
        with self._lock:
            tokens, last = self._state.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= cost:
                self._state[client] = (tokens - cost, now)
                wait = 0.0
            else:
                self._state[client] = (tokens, now)
                wait = (cost - tokens) / self.rate if self.rate > 0 else math.inf
            while len(self._state) > MAX_CLIENTS:
                self._state.popitem(last=False)
        return wait
