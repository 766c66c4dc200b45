"""Rating counts off the write path (issue 23): a rating writes the rating item and its access-log
entry only; the neighbourhoods table's stream (app.py's `rating_counter`, Lambda's event shape on
DynamoDB Local) counts it exactly once; nothing else of the table counts, and neither erasure nor
a deletion changes a count. On the fakes (the use case's rules) and on DynamoDB Local."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import rating_counter
from chalicelib.domain.access import AccessRecord
from chalicelib.domain.stream_counts import RatingChange
from chalicelib.domain.trust import Pulse, Rating, counter_pk, shard_of
from chalicelib.usecases import counters
from tests.fakes import fake_services
from tests.support import crash_before_checkpoint, follower

NOW = datetime(2027, 3, 10, 12, tzinfo=UTC)
KEEP = NOW + timedelta(days=30)


def _rating(team: str) -> Rating:
    return Rating(conversation_id=str(uuid.uuid4()), target=f"answer:{uuid.uuid4()}", subscriber_id=str(uuid.uuid4()),
                  answered="partly", satisfaction=3, rated_at="2027-03-10T12:00:00Z", team=team, area_id=None)


def _expected(rating: Rating) -> list[tuple[str, int]]:
    shard = f"{shard_of(f'{rating.conversation_id}|{rating.target}'):02d}"
    return [(f"2027-03|{rating.team}|-|answered|partly|{shard}", 1), (f"2027-03|{rating.team}|-|satisfaction|3|{shard}", 1)]


def _counted(svc: Any, team: str) -> list[tuple[str, int]]:
    return svc.store.trust.counts(counter_pk(team, "month"), "2027-03|", "2027-03|\uffff")


def _audit() -> AccessRecord:
    return AccessRecord(actor="rlg_x", role="resident", action="conversation.rate", at=NOW,
                        request_id=str(uuid.uuid4()), record_id="c")


@pytest.mark.no_database
def test_the_use_case_counts_a_rating_insert_once_and_nothing_else_of_the_table() -> None:
    svc, fakes = fake_services(clock=lambda: NOW)
    team = f"t-{uuid.uuid4().hex[:8]}"
    rating = _rating(team)
    given = RatingChange("e-1", "INSERT", None, rating, "2027-03-10T12:00:01Z")
    others = [RatingChange("e-2", "INSERT", None, None), RatingChange("e-3", "MODIFY", None, None),
              RatingChange("e-4", "REMOVE", rating, None, by_ttl=True), RatingChange("e-5", "REMOVE", rating, None)]
    applied = counters.apply_rating_changes(svc, [given, *others])
    assert (applied.records, applied.parts, applied.replayed) == (5, 1, 0)
    assert _counted(svc, team) == _expected(rating)
    assert fakes.db.stream_marks == {"e-1"}  # the records that count nothing need no marker
    again = counters.apply_rating_changes(svc, [given, *others])  # Lambda's retry of the batch
    assert (again.parts, again.replayed) == (0, 1)
    assert _counted(svc, team) == _expected(rating)
    assert svc.store.rating_stream.as_of() == "2027-03-10T12:00:01Z"


def test_a_rating_writes_no_count_and_the_stream_counts_it_once_even_after_erasure(
        rating_poller: Any, services_override: Any) -> None:
    from chalicelib.services import services

    svc = services()
    team = f"t-{uuid.uuid4().hex[:8]}"
    rating = _rating(team)
    assert svc.store.trust.rate(rating, KEEP, _audit()) is True
    assert svc.store.trust.create_pulse(Pulse(id=str(uuid.uuid4()), question="police_good_job", areas=("a",),
                                              sample=1.0, created_at="2027-03-10T12:00:00Z")) is None
    assert _counted(svc, team) == []  # the write path wrote the rating and its access-log entry only
    answers = crash_before_checkpoint(rating_poller, rating_counter)  # counted, then Lambda killed
    assert answers[0]["records"] == 2 and answers[0]["parts"] == 1  # the rating; the pulse counts nothing
    assert _counted(svc, team) == _expected(rating)
    assert rating_poller.settle() == 2  # the retried batch: a replay
    assert _counted(svc, team) == _expected(rating)
    svc.store.priorities.erase_subscriber(rating.subscriber_id)  # erasure deletes the rating item
    assert svc.store.trust.conversation_ratings(rating.conversation_id) == []
    assert rating_poller.settle() == 1  # its REMOVE: nothing
    restarted = follower(rating_poller, rating_counter)
    restarted.positions.clear()  # a poller restarted at TRIM_HORIZON reads every record again
    restarted.settle()
    assert _counted(svc, team) == _expected(rating)
