"""Conversation figures from the conversations table's stream (issue 23), on fakes and pure rules:
the counters a stored change old -> new moves (`domain.conversations.stream_deltas`) are exactly
what the request used to add in its own transaction, for any sequence of opens, messages, answers,
closes (abuse too), escalations and clock runs; claims, erasure and TTL deletions move nothing; a
replayed or re-batched stream is applied once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.clock import to_rfc3339
from chalicelib.domain import conversations as rules
from chalicelib.domain import stream_counts
from chalicelib.domain.conversations import Conversation
from chalicelib.domain.errors import Conflict, StateForbids
from chalicelib.domain.stream_counts import ConversationChange
from chalicelib.usecases import counters
from tests.fakes import fake_services

pytestmark = pytest.mark.no_database

T0 = datetime(2026, 12, 28, 9, 0, tzinfo=UTC)  # a Monday: weeks and months turn within a run
STANDARD = timedelta(hours=72)
Deltas = Counter[tuple[str, str]]
Counts = Mapping[tuple[str, str], int]


def opened(at: datetime, team: str = "north") -> Conversation:
    stamp = to_rfc3339(at)
    return Conversation(id="c-1", team=team, owner="r-1", area_id="a-1", alert_id=None, topic="noise",
                        status="waiting", created_at=stamp, last_message_at=stamp, version=1, content_digest="d",
                        expires_at=at + timedelta(days=730), waiting_since=stamp,
                        respond_by=rules.respond_by_for(stamp, STANDARD), changed_at=stamp)


# -- the write path as it was: what each request added in its transaction ------------------------

def _old_message(conv: Conversation, sender: str, stamp: str, danger: bool) -> tuple[Conversation, Counts]:
    new = rules.after_message(conv, sender, stamp, STANDARD)
    if danger and sender == "resident":
        new = rules.after_guidance(new)
    return new, rules.figure_deltas(conv, new, stamp)


def _old_close(conv: Conversation, outcome: str, stamp: str) -> tuple[Conversation, Counts]:
    new = rules.after_close(conv, outcome, stamp)
    figures = rules.figure_deltas(conv, new, stamp)
    return new, rules.dismissal_keys(conv, figures) if new.outcome == rules.ABUSE else figures


def _old_escalation(conv: Conversation, stamp: str) -> tuple[Conversation, Counts] | None:
    new = rules.after_escalation(conv, stamp)
    return None if new is None else (new, rules.figure_keys(conv.team, stamp[:10], ["escalated"]))


def _old_clock(conv: Conversation, stamp: str) -> tuple[Conversation, Counts] | None:
    new = rules.after_overdue(conv, stamp)
    return None if new is None else (new, rules.overdue_keys(conv, new))


def old_figures(kind: str, before: Conversation | None, after: Conversation, stamp: str) -> Counts:
    """What the old write path added for the request `kind` that changed `before` into `after`
    at `stamp` (`start`, `message`, `close`, `escalate`, `clock`)."""
    if kind == "escalate":
        return rules.figure_keys(after.team, stamp[:10], ["escalated"])
    if kind == "clock" and before is not None:
        return rules.overdue_keys(before, after)
    figures = rules.figure_deltas(before, after, stamp)
    return rules.dismissal_keys(after, figures) if kind == "close" and after.outcome == rules.ABUSE else figures


def old_step(conv: Conversation, step: tuple[str, str], stamp: str) -> tuple[Conversation, Counts] | None:
    """One request on `conv` at `stamp` as the old write path ran it: (the new state, the counters
    it added), or None when the rules refuse it (nothing written)."""
    kind, detail = step
    try:
        if kind == "message":
            return _old_message(conv, detail.split(":")[0], stamp, detail.endswith(":danger"))
        if kind == "close":
            return _old_close(conv, detail, stamp)
        if kind == "escalate":
            return _old_escalation(conv, stamp)
        return _old_clock(conv, stamp)
    except (StateForbids, Conflict):
        return None


def _summed(deltas: Counts, into: Deltas) -> None:
    into.update(deltas)


def _nonzero(counts: Deltas) -> dict[tuple[str, str], int]:
    return {key: n for key, n in counts.items() if n}


STEPS = st.lists(st.tuples(
    st.integers(min_value=0, max_value=5 * 24 * 60),  # minutes until the step
    st.sampled_from([("message", "resident"), ("message", "resident:danger"), ("message", "team"),
                     ("close", "resolved"), ("close", "abuse"), ("escalate", ""), ("clock", ""),
                     ("claim", ""), ("erase", "")])), max_size=14)


@settings(max_examples=300, deadline=None)
@given(steps=STEPS)
def test_stream_figures_equal_what_the_write_path_added(steps: list[tuple[int, tuple[str, str]]]) -> None:
    """Property: over any sequence of changes, the stream's deltas from the stored images (and
    only them: the change's time is `changed_at`) sum to the write path's counters, step by step."""
    conv, at = opened(T0), T0
    written: Deltas = Counter(rules.figure_deltas(None, conv, conv.created_at))
    streamed: Deltas = Counter(rules.stream_deltas(None, conv))
    for minutes, step in steps:
        at += timedelta(minutes=minutes)
        if step[0] in ("claim", "erase"):  # no state: same version, nothing to count
            new = replace(conv, claimed_by="Officer X") if step[0] == "claim" else replace(conv, owner="")
            assert rules.stream_deltas(conv, new) == {}
            conv = new
            continue
        done = old_step(conv, step, to_rfc3339(at))
        if done is None:
            continue
        new, figures = done
        _summed(figures, written)
        _summed(rules.stream_deltas(conv, new, at="2000-01-01T00:00:00Z"), streamed)  # `at` unused: changed_at is kept
        assert _nonzero(streamed) == _nonzero(written), (step, conv, new)
        conv = new
    assert rules.stream_deltas(conv, None) == {}  # TTL's deletion: history keeps its counts


def test_each_transition_counts_what_it_used_to() -> None:
    """Named cases of the property: open, answer, a new wait, the clock past the standard,
    escalate, close as abuse."""
    conv = opened(T0)
    assert rules.stream_deltas(None, conv) == rules.figure_deltas(None, conv, conv.created_at)
    answer_at = to_rfc3339(T0 + timedelta(minutes=30))
    answered, figures = _old_message(conv, "team", answer_at, danger=False)
    assert rules.stream_deltas(conv, answered) == figures
    assert {key[1].split("|")[-1] for key in figures} == {"answered", "frt:16", "answered_wait", "within_standard"} | {
        "north"}  # the gauge's bucket ends in the team
    again, _ = _old_message(answered, "resident", to_rfc3339(T0 + timedelta(hours=1)), danger=False)
    late = old_step(again, ("clock", ""), to_rfc3339(T0 + timedelta(hours=80)))
    assert late is not None and rules.stream_deltas(again, late[0]) == late[1]
    escalated = old_step(late[0], ("escalate", ""), to_rfc3339(T0 + timedelta(hours=81)))
    assert escalated is not None and rules.stream_deltas(late[0], escalated[0]) == escalated[1]
    closed, figures = _old_close(escalated[0], "abuse", to_rfc3339(T0 + timedelta(hours=82)))
    deltas = rules.stream_deltas(escalated[0], closed)
    assert deltas == {key: n for key, n in figures.items() if n}
    assert deltas[(rules.figures_pk("north", "day"), "2026-12-28|north|opened")] == -1  # dismissed: out of opened
    assert deltas[(rules.figures_pk("north", "day"), "2026-12-28|north|dismissed")] == 1


def test_an_item_written_before_changed_at_uses_the_records_time() -> None:
    conv = opened(T0)
    closed = replace(rules.after_close(conv, "resolved", "2026-12-30T10:00:00Z"), changed_at=None)
    deltas = rules.stream_deltas(replace(conv, changed_at=None), closed, at="2026-12-30T10:00:01Z")
    assert deltas[(rules.figures_pk("north", "day"), "2026-12-30|north|closed")] == 1


def _changes(n: int) -> list[ConversationChange]:
    """n conversations of three teams opened, each answered: INSERT then MODIFY."""
    out = []
    for i in range(n):
        conv = replace(opened(T0 + timedelta(minutes=i), team=f"team-{i % 3}"), id=f"c-{i}")
        answered = rules.after_message(conv, "team", to_rfc3339(T0 + timedelta(minutes=i + 20)), STANDARD)
        out += [ConversationChange(f"i-{i}", "INSERT", None, conv, conv.created_at),
                ConversationChange(f"m-{i}", "MODIFY", conv, answered, answered.changed_at)]
    return out


def test_a_conversation_batch_is_cut_deterministically_into_parts_that_fit_a_transaction() -> None:
    changes = _changes(40)
    parts = stream_counts.plan_conversation_parts(changes)
    assert len(parts) > 1 and all(part.items() <= stream_counts.TRANSACTION_ITEMS for part in parts)
    assert [p.event_ids for p in parts] == [p.event_ids for p in stream_counts.plan_conversation_parts(changes)]
    assert [e for p in parts for e in p.event_ids] == [c.event_id for c in changes]


def test_the_use_case_applies_a_replayed_or_rebatched_conversation_stream_once() -> None:
    svc, fakes = fake_services()
    fakes.db.conversation_stream.consumer = None  # the test plays the event source mapping itself
    changes = _changes(30)
    removed = ConversationChange("ttl-0", "REMOVE", changes[1].new, None, "2028-12-28T09:00:00Z", by_ttl=True)
    first = counters.apply_conversation_changes(svc, changes[:20])
    assert (first.records, first.replayed) == (20, 0)
    after_first = dict(fakes.db.stats)
    assert counters.apply_conversation_changes(svc, changes[:20]).replayed == 20  # a crash before the checkpoint
    assert dict(fakes.db.stats) == after_first
    again = counters.apply_conversation_changes(svc, [*changes[10:], removed])  # re-batched, and a TTL deletion
    assert (again.replayed, again.records) == (10, 51)
    expected: Deltas = Counter()
    for change in changes:
        expected.update(stream_counts.conversation_deltas(change))
    found = Counter({(key, bucket.rsplit("|", 1)[0]): item["contacts"] for (key, bucket), item in fakes.db.stats.items()
                     if item.get("contacts") and key.startswith("conv|")})
    assert found == Counter(_nonzero(expected))
    assert found[(rules.figures_pk(None, "day"), "2026-12-28|team-0|opened")] == 10
    assert svc.store.conversation_stream.as_of() == "2028-12-28T09:00:00Z"
    assert svc.store.contact_stream.as_of() is None  # each stream its own `as_of`
