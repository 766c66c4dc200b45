"""The SMS table (store/models/sms.py): the number index, message status, figures."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from chalicelib.store.errors import translate_store_errors, update_if
from chalicelib.store.models import SmsModel

NONE = "-"
FIGURES = ("sent", "failed", "capped", "delivered", "undelivered", "stopped", "codes", "segments")


@translate_store_errors
def link_number(number_digest: str, subscriber_id: str, expires_at: datetime) -> None:
    SmsModel(key=f"number#{number_digest}", item=subscriber_id, expires_at=expires_at).save()


@translate_store_errors
def unlink_number(number_digest: str, subscriber_id: str) -> None:
    SmsModel(key=f"number#{number_digest}", item=subscriber_id).delete()


@translate_store_errors
def holders(number_digest: str) -> list[str]:
    return [m.item for m in SmsModel.query(f"number#{number_digest}", limit=100, attributes_to_get=["item"])]


@translate_store_errors
def record_message(message_id: str, ref: str, status: str, at: str, expires_at: datetime) -> None:
    SmsModel(key=f"message#{message_id}", item=NONE, ref=ref, status=status, at=at, expires_at=expires_at).save()


@translate_store_errors
def set_status(message_id: str, status: str, at: str) -> str | None:
    """Conditional on the message being known and its status being another: a repeated or
    replayed status event changes nothing and counts nothing twice."""
    item = SmsModel(key=f"message#{message_id}", item=NONE)
    if not update_if(item, [SmsModel.status.set(status), SmsModel.at.set(at)],
                     SmsModel.key.exists() & (SmsModel.status != status)):
        return None
    return item.ref  # Model.update reads the item back (ALL_NEW)


@translate_store_errors
def message_status(message_id: str) -> tuple[str, str] | None:
    try:
        m = SmsModel.get(f"message#{message_id}", NONE)
    except SmsModel.DoesNotExist:
        return None
    return m.ref or "", m.status or ""


@translate_store_errors
def add_figures(channel: str, day: str, deltas: Mapping[str, int]) -> None:
    actions = [getattr(SmsModel, name).add(n) for name, n in deltas.items() if n and name in FIGURES]
    if actions:
        SmsModel(key=f"figures#{channel}", item=day).update(actions=actions)


@translate_store_errors
def figures(channel: str, day_from: str, day_to: str) -> list[tuple[str, dict[str, int]]]:
    rows = SmsModel.query(f"figures#{channel}", SmsModel.item.between(day_from, day_to))
    return [(m.item, {name: int(getattr(m, name) or 0) for name in FIGURES}) for m in rows]
