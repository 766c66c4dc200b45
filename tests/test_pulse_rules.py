"""The confidence pulse on fakes: the request writes and queues, the worker delivers step by step
(an area of many followers split over several messages), once per resident whatever is retried or
redelivered (inbox copy, push, count), a resident of two areas asked once, the keyed-hash sample,
and answers kept as counts only. Over HTTP on DynamoDB Local: tests/test_pulses.py."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import pulses as steps_rules
from chalicelib.domain import trust as rules
from chalicelib.domain.errors import Conflict, NotFound, StateForbids, Unavailable
from chalicelib.domain.notices import NoticeNotification
from chalicelib.domain.pulses import PulseStep
from chalicelib.domain.trust import PulseAnswerIn, PulseIn
from chalicelib.ports import InboxCopy, NoticePush, QueueUnavailable
from chalicelib.usecases import pulses as usecase
from chalicelib.usecases import subscribers as subscriber_cases
from tests.fakes import FakeDatabase, FakeSubscribers, fake_repositories
from tests.scenes import Scene, endpoint, webpush_channel

pytestmark = pytest.mark.no_database

T0 = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)


class Steps:
    """A pulse queue that keeps the steps (the worker runs them when the test says)."""

    def __init__(self) -> None:
        self.sent: list[PulseStep] = []
        self.refuse = False

    def send(self, step: PulseStep) -> None:
        if self.refuse:
            raise QueueUnavailable("refused")
        self.sent.append(step)


class CountingSubscribers(FakeSubscribers):
    """Counts inbox writes per resident: a second copy written (even over the first) shows here."""

    def __init__(self, db: FakeDatabase) -> None:
        super().__init__(db)
        self.inbox_writes: Counter[str] = Counter()

    def put_inbox(self, entries: Iterable[InboxCopy]) -> None:
        copies = list(entries)
        self.inbox_writes.update(c.subscriber_id for c in copies)
        super().put_inbox(copies)


class Town:
    """A force on fakes with a pulse queue the test drives and inbox writes counted."""

    def __init__(self) -> None:
        db = FakeDatabase()
        self.subscribers = CountingSubscribers(db)
        self.steps = Steps()
        self.scene = Scene(now=T0, db=db, store=dataclasses.replace(fake_repositories(db), subscribers=self.subscribers),
                           pulse_queue=self.steps)
        self.svc = self.scene.svc
        self.area_id = self.scene.area("north")
        self.residents = [self.scene.resident([{"area_id": self.area_id}])]

    def followers(self, count: int, area_id: str | None = None) -> list[str]:
        made = [self.scene.resident([{"area_id": area_id or self.area_id}]) for _ in range(count)]
        if area_id is None:
            self.residents += made
        return made

    def pulse(self, pulse_id: uuid.UUID | None = None, sample: float = 1.0, areas: list[str] | None = None) -> Any:
        body = PulseIn(id=pulse_id or uuid.uuid4(), question="police_good_job",
                       areas=[uuid.UUID(a) for a in areas or [self.area_id]], sample=sample)
        return usecase.create_pulse(self.svc, self.scene.staff("admin"), body)

    def get(self, pulse_id: str) -> Any:
        return usecase.get_pulse(self.svc, self.scene.staff("admin"), pulse_id)

    def run(self, page_size: int = steps_rules.INDEX_PAGE, budget: int = steps_rules.ENTRIES_PER_STEP) -> list[int]:
        """Every queued step in order (continuations included): residents reached per step."""
        reached = []
        while self.steps.sent:
            reached.append(usecase.run_step(self.svc, self.steps.sent.pop(0), page_size=page_size, budget=budget))
        return reached

    def pushes(self, pulse_id: str) -> Counter[str]:
        """Residents named in the pulse's push messages (each must be named once)."""
        return Counter(s for m in self.scene.fakes.queue.messages
                       if isinstance(m, NoticePush) and m.kind == "pulse" and m.ref == pulse_id for s in m.subscribers)

    def reached(self, pulse_id: str) -> set[str]:
        return {s for (p, s) in self.scene.fakes.db.pulse_sent if p == pulse_id}

    def answer(self, pulse_id: str, resident: str, answer: str = "good") -> Any:
        return usecase.answer_pulse(self.svc, self.scene.as_resident(resident), pulse_id,
                                    PulseAnswerIn(answer=answer))  # type: ignore[arg-type]


def test_the_request_writes_and_queues_and_the_worker_delivers() -> None:
    town = Town()
    pulse_id = uuid.uuid4()
    created, out = town.pulse(pulse_id)
    assert created and (out.state, out.sent) == ("queued", 0)
    assert town.subscribers.inbox_writes == Counter() and town.reached(out.id) == set()  # nothing in the request
    assert town.steps.sent == [PulseStep(pulse=out.id)]
    assert town.run() == [1]
    read = town.get(out.id)
    assert (read.state, read.sent) == ("sent", 1)
    again = town.pulse(pulse_id)  # an identical retry of a sent pulse: the pulse as it is, nothing queued
    assert again == (False, read) and town.steps.sent == []
    with pytest.raises(Conflict):
        town.pulse(pulse_id, sample=0.5)
    with pytest.raises(NotFound):
        town.get(str(uuid.uuid4()))
    with pytest.raises(NotFound):
        town.get("not-a-uuid")


def test_a_large_area_is_split_into_steps_each_resident_once() -> None:
    town = Town()
    town.followers(11)  # 12 followers
    _, out = town.pulse()
    states = []
    while town.steps.sent:
        usecase.run_step(town.svc, town.steps.sent.pop(0), page_size=2, budget=5)
        states.append((town.get(out.id).state, town.get(out.id).sent))
    # budget 5 in pages of 2: 6 entries per step (3 pages); a full last page leaves a position (as
    # DynamoDB does), so a third step finds the rest of the area empty
    assert states == [("sending", 6), ("sending", 12), ("sent", 12)]
    assert town.reached(out.id) == set(town.residents)
    assert town.subscribers.inbox_writes == Counter({r: 1 for r in town.residents})
    assert town.pushes(out.id) == Counter({r: 1 for r in town.residents})


def test_a_redelivered_step_reaches_nobody_twice() -> None:
    town = Town()
    town.followers(4)
    _, out = town.pulse()
    [first] = town.steps.sent
    assert town.run(page_size=2, budget=2) == [2, 2, 1]
    usecase.run_step(town.svc, first, page_size=2, budget=2)  # SQS delivers it again
    assert town.get(out.id).state == "sent"
    assert town.steps.sent == []  # a step of a sent pulse does nothing, queues nothing
    assert town.subscribers.inbox_writes == Counter({r: 1 for r in town.residents})
    assert town.pushes(out.id) == Counter({r: 1 for r in town.residents})
    assert town.get(out.id).sent == 5


def test_a_step_cut_short_is_completed_by_its_redelivery_without_a_second_copy() -> None:
    town = Town()
    town.followers(3)
    _, out = town.pulse()
    step = town.steps.sent.pop()
    town.scene.fakes.queue.refuse = True  # the pushes cannot be queued: inbox copies written, no sent items yet
    with pytest.raises(QueueUnavailable):
        usecase.run_step(town.svc, step)
    assert town.reached(out.id) == set() and town.get(out.id).state == "queued"
    town.scene.fakes.queue.refuse = False
    assert usecase.run_step(town.svc, step) == 4  # the redelivery
    assert town.reached(out.id) == set(town.residents)
    assert town.pushes(out.id) == Counter({r: 1 for r in town.residents})
    # the inbox copy was written again over the same key (one copy), and only by the cut-short attempt
    assert all(len([k for k in town.scene.fakes.db.inbox[r] if "#pulse#" in k]) == 1 for r in town.residents)
    assert (town.get(out.id).state, town.get(out.id).sent) == ("sent", 4)
    # the batch handler reports a failing step for SQS to redeliver, and a good one as done
    town.scene.fakes.queue.refuse = True
    _, other = town.pulse()
    [body] = [steps_rules.encode_step(s) for s in town.steps.sent]
    town.steps.sent.clear()
    assert usecase.handle_sqs_records(town.svc, [("m-1", body)]) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    town.scene.fakes.queue.refuse = False
    assert usecase.handle_sqs_records(town.svc, [("m-1", body)]) == {"batchItemFailures": []}
    assert town.get(other.id).sent == 4


def test_an_identical_post_resumes_a_stalled_delivery_and_a_refused_queue_is_503() -> None:
    town = Town()
    town.followers(5)
    pulse_id = uuid.uuid4()
    _, out = town.pulse(pulse_id)
    usecase.run_step(town.svc, town.steps.sent.pop(0), page_size=2, budget=2)
    town.steps.sent.clear()  # the continuation is lost (e.g. in the dead-letter queue)
    assert (town.get(out.id).state, town.get(out.id).sent) == ("sending", 2)
    town.scene.fakes.clock.advance(minutes=5)
    assert town.pulse(pulse_id)[1].state == "sending" and town.steps.sent == []  # still fresh: not restarted
    town.scene.fakes.clock.advance(minutes=steps_rules.STALLED_MINUTES)
    assert town.pulse(pulse_id)[0] is False and town.steps.sent == [PulseStep(pulse=out.id)]
    town.run(page_size=2, budget=2)
    assert (town.get(out.id).state, town.get(out.id).sent) == ("sent", 6)
    assert town.subscribers.inbox_writes == Counter({r: 1 for r in town.residents})
    assert town.pushes(out.id) == Counter({r: 1 for r in town.residents})
    # The first step cannot be queued: 503, the pulse stays queued; the same request resumes it.
    town.steps.refuse = True
    refused_id = uuid.uuid4()
    with pytest.raises(Unavailable):
        town.pulse(refused_id)
    town.steps.refuse = False
    assert town.get(str(refused_id)).state == "queued"
    town.scene.fakes.clock.advance(seconds=usecase.RETRY_AFTER)
    assert town.pulse(refused_id) == (False, town.get(str(refused_id)))
    assert town.run() == [6] and town.get(str(refused_id)).state == "sent"


def test_a_resident_of_two_areas_is_asked_once_under_the_first() -> None:
    town = Town()
    south = town.scene.area("south", lat=51.6, lon=-0.2)
    both = town.scene.resident([{"area_id": south}, {"area_id": town.area_id}])
    only_south = town.followers(1, south)[0]
    _, out = town.pulse(areas=[town.area_id, south])
    assert town.run() == [2, 1]  # the first area's two followers, then the south's own
    sent = town.scene.fakes.db.pulse_sent
    assert sent[(out.id, both)][0].area_id == town.area_id and sent[(out.id, both)][0].team == "north"
    assert sent[(out.id, only_south)][0].area_id == south
    assert town.subscribers.inbox_writes[both] == 1 and town.pushes(out.id)[both] == 1
    assert town.get(out.id).sent == 3


def test_each_answers_once_as_a_count_and_strangers_are_404() -> None:
    town = Town()
    stranger = town.scene.resident([{"area_id": town.scene.area("south", lat=52.2, lon=-1.5)}])
    _, out = town.pulse()
    town.run()
    resident = town.residents[0]
    [item] = [i for i in town.scene.inbox(resident) if getattr(i, "pulse_id", None) == out.id]
    assert item.answered is False and item.question == "police_good_job"
    assert town.answer(out.id, resident, "fair").answered
    with pytest.raises(Conflict):
        town.answer(out.id, resident, "good")
    with pytest.raises(NotFound):
        town.answer(out.id, stranger)
    [item] = [i for i in town.scene.inbox(resident) if getattr(i, "pulse_id", None) == out.id]
    assert item.answered is True
    sent, answered = town.scene.fakes.db.pulse_sent[(out.id, resident)]
    assert answered is True and "fair" not in repr(sent)  # the mark says whether, never what
    assert [n for (k, b), n in town.scene.fakes.db.stats.items() if k == "trust|month" and "|confidence|fair|" in b]


def test_a_pulse_is_pushed_once_in_the_residents_language() -> None:
    town = Town()
    channel = webpush_channel()
    welsh = town.scene.resident([{"area_id": town.area_id}], channel, language="cy")
    _, out = town.pulse()
    town.run()
    [message] = town.scene.fakes.queue.take()
    worker = town.svc.push_worker()
    assert worker.process(message) and worker.process(message)  # a redelivery pushes nothing twice
    [(target, notice, _)] = town.scene.push.sent
    assert target == endpoint(channel) and isinstance(notice, NoticeNotification)
    assert notice.kind == "pulse" and notice.body.startswith("Gan ystyried popeth")
    assert welsh in town.reached(out.id)


def test_a_sample_is_deterministic_by_keyed_hash() -> None:
    town = Town()
    town.followers(40)
    key = town.svc.pseudonyms.subkey("pulse-sample")
    _, out = town.pulse(sample=0.25)
    town.run(page_size=7, budget=7)
    expected = {r for r in town.residents if rules.sampled(key, out.id, r, 0.25)}
    assert town.reached(out.id) == expected and 0 < len(expected) < 41
    assert town.get(out.id).sent == len(expected)
    _, none = town.pulse(sample=0.0)
    town.run()
    assert town.get(none.id).sent == 0 and town.get(none.id).state == "sent"


def test_a_pulse_closes_after_thirty_days_and_erasure_removes_the_mark() -> None:
    town = Town()
    _, out = town.pulse()
    town.run()
    resident = town.residents[0]
    town.scene.fakes.clock.advance(days=31)
    with pytest.raises(StateForbids):
        town.answer(out.id, resident)
    town.scene.fakes.clock.now = T0 + timedelta(hours=1)
    subscriber_cases.erase_me(town.svc, town.scene.as_resident(resident))
    assert town.scene.fakes.db.pulse_sent == {}


def test_a_step_for_an_unknown_pulse_or_area_does_nothing() -> None:
    town = Town()
    assert usecase.run_step(town.svc, PulseStep(pulse=str(uuid.uuid4()))) == 0
    _, out = town.pulse()
    town.steps.sent.clear()
    assert usecase.run_step(town.svc, PulseStep(pulse=out.id, area=3)) == 0
    assert town.get(out.id).state == "queued" and town.steps.sent == []
