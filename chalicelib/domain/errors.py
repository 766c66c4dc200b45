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


class NotFound(DomainError):
    """No such record, or one the caller may not know exists (404: never says which)."""


class Conflict(DomainError):
    """The id is taken by other content, or a concurrent change won (409)."""
