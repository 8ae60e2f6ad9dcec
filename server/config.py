"""Configuration defaults and environment overrides.

Every setting has a default that works for a single artist on one machine (SQLite under the
instance folder); operators override them through ``CREDITLINE_*`` environment variables.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV_PREFIX = "CREDITLINE_"

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None: SQLite file ``creditline.sqlite3`` in the instance folder
    "SECRET_KEY_FILE": None,  # None: ``credentials.key`` in the instance folder
    "SECRET_KEY": None,  # Fernet key(s) for credentials, comma-separated; beats the key file
    "MEDIA_DIR": None,  # None: ``media/`` in the instance folder
    "MAX_IMAGE_BYTES": 50 * 1024 * 1024,
    "MAX_IMAGE_PIXELS": 89_000_000,  # at or below Pillow's own bomb warning
    "MAX_IMAGES_PER_ARTWORK": 10,
    "START_WORKER": False,  # the CLI's ``serve`` turns this on; tests and WSGI hosts do not
    "LEASE_SECONDS": 300,  # a worker that is silent this long has lost its delivery
    "MAX_ATTEMPTS": 8,
    "RETRY_BASE_SECONDS": 30.0,  # first backoff after a transient error; doubles each time
    "RETRY_CAP_SECONDS": 3600.0,
    "LATE_BOUND_SECONDS": 6 * 3600,  # missed schedules older than this wait for the artist
    "WORKER_THREADS": 8,  # deliveries posted at once by one worker process
    "DISPATCH_SECONDS": 2.0,  # how often a worker looks for due deliveries
    "PUBLIC_URL": "http://127.0.0.1:8000",  # where canonical pages are linked from posts
    # Import of existing galleries (server/importer.py).
    "IMPORT_MEDIA_HOSTS": {},  # platform id -> extra media hosts, e.g. {"mastodon": ["*.cdn.x"]}
    "IMPORT_MAX_POSTS": 1000,  # posts read per import run
    "IMPORT_CONNECT_TIMEOUT": 10.0,
    "IMPORT_READ_TIMEOUT": 30.0,
    "IMPORT_DOWNLOAD_SECONDS": 120.0,  # the whole download of one image
    "IMPORT_JOB_SECONDS": 1800.0,  # one whole import (job, API or CLI), then it is stopped
    "IMPORT_ALLOW_LOOPBACK": False,  # tests only (their peers are on loopback); never from env
    # Web app sessions: the key that signs the session cookie (not the credentials key).
    "FLASK_SECRET": None,  # beats the key file; set it when several web processes share users
    "FLASK_SECRET_FILE": None,  # None: ``flask-secret.key`` in the instance folder (mode 0600)
}

# Settings read from the environment and how to convert them.
_ENV_TYPES: dict[str, Callable[[str], Any]] = {
    "DATABASE_URL": str,
    "SECRET_KEY_FILE": str,
    "SECRET_KEY": str,
    "MEDIA_DIR": str,
    "MAX_IMAGE_BYTES": int,
    "MAX_IMAGE_PIXELS": int,
    "MAX_IMAGES_PER_ARTWORK": int,
    "LEASE_SECONDS": float,
    "MAX_ATTEMPTS": int,
    "RETRY_BASE_SECONDS": float,
    "RETRY_CAP_SECONDS": float,
    "LATE_BOUND_SECONDS": int,
    "WORKER_THREADS": int,
    "DISPATCH_SECONDS": float,
    "PUBLIC_URL": str,
    "IMPORT_MEDIA_HOSTS": json.loads,
    "IMPORT_MAX_POSTS": int,
    "IMPORT_CONNECT_TIMEOUT": float,
    "IMPORT_READ_TIMEOUT": float,
    "IMPORT_DOWNLOAD_SECONDS": float,
    "IMPORT_JOB_SECONDS": float,
    "REGISTRY_MAX_TABLE_BYTES": int,
    "REGISTRY_RECONCILE_SECONDS": float,
    "FLASK_SECRET": str,
    "FLASK_SECRET_FILE": str,
}


def from_environment(environ: os._Environ[str] | dict[str, str] = os.environ) -> dict[str, Any]:
    """Read ``CREDITLINE_<NAME>`` overrides; a malformed number is a startup error, not a guess."""
    found: dict[str, Any] = {}
    for name, kind in _ENV_TYPES.items():
        raw = environ.get(ENV_PREFIX + name)
        if raw is None or raw == "":
            continue
        try:
            found[name] = kind(raw)
        except ValueError as exc:
            what = "JSON" if kind is json.loads else kind.__name__
            raise RuntimeError(f"{ENV_PREFIX}{name} must be {what}, got {raw!r}") from exc
    return found


def resolve_paths(config: dict[str, Any], instance_path: str) -> None:
    """Fill the instance-folder defaults once the instance path is known."""
    instance = Path(instance_path)
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'creditline.sqlite3'}"
    if not config.get("SECRET_KEY_FILE"):
        config["SECRET_KEY_FILE"] = str(instance / "credentials.key")
    if not config.get("FLASK_SECRET_FILE"):
        config["FLASK_SECRET_FILE"] = str(instance / "flask-secret.key")
    if not config.get("MEDIA_DIR"):
        config["MEDIA_DIR"] = str(instance / "media")
