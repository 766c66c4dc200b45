"""Access-log records: who read or changed what personal data, when, why, in which request."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from msgspec import Struct

from chalicelib.clock import to_rfc3339


@dataclass(frozen=True)
class AccessRecord:
    actor: str
    role: str
    action: str
    at: datetime
    request_id: str
    record_id: str | None = None
    query: dict[str, Any] | None = None
    row_count: int | None = None
    purpose: str | None = None
    entry_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def at_text(self) -> str:
        return to_rfc3339(self.at)

    @property
    def day(self) -> str:
        return self.at_text[:10]

    @property
    def at_id(self) -> str:
        """Sort key: time order within a day, unique per entry."""
        return f"{self.at_text}#{self.entry_id}"

    def query_json(self) -> str | None:
        return None if self.query is None else json.dumps(self.query, sort_keys=True, default=str)


class AccessEntryOut(Struct, omit_defaults=True):
    at: str
    actor: str
    role: str
    action: str
    request_id: str
    record_id: str | None = None
    query: dict[str, Any] | None = None
    row_count: int | None = None
    purpose: str | None = None
