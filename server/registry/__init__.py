"""The attribution registry: canonical records, image fingerprints, matching and lookup.

``init_app`` registers the public API blueprint (``server/api/registry.py``), the public pages
(``pages.py``), the per-process index (``service.Registry``) and the rate limiters
(``ratelimit.py``).
"""

from __future__ import annotations

from flask import Flask

REGISTRY_DEFAULTS = {
    # token buckets per client IP, per process (see ratelimit.py)
    "REGISTRY_READ_RATE": 5.0,  # tokens per second
    "REGISTRY_READ_BURST": 120,
    "REGISTRY_MATCH_RATE": 0.5,
    "REGISTRY_MATCH_BURST": 20,
    "REGISTRY_MATCH_MAX_BYTES": 10 * 1024 * 1024,
    "REGISTRY_MATCH_MAX_PIXELS": 25_000_000,
    # the per-process index (service.Registry, index.MIHIndex)
    "REGISTRY_MAX_TABLE_BYTES": None,  # a table build needing more fails (retried with backoff)
    "REGISTRY_RECONCILE_SECONDS": 300.0,  # how often the index is compared with the table
}


def init_app(app: Flask) -> None:
    from server.api.registry import bp
    from server.registry.index import MIHIndex
    from server.registry.pages import pages
    from server.registry.ratelimit import TokenBucket
    from server.registry.service import Registry

    for key, value in REGISTRY_DEFAULTS.items():
        app.config.setdefault(key, value)
    app.extensions["creditline.registry"] = Registry(
        index=MIHIndex(max_table_bytes=app.config["REGISTRY_MAX_TABLE_BYTES"]),
        reconcile_seconds=app.config["REGISTRY_RECONCILE_SECONDS"],
    )
    app.extensions["creditline.registry.limits"] = {
        "read": TokenBucket(app.config["REGISTRY_READ_RATE"], app.config["REGISTRY_READ_BURST"]),
        "match": TokenBucket(app.config["REGISTRY_MATCH_RATE"], app.config["REGISTRY_MATCH_BURST"]),
    }
    app.register_blueprint(bp)
    app.register_blueprint(pages)
    from server.registry.service import sync_tick
    from server.worker import Tick

    app.extensions.setdefault("creditline.ticks", []).append(Tick("registry_sync", 10, sync_tick))
