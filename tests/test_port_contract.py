"""The port contract: the same port-level cases against the in-memory fakes (tests/fakes.py) and
against the DynamoDB adapters (chalicelib/store on DynamoDB Local). If the two disagree, a use-case
test on the fakes proves nothing, so this suite fails.

Each case gets `ports` (a Repositories) for one backend; ids are fresh per test, so the DynamoDB
half shares the session's tables safely. The fake half is marked `no_database` (`make unit` runs
it); `make test` runs both. Times are whole seconds: DynamoDB keeps TTL attributes as epoch seconds.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from chalicelib.clock import to_rfc3339
from chalicelib.domain import conversations as rules
from chalicelib.domain import stats_keys, stream_counts
from chalicelib.domain.access import AccessRecord
from chalicelib.domain.alerts import AlertRecord, Content, PendingUpdate, StoredArea
from chalicelib.domain.areas import AreaRecord
from chalicelib.domain.contact_channels import ContactChannel
from chalicelib.domain.contact_schemas import Change
from chalicelib.domain.contacts import ContactRecord
from chalicelib.domain.conversations import Conversation, Message
from chalicelib.domain.shapes import Circle, LatLon, Polygon
from chalicelib.domain.stream_counts import ContactChange, ConversationChange
from chalicelib.domain.subscribers import Preferences, SubscriberRecord
from chalicelib.ports import (
    ConditionFailed,
    ConversationExists,
    InboxCopy,
    MessageExists,
    NotFound,
    Repositories,
    ResidentGone,
    StaleAlert,
    SubscriberGone,
    VersionChanged,
    Wanted,
    WordHolder,
    Write,
)
from tests.fakes import fake_repositories

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NOW_TEXT = to_rfc3339(NOW)
KEEP = NOW + timedelta(days=30)


@pytest.fixture(params=[pytest.param("fake", marks=pytest.mark.no_database), "dynamodb"])
def ports(request: pytest.FixtureRequest) -> Repositories:
    if request.param == "fake":
        return fake_repositories()
    from chalicelib.services import dynamodb_repositories

    return dynamodb_repositories()


def new_id() -> str:
    return str(uuid.uuid4())


def walk(fetch: Any, limit: int) -> list[list[Any]]:
    """Every page of a paged read: fetch(limit, position) -> (items, position)."""
    pages, position = [], None
    for _ in range(50):
        items, position = fetch(limit, position)
        pages.append(list(items))
        if position is None:
            return pages
    raise AssertionError("paging never ended")


# --- records -----------------------------------------------------------------------------------


def contact(**changes: Any) -> ContactRecord:
    record = ContactRecord(
        id=new_id(), kind="street", occurred_at="2026-11-30T09:00:00Z", topic="burglary", outcome="advice_given",
        tags=("door-knock",), author=f"pc-{new_id()[:8]}", team=f"team-{new_id()[:8]}", version=1,
        created_at=NOW_TEXT, updated_at=NOW_TEXT, content_digest="digest-1", expires_at=KEEP,
        notes="Spoke to the owner.", lat=51.5, lon=-0.12, setting="patrol", author_role="officer",
    )
    return replace(record, **changes)


def audit(actor: str = "pc-1", action: str = "contact.create", at: datetime = NOW) -> AccessRecord:
    return AccessRecord(actor=actor, role="officer", action=action, at=at, request_id="r-1", record_id="x")


def subscriber(**changes: Any) -> SubscriberRecord:
    record = SubscriberRecord(
        id=new_id(), channel={"type": "inbox"}, preferences=Preferences(language="en-GB"), areas=(), cells=(),
        created_at=NOW_TEXT, updated_at=NOW_TEXT, expires_at=KEEP, secret="c2VjcmV0",
    )
    return replace(record, **changes)


def alert(**changes: Any) -> AlertRecord:
    record = AlertRecord(
        id=new_id(), team=f"team-{new_id()[:8]}", author="sgt-1", status="draft", revision=0, msg_type="Alert",
        content=Content(headline="Burglaries", description="Three overnight.", category="Security",
                        severity="Moderate", urgency="Expected", certainty="Likely", language="en-GB"),
        area=StoredArea(shape=Circle(center=LatLon(lat=51.5, lon=-0.12), radius_m=500), name="Custom area"),
        cells=("87195da49ffffff",), expires="2026-11-30T18:00:00Z", created_at=NOW_TEXT, updated_at=NOW_TEXT,
    )
    return replace(record, **changes)


def published(record: AlertRecord, at: str = NOW_TEXT) -> AlertRecord:
    return replace(record, status="published", messages=((f"beatline-{record.id}", at, "Alert"),), updated_at=at)


def conversation(**changes: Any) -> Conversation:
    conv = Conversation(
        id=new_id(), team=f"team-{new_id()[:8]}", owner=new_id(), area_id=None, alert_id=None, topic="other",
        status="waiting", created_at=NOW_TEXT, last_message_at=NOW_TEXT, version=1, content_digest="c-1",
        expires_at=KEEP, waiting_since=NOW_TEXT,
    )
    return replace(conv, **changes)


def message(conv: Conversation, seq: int = 1, sender: str = "resident", **changes: Any) -> Message:
    record = Message(conversation_id=conv.id, id=new_id(), seq=seq, sender=sender, text=f"message {seq}",
                     sent_at=NOW_TEXT, contact_id=new_id(), content_digest=f"m-{seq}", expires_at=KEEP)
    return replace(record, **changes)


def write(conv: Conversation, msg: Message, *, words: WordHolder | None = None,
          inbox: InboxCopy | None = None) -> Write:
    return Write(
        contact=contact(id=msg.contact_id, kind="online", platform="beatline", direction="inbound", team=conv.team,
                        notes=None, lat=None, lon=None, setting=None, author="system:beatline-residents"),
        audit=audit(action="conversation.message"), inbox=inbox, words=words,
    )


# --- contacts ----------------------------------------------------------------------------------


def test_contact_create_is_conditional_and_the_refusal_carries_the_existing_record(ports: Repositories) -> None:
    record = contact()
    assert ports.contacts.create(record, audit()) == "created"
    assert ports.contacts.get(record.id) == record
    with pytest.raises(ConditionFailed) as again:
        ports.contacts.create(replace(record, topic="fraud_scams"), audit())
    assert again.value.existing == record
    assert ports.contacts.get(record.id) == record
    assert ports.contacts.get(new_id()) is None


def test_contact_amend_is_conditional_on_the_version_read(ports: Repositories) -> None:
    record = contact()
    ports.contacts.create(record, audit())
    amended = replace(record, topic="fraud_scams", version=2, updated_at="2026-11-30T12:05:00Z")
    changes = [Change(field="topic", old="burglary", new="fraud_scams")]
    ports.contacts.amend(record, amended, changes, audit(action="contact.amend"))
    assert ports.contacts.get(record.id) == amended
    with pytest.raises(ConditionFailed):  # prepared from version 1, which is gone
        ports.contacts.amend(record, replace(amended, topic="other"), changes, audit(action="contact.amend"))
    assert ports.contacts.get(record.id) == amended
    (entry,) = ports.contacts.amendments(record.id)
    assert (entry["version"], entry["changes"]) == (2, [{"field": "topic", "old": "burglary", "new": "fraud_scams"}])


def change(old: ContactRecord | None, new: ContactRecord) -> ContactChange:
    """A contacts-stream record: INSERT (no old image) or MODIFY."""
    return ContactChange(event_id=new_id(), event="MODIFY" if old else "INSERT", old=old, new=new,
                         at=NOW_TEXT)


def stream(ports: Repositories, *changes: ContactChange) -> list[str]:
    """The changes as one stream batch, written part by part through the port: the eventIDs
    that had been applied before (their part wrote nothing)."""
    replayed: list[str] = []
    for part in stream_counts.plan_parts(changes, member, timedelta(days=730)):
        replayed += ports.contact_stream.apply_part(part, NOW)
    return replayed


def test_contact_counters_come_from_the_stream_exactly_once_and_move_with_an_amendment(ports: Repositories) -> None:
    team = f"team-{new_id()[:8]}"
    first, second = contact(team=team), contact(team=team)
    for record in (first, second):
        ports.contacts.create(record, audit())
    key = stats_keys.counter_pk(stats_keys.team_scope(team), "topic")
    assert ports.contacts.counters(key, "2026-11-30", "2026-11-30") == []  # the write path writes no counter
    batch = [change(None, first), change(None, second)]
    assert stream(ports, *batch) == []
    assert ports.contacts.counters(key, "2026-11-30", "2026-11-30") == [("2026-11-30|burglary", 2)]
    assert sorted(stream(ports, *batch)) == sorted(c.event_id for c in batch)  # a replay writes nothing
    assert ports.contacts.counters(key, "2026-11-30", "2026-11-30") == [("2026-11-30|burglary", 2)]
    amended = replace(first, topic="fraud_scams", version=2)
    ports.contacts.amend(first, amended, [], audit(action="contact.amend"))
    moved = change(first, amended)
    # A part holding a record applied before writes nothing (the use case plans again without it).
    assert stream(ports, batch[1], moved) == [batch[1].event_id]
    assert ports.contacts.counters(key, "2026-11-30", "2026-11-30") == [("2026-11-30|burglary", 2)]
    assert stream(ports, moved) == []
    assert stream(ports, moved) == [moved.event_id]
    assert ports.contacts.counters(key, "2026-11-30", "2026-11-30") == [
        ("2026-11-30|burglary", 1), ("2026-11-30|fraud_scams", 1)]


def test_conversation_figures_come_from_the_stream_exactly_once(ports: Repositories) -> None:
    """The conversations stream's ledger: a part's sums and markers at once, a replay nothing,
    `as_of` forward only (the fake and store/stream_ledger.py agree)."""
    team = f"team-{new_id()[:8]}"
    conv = conversation(team=team, created_at=NOW_TEXT, waiting_since=NOW_TEXT, last_message_at=NOW_TEXT,
                        changed_at=NOW_TEXT)
    answered = rules.after_message(conv, "team", "2026-11-30T12:30:00Z")
    batch = [ConversationChange(new_id(), "INSERT", None, conv, NOW_TEXT),
             ConversationChange(new_id(), "MODIFY", conv, answered, "2026-11-30T12:30:00Z")]
    key = rules.figures_pk(team, "day")
    (part,) = stream_counts.plan_conversation_parts(batch)
    assert ports.conversation_stream.apply_part(part, NOW) == []
    assert sorted(ports.conversation_stream.apply_part(part, NOW)) == sorted(c.event_id for c in batch)
    assert dict(ports.conversations.figures(key, "2026-11-30|", "2026-11-30|\uffff")) == {
        f"2026-11-30|{team}|opened": 1, f"2026-11-30|{team}|answered": 1, f"2026-11-30|{team}|answered_wait": 1,
        f"2026-11-30|{team}|within_standard": 1, f"2026-11-30|{team}|frt:16": 1}
    ports.conversation_stream.advance_as_of("2999-01-01T00:00:00Z")
    ports.conversation_stream.advance_as_of("2026-11-30T12:30:00Z")  # never back
    assert ports.conversation_stream.as_of() == "2999-01-01T00:00:00Z"


def test_contact_list_pages_newest_first_with_a_position_while_a_page_is_full(ports: Repositories) -> None:
    author = f"pc-{new_id()[:8]}"
    records = [contact(author=author, occurred_at=f"2026-11-30T0{hour}:00:00Z") for hour in range(5)]
    for record in records:
        ports.contacts.create(record, audit())

    def fetch(limit: int, position: Any) -> Any:
        page = ports.contacts.list_contacts(author=author, occurred_from=None, occurred_to=None, kind=None,
                                            limit=limit, position=position)
        return [r.id for r in page.records], page.position

    assert walk(fetch, 2) == [[records[4].id, records[3].id], [records[2].id, records[1].id], [records[0].id]]
    page = ports.contacts.list_contacts(author=author, occurred_from="2026-11-30T01:00:00Z",
                                        occurred_to="2026-11-30T02:00:00Z", kind=None, limit=10, position=None)
    assert [r.id for r in page.records] == [records[2].id, records[1].id] and page.position is None


def test_a_reply_contact_is_refused_for_a_resident_being_erased_and_nothing_is_written(ports: Repositories) -> None:
    resident = subscriber()
    ports.subscribers.create(resident)
    holder = WordHolder(subscriber_id=resident.id, owner=f"res_{new_id()}", table="contacts", record_id="", expires_at=KEEP)
    kept = contact()
    ports.contacts.create(kept, audit(), words=replace(holder, record_id=kept.id))
    assert list(ports.words.refs(holder.owner)) == [f"contacts#{kept.id}"]
    ports.subscribers.mark_erasing(resident.id)
    refused = contact()
    with pytest.raises(SubscriberGone):
        ports.contacts.create(refused, audit(), words=replace(holder, record_id=refused.id))
    assert ports.contacts.get(refused.id) is None
    assert list(ports.words.refs(holder.owner)) == [f"contacts#{kept.id}"]
    ports.words.forget(holder.owner, [f"contacts#{kept.id}"])
    assert list(ports.words.refs(holder.owner)) == []
    assert ports.words.split_ref(f"contacts#{kept.id}") == (ports.words.CONTACTS, kept.id)


def test_redacting_words_removes_them_from_the_contact_and_its_amendments(ports: Repositories) -> None:
    record = contact(kind="online", platform="facebook", direction="inbound", handle_pseudonym="rsp_x",
                     lat=None, lon=None, setting=None)
    ports.contacts.create(record, audit())
    amended = replace(record, notes="New words.", version=2)
    ports.contacts.amend(record, amended, [Change(field="notes", old=record.notes, new="New words.")],
                         audit(action="contact.amend"))
    assert ports.contacts.redact_words(record.id, "erased-digest", audit(action="contact.erase_words")) is True
    after = ports.contacts.get(record.id)
    assert after is not None
    assert (after.notes, after.handle_pseudonym, after.content_digest, after.version) == (None, None, "erased-digest", 3)
    (entry,) = ports.contacts.amendments(record.id)
    assert entry["changes"] == [{"field": "notes", "old": None, "new": None, "erased": True}]
    assert ports.contacts.redact_words(new_id(), "d", audit()) is False


# --- areas -------------------------------------------------------------------------------------


def test_area_put_says_whether_it_was_new_and_pages(ports: Repositories) -> None:
    ring = [[-0.13, 51.49], [-0.11, 51.49], [-0.11, 51.51], [-0.13, 51.51], [-0.13, 51.49]]
    area = AreaRecord(id=new_id(), name="Beat 7", team="north", geometry=Polygon(coordinates=[ring]),
                      updated_at=NOW_TEXT)
    assert ports.areas.put(area) is True
    assert ports.areas.put(replace(area, name="Renamed")) is False
    assert ports.areas.get(area.id) == replace(area, name="Renamed")
    assert ports.areas.get(new_id()) is None
    seen = [a.id for page in walk(ports.areas.page, 100) for a in page]
    assert area.id in seen and len(seen) == len(set(seen))


# --- alerts ------------------------------------------------------------------------------------


def test_alert_replace_is_conditional_on_the_state_read_and_keeps_figures(ports: Repositories) -> None:
    record = alert()
    ports.alerts.create(record)
    stored = ports.alerts.get(record.id)
    assert stored == replace(record, figures={"targeted": 0, "sent": 0, "failed": 0, "read": 0, "responses": 0})
    ports.alerts.add_figures(record.id, {"targeted": 3, "sent": 2, "unknown": 5})
    live = published(record)
    ports.alerts.replace(record, live)
    with pytest.raises(StaleAlert):  # a second approval of the same draft
        ports.alerts.replace(record, published(record, at="2026-11-30T12:01:00Z"))
    after = ports.alerts.get(record.id)
    assert after is not None and after.status == "published" and after.messages == live.messages
    assert (after.figures["targeted"], after.figures["sent"]) == (3, 2)
    assert ports.alerts.get(new_id()) is None


def test_an_approval_is_bound_to_the_pending_proposal_it_read(ports: Repositories) -> None:
    record = published(alert())
    ports.alerts.create(record)
    proposal = PendingUpdate(id=new_id(), content=record.content, expires=record.expires, proposed_by="sgt-2",
                             proposed_at=NOW_TEXT)
    proposed = replace(record, pending=proposal)
    ports.alerts.replace(record, proposed)
    replaced = replace(proposed, pending=msgspec.structs.replace(proposal, id=new_id()))
    ports.alerts.replace(proposed, replaced)
    with pytest.raises(StaleAlert):
        ports.alerts.replace(proposed, replace(proposed, pending=None, revision=1))
    ports.alerts.replace(replaced, replace(replaced, pending=None, revision=1))
    assert ports.alerts.get(record.id).revision == 1  # type: ignore[union-attr]


def test_alert_team_page_filters_by_status_at_now_and_fills_the_page(ports: Repositories) -> None:
    team = f"team-{new_id()[:8]}"
    draft = alert(team=team, created_at="2026-11-30T10:00:00Z")
    live = published(alert(team=team, created_at="2026-11-30T10:01:00Z"))
    expired = published(alert(team=team, created_at="2026-11-30T10:02:00Z", expires="2026-11-30T11:00:00Z"))
    for record in (draft, live, expired):
        ports.alerts.create(record)

    def ids(status: str | None, limit: int = 10) -> list[str]:
        records, _ = ports.alerts.team_page(team, status=status, now_text=NOW_TEXT, limit=limit, start=None)
        return [r.id for r in records]

    assert ids(None) == [expired.id, live.id, draft.id]
    assert ids("published") == [live.id]
    assert ids("expired") == [expired.id]
    assert ids("draft") == [draft.id]
    assert ids("published", limit=1) == [live.id]  # PynamoDB reads on past the filtered-out ones
    pages = walk(lambda limit, start: ports.alerts.team_page(team, status=None, now_text=NOW_TEXT, limit=limit,
                                                              start=start), 2)
    assert [[r.id for r in page] for page in pages] == [[expired.id, live.id], [draft.id]]


def test_alert_cells_and_the_public_feed(ports: Repositories) -> None:
    record = published(alert(cells=(f"87{new_id()[:13]}",)))
    ports.alerts.create(record)
    ports.alerts.put_cells(record.id, record.cells, record.expires)
    assert ports.alerts.alerts_in_cell(record.cells[0], NOW) == [record.id]
    assert ports.alerts.alerts_in_cell(record.cells[0], datetime(2026, 11, 30, 18, 0, tzinfo=UTC)) == []
    assert [a.id for a in ports.alerts.many([record.id, record.id, new_id()])] == [record.id]
    assert record.id in [a.id for a in ports.alerts.public_live(NOW, None, limit=1000)]
    ports.alerts.delete_cells(record.id, record.cells)
    assert ports.alerts.alerts_in_cell(record.cells[0], NOW) == []


# --- deliveries --------------------------------------------------------------------------------


def test_a_delivery_is_claimed_exactly_once_per_message_and_a_retry_is_reclaimed(ports: Repositories) -> None:
    alert_id, sub = new_id(), new_id()
    first = ports.deliveries.claim(alert_id, sub, 0, state="claimed", now_text=NOW_TEXT, expires_at=KEEP)
    assert first is not None and (first.previous_state, first.previous_revision) == (None, None)
    assert ports.deliveries.claim(alert_id, sub, 0, state="claimed", now_text=NOW_TEXT, expires_at=KEEP) is None
    ports.deliveries.mark(alert_id, sub, 0, "retry")
    again = ports.deliveries.claim(alert_id, sub, 0, state="claimed", now_text=NOW_TEXT, expires_at=KEEP)
    assert again is not None and again.previous_state == "retry"
    ports.deliveries.mark(alert_id, sub, 5, "gone")  # another message's outcome: not this one's
    update = ports.deliveries.claim(alert_id, sub, 1, state="claimed", now_text=NOW_TEXT, expires_at=KEEP)
    assert update is not None and (update.previous_state, update.previous_revision) == ("claimed", 0)
    record = ports.deliveries.get(alert_id, sub)
    assert record is not None
    assert (record.revision, record.state, record.attempts, record.read_at, record.expires_at) == (
        1, "claimed", 3, None, KEEP)
    assert ports.deliveries.get(alert_id, new_id()) is None


def test_a_retry_is_recorded_until_the_attempts_are_spent_then_failed(ports: Repositories) -> None:
    alert_id, sub = new_id(), new_id()
    for attempt in range(1, 4):
        assert ports.deliveries.claim(alert_id, sub, 0, state="claimed", now_text=NOW_TEXT, expires_at=KEEP)
        assert ports.deliveries.mark_retry(alert_id, sub, 0, 3) is (attempt < 3)
    record = ports.deliveries.get(alert_id, sub)
    assert record is not None and (record.state, record.attempts) == ("failed", 3)
    assert ports.deliveries.mark_retry(alert_id, sub, 1, 3) is False  # another message's: untouched
    assert ports.deliveries.mark_retry(alert_id, new_id(), 0, 3) is False  # never claimed
    record = ports.deliveries.get(alert_id, sub)
    assert record is not None and record.state == "failed"


def test_claim_many_claims_new_deliveries_once_and_reclaims_retries(ports: Repositories) -> None:
    alert_id = new_id()
    subs = [new_id() for _ in range(5)]
    wanted: list[Wanted] = [(s, "claimed", None) for s in subs]
    claims = ports.deliveries.claim_many(alert_id, 0, wanted, now_text=NOW_TEXT, expires_at=KEEP)
    assert sorted(claims) == sorted(subs) and all(c.previous_state is None for c in claims.values())
    ports.deliveries.mark(alert_id, subs[0], 0, "retry")
    again = ports.deliveries.claim_many(alert_id, 0, wanted, now_text=NOW_TEXT, expires_at=KEEP)
    assert list(again) == [subs[0]] and again[subs[0]].previous_state == "retry"
    update = ports.deliveries.claim_many(alert_id, 1, wanted, now_text=NOW_TEXT, expires_at=KEEP)
    assert sorted(update) == sorted(subs)


def test_a_read_receipt_counts_once(ports: Repositories) -> None:
    record = alert()
    ports.alerts.create(record)
    sub = new_id()
    ports.deliveries.claim(record.id, sub, 0, state="claimed", now_text=NOW_TEXT, expires_at=KEEP)
    assert ports.deliveries.receipt(record.id, sub, NOW_TEXT) is True
    assert ports.deliveries.receipt(record.id, sub, "2026-11-30T12:09:00Z") is False
    assert ports.deliveries.receipt(record.id, new_id(), NOW_TEXT) is False  # never delivered
    assert ports.deliveries.get(record.id, sub).read_at == NOW_TEXT  # type: ignore[union-attr]
    assert ports.alerts.get(record.id).figures["read"] == 1  # type: ignore[union-attr]


def test_a_held_delivery_is_due_by_its_release_key_and_released_once(ports: Repositories) -> None:
    alert_id, sub = new_id(), new_id()
    bucket = f"2026-11-30T{new_id()[:4]}"  # a bucket of this test's own
    ports.deliveries.claim(alert_id, sub, 0, state="held", now_text=NOW_TEXT, expires_at=KEEP,
                           release=(bucket, f"2026-11-30T13:00:00Z#{alert_id}#{sub}"))
    assert ports.deliveries.held_due(bucket, "2026-11-30T12:59:59Z#~") == []
    (held,) = ports.deliveries.held_due(bucket, "2026-11-30T13:00:00Z#~")
    assert (held.alert_id, held.subscriber_id, held.revision) == (alert_id, sub, 0)
    assert ports.deliveries.release(alert_id, sub, 0) is True
    assert ports.deliveries.release(alert_id, sub, 0) is False
    assert ports.deliveries.held_due(bucket, "2026-11-30T13:00:00Z#~") == []
    assert ports.deliveries.get(alert_id, sub).state == "claimed"  # type: ignore[union-attr]


def test_an_audience_is_paged_per_shard_and_erasure_removes_a_subscribers_deliveries(ports: Repositories) -> None:
    alert_id = new_id()
    subs = sorted(new_id() for _ in range(12))
    wanted: list[Wanted] = [(s, "claimed", None) for s in subs]
    ports.deliveries.claim_many(alert_id, 0, wanted, now_text=NOW_TEXT, expires_at=KEEP)
    seen: list[str] = []
    for shard in range(ports.deliveries.DELIVERY_SHARDS):
        pages = walk(lambda limit, start, shard=shard: ports.deliveries.audience_page(alert_id, shard, limit, start), 1)
        seen += [s for page in pages for s in page]
    assert sorted(seen) == subs
    assert ports.deliveries.erase_subscriber(subs[0]) == 1
    assert ports.deliveries.get(alert_id, subs[0]) is None


# --- subscribers -------------------------------------------------------------------------------


def test_contact_channels_round_trip_and_survive_a_downgrade(ports: Repositories) -> None:
    contact = ContactChannel(type="email", address="jo@example.org", status="pending", created_at=NOW_TEXT,
                             unsubscribe="u" * 43, check="ab" * 32, pending_until="2026-12-02T12:00:00Z")
    record = subscriber(contacts=(contact, replace(contact, type="sms", address="+447700900123", status="confirmed",
                                                    check=None, pending_until=None, confirmed_at=NOW_TEXT)))
    ports.subscribers.create(record)
    assert ports.subscribers.get(record.id) == record
    ports.subscribers.downgrade_to_inbox(record.id, "webpush")
    assert ports.subscribers.many([record.id])[record.id].contacts == record.contacts
    ports.subscribers.save(replace(record, contacts=()))
    assert ports.subscribers.get(record.id).contacts == ()  # type: ignore[union-attr]


def test_subscriber_save_never_resurrects_and_a_secret_is_set_once(ports: Repositories) -> None:
    record = subscriber(secret=None)
    ports.subscribers.create(record)
    assert ports.subscribers.get(record.id) == record
    with pytest.raises(NotFound):
        ports.subscribers.save(subscriber())
    assert ports.subscribers.set_secret(record.id, "Zmlyc3Q=") is True
    assert ports.subscribers.set_secret(record.id, "c2Vjb25k") is False
    assert ports.subscribers.set_secret(new_id(), "Zmlyc3Q=") is False
    assert ports.subscribers.get(record.id).secret == "Zmlyc3Q="  # type: ignore[union-attr]
    ports.subscribers.downgrade_to_inbox(record.id, "webpush")
    assert ports.subscribers.get(record.id).channel == {"type": "inbox", "gone": "webpush"}  # type: ignore[union-attr]
    assert set(ports.subscribers.many([record.id, new_id()])) == {record.id}


def test_the_cell_index_pages_and_forgets_cells(ports: Repositories) -> None:
    cell = f"87{new_id()[:13]}"
    subs = sorted(new_id() for _ in range(3))
    shapes = [{"type": "Circle", "center": {"lat": 51.5, "lon": -0.12}, "radius_m": 500.0}]
    for s in subs:
        ports.subscribers.write_index(s, [cell, "87aaaaaaaaaaaaa"], shapes, KEEP)
    pages = walk(lambda limit, start: ports.subscribers.index_page(cell, limit, start), 2)
    assert [[entry[0] for entry in page] for page in pages] == [subs[:2], subs[2:]]
    assert pages[0][0][1:] == (shapes, sorted([cell, "87aaaaaaaaaaaaa"]))
    ports.subscribers.delete_index(subs[0], [cell])
    assert [e[0] for e in ports.subscribers.index_page(cell, 10, None)[0]] == subs[1:]


def test_the_inbox_pages_newest_first_and_erasure_removes_everything(ports: Repositories) -> None:
    record = subscriber(cells=(f"87{new_id()[:13]}",))
    ports.subscribers.create(record)
    ports.subscribers.write_index(record.id, record.cells, [], KEEP)
    ports.subscribers.put_inbox(InboxCopy(record.id, f"2026-11-30T1{i}:00:00Z#a#0000", json.dumps({"n": i}), KEEP)
                                for i in range(3))
    pages = walk(lambda limit, start: ports.subscribers.inbox_page(record.id, limit, start), 2)
    assert pages == [[{"n": 2}, {"n": 1}], [{"n": 0}]]
    ports.subscribers.erase(record)
    assert ports.subscribers.get(record.id) is None
    assert ports.subscribers.inbox_page(record.id, 10, None) == ([], None)
    assert ports.subscribers.index_page(record.cells[0], 10, None) == ([], None)


# --- access log, rate counters -----------------------------------------------------------------


def test_the_access_log_reads_newest_first_by_actor_and_by_day(ports: Repositories) -> None:
    actor = f"pc-{new_id()[:8]}"
    day = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    for minute in range(3):
        ports.access_log.append(audit(actor=actor, action=f"a{minute}", at=day + timedelta(minutes=minute)))
    pages = walk(lambda limit, position: ports.access_log.entries_by_actor(
        actor, at_from="2026-11-30T00:00:00Z", at_to="2026-11-30T23:59:59Z", limit=limit, position=position), 2)
    assert [[e.action for e in page] for page in pages] == [["a2", "a1"], ["a0"]]
    entries, _ = ports.access_log.entries_by_day(["2026-11-30"], at_from="2026-11-30T08:00:00Z",
                                                 at_to="2026-11-30T08:02:00Z", limit=100, position=None, max_days=3)
    assert [e.action for e in entries if e.actor == actor] == ["a2", "a1", "a0"]


def test_a_rate_counter_refuses_past_its_limit(ports: Repositories) -> None:
    key = f"test|{new_id()}"
    window = NOW + timedelta(minutes=1)
    assert [ports.ratelimit.hit(key, limit=2, window_ends=window) for _ in range(3)] == [True, True, False]


# --- conversations -----------------------------------------------------------------------------


def test_a_conversation_starts_once_and_the_refusal_carries_the_existing_one(ports: Repositories) -> None:
    conv = conversation()
    first = message(conv)
    ports.conversations.start(conv, first, write(conv, first))
    assert ports.conversations.get(conv.id) == conv
    assert ports.conversations.get_message(conv.id, first.id) == first
    assert ports.contacts.get(first.contact_id) is not None  # the message's contact, same transaction
    other = message(conv)
    with pytest.raises(ConversationExists) as exists:
        ports.conversations.start(replace(conv, topic="noise"), other, write(conv, other))
    assert exists.value.existing == conv
    assert ports.conversations.get_message(conv.id, other.id) is None
    assert ports.conversations.get(new_id()) is None


def test_a_message_lands_only_on_the_state_it_was_computed_from(ports: Repositories) -> None:
    conv = conversation()
    first = message(conv)
    ports.conversations.start(conv, first, write(conv, first))
    answered = rules.after_message(conv, "team", "2026-11-30T12:05:00Z")
    answer = message(conv, seq=2, sender="team")
    ports.conversations.append(conv, answered, answer, write(conv, answer))
    late = message(conv, seq=2, sender="team")
    with pytest.raises(VersionChanged) as changed:  # computed from version 1, which is gone
        ports.conversations.append(conv, answered, late, write(conv, late))
    assert changed.value.current == answered
    assert ports.conversations.get_message(conv.id, late.id) is None
    assert ports.contacts.get(late.contact_id) is None  # all or nothing
    with pytest.raises(MessageExists) as resent:  # a resend of a message that landed
        ports.conversations.append(answered, rules.after_message(answered, "team", NOW_TEXT), answer, write(conv, answer))
    assert resent.value.existing == answer


def test_exactly_one_close_lands(ports: Repositories) -> None:
    conv = conversation()
    first = message(conv)
    ports.conversations.start(conv, first, write(conv, first))
    closed = rules.after_close(conv, "resolved", NOW_TEXT)
    ports.conversations.close(conv, closed, audit(action="conversation.close"))
    with pytest.raises(VersionChanged) as changed:
        ports.conversations.close(conv, rules.after_close(conv, "no_action", NOW_TEXT), audit())
    assert changed.value.current == closed
    with pytest.raises(VersionChanged):  # already closed: the status condition refuses too
        ports.conversations.close(closed, replace(closed, version=closed.version + 1), audit())
    assert ports.conversations.get(conv.id) == closed


def test_a_resident_being_erased_cannot_start_a_conversation(ports: Repositories) -> None:
    resident = subscriber()
    ports.subscribers.create(resident)
    ports.subscribers.mark_erasing(resident.id)
    conv = conversation(owner=resident.id)
    first = message(conv)
    holder = WordHolder(subscriber_id=resident.id, owner=f"res_{new_id()}", table="messages",
                        record_id=f"{conv.id}/{first.id}", expires_at=KEEP)
    with pytest.raises(ResidentGone):
        ports.conversations.start(conv, first, write(conv, first, words=holder))
    assert ports.conversations.get(conv.id) is None
    assert list(ports.words.refs(holder.owner)) == []


def test_messages_page_backwards_oldest_first_within_a_page(ports: Repositories) -> None:
    conv = conversation()
    first = message(conv)
    ports.conversations.start(conv, first, write(conv, first))
    messages, state = [first], conv
    for seq in range(2, 6):
        new = rules.after_message(state, "resident", NOW_TEXT)
        msg = message(conv, seq=seq)
        ports.conversations.append(state, new, msg, write(conv, msg))
        messages.append(msg)
        state = new
    pages = walk(lambda limit, before: ports.conversations.message_page(conv.id, limit, before), 2)
    assert [[m.seq for m in page] for page in pages] == [[4, 5], [2, 3], [1]]
    assert [m.seq for m in ports.conversations.messages(conv.id)] == [1, 2, 3, 4, 5]


def test_team_and_owner_pages_follow_their_indexes(ports: Repositories) -> None:
    team, owner = f"team-{new_id()[:8]}", new_id()
    convs = [conversation(team=team, owner=owner, waiting_since=f"2026-11-30T0{h}:00:00Z",
                          last_message_at=f"2026-11-30T0{h}:00:00Z") for h in range(3)]
    for conv in convs:
        first = message(conv)
        ports.conversations.start(conv, first, write(conv, first))
    waiting = walk(lambda limit, start: ports.conversations.team_page(team, "waiting", limit, start), 2)
    assert [[c.id for c in page] for page in waiting] == [[convs[0].id, convs[1].id], [convs[2].id]]
    assert ports.conversations.team_page(team, "answered", 10, None) == ([], None)
    mine = walk(lambda limit, start: ports.conversations.owner_page(owner, limit, start), 2)
    assert [[c.id for c in page] for page in mine] == [[convs[2].id, convs[1].id], [convs[0].id]]
    assert sorted(c.id for c in ports.conversations.owned(owner)) == sorted(c.id for c in convs)


def test_an_overdue_wait_is_found_by_its_due_day_and_counted_once(ports: Repositories) -> None:
    team = f"team-{new_id()[:8]}"
    conv = conversation(team=team, waiting_since="2026-11-28T09:00:00Z", last_message_at="2026-11-28T09:00:00Z")
    first = message(conv)
    ports.conversations.start(conv, first, write(conv, first))
    due = [c for c in ports.conversations.overdue(["2026-11-29"], NOW_TEXT, 1000) if c.team == team]
    assert due == [conv]
    counted = rules.after_overdue(conv, NOW_TEXT)
    assert counted is not None
    ports.conversations.count_overdue(conv, counted)
    with pytest.raises(VersionChanged):
        ports.conversations.count_overdue(conv, counted)
    assert [c for c in ports.conversations.overdue(["2026-11-29"], NOW_TEXT, 1000) if c.team == team] == []
    stored = ports.conversations.get(conv.id)
    assert stored == counted and stored is not None and stored.changed_at == NOW_TEXT  # the stream counts it


def test_a_wait_past_its_standard_is_due_counted_once_and_its_end_takes_it_out_of_now(ports: Repositories) -> None:
    team = f"team-{new_id()[:8]}"
    since = "2026-11-30T00:00:00Z"
    conv = conversation(team=team, waiting_since=since, last_message_at=since, respond_by="2026-11-30T06:00:00Z")
    first = message(conv)
    ports.conversations.start(conv, first, write(conv, first))
    assert [c for c in ports.conversations.overdue(["2026-11-30"], NOW_TEXT, 1000) if c.team == team] == [conv]
    counted = rules.after_overdue(conv, NOW_TEXT)
    assert counted is not None and counted.past_standard_at == "2026-11-30T06:00:00Z" and counted.over24_at is None
    ports.conversations.count_overdue(conv, counted)
    with pytest.raises(VersionChanged):
        ports.conversations.count_overdue(conv, counted)
    assert ports.conversations.get(conv.id) == counted
    assert [c for c in ports.conversations.overdue(["2026-11-30"], NOW_TEXT, 1000) if c.team == team] == []
    later = "2026-11-30T13:00:00Z"
    closed = rules.after_close(counted, "resolved", later)
    ports.conversations.close(counted, closed, audit())
    assert ports.conversations.get(conv.id) == closed
    assert ports.conversations.figures(rules.figures_pk(team, "day"), "2026-11-30|", "2026-11-30|\uffff") == []


def test_an_escalation_is_conditional_on_the_waiting_state_and_leads_the_queue(ports: Repositories) -> None:
    team = f"team-{new_id()[:8]}"
    older = conversation(team=team, waiting_since="2026-11-26T09:00:00Z", last_message_at="2026-11-26T09:00:00Z")
    conv = conversation(team=team, waiting_since="2026-11-26T10:00:00Z", last_message_at="2026-11-26T10:00:00Z",
                        respond_by="2026-11-29T10:00:00Z")
    for each in (older, conv):
        first = message(each)
        ports.conversations.start(each, first, write(each, first))
    escalated = rules.after_escalation(conv, NOW_TEXT)
    assert escalated is not None
    ports.conversations.escalate(conv, escalated, audit(action="conversation.escalate"))
    with pytest.raises(VersionChanged) as again:
        ports.conversations.escalate(conv, escalated, audit(action="conversation.escalate"))
    assert again.value.current == escalated
    assert ports.conversations.get(conv.id) == escalated
    assert [c.id for c in ports.conversations.team_page(team, "waiting", 10, None)[0]] == [conv.id, older.id]
    assert [c.id for c in ports.conversations.team_page(team, "escalated", 10, None)[0]] == [conv.id]
    closed = rules.after_close(escalated, "resolved", NOW_TEXT)
    ports.conversations.close(escalated, closed, audit())
    with pytest.raises(VersionChanged):  # not waiting any more
        ports.conversations.escalate(closed, replace(closed, version=closed.version + 1), audit())
    assert ports.conversations.team_page(team, "escalated", 10, None) == ([], None)


def test_a_team_answer_writes_the_inbox_copy_in_its_transaction(ports: Repositories) -> None:
    resident = subscriber()
    ports.subscribers.create(resident)
    conv = conversation(owner=resident.id)
    first = message(conv)
    ports.conversations.start(conv, first, write(conv, first))
    answer = message(conv, seq=2, sender="team")
    copy = InboxCopy(resident.id, f"{answer.sent_at}#conv#{answer.id}", json.dumps({"kind": "conversation"}), KEEP)
    ports.conversations.append(conv, rules.after_message(conv, "team", NOW_TEXT), answer, write(conv, answer, inbox=copy))
    assert ports.subscribers.inbox_page(resident.id, 10, None) == ([{"kind": "conversation"}], None)


def test_erasure_removes_a_residents_words_and_name_from_conversations(ports: Repositories) -> None:
    conv = conversation()
    first = message(conv)
    ports.conversations.start(conv, first, write(conv, first))
    assert ports.conversations.erase_message_words(conv.id, first.id) == first.contact_id
    assert ports.conversations.erase_resident_words(conv.id) == [first.contact_id]
    erased = ports.conversations.get_message(conv.id, first.id)
    assert erased is not None and (erased.text, erased.content_digest) == (None, "erased")
    assert ports.conversations.erase_message_words(conv.id, new_id()) is None
    ports.conversations.forget_owner(conv.id, "erased-digest")
    forgotten = ports.conversations.get(conv.id)
    assert forgotten is not None and (forgotten.owner, forgotten.content_digest) == ("", "erased-digest")
    assert ports.conversations.owned(conv.owner) == []
    ports.conversations.unlink_contacts([first.contact_id, new_id()])
    unlinked = ports.contacts.get(first.contact_id)
    assert unlinked is not None and unlinked.handle_pseudonym is None


# --- the team's queue (store/team_queue.py) -------------------------------------------------------


def test_a_claim_is_one_conditional_write_and_an_answer_ends_it(ports: Repositories) -> None:
    conv = conversation()
    first = message(conv)
    ports.conversations.start(conv, first, write(conv, first))
    later = "2026-11-30T12:30:00Z"
    claim = {"team": conv.team, "expires_at": later, "now_text": NOW_TEXT}
    assert ports.team_queue.claim(conv.id, staff="pc-1", display="Officer AAAA", audit=audit(), **claim)
    assert not ports.team_queue.claim(conv.id, staff="pc-2", display="Officer BBBB", audit=audit(), **claim)
    assert not ports.team_queue.claim(conv.id, staff="pc-2", display="Officer BBBB", audit=audit(), **{**claim, "team": "other"})
    assert ports.team_queue.claim(conv.id, staff="pc-2", display="Officer BBBB", audit=audit(), **{**claim, "now_text": later})
    stored = ports.conversations.get(conv.id)
    assert stored is not None and (stored.claimed_by, stored.claim_expires_at) == ("Officer BBBB", later)
    assert not ports.team_queue.release(conv.id, team=conv.team, staff="pc-1", audit=audit())
    assert ports.team_queue.release(conv.id, team=conv.team, staff=None, audit=audit())  # a supervisor
    assert ports.team_queue.claim(conv.id, staff="pc-1", display="Officer AAAA", audit=audit(), **claim)
    answered = rules.after_message(stored, "team", NOW_TEXT)
    answer = message(conv, seq=2, sender="team")
    ports.conversations.append(stored, answered, answer, write(conv, answer))
    after = ports.conversations.get(conv.id)
    assert after is not None and after.claimed_by is None
    assert not ports.team_queue.claim(conv.id, staff="pc-1", display="Officer AAAA", audit=audit(), **claim)  # not waiting
    assert ports.team_queue.last_texts([after]) == {conv.id: "message 2"}


# --- engagement, history rows, alert figures ----------------------------------------------------


def member(grain: str, period: str, sub: str) -> str:
    return f"stf_{grain}_{period}_{sub}"


def test_distinct_staff_counters_move_once_per_member_and_period(ports: Repositories) -> None:
    from chalicelib.domain import engagement

    team = f"team-{new_id()[:8]}"

    def log(author: str, role: str = "officer") -> ContactRecord:
        record = contact(team=team, author=author, author_role=role)
        ports.contacts.create(record, audit())
        return record

    first = log("pc-1")
    others = [log("pc-1"), log("sgt-1", "supervisor")]  # the same member again: counted once
    stream(ports, change(None, first))
    stream(ports, *[change(None, record) for record in others])
    key = engagement.team_key(team, "day")
    (bucket, counts), = ports.engagement.items(key, "2026-11-30", "2026-11-30|\uffff")
    assert bucket.startswith("2026-11-30|")
    assert (counts.get("a_t"), counts.get("s_o"), counts.get("s_s")) == (2, 1, 1)
    amended = replace(first, kind="online", platform="facebook", direction="inbound", lat=None, lon=None,
                      setting=None, version=2)
    ports.contacts.amend(first, amended, [], audit(action="contact.amend"))
    stream(ports, change(first, amended))
    (_, counts), = ports.engagement.items(key, "2026-11-30", "2026-11-30|\uffff")
    assert (counts.get("a_t"), counts.get("s_o"), counts.get("n_o")) == (2, 1, 1)  # pc-1 still has a street one


def test_history_rows_page_newest_first_through_the_planned_index(ports: Repositories) -> None:
    from chalicelib.domain import history

    team = f"team-{new_id()[:8]}"
    records = [contact(team=team, occurred_at=f"2026-1{month}-2{day}T10:00:00Z") for month in (0, 1) for day in (1, 2)]
    for record in records:
        ports.contacts.create(record, audit())
    plan = history.plan(team=team, area_id=None, kind="street", platform=None, topic=None)

    def fetch(limit: int, position: Any) -> Any:
        page = ports.history.contacts_page(plan, months=["2026-11", "2026-10"], occurred_from="2026-10-01T00:00:00Z",
                                           occurred_to="2026-11-30T23:59:59Z", limit=limit, position=position)
        return [json.loads(row)["occurred_at"] for row in page.rows], page.position

    pages = walk(fetch, 3)
    assert [row for page in pages for row in page] == sorted((r.occurred_at for r in records), reverse=True)
    assert len(pages[0]) == 3
    empty = history.plan(team=team, area_id=None, kind="street", platform="facebook", topic=None)
    assert ports.history.contacts_page(empty, months=["2026-11"], occurred_from="2026-11-01T00:00:00Z",
                                       occurred_to="2026-11-30T23:59:59Z", limit=5, position=None).rows == []


def test_alert_figures_are_read_by_month_of_first_publication(ports: Repositories) -> None:
    day = f"2026-05-{1 + int(new_id()[:4], 16) % 28:02d}"  # a day of this test's own
    first = published(alert(), at=f"{day}T08:00:00Z")
    second = published(alert(), at=f"{day}T09:00:00Z")
    for record in (first, second):
        ports.alerts.create(record)
    ports.alerts.add_figures(second.id, {"targeted": 4, "sent": 3})
    figures, position = ports.alert_history.alerts_published_between(f"{day}T08:00:00Z", f"{day}T09:00:00Z", None, 10,
                                                                     now=NOW)
    ours = [(f.id, f.targeted, f.sent, f.status) for f in figures if f.id in (first.id, second.id)]
    assert ours == [(second.id, 4, 3, "published"), (first.id, 0, 0, "published")] and position is None
    later = ports.alert_history.alerts_published_between(f"{day}T09:30:00Z", f"{day}T10:00:00Z", None, 10, now=NOW)
    assert [f.id for f in later[0] if f.id in (first.id, second.id)] == []


# --- the Guarantee: team pages, priorities, meetings --------------------------------------------


def test_a_team_page_put_says_whether_it_was_new(ports: Repositories) -> None:
    from chalicelib.domain.teams import ContactDetails, Person, TeamRecord

    team = TeamRecord(id=f"t-{new_id()[:8]}", name="North NPT", description="", contact_details=ContactDetails(),
                      people=(Person(name="Sian Morgan", rank="sergeant"),), updated_at=NOW_TEXT)
    assert ports.teams.get(team.id) is None
    assert ports.teams.put(team) is True
    assert ports.teams.put(replace(team, description="Changed")) is False
    assert ports.teams.get(team.id) == replace(team, description="Changed")


def test_team_strength_records_newest_first_down_to_the_one_in_force(ports: Repositories) -> None:
    from chalicelib.domain.strength import StrengthRecord

    team = f"team-{uuid.uuid4().hex[:8]}"
    days = ("2026-01-01", "2026-03-01", "2026-06-01", "2026-09-01")
    for day in days:
        assert ports.teams.put_strength(StrengthRecord(team, day, {"constable": 5}, NOW_TEXT)) is True
    assert ports.teams.put_strength(StrengthRecord(team, "2026-06-01", {"pcso": 2}, NOW_TEXT)) is False
    found = ports.teams.strengths(team, "2026-04-15", "2026-07-01")
    assert [r.from_day for r in found] == ["2026-06-01", "2026-03-01"]
    assert found[0] == StrengthRecord(team, "2026-06-01", {"pcso": 2}, NOW_TEXT)
    assert [r.from_day for r in ports.teams.strengths(team, "2026-03-01", "2026-03-01")] == ["2026-03-01"]
    assert ports.teams.strengths(team, "2025-01-01", "2025-12-31") == []
    assert ports.teams.strengths(f"{team}-other", "2026-01-01", "2026-12-31") == []


def priority_record(area_id: str, **changes: Any) -> Any:
    from chalicelib.domain.priorities import Priority

    return replace(Priority(id=new_id(), area_id=area_id, team="t", issue="Speeding", topic="road_safety",
                            status="proposed", proposed_at=NOW_TEXT), **changes)


def test_a_priority_is_created_once_replaced_on_the_state_read_and_supported_once(ports: Repositories) -> None:
    area = new_id()
    first = priority_record(area)
    assert ports.priorities.create(first) is None
    assert ports.priorities.create(replace(first, issue="Other")) == first  # the stored one
    current = replace(first, status="current", set_at=NOW_TEXT)
    assert ports.priorities.replace(first, current) is True
    assert ports.priorities.replace(first, replace(first, issue="Stale")) is False
    resident = new_id()
    assert ports.priorities.support(first.id, resident, NOW_TEXT, KEEP) is True
    assert ports.priorities.support(first.id, resident, NOW_TEXT, KEEP) is False
    assert ports.priorities.support(first.id, new_id(), NOW_TEXT, KEEP) is True
    assert ports.priorities.get(first.id) == (current, 2)
    assert [p.id for p, _ in ports.priorities.of_area(area)] == [first.id]
    with pytest.raises(NotFound):
        ports.priorities.support(new_id(), resident, NOW_TEXT, KEEP)
    assert ports.priorities.erase_subscriber(resident) == 1
    assert resident not in set(ports.priorities.supporters(first.id))
    assert ports.priorities.get(first.id) == (current, 2)  # the count stays


def test_actions_are_written_once_and_links_kept(ports: Repositories) -> None:
    from chalicelib.domain.priorities import ActionOut

    priority = priority_record(new_id())
    ports.priorities.create(priority)
    done = ActionOut(id=new_id(), text="Speed checks", at=NOW_TEXT, posted_at=NOW_TEXT)
    assert ports.priorities.add_action(priority.id, done) is None
    assert ports.priorities.add_action(priority.id, msgspec.structs.replace(done, text="Other")) == done
    assert ports.priorities.actions(priority.id) == [done]
    conversation = new_id()
    ports.priorities.link(priority.id, conversation, NOW_TEXT)
    ports.priorities.link(priority.id, conversation, NOW_TEXT)
    assert ports.priorities.links(priority.id) == [conversation]


def test_meetings_count_attendance_once_and_are_reminded_once(ports: Repositories) -> None:
    from chalicelib.domain.meetings import Meeting

    area = new_id()
    start = NOW + timedelta(days=400 * 5)  # far ahead: nothing else of this test's tables is due then
    meeting = Meeting(id=new_id(), area_id=area, team="t", title="Beat meeting", type="meeting", description="",
                      address="Hall", online_url=None, start=to_rfc3339(start),
                      end=to_rfc3339(start + timedelta(hours=1)))
    assert ports.meetings.create(meeting) is None
    assert ports.meetings.create(replace(meeting, title="Other")) == meeting
    resident = new_id()
    assert ports.meetings.attend(meeting.id, resident, NOW_TEXT, KEEP) is True
    assert ports.meetings.attend(meeting.id, resident, NOW_TEXT, KEEP) is False
    assert list(ports.meetings.attendees(meeting.id)) == [resident]
    assert [m.id for m, n in ports.meetings.of_area(area, NOW_TEXT)] == [meeting.id]
    assert ports.meetings.of_area(area, to_rfc3339(start + timedelta(minutes=1))) == []
    day = meeting.remind_at[:10]
    assert ports.meetings.due_reminders(day, to_rfc3339(start - timedelta(minutes=1)), 10) == []  # not yet
    assert [m.id for m in ports.meetings.due_reminders(day, to_rfc3339(start), 10)] == [meeting.id]
    assert ports.meetings.reminded(meeting.id) is True
    assert ports.meetings.reminded(meeting.id) is False
    assert ports.meetings.due_reminders(day, to_rfc3339(start), 10) == []
    recorded = replace(meeting, attended=4, concerns=("Parking",), recorded_at=NOW_TEXT)
    assert ports.meetings.save_record(meeting, recorded) is True
    assert ports.meetings.save_record(meeting, recorded) is False
    assert ports.meetings.get(meeting.id) == (recorded, 1)


# --- residents' trust ----------------------------------------------------------------------------


def _audit(action: str) -> AccessRecord:
    return AccessRecord(actor="res_contract", role="resident", action=action, at=NOW, request_id=new_id(),
                        record_id=new_id())


def test_a_rating_lands_once_its_counts_come_from_the_stream_once_and_it_is_erased_with_its_resident(
        ports: Repositories) -> None:
    from chalicelib.domain.stream_counts import RatingChange, plan_rating_parts
    from chalicelib.domain.trust import Rating, shard_of

    conv, team, resident = new_id(), f"t-{new_id()[:8]}", new_id()
    rating = Rating(conversation_id=conv, target=f"answer:{new_id()}", subscriber_id=resident, answered="yes",
                    satisfaction=4, rated_at=NOW_TEXT, team=team, area_id=None)
    assert ports.trust.rate(rating, KEEP, _audit("conversation.rate")) is True
    assert ports.trust.rate(replace(rating, answered="no"), KEEP, _audit("conversation.rate")) is False
    assert ports.trust.ratings(conv, resident) == [rating]  # team and area kept for its counts
    assert ports.trust.ratings(conv, new_id()) == []
    assert ports.trust.conversation_ratings(conv) == [rating]  # whoever gave them (the recount)
    (part,) = plan_rating_parts([RatingChange(new_id(), "INSERT", None, rating, NOW_TEXT)])
    assert ports.rating_stream.apply_part(part, NOW) == []
    assert ports.rating_stream.apply_part(part, NOW) == part.event_ids  # a replay writes nothing
    shard = f"{shard_of(f'{conv}|{rating.target}'):02d}"
    counted = [(f"2026-11|{team}|-|answered|yes|{shard}", 1), (f"2026-11|{team}|-|satisfaction|4|{shard}", 1)]
    assert ports.trust.counts(f"trust|team:{team}|month", "2026-11|", "2026-11|\uffff") == counted
    ports.priorities.erase_subscriber(resident)
    assert ports.trust.ratings(conv, resident) == []
    assert ports.trust.conversation_ratings(conv) == []
    assert ports.trust.counts(f"trust|team:{team}|month", "2026-11|", "2026-11|\uffff") == counted  # kept


def test_a_repair_write_adds_once_per_marker(ports: Repositories) -> None:
    team = f"t-{new_id()[:8]}"
    counter, member = (f"team:{team}|topic", "2026-11-30|noise|00"), (f"team:{team}|engmember|day", "2026-11-30|stf_x")
    adds = {counter: {"contacts": 2}, member: {"so": 1, "sr_constable": -1}}
    marker = f"recount-{new_id()}"
    assert ports.recount.add(marker, adds, {member: KEEP}, NOW) is True
    assert ports.recount.add(marker, adds, {member: KEEP}, NOW) is False  # the same write again: nothing
    assert ports.recount.add(f"recount-{new_id()}", {counter: {"contacts": -1}}, {}, NOW) is True
    assert ports.contacts.counters(counter[0], "2026-11-30|", "2026-11-30|") == [("2026-11-30|noise", 1)]
    assert ports.engagement.items(member[0], "2026-11-30|", "2026-11-30|\uffff") == [
        ("2026-11-30|stf_x", {"so": 1, "sr_constable": -1})]


def test_a_pulse_is_created_once_reaches_each_resident_once_and_is_answered_once(ports: Repositories) -> None:
    from chalicelib.domain.trust import Pulse, PulseSent

    pulse = Pulse(id=new_id(), question="police_good_job", areas=(new_id(),), sample=0.5, created_at=NOW_TEXT,
                  state="queued", updated_at=NOW_TEXT)
    assert ports.trust.create_pulse(pulse) is None
    assert ports.trust.create_pulse(replace(pulse, sample=1.0)) == pulse
    later = "2026-11-30T10:05:00Z"
    assert ports.trust.advance_pulse(pulse.id, "sending", 2, later)  # the worker's steps add up
    assert ports.trust.get_pulse(pulse.id) == replace(pulse, sent=2, state="sending", updated_at=later)
    assert ports.trust.advance_pulse(pulse.id, "sent", 3, later)
    assert not ports.trust.advance_pulse(pulse.id, "sending", 1, later)  # a late redelivery moves nothing back
    assert not ports.trust.advance_pulse(new_id(), "sending", 1, later)
    assert ports.trust.get_pulse(pulse.id) == replace(pulse, sent=5, state="sent", updated_at=later)
    assert ports.trust.get_pulse(new_id()) is None
    alice, bob, team = new_id(), new_id(), f"t-{new_id()[:8]}"
    assert ports.trust.unsent(pulse.id, [alice, bob, alice]) == [alice, bob]
    sent = PulseSent(subscriber_id=alice, area_id=pulse.areas[0], team=team, inbox_key=f"{NOW_TEXT}#pulse#{pulse.id}")
    ports.trust.mark_sent(pulse.id, [sent], NOW_TEXT, KEEP)
    assert ports.trust.unsent(pulse.id, [alice, bob]) == [bob]
    key = (f"trust|team:{team}|month", f"2026-11|{team}|{pulse.areas[0]}|confidence|good|01")
    seen: list[PulseSent] = []

    def counts(one: PulseSent) -> dict[tuple[str, str], int]:
        seen.append(one)
        return {key: 1}

    def inbox(one: PulseSent) -> InboxCopy:
        return InboxCopy(one.subscriber_id, one.inbox_key, '{"kind": "pulse", "answered": true}', KEEP)

    assert ports.trust.answer_pulse(pulse.id, bob, counts, inbox, NOW_TEXT) == "not_sent"
    assert ports.trust.answer_pulse(pulse.id, alice, counts, inbox, NOW_TEXT) == "answered"
    assert ports.trust.answer_pulse(pulse.id, alice, counts, inbox, NOW_TEXT) == "already"
    assert seen[0] == sent
    assert ports.trust.counts(key[0], "2026-11|", "2026-11|\uffff") == [(key[1], 1)]
    items, _ = ports.subscribers.inbox_page(alice, 10, None)
    assert items == [{"kind": "pulse", "answered": True}]
    ports.priorities.erase_subscriber(alice)
    assert ports.trust.answer_pulse(pulse.id, alice, counts, inbox, NOW_TEXT) == "not_sent"
