"""Endpoint declarations: one decorator validates input with pydantic and records the OpenAPI
description, so the served document can never drift from what the code accepts."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic
from flask import Blueprint, Response, jsonify, request
from pydantic.json_schema import models_json_schema

from server.auth import require_user
from server.errors import ApiError, validation_error


@dataclass(frozen=True)
class Endpoint:
    path: str
    method: str
    name: str
    summary: str
    tag: str
    body: type[pydantic.BaseModel] | None
    response: type[pydantic.BaseModel] | None
    status: int
    auth: bool  # a token is required
    token_optional: bool  # a token is accepted and changes the answer, but not required
    multipart: bool


ENDPOINTS: list[Endpoint] = []
_RULE_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def parse_json_body(model: type[pydantic.BaseModel]) -> pydantic.BaseModel:
    """Decode and validate the JSON body; malformed JSON and wrong shapes are 400s."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    return validate(model, load_json(request.get_data(cache=True) or b"null"))


def load_json(raw: str | bytes, field: str | None = None) -> Any:
    """Decode a JSON document; malformed (or absurdly deeply nested) JSON is a 400."""
    what = f"'{field}'" if field else "the body"
    try:
        return json.loads(raw)
    except RecursionError:
        raise ApiError(400, "malformed_json", f"{what} is nested too deeply", field) from None
    except ValueError as exc:
        raise ApiError(400, "malformed_json", f"{what} is not valid JSON: {exc}", field) from exc


def validate(model: type[pydantic.BaseModel], data: Any, prefix: str = "") -> pydantic.BaseModel:
    nul = find_nul(data)
    if nul is not None:
        field = ".".join(part for part in (prefix, nul) if part) or None
        where = f"{field}: " if field else ""
        raise ApiError(400, "invalid", f"{where}text may not contain NUL (\\u0000)", field)
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc, prefix) from exc


def find_nul(data: Any) -> str | None:
    """The dotted path of the first string (or key) holding U+0000, which PostgreSQL cannot
    store in text; ``None`` when there is none (``""`` for a bare top-level string)."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:  # iterative: the nesting depth of a JSON document is the client's choice
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path
            continue
        if isinstance(value, dict):
            items = list(value.items())
        elif isinstance(value, list):
            items = list(enumerate(value))
        else:
            continue
        for key, item in reversed(items):
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and "\x00" in key:
                return here
            stack.append((here, item))
    return None


def endpoint(
    bp: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    body: type[pydantic.BaseModel] | None = None,
    response: type[pydantic.BaseModel] | None = None,
    status: int = 200,
    auth: bool | None = True,
    multipart: bool = False,
    parse_body: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` on ``bp``; it receives ``body=`` (validated) and returns a model.

    ``auth=None`` makes the token optional (the view checks ``g.user``); ``parse_body=False``
    leaves decoding to the view while still documenting ``body`` in the OpenAPI document.
    """

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def view(**kwargs: Any) -> Any:
            if auth or (auth is None and "Authorization" in request.headers):
                require_user()
            if body is not None and parse_body and not multipart:
                kwargs["body"] = parse_json_body(body)
            result = fn(**kwargs)
            if result is None:
                return Response(status=204)
            if isinstance(result, Response):
                return result
            if isinstance(result, pydantic.BaseModel):
                result = result.model_dump(mode="json")
            return jsonify(result), status

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        ENDPOINTS.append(
            Endpoint(
                path=(bp.url_prefix or "") + rule,
                method=method.lower(),
                name=fn.__name__,
                summary=summary,
                tag=bp.name,
                body=body,
                response=response,
                status=204 if response is None and status == 204 else status,
                auth=bool(auth),
                token_optional=auth is None,
                multipart=multipart,
            )
        )
        return view

    return wrap


def openapi_document(title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every declared endpoint."""
    models = {m for e in ENDPOINTS for m in (e.body, e.response) if m is not None}
    refs, schema = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for e in ENDPOINTS:
        path = _RULE_PARAM.sub(r"{\2}", e.path)
        op: dict[str, Any] = {
            "operationId": e.name,
            "summary": e.summary,
            "tags": [e.tag],
            "responses": _responses(e, refs),
        }
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer" if conv == "int" else "string"},
            }
            for conv, name in _RULE_PARAM.findall(e.path)
        ]
        if params:
            op["parameters"] = params
        if e.auth:
            op["security"] = [{"bearer": []}]
        elif e.token_optional:
            op["security"] = [{"bearer": []}, {}]
        if e.body is not None:
            op["requestBody"] = {"required": True, "content": _body_content(e, refs)}
        paths.setdefault(path, {})[e.method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": {**schema.get("$defs", {}), "Error": _ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _body_content(e: Endpoint, refs: dict[Any, Any]) -> dict[str, Any]:
    ref = refs[(e.body, "validation")]
    if not e.multipart:
        return {"application/json": {"schema": ref}}
    return {
        "application/json": {"schema": ref},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["artwork"],
                "properties": {
                    "artwork": {**ref, "description": "the JSON document, as a form field"},
                    "images": {"type": "array", "items": {"type": "string", "format": "binary"}},
                },
            }
        },
    }


def _responses(e: Endpoint, refs: dict[Any, Any]) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    responses: dict[str, Any] = {}
    if e.response is not None:
        responses[str(e.status)] = {
            "description": "success",
            "content": {"application/json": {"schema": refs[(e.response, "validation")]}},
        }
    else:
        responses["204"] = {"description": "done"}
    responses["400"] = {"description": "invalid request", **error}
    if e.auth:
        responses["401"] = {"description": "missing or unknown token", **error}
        responses["404"] = {"description": "not found (or not yours)", **error}
    responses["default"] = {
        "description": "any other error in the same shape: 409 conflict or wrong state, 413 too "
        "large, 429 rate limited, 502 a platform failed, 504 a time limit was reached",
        **error,
    }
    return responses


_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
            },
        }
    },
}
