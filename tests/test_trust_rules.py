"""Residents' trust on fakes: the Wilson interval against statsmodels' numbers, suppression that
no subtraction undoes, ratings once per team answer, counts only, and erasure (pulses:
tests/test_pulse_rules.py). The HTTP loop (status codes, roles, DynamoDB) is tests/test_trust.py."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import trust as rules
from chalicelib.domain.conversations import CloseIn, ConversationIn, MessageIn
from chalicelib.domain.disclosure import Constraint, wilson, withheld
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, StateForbids, Undisclosable
from chalicelib.domain.results import Created
from chalicelib.domain.trust import RatingIn, TrustQuery
from chalicelib.errors import as_problem
from chalicelib.usecases import conversations as conversations_case
from chalicelib.usecases import subscribers as subscriber_cases
from chalicelib.usecases import trust as usecase
from tests.scenes import Scene

pytestmark = pytest.mark.no_database

T0 = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)  # a Wednesday
SETTLED = datetime(2027, 4, 2, tzinfo=UTC)  # March 2027 has ended and settled (rules.SETTLING): published


# -- the maths ------------------------------------------------------------------------------------

# statsmodels.stats.proportion.proportion_confint(count, nobs, alpha=0.05, method="wilson")
STATSMODELS_WILSON = [
    (5, 10, 0.2365931, 0.7634069),
    (0, 10, 0.0, 0.2775328),
    (10, 10, 0.7224672, 1.0),
    (12, 25, 0.3003129, 0.6650148),
    (1, 100, 0.0017674, 0.0544862),
    (37, 50, 0.6044684, 0.8412847),
]


@pytest.mark.parametrize(("count", "total", "low", "high"), STATSMODELS_WILSON)
def test_wilson_interval_matches_statsmodels(count: int, total: int, low: float, high: float) -> None:
    got = wilson(count, total)
    assert got == pytest.approx((low, high), abs=1e-7)


def test_wilson_refuses_impossible_counts() -> None:
    for count, total in ((1, 0), (-1, 5), (6, 5)):
        with pytest.raises(ValueError, match="count"):
            wilson(count, total)


def test_small_parts_are_withheld_and_so_is_what_would_give_them_away() -> None:
    # A team of 30 answers: areas a (20), b (6), c (4). b and c are under 10 (withheld) and sum to 10:
    # team - a = 10, a group of at least 10, nothing to add.
    assert withheld({"t": 30, "a": 20, "b": 6, "c": 4}, [Constraint("t", ("a", "b", "c"))]) == {"b", "c"}
    # areas a (15), b (12), c (3): team - a - b = 3 would give c away: the smallest published part
    # (b) goes too, and then team - a = 15.
    assert withheld({"t": 30, "a": 15, "b": 12, "c": 3}, [Constraint("t", ("a", "b", "c"))]) == {"b", "c"}
    # answers outside any area (the remainder) count as withheld: team 25 = a 20 + 5 outside
    assert withheld({"t": 25, "a": 20}, [Constraint("t", ("a",), remainder=5)]) == {"a"}
    # a withheld total hides nothing more
    assert withheld({"t": 8, "a": 5}, [Constraint("t", ("a",), remainder=3)]) == {"t", "a"}


def _counts(spec: dict[tuple[str, str], dict[str, int]], period: str = "2027-W10") -> rules.Tally:
    return {(period, team, area, "confidence"): values for (team, area), values in spec.items()}


def test_no_published_figures_subtract_to_a_withheld_one() -> None:
    spec = {("north", "a1"): {"good": 9, "fair": 6}, ("north", "a2"): {"poor": 3},
            ("north", "a3"): {"excellent": 12}, ("north", rules.NO_AREA): {"good": 2}}
    buckets = rules.figures(_counts(spec))
    published = {b.area_id: b.confidence.n for b in buckets if not b.confidence.withheld}
    team_n = published.pop(None)
    assert team_n == 32
    # every published area total subtracted from the team's leaves 0 or at least 10 answers
    assert team_n - sum(n or 0 for n in published.values()) >= 10
    assert published == {"a1": 15}  # a3 (12, the smallest) went too: a2 (3) + outside (2) = 5 would show
    # the same answer for one area, asked alone: withheld exactly as in the whole answer
    alone = rules.figures(_counts(spec), area_filter="a3")
    assert [(b.area_id, b.confidence.withheld) for b in alone] == [("a3", True)]


def test_shares_counts_and_favourable_of_a_published_measure() -> None:
    buckets = rules.figures(_counts({("north", "a1"): {"excellent": 5, "good": 7, "poor": 13}}))
    team = next(b for b in buckets if b.area_id is None)
    confidence = team.confidence
    assert confidence.n == 25 and confidence.counts == {"excellent": 5, "good": 7, "fair": 0, "poor": 13, "very_poor": 0}
    assert confidence.favourable is not None and confidence.shares is not None
    assert (confidence.favourable.share, confidence.favourable.low, confidence.favourable.high) == (0.48, 0.3003, 0.665)
    assert confidence.shares["fair"].high == pytest.approx(0.1332, abs=1e-4)
    assert team.answered.withheld and team.answered.n is None  # no ratings at all: withheld



def test_count_keys_writes_the_month_only() -> None:
    deltas = rules.count_keys({"answered": "yes", "satisfaction": "4"}, team="north", area_id="a1", day="2027-03-10", shard=2)
    assert deltas == {(pk, f"2027-03|north|a1|{measure}|{value}|02"): 1
                      for pk in ("trust|month", "trust|team:north|month")
                      for measure, value in (("answered", "yes"), ("satisfaction", "4"))}
    assert rules.count_keys({"confidence": "good"}, team="north", area_id=None, day="2027-12-31", shard=0) == {
        ("trust|month", "2027-12|north|-|confidence|good|00"): 1, ("trust|team:north|month", "2027-12|north|-|confidence|good|00"): 1}

# -- ratings -------------------------------------------------------------------------------------


class Place:
    def __init__(self) -> None:
        self.scene = Scene(now=T0)
        self.svc = self.scene.svc
        self.area_id = self.scene.area("north")
        self.resident = self.scene.resident([{"area_id": self.area_id}])

    def start(self, resident: str | None = None) -> str:
        body = ConversationIn(id=uuid.uuid4(), topic="noise", text="Loud music", area_id=uuid.UUID(self.area_id))
        saved = conversations_case.start(self.svc, self.scene.as_resident(resident or self.resident), body)
        assert isinstance(saved, Created)
        return saved.value.id

    def answer(self, conv_id: str) -> str:
        saved = conversations_case.post_message(self.svc, self.scene.staff("officer", sub="pc-1"), conv_id,
                                                MessageIn(id=uuid.uuid4(), text="We will call round"))
        assert isinstance(saved, Created)
        return saved.value.id

    def rate(self, conv_id: str, answered: str = "yes", satisfaction: int = 4, resident: str | None = None) -> Any:
        return usecase.rate(self.svc, self.scene.as_resident(resident or self.resident), conv_id,
                            RatingIn(answered=answered, satisfaction=satisfaction))  # type: ignore[arg-type]

    def read(self, who: Any = None, day_from: str = "2027-03-01", day_to: str = "2027-03-31", group_by: Any = "month",
             at: datetime | None = SETTLED, **filters: Any) -> rules.TrustOut:
        """The figures as read at `at` (the clock is set to it for the request; None: the clock's now)."""
        query = TrustQuery(from_=day_from, to=day_to, group_by=group_by, purpose="trust test", **filters)
        clock = self.scene.fakes.clock
        now = clock.now
        clock.now = at or now
        try:
            return usecase.figures(self.svc, dataclasses.replace(who or self.scene.staff("analyst"), now=clock()), query)
        finally:
            clock.now = now

    def trust(self, who: Any = None, **read: Any) -> list[rules.TrustBucket]:
        return self.read(who, **read).buckets

    def rated(self, count: int, answered: str = "yes") -> None:
        """`count` residents each start a conversation, get an answer and rate it (on the clock's day)."""
        for _ in range(count):
            resident = self.scene.resident([{"area_id": self.area_id}])
            conv = self.start(resident)
            self.answer(conv)
            self.rate(conv, answered, 4, resident=resident)


def test_a_rating_needs_a_team_answer_and_counts_once_per_answer() -> None:
    place = Place()
    conv = place.start()
    with pytest.raises(StateForbids):
        place.rate(conv)  # nothing to rate yet
    first = place.answer(conv)
    out = place.rate(conv, "partly", 3)
    assert out.target == f"answer:{first}" and out.answered == "partly"
    with pytest.raises(Conflict):
        place.rate(conv, "yes", 5)  # the same answer, again
    second = place.answer(conv)
    assert place.rate(conv, "yes", 5).target == f"answer:{second}"  # a new answer may be rated
    own = conversations_case.get(place.svc, place.scene.as_resident(place.resident), conv)
    assert [(r.target, r.answered) for r in own.ratings or []] == [(f"answer:{first}", "partly"), (f"answer:{second}", "yes")]
    assert conversations_case.get(place.svc, place.scene.staff("officer", sub="pc-1"), conv).ratings is None
    stats = place.scene.fakes.db.stats
    month = {k[1].rsplit("|", 1)[0]: v["contacts"] for k, v in stats.items() if k[0] == "trust|month"}
    assert month == {f"2027-03|north|{place.area_id}|answered|partly": 1, f"2027-03|north|{place.area_id}|satisfaction|3": 1,
                     f"2027-03|north|{place.area_id}|answered|yes": 1, f"2027-03|north|{place.area_id}|satisfaction|5": 1}


def test_a_close_without_an_answer_may_be_rated_once_and_others_conversations_are_404() -> None:
    place = Place()
    conv = place.start()
    conversations_case.close(place.svc, place.scene.staff("officer", sub="pc-1"), conv, CloseIn(outcome="resolved"))
    assert place.rate(conv, "no", 1).target.startswith("close:")
    with pytest.raises(Conflict):
        place.rate(conv, "no", 2)
    other = place.scene.resident([{"area_id": place.area_id}])
    with pytest.raises(NotFound):
        place.rate(conv, resident=other)
    with pytest.raises(NotFound):
        place.rate(str(uuid.uuid4()))


def test_ratings_below_ten_are_withheld_and_ten_are_shown_with_intervals() -> None:
    place = Place()
    for index in range(10):
        resident = place.scene.resident([{"area_id": place.area_id}])
        conv = place.start(resident)
        place.answer(conv)
        place.rate(conv, "yes" if index < 7 else "no", 5 if index < 4 else 2, resident=resident)
        if index == 8:
            assert all(b.answered.withheld and b.answered.counts is None for b in place.trust())
    team = next(b for b in place.trust() if b.area_id is None)
    assert team.answered.n == 10 and team.answered.counts == {"yes": 7, "partly": 0, "no": 3}
    assert team.answered.favourable is not None
    assert (team.answered.favourable.low, team.answered.favourable.high) == (0.3968, 0.8922)  # wilson(7, 10)
    assert team.satisfaction.counts == {"1": 0, "2": 6, "3": 0, "4": 0, "5": 4}
    assert team.confidence.withheld


def test_erasure_leaves_counts_and_nothing_naming_the_resident() -> None:
    place = Place()
    conv = place.start()
    place.answer(conv)
    place.rate(conv)
    db = place.scene.fakes.db
    assert [r.subscriber_id for r in db.ratings.values()] == [place.resident]
    subscriber_cases.erase_me(place.svc, place.scene.as_resident(place.resident))
    assert db.ratings == {}
    assert place.resident not in json.dumps({k[1]: v for k, v in db.stats.items()})
    assert sum(v["contacts"] for k, v in db.stats.items() if k[0] == "trust|month") == 2  # answered + satisfaction


# -- who reads the figures -----------------------------------------------------------------------


def test_supervisors_read_their_own_team_only_and_leaders_the_force() -> None:
    place = Place()
    assert place.trust(place.scene.staff("supervisor", team="north")) == []
    with pytest.raises(Forbidden):
        place.trust(place.scene.staff("supervisor", team="north"), team="south")
    south = place.scene.area("south", lat=52.2, lon=-1.5)
    with pytest.raises(Forbidden):
        place.trust(place.scene.staff("supervisor", team="north"), area_id=south)
    assert place.trust(place.scene.staff("leader")) == []
    log = [a for a in place.scene.fakes.db.access if a.action == "history.trust"]
    assert len(log) == 2 and {a.purpose for a in log} == {"trust test"}


# -- one grain -----------------------------------------------------------------------------------


def test_no_read_gives_a_months_small_remainder_away() -> None:
    """13 ratings in March: 10 in its second ISO week, 3 in its third. Published by week (10, and the
    3 withheld) next to the month (13), the month minus the week would single out those 3. Now every
    read that could be made publishes the one whole-month figure or nothing, so no difference of
    published figures exists at all."""
    place = Place()
    place.rated(10)  # 2027-03-10, week 2027-W10
    place.scene.fakes.clock.now = T0 + timedelta(days=7)  # 2027-03-17, week 2027-W11
    place.rated(3, answered="no")
    published: dict[tuple[str, str | None], set[tuple[str, int]]] = {}
    days = [f"2027-03-{d:02d}" for d in range(1, 32)]
    ranges = [(a, b) for a in days for b in days if a <= b and (a == b or a == days[0] or b == days[-1])]
    for grain in ("day", "week", "month"):
        for day_from, day_to in ranges:
            for filters in ({}, {"area_id": place.area_id}):
                try:
                    buckets = place.trust(day_from=day_from, day_to=day_to, group_by=grain, **filters)
                except Undisclosable as refused:
                    assert grain != "month" and as_problem(refused).status == 422
                    assert [e.field for e in refused.errors] == ["group_by"]
                    continue
                for b in buckets:
                    if not b.answered.withheld and b.answered.n is not None:
                        published.setdefault((b.team, b.area_id), set()).add((b.period, b.answered.n))
    # one figure per team and area, the whole month's, whatever range or grain was asked for
    assert published == {("north", None): {("2027-03", 13)}, ("north", place.area_id): {("2027-03", 13)}}
    # and nothing finer is kept that a later read could publish
    assert {k[0] for k in place.scene.fakes.db.stats if k[0].startswith("trust|")} == {"trust|month", "trust|team:north|month"}
    # a range inside the month is logged as the whole month it read
    log = [a for a in place.scene.fakes.db.access if a.action == "history.trust"][-1]
    assert log.query is not None
    assert (log.query["from"], log.query["to"], log.query["group_by"]) == ("2027-03-01", "2027-03-31", "month")


def test_day_and_week_are_refused_with_the_reason() -> None:
    place = Place()
    for grain in ("day", "week"):
        with pytest.raises(Undisclosable) as refused:
            place.trust(group_by=grain)
        problem = as_problem(refused.value).to_dict()
        assert problem["status"] == 422 and "calendar month only" in problem["detail"]
        assert problem["errors"] == [{"field": "group_by", "message": "must be month"}]
    assert TrustQuery(from_="2027-03-01", to="2027-03-31", purpose="trust test").group_by == "month"  # the default


# -- ended and settled months only -----------------------------------------------------------------


def test_a_rating_changes_no_published_figure_until_its_month_has_ended_and_settled() -> None:
    """The difference attack on the month in progress: a supervisor who has just answered resident X
    reads the team's figures before and after X rates, and subtracts. Until March has ended and
    settled (2 April 00:00 UTC) no read publishes anything of March, so every read is the same; from
    then on March's figure holds X's rating and never changes again."""
    place = Place()
    place.rated(12)  # 10 March: enough to publish, were March published
    resident_x = place.scene.resident([{"area_id": place.area_id}])
    conv = place.start(resident_x)
    place.answer(conv)
    supervisor = place.scene.staff("supervisor", team="north")
    place.scene.fakes.clock.now = datetime(2027, 3, 20, 14, 0, tzinfo=UTC)
    before = place.read(supervisor, at=None)
    place.rate(conv, "no", 1, resident=resident_x)
    moments = [datetime(2027, 3, 20, 14, 1, tzinfo=UTC), datetime(2027, 3, 31, 23, 59, 59, tzinfo=UTC),
               datetime(2027, 4, 1, tzinfo=UTC), datetime(2027, 4, 1, 23, 59, 59, tzinfo=UTC)]
    for at in moments:
        for filters in ({}, {"area_id": place.area_id}):
            after = place.read(supervisor, at=at, **filters)
            assert after.buckets == before.buckets == [], at  # nothing of March to subtract
            assert after.published_through == "2027-02"
            [march] = after.unpublished
            reason = "in_progress" if at.month == 3 else "settling"
            assert (march.period, march.reason, march.published_from) == ("2027-03", reason, "2027-04-02T00:00:00Z")
    published = place.read(supervisor, at=SETTLED)
    assert published.unpublished == [] and published.published_through == "2027-03"
    team = next(b for b in published.buckets if b.area_id is None)
    assert team.answered.n == 13 and team.answered.counts == {"yes": 12, "partly": 0, "no": 1}
    # once published, the same on every later read
    assert place.read(supervisor, at=datetime(2027, 9, 1, tzinfo=UTC)).buckets == published.buckets
    log = [a for a in place.scene.fakes.db.access if a.action == "history.trust"]
    assert log[0].query is not None and log[0].query["published_through"] == "2027-02"


def test_a_range_publishes_its_settled_months_and_lists_the_others() -> None:
    place = Place()
    place.scene.fakes.clock.now = datetime(2027, 2, 10, 9, 0, tzinfo=UTC)
    place.rated(10)  # February: published on 2 March
    place.scene.fakes.clock.now = T0
    place.rated(10)  # March: in progress on 10 March
    out = place.read(day_from="2027-02-01", day_to="2027-04-30", at=None)
    assert {b.period for b in out.buckets} == {"2027-02"} and out.published_through == "2027-02"
    assert [(m.period, m.reason, m.published_from) for m in out.unpublished] == [
        ("2027-03", "in_progress", "2027-04-02T00:00:00Z"), ("2027-04", "not_started", "2027-05-02T00:00:00Z")]
    # wholly unpublished: no bucket, no counter read
    assert place.read(day_from="2027-03-01", day_to="2027-04-30", at=None).buckets == []


def test_publication_dates_settle_one_day_after_the_month() -> None:
    assert timedelta(days=1) == rules.SETTLING
    assert rules.published_from("2026-12") == datetime(2027, 1, 2, tzinfo=UTC)
    assert rules.published_through(datetime(2027, 1, 1, 23, 59, 59, tzinfo=UTC)) == "2026-11"
    assert rules.published_through(datetime(2027, 1, 2, tzinfo=UTC)) == "2026-12"
    assert rules.unpublished_reason("2026-12", datetime(2027, 1, 1, 12, tzinfo=UTC)) == "settling"
    assert rules.unpublished_reason("2026-12", datetime(2026, 12, 31, tzinfo=UTC)) == "in_progress"
    assert rules.unpublished_reason("2027-01", datetime(2026, 12, 31, tzinfo=UTC)) == "not_started"
    assert rules.unpublished_reason("2026-12", datetime(2027, 1, 2, tzinfo=UTC)) is None
