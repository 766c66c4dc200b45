"""The recount's rules without a database (domain/recount.py; usecases/recount.py on the fakes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain import conversations as conv_rules
from chalicelib.domain import recount as rules
from chalicelib.domain.conversations import Conversation
from chalicelib.domain.trust import Rating
from chalicelib.usecases import recount
from tests.fakes import fake_services

pytestmark = pytest.mark.no_database

KEEP = datetime(2027, 1, 1, tzinfo=UTC)


def _conv(**fields: object) -> Conversation:
    base = Conversation(id="c1", team="north", owner="r1", area_id=None, alert_id=None, topic="noise",
                        status="waiting", created_at="2026-11-30T10:00:00Z", last_message_at="2026-11-30T10:00:00Z",
                        version=1, content_digest="d", expires_at=KEEP, waiting_since="2026-11-30T10:00:00Z")
    return replace(base, **fields)  # type: ignore[arg-type]


def test_figures_recount_what_a_conversation_still_shows() -> None:
    answered = _conv(id="c2", status="answered", waiting_since=None, first_response_at="2026-12-01T10:00:00Z")
    dismissed = _conv(id="c3", status="closed", outcome=conv_rules.ABUSE, waiting_since=None)
    late = _conv(id="c4", past_standard_at="2026-12-03T10:00:00Z")
    counts = rules.figure_counts([answered, dismissed, late])
    team = conv_rules.figures_pk("north", "day")
    assert {b: n for (k, b), n in counts.items() if k == team} == {
        "2026-11-30|north|opened": 2, "2026-11-30|north|dismissed": 1, "2026-12-01|north|answered": 1,
        f"2026-12-01|north|frt:{conv_rules.bucket_of(24 * 60):02d}": 1, "2026-12-03|north|past_standard_now": 1}
    assert counts[(conv_rules.figures_pk(None, "day"), "2026-11-30|north|opened")] == 2
    assert rules.recounted_event("2026-11-30|north|frt:07") and not rules.recounted_event("2026-11-30|north|closed")


def test_the_wait_gauge_is_the_conversations_waiting_now() -> None:
    waits = rules.wait_counts([_conv(), _conv(id="c2", status="answered", waiting_since=None)])
    assert waits == {(conv_rules.waits_pk(None), "2026-11-30|north"): 1, (conv_rules.waits_pk("north"), "2026-11-30|north"): 1}


def test_rating_counts_are_a_lower_bound_and_pulse_answers_are_not_recounted() -> None:
    rating = Rating(conversation_id="c1", target="answer:m1", subscriber_id="r1", answered="yes", satisfaction=4,
                    rated_at="2026-11-30T12:00:00Z")
    counts = rules.rating_counts([(rating, _conv())])
    key = ("trust|team:north|month", "2026-11|north|-|answered|yes")
    assert counts[key] == 1 and counts[("trust|team:north|month", "2026-11|north|-|satisfaction|4")] == 1
    assert rules.drifts("trust", {key: {"contacts": 3}}, {key: {"contacts": 1}}, lower_bound=True) == []  # erased
    assert rules.drifts("trust", {key: {"contacts": 0}}, {key: {"contacts": 1}}, lower_bound=True) == [
        rules.Drift(key[0], key[1], 0, 1, "trust")]
    assert rules.rating_bucket("2026-11|north|-|confidence|good|02") is None
    assert rules.rating_bucket("2026-11|north|-|answered|no|02") == "2026-11|north|-|answered|no"


def test_engagement_is_recounted_over_whole_weeks_and_months() -> None:
    assert rules.whole_periods(date(2026, 12, 2), date(2026, 12, 3)) == (date(2026, 11, 30), date(2026, 12, 31))
    assert rules.whole_periods(date(2027, 1, 1), date(2027, 1, 1)) == (date(2026, 12, 28), date(2027, 1, 31))


def test_week_and_month_counters_are_compared_when_wholly_within_the_days() -> None:
    assert rules.grains_inside(date(2026, 11, 30), date(2026, 12, 6)) == {"week": ("2026-W49", "2026-W49")}
    assert rules.grains_inside(date(2026, 11, 1), date(2026, 12, 9)) == {
        "week": ("2026-W45", "2026-W49"), "month": ("2026-11", "2026-11")}
    assert rules.grains_inside(date(2026, 12, 1), date(2026, 12, 3)) == {}
    days = {("team:n|topic", "2026-12-01|noise"): 2, ("team:n|topic", "2026-12-07|noise"): 1}
    assert rules.roll_ups(days, date(2026, 11, 30), date(2026, 12, 7)) == {("team:n|topic|week", "2026-W49|noise"): 2}
    bent = rules.with_roll_ups(rules.Drift("team:n|topic", "2026-12-01|noise", 0, 1), date(2026, 11, 30), date(2026, 12, 6))
    assert bent.roll_ups == ("month",)  # its week is compared on its own
    assert rules.plain_repair([bent]) == {("team:n|topic", "2026-12-01|noise|00"): {"contacts": 1},
                                          ("team:n|topic|month", "2026-12|noise|00"): {"contacts": 1}}
    week = rules.Drift("team:n|topic|week", "2026-W49|noise", 3, 2)
    assert rules.with_roll_ups(week, date(2026, 11, 30), date(2026, 12, 6)) == week
    assert rules.plain_repair([week]) == {("team:n|topic|week", "2026-W49|noise|00"): {"contacts": -1}}


def test_a_repair_marker_names_its_run_and_content() -> None:
    adds = {("k", "b"): {"contacts": 1}}
    assert rules.marker("run", "stats", adds) == rules.marker("run", "stats", dict(adds))
    assert rules.marker("run", "stats", adds) != rules.marker("run", "stats", {("k", "b"): {"contacts": 2}})
    assert rules.marker("run", "stats", adds) != rules.marker("other", "stats", adds)


def test_on_fakes_a_lost_gauge_and_a_bent_counter_are_repaired_once() -> None:
    svc, fakes = fake_services()
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    waiting = _conv(waiting_since=now, created_at=now, last_message_at=now)
    fakes.db.conversations[waiting.id] = waiting  # written before the gauge and the figures existed
    today = date.fromisoformat(now[:10])
    drifts = recount.check(svc, today - timedelta(days=1), today, ["north"], force=False, kinds=["waits", "figures"])
    assert {(d.kind, d.bucket, d.counted, d.recounted) for d in drifts} == {
        ("waits", f"{today}|north", 0, 1), ("figures", f"{today}|north|opened", 0, 1)}
    assert recount.repair(svc, drifts, "run-1") > 0
    assert recount.check(svc, today - timedelta(days=1), today, ["north"], force=False, kinds=["waits", "figures"]) == []
    assert recount.repair(svc, drifts, "run-1") == 0  # the same repair again
    fakes.db.add_counters({(conv_rules.waits_pk("north"), f"{today}|north|01"): 2})
    [bent] = recount.check(svc, today, today, ["north"], force=False, kinds=["waits"])
    assert (bent.counted, bent.recounted) == (3, 1)
