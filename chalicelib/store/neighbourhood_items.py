"""What the neighbourhoods table's repositories (teams, priorities, meetings) write the same way:
create-if-new, replace-if-unchanged, and a resident counted once against a record's tally."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.ports import NotFound
from chalicelib.store import transact
from chalicelib.store.errors import error_code
from chalicelib.store.models import NeighbourhoodModel

CONDITION_FAILED = "ConditionalCheckFailedException"


def put_if_new(item: NeighbourhoodModel) -> bool:
    """Write the item only if its key is new; False (nothing written) when it exists."""
    try:
        item.save(condition=NeighbourhoodModel.pk.does_not_exist())
        return True
    except PutError as exc:
        if error_code(exc) != CONDITION_FAILED:
            raise
        return False


def upsert(item: NeighbourhoodModel) -> bool:
    """Create or replace; True when the item is new (one round trip when it is)."""
    if put_if_new(item):
        return True
    item.save()
    return False


def replace_body(pk: str, sk: str, old_body: str, new_body: str) -> bool:
    """Set the record's body if it still is `old_body` (False when it changed meanwhile)."""
    try:
        NeighbourhoodModel(pk, sk).update(actions=[NeighbourhoodModel.body.set(new_body)],
                                          condition=NeighbourhoodModel.body == old_body)
        return True
    except UpdateError as exc:
        if error_code(exc) == CONDITION_FAILED:
            return False
        raise


def count_once(pk: str, record_sk: str, prefix: str, subscriber_id: str, at: str, expires_at: datetime) -> bool:
    """One transaction: the resident's item `<prefix><subscriber>` (only if new) and +1 on the
    record's tally. False when the resident was counted already; NotFound when there is no record."""
    def build(tx: transact.Transaction) -> None:
        tx.put("resident", NeighbourhoodModel(pk, f"{prefix}{subscriber_id}", subscriber_id=subscriber_id,
                                              updated_at=at, expires_at=expires_at),
               condition=NeighbourhoodModel.pk.does_not_exist())
        tx.update("tally", NeighbourhoodModel(pk, record_sk), actions=[NeighbourhoodModel.tally.add(1)],
                  condition=NeighbourhoodModel.pk.exists())

    try:
        transact.run(build, via=NeighbourhoodModel)
        return True
    except transact.ConditionsFailed as failed:
        if failed.of("resident") is not None:
            return False
        raise NotFound() from failed  # the counted record does not exist


def counted(pk: str, prefix: str) -> Iterator[str]:
    """The subscriber ids counted under `pk` (paginated Query)."""
    for row in NeighbourhoodModel.query(pk, NeighbourhoodModel.sk.startswith(prefix)):
        if row.subscriber_id:
            yield row.subscriber_id
