"""Residents' trust: ratings, pulses and their counts (the only DynamoDB code for them).

Items in the neighbourhoods table (models/neighbourhoods.py):
- `rating#<conversation>` / `<target>`: one resident's rating of one team answer (or close):
  `subscriber_id`, `body` = the rating (for the resident's own view) and where it counts (the
  conversation's team and area: nothing that identifies more), TTL with the conversation;
- `pulse#<id>` / `pulse`: a pulse (public: the question, its areas, the sample, `tally` = sent,
  `state` = its delivery: queued, sending, sent; `updated_at` = the delivery's last progress);
- `pulse#<id>` / `sent#<subscriber>`: the pulse reached this resident (`subscriber_id`, `body` =
  where the answer counts: area, team, inbox key); `tally` = 1 once answered. Never the answer.
Rating and sent items carry `subscriber_id`, so erasure deletes them with the resident's other
items of the table (index `by_subscriber`, `store.priorities.erase_subscriber`).

The answers themselves are counter items in the stats table (`domain/trust.count_keys`). A rating's
come from the table's stream (store/rating_stream.py, app.py's `rating_counter`): `rate` writes the
rating item once (a second rating of the target writes nothing) and its access-log entry; erasing
or expiring the item changes no count. A pulse answer's are added in the same transaction as the
answered mark.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import msgspec
from pynamodb.exceptions import UpdateError

from chalicelib.domain.access import AccessRecord
from chalicelib.domain.pulses import QUEUED, SENDING, SENT, PulseState
from chalicelib.domain.trust import Pulse, PulseSent, Rating
from chalicelib.ports import InboxCopy
from chalicelib.store import access_log, transact
from chalicelib.store import neighbourhood_items as items
from chalicelib.store import subscribers as subscriber_store
from chalicelib.store.errors import error_code, translate_store_errors
from chalicelib.store.models import NeighbourhoodModel, StatCounterModel

PULSE = "pulse"
RATING_PREFIX = "rating#"


class _RatingBody(msgspec.Struct):
    answered: str
    satisfaction: int
    rated_at: str
    team: str = ""  # where it counts (absent on ratings from before the stream counted them)
    area_id: str | None = None


class _SentBody(msgspec.Struct):
    area_id: str
    team: str
    inbox_key: str


def _add_counts(tx: transact.Transaction, counts: Mapping[tuple[str, str], int]) -> None:
    for (key, bucket), delta in sorted(counts.items()):
        tx.update("count", StatCounterModel(key=key, bucket=bucket), actions=[StatCounterModel.contacts.add(delta)])


@translate_store_errors
def rate(rating: Rating, expires_at: datetime, audit: AccessRecord) -> bool:
    """The rating item (only if its target was not rated) and its access-log entry, in one
    transaction; its counts follow from the stream. False (nothing written) when the target was
    rated already."""
    body = msgspec.json.encode(_RatingBody(rating.answered, rating.satisfaction, rating.rated_at, rating.team,
                                           rating.area_id)).decode()

    def build(tx: transact.Transaction) -> None:
        tx.put("rating", NeighbourhoodModel(f"{RATING_PREFIX}{rating.conversation_id}", rating.target, body=body,
                                            subscriber_id=rating.subscriber_id, updated_at=rating.rated_at,
                                            expires_at=expires_at),
               condition=NeighbourhoodModel.pk.does_not_exist())
        tx.put("audit", access_log.to_model(audit), condition=access_log.append_condition())

    try:
        transact.run(build, via=NeighbourhoodModel)
        return True
    except transact.ConditionsFailed as failed:
        if failed.of("rating") is not None:
            return False
        raise


def rating_of(row: NeighbourhoodModel) -> Rating:
    """A rating item -> Rating (the stream's images too)."""
    body = msgspec.json.decode(row.body or "{}", type=_RatingBody)
    return Rating(conversation_id=row.pk.removeprefix(RATING_PREFIX), target=row.sk,
                  subscriber_id=row.subscriber_id or "", answered=body.answered, satisfaction=body.satisfaction,
                  rated_at=body.rated_at, team=body.team, area_id=body.area_id)


@translate_store_errors
def ratings(conversation_id: str, subscriber_id: str) -> list[Rating]:
    """The resident's ratings in a conversation (one Query; a conversation has one owner)."""
    return [r for r in conversation_ratings(conversation_id) if r.subscriber_id == subscriber_id]


@translate_store_errors
def conversation_ratings(conversation_id: str) -> list[Rating]:
    """Every rating item left in a conversation, oldest first (one Query; the recount)."""
    rows = NeighbourhoodModel.query(f"{RATING_PREFIX}{conversation_id}", consistent_read=True)
    return sorted((rating_of(row) for row in rows), key=lambda r: r.rated_at)


def _pulse_model(pulse: Pulse) -> NeighbourhoodModel:
    body = msgspec.json.encode({"id": pulse.id, "question": pulse.question, "areas": list(pulse.areas),
                                "sample": pulse.sample, "created_at": pulse.created_at}).decode()
    return NeighbourhoodModel(f"pulse#{pulse.id}", PULSE, body=body, updated_at=pulse.updated_at or pulse.created_at,
                              tally=pulse.sent, state=pulse.state)


def _pulse(model: NeighbourhoodModel) -> Pulse:
    raw = msgspec.json.decode(model.body or "{}")
    state = model.state if model.state in (QUEUED, SENDING) else SENT  # absent: delivered in the request
    return Pulse(id=raw["id"], question=raw["question"], areas=tuple(raw["areas"]), sample=float(raw["sample"]),
                 created_at=raw["created_at"], sent=int(model.tally or 0), state=state,
                 updated_at=model.updated_at or raw["created_at"])


@translate_store_errors
def create_pulse(pulse: Pulse) -> Pulse | None:
    """Write a new pulse; the stored one when the id exists (None when it was created)."""
    if items.put_if_new(_pulse_model(pulse)):
        return None
    return get_pulse(pulse.id)


@translate_store_errors
def get_pulse(pulse_id: str) -> Pulse | None:
    try:
        return _pulse(NeighbourhoodModel.get(f"pulse#{pulse_id}", PULSE, consistent_read=True))
    except NeighbourhoodModel.DoesNotExist:
        return None


@translate_store_errors
def advance_pulse(pulse_id: str, state: PulseState, added: int, at: str) -> bool:
    """One step of the delivery done: `added` residents more reached, the state moved on (one
    UpdateItem). False (nothing written) when the pulse is unknown or already `sent`."""
    model = NeighbourhoodModel(f"pulse#{pulse_id}", PULSE)
    try:
        model.update(actions=[NeighbourhoodModel.tally.add(added), NeighbourhoodModel.state.set(state),
                              NeighbourhoodModel.updated_at.set(at)],
                     condition=NeighbourhoodModel.state.is_in(QUEUED, SENDING))
        return True
    except UpdateError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise


@translate_store_errors
def unsent(pulse_id: str, subscriber_ids: Sequence[str]) -> list[str]:
    """Those of `subscriber_ids` the pulse has not reached yet (BatchGetItem of their sent items)."""
    wanted = list(dict.fromkeys(subscriber_ids))
    keys = [(f"pulse#{pulse_id}", f"sent#{sid}") for sid in wanted]
    found = {row.sk[len("sent#"):] for row in NeighbourhoodModel.batch_get(keys, attributes_to_get=["pk", "sk"])}
    return [sid for sid in wanted if sid not in found]


@translate_store_errors
def mark_sent(pulse_id: str, sent: Sequence[PulseSent], at: str, expires_at: datetime) -> None:
    """The sent items (BatchWriteItem), after the inbox copies were written."""
    with NeighbourhoodModel.batch_write() as batch:
        for one in sent:
            body = msgspec.json.encode(_SentBody(one.area_id, one.team, one.inbox_key)).decode()
            batch.save(NeighbourhoodModel(f"pulse#{pulse_id}", f"sent#{one.subscriber_id}", body=body,
                                          subscriber_id=one.subscriber_id, updated_at=at, expires_at=expires_at))


@translate_store_errors
def answer_pulse(pulse_id: str, subscriber_id: str, counts: Callable[[PulseSent], Mapping[tuple[str, str], int]],
                 inbox: Callable[[PulseSent], InboxCopy], at: str) -> str:
    """`answered`: the mark, the counts and the answered inbox copy in one transaction;
    `already`: answered before (nothing written); `not_sent`: the pulse never reached them."""
    try:
        row = NeighbourhoodModel.get(f"pulse#{pulse_id}", f"sent#{subscriber_id}", consistent_read=True)
    except NeighbourhoodModel.DoesNotExist:
        return "not_sent"
    if row.tally:
        return "already"
    raw = msgspec.json.decode(row.body or "{}", type=_SentBody)
    sent = PulseSent(subscriber_id=subscriber_id, area_id=raw.area_id, team=raw.team, inbox_key=raw.inbox_key)

    def build(tx: transact.Transaction) -> None:
        tx.update("mark", NeighbourhoodModel(row.pk, row.sk),
                  actions=[NeighbourhoodModel.tally.set(1), NeighbourhoodModel.updated_at.set(at)],
                  condition=NeighbourhoodModel.pk.exists() & NeighbourhoodModel.tally.does_not_exist())
        tx.put("inbox", subscriber_store.inbox_model(inbox(sent)))
        _add_counts(tx, counts(sent))

    try:
        transact.run(build, via=NeighbourhoodModel)
        return "answered"
    except transact.ConditionsFailed:
        return "already"  # answered meanwhile (or erased meanwhile: nothing left to answer for)


@translate_store_errors
def counts(key: str, bucket_from: str, bucket_to: str) -> list[tuple[str, int]]:
    """Counter items of one partition between two buckets (one paginated Query)."""
    rows = StatCounterModel.query(key, StatCounterModel.bucket.between(bucket_from, bucket_to))
    return [(row.bucket, int(row.contacts or 0)) for row in rows]
