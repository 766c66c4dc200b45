"""What a write use case did, in the domain's words (the HTTP layer picks the status code)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Created(Generic[T]):
    """A new record."""

    value: T


@dataclass(frozen=True)
class Resent(Generic[T]):
    """An identical resend of a write that already landed: nothing new was written."""

    value: T


@dataclass(frozen=True)
class Replaced(Generic[T]):
    """An existing record, replaced by the new content."""

    value: T


Saved = Created[T] | Resent[T] | Replaced[T]
