"""Decoding request bodies and query strings into msgspec Structs with precise field errors."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from chalicelib.errors import FieldError, ProblemError, bad_request, too_large

T = TypeVar("T")

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_NAMED = re.compile(r"(?:unknown|required) field `(?P<name>[^`]+)`")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def field_error(exc: msgspec.ValidationError, prefix: str = "") -> FieldError:
    """Turn msgspec's 'Expected `int` - at `$.a[0].b`' into FieldError('a[0].b', 'Expected `int`')."""
    match = _AT.match(str(exc))
    message = match.group("message") if match else str(exc)
    path = (match.group("path") or "") if match else ""
    path = path.lstrip(".")
    named = _NAMED.search(message)
    if named:
        path = _join(path, named.group("name"))
    if prefix:
        path = _join(prefix, path) if path and not path.startswith("[") else prefix + path
    return FieldError(path or "(body)", message)


def decode_json(body: bytes | None, type_: type[T], *, limit: int, prefix: str = "") -> T:
    if body is None or body == b"":
        raise bad_request("A JSON body is required.", [FieldError("(body)", "empty body")])
    if len(body) > limit:
        raise too_large(limit)
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        raise bad_request("The body does not match the schema.", [field_error(exc, prefix)]) from None
    except msgspec.DecodeError as exc:
        raise bad_request("The body is not valid JSON.", [FieldError("(body)", str(exc))]) from None
    except UnicodeDecodeError:  # msgspec raises this (not DecodeError) for invalid UTF-8 in strings
        raise bad_request("The body is not valid UTF-8.", [FieldError("(body)", "invalid UTF-8")]) from None


def convert(data: Any, type_: type[T], *, what: str = "body", prefix: str = "") -> T:
    """Validate already-parsed data (query strings: strings are coerced to ints/floats)."""
    try:
        return msgspec.convert(data, type=type_, strict=False)
    except msgspec.ValidationError as exc:
        raise bad_request(f"The {what} does not match the schema.", [field_error(exc, prefix)]) from None


def problem_errors(problem: ProblemError) -> list[dict[str, str]]:
    return [e.to_dict() for e in problem.errors] or [{"field": "(body)", "message": problem.detail}]
