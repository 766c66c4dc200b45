"""The OpenAPI 3.1 document, generated from the route registry and the msgspec schemas."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from chalicelib.api.framework import PROBLEM_JSON, Operation
from chalicelib.api.responses import PROBLEM
from chalicelib.auth.permissions import allowed_roles

REF = "#/components/schemas/{name}"

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def _schema_types(ops: list[Operation]) -> list[Any]:
    types: list[Any] = []
    for op in ops:
        for candidate in (op.request_doc or op.request, op.query):
            if candidate is not None:
                types.append(candidate)
        for _, body in op.responses.values():
            if body is not None and body is not PROBLEM and body is not dict and not isinstance(body, str):
                types.append(body)
    return types


def _query_parameters(query_type: Any, components: dict[str, Any]) -> list[dict[str, Any]]:
    (schema,), extra = msgspec.json.schema_components([query_type], ref_template=REF)
    components.update(extra)
    name = schema["$ref"].rsplit("/", 1)[-1]
    struct_schema = components[name]
    required = set(struct_schema.get("required", []))
    return [
        {"name": prop, "in": "query", "required": prop in required, "schema": prop_schema}
        for prop, prop_schema in struct_schema.get("properties", {}).items()
    ]


RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "integer", "minimum": 1},
}


def _rate_limit_doc(op: Operation, item: dict[str, Any]) -> None:
    """Declared rate limits show as a 429 response with Retry-After and a sentence of text each."""
    from chalicelib.settings import Settings

    if not op.rate_limits:
        return
    docs = []
    for limit in op.rate_limits:
        text = limit.describe(Settings, limit.counted_per(op.public))
        item["description"] = (item.get("description", "") + "\n\n" + text).strip()
        docs.append({"name": limit.name, "per": "address" if limit.per == "address" or op.public else "caller",
                     "windows": [{"seconds": w.seconds, "setting": w.env} for w in limit.windows]})
    item["x-rate-limit"] = docs[0]
    item["x-rate-limits"] = docs
    item["responses"]["429"] = {
        "description": "Rate limited; retry after Retry-After seconds.",
        "headers": {"Retry-After": RETRY_AFTER},
        "content": {PROBLEM_JSON: {"schema": {"$ref": REF.format(name="Problem")}}},
    }


def _operation(op: Operation, schema_of: dict[int, Any], components: dict[str, Any]) -> dict[str, Any]:
    """One operation object: summary, roles, parameters, body, responses, rate limit."""
    item: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag], "responses": {}}
    if op.description:
        item["description"] = op.description
    if op.public:
        item["security"] = []
    else:
        roles = ", ".join(sorted(allowed_roles(op.action)))
        item["description"] = (item.get("description", "") + f"\n\nRoles: {roles}.").strip()
        item["x-roles"] = sorted(allowed_roles(op.action))
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", op.path)
    ]
    if op.query is not None:
        params += _query_parameters(op.query, components)
    if params:
        item["parameters"] = params
    body_type = op.request_doc or op.request
    if body_type is not None:
        item["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema_of[id(body_type)]}}}
    for status, (text, body) in sorted(op.responses.items()):
        item["responses"][str(status)] = _response(op, status, text, body, schema_of)
    _rate_limit_doc(op, item)
    return item


def _response(op: Operation, status: int, text: str, body: Any, schema_of: dict[int, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": text}
    if body is PROBLEM:
        response["content"] = {PROBLEM_JSON: {"schema": {"$ref": REF.format(name="Problem")}}}
    elif body is dict:
        response["content"] = {op.content_type: {"schema": {"type": "object"}}}
    elif isinstance(body, str):
        response["content"] = {body: {"schema": {"type": "string"}}}
    elif body is not None:
        response["content"] = {op.content_type: {"schema": schema_of[id(body)]}}
    if status in op.links:
        response["links"] = op.links[status]
    return response


def build_document(ops: list[Operation]) -> dict[str, Any]:
    types = _schema_types(ops)
    schemas, components = msgspec.json.schema_components(types, ref_template=REF)
    schema_of = {id(t): s for t, s in zip(types, schemas, strict=True)}
    components["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schema_of, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Beatline API",
            "version": "1.0.0",
            "description": "Community-policing engagement backend. Errors are RFC 9457 problem details.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearer": []}],
    }
