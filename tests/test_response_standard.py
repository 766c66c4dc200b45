"""The response standard on fakes (docs/guarantee.md): `respond_by` on every wait, the resident's
escalation once it has passed, the clock counting waits past it while they are open (once each,
taken out of `past_standard_now` when they end) and the figures `within_standard` and `escalated`.
The same on DynamoDB and over HTTP: tests/test_conversations.py; the port: tests/test_port_contract.py."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.clock import to_rfc3339
from chalicelib.domain.conversations import (
    CloseIn,
    ConversationIn,
    FiguresBucket,
    FiguresQuery,
    MessageIn,
    MyConversationsQuery,
    TeamQueueQuery,
)
from chalicelib.domain.errors import Forbidden, NotFound, StateForbids
from chalicelib.domain.results import Created
from chalicelib.settings import SETTINGS
from chalicelib.usecases import conversations as usecase
from tests.scenes import Scene

pytestmark = pytest.mark.no_database

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
STANDARD = timedelta(hours=72)


class Place:
    def __init__(self, hours: int = 72) -> None:
        settings = dataclasses.replace(SETTINGS, response_standard_hours=hours)
        self.scene = Scene(now=T0, settings=settings)
        self.svc = self.scene.svc
        self.area_id = self.scene.area("north")
        self.resident = self.scene.register()

    def at(self, moment: datetime) -> None:
        self.scene.fakes.clock.now = moment

    def me(self) -> Any:
        return self.scene.as_resident(self.resident)

    def start(self) -> str:
        body = ConversationIn(id=uuid.uuid4(), topic="noise", text="Loud music", area_id=uuid.UUID(self.area_id))
        saved = usecase.start(self.svc, self.me(), body)
        assert isinstance(saved, Created)
        return saved.value.id

    def answer(self, conv_id: str) -> None:
        usecase.post_message(self.svc, self.scene.staff("officer", sub="pc-1"), conv_id,
                             MessageIn(id=uuid.uuid4(), text="On it"))

    def says(self, conv_id: str) -> None:
        usecase.post_message(self.svc, self.me(), conv_id, MessageIn(id=uuid.uuid4(), text="Again"))

    def escalate(self, conv_id: str) -> Any:
        return usecase.escalate(self.svc, self.me(), conv_id)

    def figures(self, last: datetime) -> dict[str, FiguresBucket]:
        query = FiguresQuery(from_=f"{T0:%Y-%m-%d}", to=f"{last:%Y-%m-%d}", purpose="guarantee test")
        return {b.period: b for b in usecase.figures(self.svc, self.scene.staff("supervisor"), query).buckets}

    def total(self, field: str, last: datetime) -> int:
        return sum(int(getattr(b, field)) for b in self.figures(last).values())


def test_every_wait_carries_respond_by_from_the_setting_and_the_resident_sees_it() -> None:
    place = Place(hours=48)
    conv_id = place.start()
    read = usecase.get(place.svc, place.me(), conv_id)
    assert read.respond_by == to_rfc3339(T0 + timedelta(hours=48))
    (mine,) = usecase.mine(place.svc, place.me(), MyConversationsQuery()).items
    assert mine.respond_by == read.respond_by
    place.at(T0 + timedelta(hours=1))
    place.answer(conv_id)
    assert usecase.get(place.svc, place.me(), conv_id).respond_by is None  # nothing awaited of the team
    place.at(T0 + timedelta(hours=5))
    place.says(conv_id)  # a new wait: a new promise
    assert usecase.get(place.svc, place.me(), conv_id).respond_by == to_rfc3339(T0 + timedelta(hours=53))


def test_escalation_is_refused_before_respond_by_and_when_not_waiting() -> None:
    place = Place()
    conv_id = place.start()
    place.at(T0 + STANDARD - timedelta(seconds=1))
    with pytest.raises(StateForbids, match="aims to reply by"):
        place.escalate(conv_id)
    place.answer(conv_id)
    place.at(T0 + STANDARD * 2)
    with pytest.raises(StateForbids):
        place.escalate(conv_id)  # answered: nothing to escalate
    assert place.total("escalated", T0 + STANDARD * 2) == 0


def test_only_the_owner_escalates_and_a_repeat_counts_once() -> None:
    place = Place()
    conv_id = place.start()
    place.at(T0 + STANDARD)
    other = place.scene.register()
    with pytest.raises(NotFound):
        usecase.escalate(place.svc, place.scene.as_resident(other), conv_id)
    first = place.escalate(conv_id)
    assert first.escalated_at == to_rfc3339(T0 + STANDARD)
    place.at(T0 + STANDARD + timedelta(minutes=3))
    again = place.escalate(conv_id)
    assert (again.escalated_at, again.version) == (first.escalated_at, first.version)
    assert place.total("escalated", T0 + STANDARD) == 1
    logged = [r.action for r in place.scene.fakes.db.access]
    assert logged.count("conversation.escalate") == 1


def test_escalated_waits_lead_the_queue_and_fill_the_supervisors_view() -> None:
    place = Place()
    older, escalated = place.start(), None
    place.at(T0 + timedelta(minutes=5))
    escalated = place.start()
    place.at(T0 + STANDARD + timedelta(hours=1))
    place.escalate(escalated)
    supervisor = place.scene.staff("supervisor")
    waiting = usecase.team_queue(place.svc, supervisor, TeamQueueQuery(status="waiting")).items
    assert [c.id for c in waiting] == [escalated, older]
    assert waiting[0].escalated_at is not None and waiting[1].escalated_at is None
    view = usecase.team_queue(place.svc, supervisor, TeamQueueQuery(status="escalated")).items
    assert [c.id for c in view] == [escalated]
    with pytest.raises(Forbidden):
        usecase.team_queue(place.svc, place.scene.staff("officer"), TeamQueueQuery(status="escalated"))
    place.answer(escalated)  # answered: out of the supervisors' view, escalated_at kept
    assert usecase.team_queue(place.svc, supervisor, TeamQueueQuery(status="escalated")).items == []
    assert usecase.get(place.svc, place.me(), escalated).escalated_at is not None


def test_a_new_wait_can_be_escalated_again() -> None:
    place = Place()
    conv_id = place.start()
    place.at(T0 + STANDARD)
    place.escalate(conv_id)
    place.answer(conv_id)
    place.at(T0 + STANDARD + timedelta(hours=1))
    place.says(conv_id)
    assert usecase.get(place.svc, place.me(), conv_id).escalated_at is None
    place.at(T0 + STANDARD * 2 + timedelta(hours=1))
    place.escalate(conv_id)
    assert place.total("escalated", T0 + STANDARD * 3) == 2


def test_the_clock_counts_a_wait_past_the_standard_while_open_once_and_the_answer_takes_it_out() -> None:
    place = Place(hours=30)  # after the 24 h mark: both marks, each in its own run
    conv_id = place.start()
    end = T0 + timedelta(days=5)
    assert usecase.count_overdue(place.svc, T0 + timedelta(hours=25)) == 1  # over 24 h only
    assert place.total("past_standard_now", end) == 0
    assert usecase.count_overdue(place.svc, T0 + timedelta(hours=31)) == 1  # past the standard
    assert usecase.count_overdue(place.svc, T0 + timedelta(hours=32)) == 0  # nothing left
    passed_day = f"{T0 + timedelta(hours=30):%Y-%m-%d}"
    bucket = place.figures(end)[passed_day]
    assert (bucket.past_standard, bucket.past_standard_now) == (1, 1)
    place.at(T0 + timedelta(days=3))
    place.answer(conv_id)
    totals = {f: place.total(f, end) for f in ("past_standard", "past_standard_now", "answered_waits",
                                              "within_standard", "waiting_over_24h")}
    assert totals == {"past_standard": 1, "past_standard_now": 0, "answered_waits": 1, "within_standard": 0,
                      "waiting_over_24h": 1}


def test_a_close_takes_a_wait_out_of_past_standard_now() -> None:
    place = Place(hours=12)
    conv_id = place.start()
    assert usecase.count_overdue(place.svc, T0 + timedelta(hours=13)) == 1
    assert place.total("past_standard_now", T0 + timedelta(days=2)) == 1
    place.at(T0 + timedelta(hours=14))
    usecase.close(place.svc, place.scene.staff("officer"), conv_id, CloseIn(outcome="resolved"))
    assert place.total("past_standard_now", T0 + timedelta(days=2)) == 0
    assert place.total("past_standard", T0 + timedelta(days=2)) == 1


def test_a_wait_answered_late_before_the_clock_ran_counts_past_standard_once() -> None:
    place = Place(hours=12)
    conv_id = place.start()
    place.at(T0 + timedelta(hours=12, minutes=2))
    place.answer(conv_id)
    assert usecase.count_overdue(place.svc, T0 + timedelta(hours=13)) == 0  # the answer counted it
    end = T0 + timedelta(days=2)
    assert (place.total("past_standard", end), place.total("past_standard_now", end)) == (1, 0)
    assert (place.total("answered_waits", end), place.total("within_standard", end)) == (1, 0)


def test_within_standard_counts_waits_answered_by_respond_by_with_the_share() -> None:
    place = Place()
    quick, slow = place.start(), place.start()
    place.at(T0 + timedelta(hours=2))
    place.answer(quick)
    place.says(quick)  # a second wait of the same conversation, answered in time too
    place.at(T0 + timedelta(hours=3))
    place.answer(quick)
    place.at(T0 + STANDARD + timedelta(hours=1))
    place.answer(slow)
    buckets = place.figures(T0 + STANDARD * 2)
    assert sum(b.answered_waits for b in buckets.values()) == 3
    day0 = buckets[f"{T0:%Y-%m-%d}"]
    assert (day0.within_standard, day0.answered_waits, day0.within_standard_share) == (2, 2, 1.0)
    late = buckets[f"{T0 + STANDARD + timedelta(hours=1):%Y-%m-%d}"]
    assert (late.within_standard, late.answered_waits, late.within_standard_share) == (0, 1, 0.0)


def test_the_clock_marks_a_wait_at_two_thirds_of_its_standard_once_per_wait() -> None:
    place = Place(hours=36)  # two thirds: 24 h, with the 24 h mark; the standard at 36 h
    conv_id = place.start()
    stored = place.scene.fakes.db.conversations
    assert usecase.count_overdue(place.svc, T0 + timedelta(hours=23, minutes=59)) == 0
    assert usecase.count_overdue(place.svc, T0 + timedelta(hours=24)) == 1
    assert stored[conv_id].nearing_at == to_rfc3339(T0 + timedelta(hours=24))
    assert usecase.count_overdue(place.svc, T0 + timedelta(hours=30)) == 0  # told once
    place.at(T0 + timedelta(hours=31))
    place.answer(conv_id)
    place.says(conv_id)  # a new wait: told again at its own two thirds
    assert stored[conv_id].nearing_at is None
    assert usecase.count_overdue(place.svc, T0 + timedelta(hours=31 + 24)) == 1
    assert stored[conv_id].nearing_at == to_rfc3339(T0 + timedelta(hours=31 + 24))


def test_two_thirds_follows_the_setting_and_a_wait_found_past_the_standard_is_not_nearing() -> None:
    from chalicelib.domain import conversations as rules

    place = Place(hours=9)
    conv_id = place.start()
    wait = place.scene.fakes.db.conversations[conv_id]
    assert rules.nearing_time(wait) == to_rfc3339(T0 + timedelta(hours=6))
    on_time = rules.after_overdue(wait, to_rfc3339(T0 + timedelta(hours=6)))
    late = rules.after_overdue(wait, to_rfc3339(T0 + timedelta(hours=10)))  # the clock was down
    assert on_time is not None and late is not None
    assert (rules.tell_nearing(wait, on_time), rules.tell_nearing(wait, late)) == (True, False)


def test_at_two_thirds_the_teams_devices_are_pushed_once_and_not_when_found_past_the_standard() -> None:
    from chalicelib.domain.staff_devices import StaffDevice
    from chalicelib.ports import StaffPush

    place = Place(hours=72)
    place.scene.fakes.db.staff_devices[("pc-1", "d-1")] = StaffDevice(
        staff="pc-1", device_id="d-1", team="north", roles=("officer",), subscription={}, updated_at="",
        expires_at=T0 + timedelta(days=30))
    told, late = place.start(), place.start()
    queue = place.scene.fakes.queue

    def nearing() -> list[str]:
        return [m.record_id for m in queue.messages if isinstance(m, StaffPush) and m.kind == "wait_nearing_standard"]

    place.at(T0 + timedelta(hours=1))
    place.answer(late)
    place.says(late)  # its wait: from T0 + 1 h
    assert usecase.count_overdue(place.svc, T0 + timedelta(hours=47)) == 2  # the 24 h marks only
    assert nearing() == []
    assert usecase.count_overdue(place.svc, T0 + timedelta(hours=48)) == 1  # `told` at two thirds
    assert nearing() == [told]
    assert usecase.count_overdue(place.svc, T0 + timedelta(hours=80)) == 2  # the clock was down: past, not nearing
    assert nearing() == [told]
