"""How use cases name a resident: pseudonyms keyed by the subscriber's own secret (one module, so
subscribers, alerts and conversations share it without importing each other)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.pseudonyms import decode_secret
from chalicelib.domain.subscribers import SubscriberRecord

if TYPE_CHECKING:
    from chalicelib.services import Services


def resident_name(svc: Services, record: SubscriberRecord, purpose: str = "resident") -> str:
    """The resident's pseudonym for `purpose` (access log `res_`, request log `rlg_`, reply
    contacts `rsp_`): keyed by the subscriber's own secret, so erasure makes it unrecomputable."""
    if record.secret is None:
        raise RuntimeError("subscriber record without a secret")  # current(svc, ) gives every record one
    return svc.pseudonyms.resident(decode_secret(record.secret), record.id, purpose)
