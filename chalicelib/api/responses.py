"""Standard response descriptions reused by route declarations."""

from __future__ import annotations

from typing import Any

PROBLEM = "problem"  # marker: rendered as application/problem+json in OpenAPI


def std(*statuses: int, **extra: tuple[str, Any]) -> dict[int, tuple[str, Any]]:
    texts = {
        400: "Bad input (problem+json with field errors).",
        401: "Missing, invalid or expired token.",
        403: "Your role may not do this.",
        404: "No such record (or not one you may know exists).",
        409: "Conflict.",
        413: "Body too large.",
        422: "Not allowed in the record's current state.",
        429: "Rate limited; see Retry-After.",
        503: "The store is busy; retry after Retry-After seconds.",
    }
    out: dict[int, tuple[str, Any]] = {int(k.lstrip("s")): v for k, v in extra.items()}
    for status in statuses:
        out[status] = (texts[status], PROBLEM)
    return out
