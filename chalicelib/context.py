"""What one request carries through the layers: its id, the verified caller and its clock reading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.auth.principal import Principal
from chalicelib.domain.access import AccessRecord
from chalicelib.domain.errors import Unauthenticated

if TYPE_CHECKING:
    from chalicelib.domain.subscribers import SubscriberRecord


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    now: datetime
    principal: Principal | None = None
    client_ip: str | None = None
    # A resident caller's subscriber record, loaded once when the request is authenticated.
    subscriber: SubscriberRecord | None = None

    @property
    def caller(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated()
        return self.principal

    @property
    def resident(self) -> SubscriberRecord:
        """The calling resident's record (loaded when the request was authenticated); 401 without one."""
        if self.subscriber is None:
            raise Unauthenticated("A resident token is required.")
        return self.subscriber

    def audit(self, action: str, **fields: Any) -> AccessRecord:
        caller = self.caller
        return AccessRecord(
            actor=caller.sub, role=caller.primary_role, action=action, at=self.now,
            request_id=self.request_id, **fields,
        )
