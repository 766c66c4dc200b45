"""Delivery records: one per (alert, subscriber), claimed with a conditional write BEFORE any send.

The claim succeeds only if the subscriber has no claim for this message yet (`revision` is lower),
or the claim for this very message is in state `retry` (a recorded transient failure). So a
redelivered SQS batch sends nothing twice, and a retried batch re-sends only what failed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.ports import Claim, Delivery, Held, Wanted
from chalicelib.store import transact
from chalicelib.store.errors import error_code, translate_store_errors, update_if
from chalicelib.store.models import AlertModel, DeliveryModel
from chalicelib.store.transact import Backoff, ConditionsFailed, ConflictPersisted, Transaction

DELIVERY_SHARDS = 64  # see docs/fanout.md: 1M claims in 60 s at 2 WCU each needs > 33 partitions


def shard_of(subscriber_id: str) -> int:
    import zlib

    return zlib.crc32(subscriber_id.encode()) % DELIVERY_SHARDS


def shard_key(alert_id: str, shard: int) -> str:
    return f"{alert_id}#{shard:02d}"


def key(alert_id: str, subscriber_id: str) -> str:
    return shard_key(alert_id, shard_of(subscriber_id))


def _item(alert_id: str, subscriber_id: str) -> DeliveryModel:
    return DeliveryModel(alert_shard=key(alert_id, subscriber_id), subscriber_id=subscriber_id)


def _conn() -> Any:
    return transact.table(DeliveryModel)


@translate_store_errors
def claim(alert_id: str, subscriber_id: str, revision: int, *, state: str, now_text: str,
          expires_at: datetime, release: tuple[str, str] | None = None) -> Claim | None:
    """Claim the (alert, subscriber) delivery of message `revision`; None if already claimed."""
    actions = [
        DeliveryModel.alert_id.set(alert_id),
        DeliveryModel.revision.set(revision),
        DeliveryModel.state.set(state),
        DeliveryModel.claimed_at.set(now_text),
        DeliveryModel.expires_at.set(expires_at),
        DeliveryModel.attempts.add(1),
    ]
    if release:
        actions += [DeliveryModel.release_bucket.set(release[0]), DeliveryModel.release_key.set(release[1])]
    else:
        actions += [DeliveryModel.release_bucket.remove(), DeliveryModel.release_key.remove()]
    condition = (
        DeliveryModel.alert_shard.does_not_exist()
        | (DeliveryModel.revision < revision)
        | ((DeliveryModel.revision == revision) & (DeliveryModel.state == "retry"))
    )
    try:
        response = _conn().update_item(key(alert_id, subscriber_id), subscriber_id, actions=actions, condition=condition,
                                       return_values="ALL_OLD")
    except UpdateError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return None
        raise
    old = response.get("Attributes") or {}
    return Claim(
        subscriber_id=subscriber_id,
        previous_state=old["state"]["S"] if "state" in old else None,
        previous_revision=int(old["revision"]["N"]) if "revision" in old else None,
    )


@translate_store_errors
def mark(alert_id: str, subscriber_id: str, revision: int, state: str) -> None:
    """Record the outcome of a send (retry|gone|failed) for this message only."""
    update_if(_item(alert_id, subscriber_id), [DeliveryModel.state.set(state)], DeliveryModel.revision == revision)


@translate_store_errors
def mark_retry(alert_id: str, subscriber_id: str, revision: int, max_attempts: int) -> bool:
    """A transient failure of this message's send: `retry` while the delivery has been claimed
    fewer than `max_attempts` times, else `failed`. The condition carries the attempt count, so
    no read is needed (the worker's role holds no GetItem on deliveries). True: recorded `retry`."""
    attempts_left = DeliveryModel.attempts.does_not_exist() | (DeliveryModel.attempts < max_attempts)
    if update_if(_item(alert_id, subscriber_id), [DeliveryModel.state.set("retry")],
                 (DeliveryModel.revision == revision) & attempts_left):
        return True
    mark(alert_id, subscriber_id, revision, "failed")
    return False


@translate_store_errors
def audience_page(alert_id: str, shard: int, limit: int, start: dict[str, Any] | None) -> tuple[list[str], dict[str, Any] | None]:
    """Subscribers an alert reached in one shard (its delivery records): an Update's or Cancel's audience."""
    results = DeliveryModel.query(shard_key(alert_id, shard), limit=limit, page_size=limit, last_evaluated_key=start,
                                  attributes_to_get=["alert_shard", "subscriber_id", "state"])
    items = [m.subscriber_id for m in results]  # `gone` ones now have their inbox: still told
    return items, (results.last_evaluated_key if results.last_evaluated_key else None)


@translate_store_errors
def get(alert_id: str, subscriber_id: str) -> Delivery | None:
    try:
        m = DeliveryModel.get(key(alert_id, subscriber_id), subscriber_id, consistent_read=True)
    except DeliveryModel.DoesNotExist:
        return None
    return Delivery(alert_id=m.alert_id, subscriber_id=m.subscriber_id, revision=int(m.revision), state=m.state,
                    attempts=int(m.attempts or 0), claimed_at=m.claimed_at,
                    read_at=m.read_at, expires_at=m.expires_at)


@translate_store_errors
def receipt(alert_id: str, subscriber_id: str, now_text: str) -> bool:
    """Mark read and count it on the alert, atomically; False if it was already read."""

    def build(tx: Transaction) -> None:
        tx.update(
            "delivery", _item(alert_id, subscriber_id),
            actions=[DeliveryModel.read_at.set(now_text)],
            condition=DeliveryModel.alert_shard.exists() & DeliveryModel.read_at.does_not_exist(),
        )
        tx.update("alert", AlertModel(id=alert_id), actions=[AlertModel.read.add(1)])

    try:
        transact.run(build, via=DeliveryModel)
    except ConditionsFailed as cancelled:
        if cancelled.of("delivery") is not None:
            return False
        raise cancelled.error from None
    return True


@translate_store_errors
def held_due(bucket: str, until_key: str) -> list[Held]:
    return [
        Held(alert_id=m.alert_id, subscriber_id=m.subscriber_id, revision=int(m.revision))
        for m in DeliveryModel.by_release.query(bucket, DeliveryModel.release_key <= until_key)
        if m.state == "held"
    ]


@translate_store_errors
def release(alert_id: str, subscriber_id: str, revision: int) -> bool:
    """held -> claimed (so exactly one releaser sends it)."""
    return update_if(
        _item(alert_id, subscriber_id),
        [DeliveryModel.state.set("claimed"), DeliveryModel.release_bucket.remove(), DeliveryModel.release_key.remove()],
        (DeliveryModel.revision == revision) & (DeliveryModel.state == "held"),
    )


@translate_store_errors
def erase_subscriber(subscriber_id: str) -> int:
    keys = list(DeliveryModel.by_subscriber.query(subscriber_id))
    with DeliveryModel.batch_write() as batch:
        for model in keys:
            batch.delete(DeliveryModel(alert_shard=model.alert_shard, subscriber_id=model.subscriber_id))
    return len(keys)


TRANSACTION_ITEMS = 100  # TransactWriteItems limit


@translate_store_errors
def claim_many(alert_id: str, revision: int, wanted: list[Wanted], *,
               now_text: str, expires_at: datetime) -> dict[str, Claim]:
    """Claim many deliveries of message `revision` with TransactWriteItems (100 per call), each
    conditional on being new to this message; those whose condition fails (already claimed, or a
    recorded `retry`) go through `claim` one by one, which also reclaims retries. Returns the
    subscribers claimed now. All-or-nothing per transaction is fine here: a cancelled transaction
    tells which item failed its condition, and the rest are re-submitted."""
    claims: dict[str, Claim] = {}
    individually: list[Wanted] = []
    for offset in range(0, len(wanted), TRANSACTION_ITEMS):
        group = wanted[offset:offset + TRANSACTION_ITEMS]
        individually += _claim_group(alert_id, revision, group, claims, now_text=now_text, expires_at=expires_at)
    for subscriber_id, state, release in individually:
        result = claim(alert_id, subscriber_id, revision, state=state, now_text=now_text,
                       expires_at=expires_at, release=release)
        if result is not None:
            claims[subscriber_id] = result
    return claims


# A group's transaction is re-submitted without the items whose condition failed (at most this
# many rounds); each round's conflicts are retried with jitter, then the rest goes one by one.
CLAIM_ROUNDS = 3
CLAIM_CONFLICT_RETRIES = 5
CLAIM_BACKOFF = Backoff(base=0.02, cap=0.5)


def _claim_group(alert_id: str, revision: int, group: list[Wanted], claims: dict[str, Claim], *,
                 now_text: str, expires_at: datetime) -> list[Wanted]:
    """One group in transactions (store/transact.py); adds what it claimed to `claims` and returns
    the items left for single claims (condition failed, or still conflicting)."""
    first = revision == 0
    individually: list[Wanted] = []
    for _ in range(CLAIM_ROUNDS):
        if not group:
            break
        try:
            transact.run(_claims_builder(alert_id, revision, group, now_text=now_text, expires_at=expires_at),
                         via=DeliveryModel, retries=CLAIM_CONFLICT_RETRIES, backoff=CLAIM_BACKOFF)
        except ConditionsFailed as cancelled:
            group, refused = _split_failed(group, cancelled)
            individually += refused
            continue
        except ConflictPersisted:
            break
        claims.update((sid, Claim(sid, None if first else "claimed", None if first else revision - 1))
                      for sid, _, _ in group)
        group = []
    return individually + group  # still conflicting: fall back to single claims


def _split_failed(group: list[Wanted], cancelled: ConditionsFailed) -> tuple[list[Wanted], list[Wanted]]:
    """(the items to retry as a group, the items whose condition failed: claimed one by one)."""
    failed = {int(reason.label) for reason in cancelled.failed}
    return ([item for i, item in enumerate(group) if i not in failed],
            [item for i, item in enumerate(group) if i in failed])


def _claims_builder(alert_id: str, revision: int, group: list[Wanted], *, now_text: str,
                    expires_at: datetime) -> Callable[[Transaction], None]:
    """Each claim labelled with its position in `group`."""
    first = revision == 0

    def build(tx: Transaction) -> None:
        for position, (subscriber_id, state, release) in enumerate(group):
            actions: list[Action] = [
                DeliveryModel.alert_id.set(alert_id), DeliveryModel.revision.set(revision),
                DeliveryModel.state.set(state), DeliveryModel.claimed_at.set(now_text),
                DeliveryModel.expires_at.set(expires_at), DeliveryModel.attempts.set(1)]
            if release:
                actions += [DeliveryModel.release_bucket.set(release[0]), DeliveryModel.release_key.set(release[1])]
            condition = DeliveryModel.alert_shard.does_not_exist() if first else DeliveryModel.revision < revision
            tx.update(str(position), _item(alert_id, subscriber_id), actions=actions, condition=condition)

    return build
