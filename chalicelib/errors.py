"""RFC 9457 problem details raised anywhere and rendered once by the API layer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    InputTooLarge,
    NotFound,
    PreconditionRequired,
    RateLimited,
    StateForbids,
    Unauthenticated,
    Unavailable,
    Undisclosable,
)

__all__ = ["DomainError", "FieldError", "ProblemError", "as_problem"]

PROBLEM_BASE = "https://beatline.example/problems/"


@dataclass
class ProblemError(Exception):
    status: int
    title: str
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    slug: str = ""

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.title}: {self.detail}")

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + (self.slug or self.title.lower().replace(" ", "-")),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [e.to_dict() for e in self.errors]
        return body


def bad_request(detail: str, errors: list[FieldError] | None = None) -> ProblemError:
    return ProblemError(400, "Bad request", detail, errors or [], slug="validation")


def unauthorized(detail: str = "A valid bearer token is required.") -> ProblemError:
    return ProblemError(
        401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="beatline"'}
    )


def forbidden(detail: str = "Your role may not do this.") -> ProblemError:
    return ProblemError(403, "Forbidden", detail)


def not_found(detail: str = "No such record.") -> ProblemError:
    return ProblemError(404, "Not found", detail)


def conflict(detail: str) -> ProblemError:
    return ProblemError(409, "Conflict", detail)


def too_large(limit: int) -> ProblemError:
    return ProblemError(413, "Payload too large", f"The body is larger than {limit} bytes.")


def unprocessable(detail: str) -> ProblemError:
    return ProblemError(422, "Unprocessable", detail, slug="state")


def rate_limited(retry_after: int) -> ProblemError:
    return ProblemError(
        429, "Too many requests", "Slow down and retry later.",
        headers={"Retry-After": str(retry_after)},
    )


def store_unavailable(retry_after: int = 1) -> ProblemError:
    return ProblemError(
        503, "Service unavailable", "The data store is busy; retry shortly.",
        headers={"Retry-After": str(retry_after)}, slug="store-unavailable",
    )


def as_problem(error: DomainError | ProblemError) -> ProblemError:
    """THE mapping of the domain's refusals onto problem details (400..503)."""
    if isinstance(error, ProblemError):
        return error
    for kind in type(error).__mro__:  # subclasses map like their base
        if kind in _MAPPING:
            return _MAPPING[kind](error)
    return bad_request(error.detail, error.errors)  # RuleViolation


def _mapping() -> dict[type[DomainError], Callable[[Any], ProblemError]]:
    return {
        InputTooLarge: lambda e: too_large(e.limit),
        StateForbids: lambda e: unprocessable(e.detail),
        Undisclosable: lambda e: ProblemError(422, "Unprocessable", e.detail, e.errors, slug="disclosure"),
        NotFound: lambda e: not_found(e.detail),
        Conflict: lambda e: conflict(e.detail),
        Unauthenticated: lambda e: unauthorized(e.detail),
        Forbidden: lambda e: forbidden(e.detail),
        PreconditionRequired: lambda e: ProblemError(428, "Precondition required", e.detail),
        RateLimited: lambda e: rate_limited(e.retry_after),
        Unavailable: lambda e: ProblemError(503, "Service unavailable", e.detail,
                                            headers={"Retry-After": str(e.retry_after)}),
    }


_MAPPING = _mapping()
