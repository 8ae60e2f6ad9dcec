"""Finds every platform module in ``adapters`` and the one ``Adapter`` subclass it defines.

Adding a platform is one new module: nothing here lists platforms by name.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
from functools import cache

import adapters
from adapters.base import Adapter
from adapters.errors import UnknownPlatform

logger = logging.getLogger(__name__)

# Modules of the package that hold the engine, not a platform.
NOT_PLATFORMS = frozenset(
    {
        "base",
        "draft",
        "errors",
        "forms",
        "http",
        "images",
        "metadata",
        "metadata_segments",
        "preview",
        "publishing",
        "registry",
        "rules",
        "text",
    }
)


def _adapter_in(module_name: str) -> type[Adapter] | None:
    module = importlib.import_module(f"adapters.{module_name}")
    found = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Adapter)
        and obj is not Adapter
        and obj.__module__ == module.__name__
        and obj.id
    ]
    if len(found) > 1:
        raise RuntimeError(f"adapters.{module_name} defines {len(found)} adapters; one expected")
    return found[0] if found else None


@cache
def _adapters() -> dict[str, Adapter]:
    found: dict[str, Adapter] = {}
    for info in pkgutil.iter_modules(adapters.__path__):
        if info.ispkg or info.name.startswith("_") or info.name in NOT_PLATFORMS:
            continue
        cls = _adapter_in(info.name)
        if cls is None:
            continue
        if cls.id in found:
            raise RuntimeError(f"platform id {cls.id!r} is defined twice")
        found[cls.id] = cls()
    logger.debug("registered platforms: %s", sorted(found))
    return found


def platform_ids() -> list[str]:
    return list(_adapters())


def get(platform_id: str) -> Adapter:
    try:
        return _adapters()[platform_id]
    except (KeyError, TypeError):
        raise UnknownPlatform(str(platform_id)) from None


def all_adapters() -> list[Adapter]:
    return list(_adapters().values())
