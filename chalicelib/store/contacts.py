"""Contacts, their amendments and statistics counters.

A create is one TransactWriteItems: the contact (conditional on a new id) and its access-log
entry. A retry of the same id fails the condition and changes nothing. Every statistics counter
and engagement item is derived from the table's stream (store/contact_stream.py, issue 23), by
the transaction machinery below (`Engagement`, `settled`), written there with each batch's sums.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path

from chalicelib.domain import history
from chalicelib.domain.access import AccessRecord
from chalicelib.domain.contact_schemas import Change
from chalicelib.domain.contacts import ContactRecord
from chalicelib.domain.engagement import MEMBER_ATTRIBUTES, Check, MemberMove, optimistic_checks, settle
from chalicelib.ports import ConditionFailed, StoreUnavailable, SubscriberGone, WordHolder
from chalicelib.ports import ContactPage as Page
from chalicelib.store import access_log, transact
from chalicelib.store import subscribers as subscriber_store
from chalicelib.store import words as word_store
from chalicelib.store.errors import translate_store_errors
from chalicelib.store.models import AmendmentModel, ContactModel, StatCounterModel
from chalicelib.store.transact import ConditionsFailed, Transaction

# Each counter is split over shards (chosen by contact id) so concurrent creates on one team and
# day rarely touch the same item; readers sum the shards (still one Query per key).
COUNTER_SHARDS = 8
# Engagement member items that fail their assumed state are settled and the transaction re-run:
# a member's first (or last) contact of a period needs one more round; each race one more.
ENGAGEMENT_ROUNDS = 6
T = TypeVar("T")
MEMBER = "member:"  # label prefix of an engagement member item: member:<position>


def to_model(record: ContactRecord) -> ContactModel:
    return ContactModel(
        id=record.id, kind=record.kind, occurred_at=record.occurred_at, topic=record.topic,
        outcome=record.outcome, tags=list(record.tags), notes=record.notes, author=record.author,
        team=record.team, version=record.version, created_at=record.created_at,
        updated_at=record.updated_at, content_digest=record.content_digest, lat=record.lat,
        lon=record.lon, cell=record.cell, setting=record.setting, platform=record.platform,
        direction=record.direction, thread_ref=record.thread_ref,
        handle_pseudonym=record.handle_pseudonym, area_id=record.area_id,
        expires_at=record.expires_at, author_role=record.author_role, author_rank=record.author_rank,
        conversation_id=record.conversation_id, alert_id=record.alert_id,
        **history.index_attributes(record),  # type: ignore[arg-type]  # str | None attributes, by name
    )


def from_model(model: ContactModel) -> ContactRecord:
    return ContactRecord(
        id=model.id, kind=model.kind, occurred_at=model.occurred_at, topic=model.topic,
        outcome=model.outcome, tags=tuple(model.tags or ()), notes=model.notes,
        author=model.author, team=model.team, version=int(model.version),
        created_at=model.created_at, updated_at=model.updated_at,
        content_digest=model.content_digest,
        lat=float(model.lat) if model.lat is not None else None,
        lon=float(model.lon) if model.lon is not None else None,
        cell=model.cell, setting=model.setting, platform=model.platform,
        direction=model.direction, thread_ref=model.thread_ref,
        handle_pseudonym=model.handle_pseudonym, area_id=model.area_id,
        expires_at=model.expires_at, author_role=model.author_role, author_rank=model.author_rank,
        conversation_id=model.conversation_id, alert_id=model.alert_id,
    )


def counter_shard(contact_id: str) -> int:
    return int(hashlib.sha256(contact_id.encode()).hexdigest()[:8], 16) % COUNTER_SHARDS


class MembersMoved(Exception):
    """Engagement member items were not in the state the write assumed: position -> their state."""

    def __init__(self, states: dict[int, dict[str, int]]) -> None:
        super().__init__("engagement member state moved")
        self.states = states


def _condition(check: Check) -> Condition:
    name, op, threshold = check
    condition: Condition = Path(name) > threshold if op == ">" else (
        Path(name).does_not_exist() | (Path(name) <= threshold))
    return condition


def _member_state(raw: Mapping[str, Any] | None) -> dict[str, int]:
    return {name: int(value["N"]) for name, value in (raw or {}).items()
            if name in MEMBER_ATTRIBUTES and "N" in value}


def _add_numbers(tx: Transaction, label: str, key: str, bucket: str, adds: Mapping[str, int], expires_at: Any,
                 condition: Condition | None = None) -> None:
    """ADD to dynamic (raw path) number attributes of a stats-table item and SET its TTL."""
    actions: list[Any] = [Path(name).add(delta) for name, delta in sorted(adds.items())]
    actions.append(StatCounterModel.expires_at.set(expires_at))
    tx.update(label, StatCounterModel(key=key, bucket=bucket), actions=actions, condition=condition,
              return_values="ALL_OLD" if condition is not None else None)


class Engagement:
    """The engagement part of one transaction (domain/engagement.py): each member item is
    written under the optimistic condition until it fails; then under the state it returned
    (ALL_OLD), with the counter items that state change moves. The contacts stream's aggregator
    (store/contact_stream.py) adds each part's moves through it and commits through `settled`,
    whatever route wrote the contacts (create, batch, amend, conversation messages, alert replies)."""

    def __init__(self, moves: Sequence[MemberMove]) -> None:
        self.moves = list(moves)
        self.states: dict[int, dict[str, int]] = {}

    def add(self, tx: Transaction) -> None:
        counters: dict[tuple[str, str], dict[str, int]] = {}
        expires: dict[tuple[str, str], Any] = {}
        for index, move in enumerate(self.moves):
            if index in self.states:
                checks, changes = settle(self.states[index], move.deltas)
                for item in move.counters:
                    into = counters.setdefault(item, {})
                    expires[item] = move.expires_at
                    for name, delta in changes.items():
                        into[name] = into.get(name, 0) + delta
            else:
                checks = optimistic_checks(move.deltas)
            _add_numbers(tx, f"{MEMBER}{index}", move.key, move.bucket, move.deltas, move.expires_at,
                         functools.reduce(operator.and_, map(_condition, checks)))
        for item, changes in sorted(counters.items()):
            changes = {name: delta for name, delta in changes.items() if delta}
            if changes:
                _add_numbers(tx, "counter", item[0], item[1], changes, expires[item])

    @staticmethod
    def failed(cancelled: ConditionsFailed) -> dict[int, dict[str, int]]:
        """Member items cancelled by their condition -> the state they returned."""
        return {int(r.label.removeprefix(MEMBER)): _member_state(r.item)
                for r in cancelled.failed if r.label.startswith(MEMBER)}


def settled(run: Callable[[], T], engagement: Engagement) -> T:
    """`run()` (one transaction holding `engagement`) again, each time it raises MembersMoved,
    under the member states DynamoDB returned: at most ENGAGEMENT_ROUNDS rounds."""
    for _ in range(ENGAGEMENT_ROUNDS):
        try:
            return run()
        except MembersMoved as moved:
            engagement.states.update(moved.states)
    raise StoreUnavailable("engagement counters kept moving")


def members_moved(cancelled: ConditionsFailed) -> MembersMoved | None:
    """The cancellation as MembersMoved when only engagement member items failed (the
    transaction is settled and re-run, not refused)."""
    if any(not r.label.startswith(MEMBER) for r in cancelled.failed):
        return None
    moved = Engagement.failed(cancelled)
    return MembersMoved(moved) if moved else None


def add_log_entry(tx: Transaction, record: ContactRecord, condition: Condition | None = None) -> None:
    """A new contact of the engagement log: the item (labelled `contact`, under `condition`). Its
    statistics counters and distinct-staff items follow from the contacts stream (a conversation's
    figures from the conversations stream). The one way any route puts a contact in the log."""
    tx.put("contact", to_model(record), condition=condition,
           return_values="ALL_OLD" if condition is not None else None)


def _run(build: Callable[[Transaction], None]) -> None:
    """Commit a transaction (transact.run); ConditionFailed if the item labelled `contact` failed
    its condition, SubscriberGone if the subscriber check did."""
    try:
        transact.run(build, via=ContactModel)
    except ConditionsFailed as cancelled:
        if (contact := cancelled.of("contact")) is not None:
            raise ConditionFailed(from_model(ContactModel.from_raw_data(contact.item)) if contact.item else None) from cancelled
        if cancelled.of("subscriber") is not None:
            raise SubscriberGone() from cancelled
        raise cancelled.error from None


@translate_store_errors
def create(record: ContactRecord, audit: AccessRecord, words: WordHolder | None = None) -> Literal["created"]:
    """Write a new contact and its access-log entry in one round trip (counters: the stream).

    ConditionFailed(existing) if the id exists; nothing is written then. With `words` (a
    resident's reply), the same transaction indexes the contact as holding that resident's
    words and checks the resident still exists and is not being erased (else SubscriberGone).
    """
    audit_model = access_log.to_model(audit)

    def build(tx: Transaction) -> None:
        add_log_entry(tx, record, condition=ContactModel.id.does_not_exist())
        tx.put("audit", audit_model, condition=access_log.append_condition())
        if words is not None:
            item, condition = subscriber_store.accepts_words_condition(words.subscriber_id)
            tx.check("subscriber", type(item), item.id, condition)
            tx.put("words", word_store.holder_model(words))

    _run(build)
    return "created"


# Contact fields that can hold a resident's words (a reply's text, and what an amendment of it
# recorded); erasure removes them. Topic, time, team and counters stay.
WORD_FIELDS = ("notes", "handle_pseudonym")
AMENDMENTS_PER_REDACTION = 90


def _redacted_changes(changes_json: str) -> str | None:
    """The amendment's change list with word fields blanked; None if it had none."""
    changes = json.loads(changes_json)
    touched = False
    for change in changes:
        if change.get("field") in WORD_FIELDS and (change.get("old") is not None or change.get("new") is not None):
            change["old"] = change["new"] = None
            change["erased"] = True
            touched = True
    return json.dumps(changes) if touched else None


@translate_store_errors
def redact_words(contact_id: str, erased_digest: str, audit: AccessRecord) -> bool:
    """Erasure of a resident's words kept in a contact, in one transaction: the contact loses its
    words (notes, resident pseudonym; the content digest is replaced, as it was keyed on the
    words), amendments lose the word fields they recorded, and the access log gets `audit`.
    The version moves on, so a PATCH prepared before the erasure cannot write the words back.
    No amendment is added (the erasure is the access-log entry). False: the contact is gone."""
    amended = [(m, c) for m in AmendmentModel.query(contact_id, consistent_read=True)
               if (c := _redacted_changes(m.changes)) is not None]
    # A transaction holds 100 items: amendments past the first 90 are redacted just before it.
    for amendment, changes in amended[AMENDMENTS_PER_REDACTION:]:
        AmendmentModel(contact_id=contact_id, version=amendment.version).update(
            actions=[AmendmentModel.changes.set(changes)])
    amended = amended[:AMENDMENTS_PER_REDACTION]

    def build(tx: Transaction) -> None:
        tx.update("contact", ContactModel(id=contact_id), condition=ContactModel.id.exists(), actions=[
            ContactModel.notes.remove(), ContactModel.handle_pseudonym.remove(),
            ContactModel.content_digest.set(erased_digest), ContactModel.version.add(1),
        ])
        for amendment, changes in amended:
            tx.update("amendment", AmendmentModel(contact_id=contact_id, version=amendment.version),
                      actions=[AmendmentModel.changes.set(changes)])
        tx.put("audit", access_log.to_model(audit), condition=access_log.append_condition())

    try:
        _run(build)
    except ConditionFailed:
        return False  # expired (TTL) or never written: nothing left to redact
    return True


@translate_store_errors
def get(contact_id: str) -> ContactRecord | None:
    try:
        return from_model(ContactModel.get(contact_id, consistent_read=True))
    except ContactModel.DoesNotExist:
        return None


@translate_store_errors
def amend(
    old: ContactRecord,
    new: ContactRecord,
    changes: list[Change],
    audit: AccessRecord,
) -> None:
    """Replace the contact if its version is still `old.version`; keep the amendment. The counters
    move from the stream (old image -1, new image +1)."""
    model = to_model(new)
    amendment = AmendmentModel(
        contact_id=new.id, version=new.version, at=new.updated_at, by=audit.actor,
        by_role=audit.role,
        changes=json.dumps([{"field": c.field, "old": c.old, "new": c.new} for c in changes]),
        expires_at=new.expires_at,
    )
    audit_model = access_log.to_model(audit)

    def build(tx: Transaction) -> None:
        tx.put("contact", model, condition=ContactModel.version == old.version)
        tx.put("amendment", amendment, condition=AmendmentModel.version.does_not_exist())
        tx.put("audit", audit_model, condition=access_log.append_condition())

    _run(build)


@translate_store_errors
def amendments(contact_id: str) -> list[dict[str, Any]]:
    return [
        {
            "version": int(m.version), "at": m.at, "by": m.by, "by_role": m.by_role,
            "changes": json.loads(m.changes),
        }
        for m in AmendmentModel.query(contact_id, scan_index_forward=True, consistent_read=True)
    ]


@translate_store_errors
def list_contacts(
    *,
    author: str | None = None,
    team: str | None = None,
    occurred_from: str | None,
    occurred_to: str | None,
    kind: str | None,
    limit: int,
    position: dict[str, Any] | None,
) -> Page:
    """Newest first, by author (own contacts) or by team (a supervisor's view)."""
    index, hash_key = (ContactModel.by_author, author) if author else (ContactModel.by_team, team)
    range_condition: Condition | None
    if occurred_from and occurred_to:
        range_condition = ContactModel.occurred_at.between(occurred_from, occurred_to)
    elif occurred_from:
        range_condition = ContactModel.occurred_at >= occurred_from
    elif occurred_to:
        range_condition = ContactModel.occurred_at <= occurred_to
    else:
        range_condition = None
    results = index.query(
        hash_key,
        range_key_condition=range_condition,
        filter_condition=(ContactModel.kind == kind) if kind else None,
        scan_index_forward=False,
        limit=limit,
        page_size=limit,
        last_evaluated_key=position,
    )
    records = [from_model(m) for m in results]
    return Page(records=records, position=results.last_evaluated_key if len(records) == limit else None)


@translate_store_errors
def counters(key: str, bucket_from: str, bucket_to: str) -> list[tuple[str, int]]:
    """All counter buckets (`day|value`) of one key in a range, shards summed (one Query, paginated)."""
    totals: dict[str, int] = {}
    for m in StatCounterModel.query(key, StatCounterModel.bucket.between(bucket_from, bucket_to + "\uffff")):
        bucket = m.bucket.rsplit("|", 1)[0]
        totals[bucket] = totals.get(bucket, 0) + int(m.contacts)
    return sorted(totals.items())
