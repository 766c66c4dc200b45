"""Decoding request bodies and query strings into msgspec Structs with precise field errors."""

from __future__ import annotations

import re
from array import array
from itertools import accumulate
from typing import Any, TypeVar

import msgspec

from chalicelib.domain.errors import FieldError, InputTooLarge, RuleViolation

T = TypeVar("T")

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_NAMED = re.compile(r"(?:unknown|required) field `(?P<name>[^`]+)`")

MAX_DEPTH = 32  # arrays/objects inside each other; the deepest real body (a polygon area) is 6
# A JSON string, or an unterminated one up to the end: it never fails once it has started, so the
# scan stays linear on hostile input (`"\"\"\"...` without a closing quote).
_STRING = re.compile(rb'"[^"\\]*(?:\\.?[^"\\]*)*(?:"|\Z)', re.S)
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # as signed bytes: +1, +1, -1, -1
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


# Readable rules for patterns whose regex would mean nothing to a person (msgspec quotes the regex).
_PATTERN_RULES: dict[str, str] = {}  # msgspec's message for the pattern -> the rule in words


def describe_pattern(pattern: str, rule: str) -> None:
    """Say `rule` instead of quoting `pattern` when a value does not match it."""
    _PATTERN_RULES[f"Expected `str` matching regex {pattern!r}"] = rule


def _readable(message: str) -> str:
    rule = _PATTERN_RULES.get(message)
    return f"only {rule}" if rule else message


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
    return FieldError(path or "(body)", _readable(message))


def nesting_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in `body` (brackets inside strings do not count).

    Runs at C speed (regex, translate, accumulate): ~5 ms for a normal 50 KiB batch, under 1 s
    for the most hostile 1 MiB body."""
    brackets = _STRING.sub(b"", body).translate(_STEPS, _NOT_BRACKETS)
    # Unbalanced input can dip below 0; the decoder then fails at that closer, before any nesting.
    return max(0, max(accumulate(array("b", brackets)), default=0))


def check_depth(body: bytes, *, max_depth: int = MAX_DEPTH, prefix: str = "") -> None:
    """msgspec recurses into nested input (RecursionError near 1,000 levels): refuse deep bodies first."""
    if body.count(b"[") + body.count(b"{") <= max_depth:  # cannot nest deeper than it has openers
        return
    if nesting_depth(body) > max_depth:
        raise RuleViolation(f"The body nests arrays/objects deeper than {max_depth} levels.",
                          [FieldError(prefix or "(body)", f"nested deeper than {max_depth} levels")])


def decode_json(body: bytes | None, type_: type[T], *, limit: int, prefix: str = "") -> T:
    if body is None or body == b"":
        raise RuleViolation("A JSON body is required.", [FieldError("(body)", "empty body")])
    if len(body) > limit:
        raise InputTooLarge(limit)
    check_depth(body, prefix=prefix)
    try:
        return msgspec.json.decode(body, type=type_)
    except RecursionError:  # defensive: check_depth should make this unreachable
        raise RuleViolation("The body nests too deeply.", [FieldError(prefix or "(body)", "nested too deeply")]) from None
    except msgspec.ValidationError as exc:
        raise RuleViolation("The body does not match the schema.", [field_error(exc, prefix)]) from None
    except msgspec.DecodeError as exc:
        raise RuleViolation("The body is not valid JSON.", [FieldError("(body)", str(exc))]) from None
    except UnicodeDecodeError:  # msgspec raises this (not DecodeError) for invalid UTF-8 in strings
        raise RuleViolation("The body is not valid UTF-8.", [FieldError("(body)", "invalid UTF-8")]) from None


def convert(data: Any, type_: type[T], *, what: str = "body", prefix: str = "") -> T:
    """Validate already-parsed data (query strings: strings are coerced to ints/floats)."""
    try:
        return msgspec.convert(data, type=type_, strict=False)
    except msgspec.ValidationError as exc:
        raise RuleViolation(f"The {what} does not match the schema.", [field_error(exc, prefix)]) from None
