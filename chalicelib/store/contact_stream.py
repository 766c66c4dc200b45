"""The counters derived from the contacts table's stream (domain/stream_counts.py): decoding
Lambda's stream records; each part of a batch is written exactly once by the stream's `Ledger`
(store/stream_ledger.py: per-record markers `stream|contacts|mark|<h>` in the part's transaction,
with the counter sums and the engagement member items; `as_of` moved forward after the parts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.contacts import ContactRecord
from chalicelib.domain.stream_counts import ContactChange
from chalicelib.store import contacts as contact_store
from chalicelib.store.models import ContactModel
from chalicelib.store.stream_ledger import BadRecord, Ledger, decoded

LEDGER = Ledger("contacts")
MARK_PREFIX = "stream|contacts|mark|"
AS_OF_KEY = LEDGER.as_of_key
mark_key = LEDGER.mark_key
apply_part = LEDGER.apply_part
advance_as_of = LEDGER.advance_as_of
as_of = LEDGER.as_of
applied = LEDGER.applied

__all__ = ["AS_OF_KEY", "MARK_PREFIX", "BadRecord", "advance_as_of", "applied", "apply_part", "as_of", "decode",
           "mark_key"]


def _image(raw: dict[str, Any]) -> ContactRecord:
    return contact_store.from_model(ContactModel.from_raw_data(raw))


def decode(record: Mapping[str, Any]) -> ContactChange:
    """One Lambda DynamoDB stream record of the contacts table -> ContactChange. BadRecord if unreadable."""
    return decoded(record, _image)
