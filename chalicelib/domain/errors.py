"""What the domain says when input breaks a rule: no HTTP here. The API layer turns these into
RFC 9457 problem details in one place (chalicelib/errors.py `as_problem`, called by
chalicelib/api/framework.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One broken rule, at a field path such as `contacts[2].location.lat` or `area.coordinates[1]`."""

    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class DomainError(Exception):
    """Base of the domain's refusals: a summary and the field paths that broke a rule."""

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])


class RuleViolation(DomainError):
    """The input breaks a validation rule (schema, limits, shapes, dates, cursors)."""


class InputTooLarge(DomainError):
    """The input is larger than `limit` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The body is larger than {limit} bytes.")
        self.limit = limit


class StateForbids(DomainError):
    """The record's current state does not allow this change (e.g. approving a cancelled alert)."""


class Undisclosable(DomainError):
    """Answering as asked could single out a small group of people (422; `errors` says which field)."""


class NotFound(DomainError):
    """No such record, or one the caller may not know exists (404: never says which)."""

    def __init__(self, detail: str = "No such record.", errors: list[FieldError] | None = None) -> None:
        super().__init__(detail, errors)


class Conflict(DomainError):
    """The id is taken by other content, or a concurrent change won (409)."""


class Unauthenticated(DomainError):
    """The caller is not (or no longer) someone we know: no valid token, an erased resident (401)."""

    def __init__(self, detail: str = "A valid bearer token is required.") -> None:
        super().__init__(detail)


class Forbidden(DomainError):
    """The caller is known but their role or team may not do this (403)."""

    def __init__(self, detail: str = "Your role may not do this.") -> None:
        super().__init__(detail)


class PreconditionRequired(DomainError):
    """The change must name the version it was read at (428)."""


class RateLimited(DomainError):
    """Too many requests for this caller: retry after `retry_after` seconds (429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Slow down and retry later.")
        self.retry_after = retry_after


class Unavailable(DomainError):
    """Something this change needs is not there or not working now: retry after `retry_after` (503)."""

    def __init__(self, detail: str, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
