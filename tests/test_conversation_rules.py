"""Conversation rules on fakes: states, races decided by the store's condition (a stale state
costs a refused write, never a wrong one), the clock that counts waits over 24 h, and the figures.
Two containers are two Services on one fake database, each with its own state hints. The
condition itself, on DynamoDB, is tests/test_port_contract.py; round trips and the HTTP loop are
tests/test_conversations.py."""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.clock import to_rfc3339
from chalicelib.domain.conversations import CloseIn, Conversation, ConversationIn, FiguresQuery, MessageIn
from chalicelib.domain.errors import Conflict, StateForbids
from chalicelib.domain.results import Created
from chalicelib.errors import DomainError, as_problem
from chalicelib.services import Services
from chalicelib.usecases import conversations as usecase
from chalicelib.usecases import subscribers as subscriber_cases
from tests.fakes import FakeConversations
from tests.scenes import Scene

pytestmark = pytest.mark.no_database

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
DAY0 = f"{T0:%Y-%m-%d}"


class Place:
    """A team's area, a resident and the team's staff, on one fake database."""

    def __init__(self, now: datetime = T0) -> None:
        self.scene = Scene(now=now)
        self.svc = self.scene.svc
        self.area_id = self.scene.area("north")
        self.resident = self.scene.register()

    def at(self, moment: datetime) -> None:
        self.scene.fakes.clock.now = moment

    def start(self, svc: Services | None = None) -> str:
        body = ConversationIn(id=uuid.uuid4(), topic="noise", text="Loud music every night at no. 4",
                              area_id=uuid.UUID(self.area_id))
        saved = usecase.start(svc or self.svc, self.scene.as_resident(self.resident), body)
        assert isinstance(saved, Created)
        return saved.value.id

    def officer(self, sub: str = "pc-1") -> Any:
        return self.scene.staff("officer", sub=sub)

    def answer(self, conv_id: str, text: str = "On it", svc: Services | None = None, sub: str = "pc-1") -> int:
        saved = usecase.post_message(svc or self.svc, self.officer(sub), conv_id, MessageIn(id=uuid.uuid4(), text=text))
        return 201 if isinstance(saved, Created) else 200  # as api/ would answer

    def resident_says(self, conv_id: str, text: str = "Still loud") -> int:
        saved = usecase.post_message(self.svc, self.scene.as_resident(self.resident), conv_id,
                                     MessageIn(id=uuid.uuid4(), text=text))
        return 201 if isinstance(saved, Created) else 200  # as api/ would answer

    def close(self, conv_id: str, outcome: str = "resolved", svc: Services | None = None) -> Any:
        return usecase.close(svc or self.svc, self.officer(), conv_id, CloseIn(outcome=outcome))

    def stored(self, conv_id: str) -> Conversation:
        conv = self.scene.fakes.db.conversations.get(conv_id)
        assert conv is not None
        return conv

    def over24(self, first: datetime, last: datetime) -> dict[str, int]:
        query = FiguresQuery(from_=f"{first:%Y-%m-%d}", to=f"{last:%Y-%m-%d}", purpose="figures test")
        buckets = usecase.figures(self.svc, self.scene.staff("supervisor"), query).buckets
        return {b.period: b.waiting_over_24h for b in buckets if b.waiting_over_24h}


class Counting(FakeConversations):
    """A container's conversation store that lists the calls made to it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.calls: list[str] = []

    def get(self, conversation_id: str) -> Conversation | None:
        self.calls.append("get")
        return super().get(conversation_id)

    def append(self, *args: Any) -> None:
        self.calls.append("append")
        super().append(*args)

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # the race's loser is a result
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# --- states ------------------------------------------------------------------------------------


def test_an_answer_a_close_and_a_resident_message_move_the_state() -> None:
    place = Place()
    conv_id = place.start()
    assert (place.stored(conv_id).status, place.stored(conv_id).version) == ("waiting", 1)
    assert place.answer(conv_id) == 201
    assert place.stored(conv_id).status == "answered"
    closed = place.close(conv_id, "resolved")
    assert (closed.status, closed.outcome) == ("closed", "resolved")
    with pytest.raises(StateForbids):  # the team cannot write into a closed conversation
        place.answer(conv_id)
    assert place.resident_says(conv_id) == 201  # a resident's message reopens it
    assert (place.stored(conv_id).status, place.stored(conv_id).version) == ("waiting", 4)
    assert len(place.scene.fakes.queue.messages) == 1  # the one team answer's push


def test_closing_twice_with_another_outcome_is_a_conflict_and_the_same_is_a_repeat() -> None:
    place = Place()
    conv_id = place.start()
    place.close(conv_id, "resolved")
    assert place.close(conv_id, "resolved").status == "closed"
    with pytest.raises(Conflict):
        place.close(conv_id, "referred")
    assert place.stored(conv_id).version == 2


# --- races -------------------------------------------------------------------------------------


def test_simultaneous_answers_all_land_in_order() -> None:
    place = Place()
    conv_id = place.start()
    subs = [f"pc-{i}" for i in range(4)]
    results = race([functools.partial(place.answer, conv_id, s, sub=s) for s in subs])
    assert results == [201] * 4
    messages = place.svc.store.conversations.messages(conv_id)
    assert place.stored(conv_id).version == 5 and [m.seq for m in messages] == [1, 2, 3, 4, 5]
    assert sorted(str(m.text) for m in messages[1:]) == subs


def test_closing_races_are_decided_once() -> None:
    place = Place()
    conv_id = place.start()
    outcomes = ["resolved", "referred", "advice_given", "no_further_action"]
    results = race([functools.partial(place.close, conv_id, o, svc=place.scene.container()) for o in outcomes])
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 3, results
    final = place.stored(conv_id)
    assert (final.status, final.outcome, final.version) == ("closed", won[0].outcome, 2)


def test_a_stale_hint_costs_one_refused_write_and_no_read() -> None:
    place = Place()
    conv_id = place.start()
    a_store, b_store = Counting(place.scene.fakes.db), Counting(place.scene.fakes.db)
    a, b = place.scene.container(conversations=a_store), place.scene.container(conversations=b_store)
    assert place.answer(conv_id, "one", svc=a) == 201
    assert a_store.take() == ["get", "append"]  # A never saw it: one read
    assert place.answer(conv_id, "two", svc=b) == 201
    assert place.answer(conv_id, "three", svc=a) == 201
    assert a_store.take() == ["append", "append"]  # A's hint was one version behind: refused, retried
    assert place.answer(conv_id, "four", svc=a) == 201
    assert a_store.take() == ["append"]
    assert [(m.seq, m.text) for m in a.store.conversations.messages(conv_id)][1:] == [
        (2, "one"), (3, "two"), (4, "three"), (5, "four")]


def test_a_hint_never_decides_a_refusal() -> None:
    """A hint may be older than a reopening: what it would refuse (closed) or short-cut (already
    closed) is read again first."""
    place = Place()
    conv_id = place.start()
    a = place.scene.container()
    place.close(conv_id, svc=a)  # A's hint: closed
    assert place.resident_says(conv_id) == 201
    closed_again = place.close(conv_id, svc=a)
    assert (closed_again.status, closed_again.version) == ("closed", 4)
    assert place.resident_says(conv_id, "And again") == 201
    assert place.answer(conv_id, "On our way", svc=a) == 201  # A's hint said closed: a refusal would be wrong
    assert (place.stored(conv_id).status, place.stored(conv_id).version) == ("answered", 6)


def test_erasure_is_seen_through_a_stale_hint() -> None:
    """Erasure removes the owner without a new version: the write's condition checks the owner."""
    place = Place()
    conv_id = place.start()
    a = place.scene.container()
    assert place.answer(conv_id, "Noted", svc=a) == 201  # A's hint names the owner
    subscriber_cases.erase_me(place.svc, place.scene.as_resident(place.resident))
    with pytest.raises(StateForbids):
        place.answer(conv_id, "Hello?", svc=a)
    assert [m.text for m in a.store.conversations.messages(conv_id)] == [None, "Noted"]
    assert place.scene.fakes.db.inbox.get(place.resident) is None  # nothing written for the erased resident


# --- the clock and the figures -----------------------------------------------------------------


def test_the_clock_counts_an_open_wait_once_in_the_day_it_passes_24h() -> None:
    t0 = T0.replace(hour=12)
    place = Place(now=t0)
    conv_id = place.start()
    place.at(t0 + timedelta(hours=20))
    assert place.resident_says(conv_id, "Anyone?") == 201  # the same wait goes on
    usecase.count_overdue(place.svc, t0 + timedelta(hours=23))
    assert place.over24(t0, t0 + timedelta(days=3)) == {}  # not due yet
    assert usecase.count_overdue(place.svc, t0 + timedelta(hours=25)) == 1
    assert usecase.count_overdue(place.svc, t0 + timedelta(hours=26)) == 0  # nothing left to count
    due_day = f"{t0 + timedelta(hours=24):%Y-%m-%d}"
    assert place.over24(t0, t0 + timedelta(days=3)) == {due_day: 1}
    stored = place.stored(conv_id)
    assert (stored.over24_at, stored.status) == (to_rfc3339(t0 + timedelta(hours=24)), "waiting")
    place.at(t0 + timedelta(hours=30))
    assert place.answer(conv_id, "Sorry") == 201  # ends a wait the clock counted: no second count
    assert place.over24(t0, t0 + timedelta(days=3)) == {due_day: 1}
    place.at(t0 + timedelta(hours=31))
    assert place.resident_says(conv_id, "Again") == 201
    answered = t0 + timedelta(hours=56)
    place.at(answered)
    assert place.answer(conv_id, "Done") == 201  # a new wait, answered after 25 h: the answer counts it
    assert place.over24(t0, t0 + timedelta(days=3)) == {due_day: 1, f"{answered:%Y-%m-%d}": 1}


def test_the_clock_counts_a_bounded_number_per_run_and_the_next_run_goes_on() -> None:
    place = Place()
    for _ in range(3):
        place.start()
    later = T0 + timedelta(hours=25)
    assert [usecase.count_overdue(place.svc, later, per_run=2) for _ in range(3)] == [2, 1, 0]
    assert place.over24(T0, later) == {f"{T0 + timedelta(hours=24):%Y-%m-%d}": 3}


def test_clock_and_answer_racing_count_the_wait_once() -> None:
    place = Place()
    conv_id = place.start()
    later = T0 + timedelta(hours=26)
    place.at(later)
    results = race([lambda: usecase.count_overdue(place.scene.container(), later),
                    lambda: place.answer(conv_id, "Here", svc=place.scene.container())])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(place.over24(T0, later).values()) == 1
    assert place.stored(conv_id).status == "answered"


def test_a_clock_reading_a_lagging_index_counts_nothing_twice() -> None:
    """The index is eventually consistent: a wait it still shows may have been answered since."""
    place = Place()
    conv_id = place.start()
    later = T0 + timedelta(hours=26)
    place.at(later)
    seen = [c for c in place.svc.store.conversations.overdue([f"{T0 + timedelta(days=1):%Y-%m-%d}"], to_rfc3339(later), 10)
            if c.id == conv_id]
    assert len(seen) == 1
    assert place.answer(conv_id, "Here") == 201

    class LaggingIndex(FakeConversations):
        def overdue(self, days: Iterable[str], due_by: str, limit: int) -> list[Conversation]:
            return seen

    lagging = place.scene.container(conversations=LaggingIndex(place.scene.fakes.db))
    assert usecase.count_overdue(lagging, later) == 0
    assert sum(place.over24(T0, later).values()) == 1  # the answer's count only


def test_figures_count_openings_answers_closes_and_first_response_times() -> None:
    place = Place()
    quick, slow = place.start(), place.start()
    place.at(T0 + timedelta(minutes=30))
    assert place.answer(quick, "a") == 201
    place.at(T0 + timedelta(hours=22))
    place.close(slow, "no_further_action")
    query = FiguresQuery(from_=DAY0, to=DAY0, purpose="figures test")
    (bucket,) = usecase.figures(place.svc, place.scene.staff("supervisor"), query).buckets
    assert (bucket.team, bucket.opened, bucket.answered, bucket.closed) == ("north", 2, 1, 1)
    median = bucket.first_response_minutes.median
    assert median is not None and 30 / 1.25 <= median <= 30 * 1.25
    analyst = usecase.figures(place.svc, place.scene.staff("analyst", team="none"),
                              FiguresQuery(from_=DAY0, to=DAY0, purpose="p q r", team="north"))
    assert analyst.buckets == [bucket]
    elsewhere = place.scene.staff("supervisor", team="elsewhere")  # (officers: refused by the route's role)
    with pytest.raises(DomainError) as refused:
        usecase.figures(place.svc, elsewhere, FiguresQuery(from_=DAY0, to=DAY0, purpose="p q r", team="north"))
    assert as_problem(refused.value).status == 403


def test_a_wait_answered_after_24h_counts_as_over_24h() -> None:
    place = Place(now=T0.replace(hour=0, minute=5))
    conv_id = place.start()
    answered = T0.replace(hour=0, minute=5) + timedelta(hours=25)
    place.at(answered)
    assert place.answer(conv_id, "Sorry for the wait") == 201
    query = FiguresQuery(from_=f"{answered:%Y-%m-%d}", to=f"{answered:%Y-%m-%d}", purpose="figures test")
    buckets = usecase.figures(place.svc, place.scene.staff("supervisor"), query).buckets
    assert [(b.waiting_over_24h, b.answered) for b in buckets] == [(1, 1)]
    p90 = buckets[0].first_response_minutes.p90
    assert p90 is not None and p90 >= 24 * 60


