"""The Creditline service: storage, HTTP API, web pages, delivery engine, registry and CLI."""

from server.app import create_app

__all__ = ["create_app"]
