"""Counters off the write path (issue 23): the contacts stream's aggregator, and the recount that
checks or repairs counters from the contacts themselves.

`apply_contact_stream` is the body of app.py's `contact_counter` (Lambda's event source mapping
in AWS, infra/local/streams.py locally and in tests): the batch is aggregated in memory and
written part by part, each part exactly once (domain/stream_counts.py, store/contact_stream.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from chalicelib.domain import stats_keys, stream_counts
from chalicelib.domain.contacts import ContactRecord
from chalicelib.domain.stream_counts import ContactChange

if TYPE_CHECKING:
    from chalicelib.services import Services


@dataclass(frozen=True)
class Applied:
    """What one stream batch did: records in it, records applied before (replays), parts written."""

    records: int
    replayed: int
    parts: int
    as_of: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"records": self.records, "replayed": self.replayed, "parts": self.parts, "as_of": self.as_of}


def apply_changes(svc: Services, changes: Sequence[ContactChange]) -> Applied:
    """Write the sums of `changes` (one stream shard's records, in order) exactly once."""
    pending = list(changes)
    replayed = parts = 0
    newest: str | None = None
    now = svc.clock()
    plan = stream_counts.plan_parts(pending, svc.pseudonyms.staff, svc.contact_rules.retention)
    while plan:
        part = plan.pop(0)
        already = svc.store.contact_stream.apply_part(part, now)
        if already:
            # Nothing of the part was written: plan the rest again without the records applied before.
            replayed += len(already)
            done = {*already}
            pending = [change for change in pending if change.event_id not in done]
            plan = stream_counts.plan_parts(pending, svc.pseudonyms.staff, svc.contact_rules.retention)
            continue
        parts += 1
        pending = pending[len(part.event_ids):]
        if part.newest is not None and (newest is None or part.newest > newest):
            newest = part.newest
    if newest is not None:
        svc.store.contact_stream.advance_as_of(newest)
    return Applied(records=len(changes), replayed=replayed, parts=parts, as_of=newest)


def apply_contact_stream(svc: Services, records: Sequence[Mapping[str, Any]]) -> Applied:
    """Lambda's DynamoDB stream records (raw) -> counters. A record that cannot be read raises:
    the event source mapping bisects the batch and sends that record to its on-failure queue
    (the records before it, applied already, are replays then and change nothing)."""
    return apply_changes(svc, [svc.store.contact_stream.decode(record) for record in records])


# -- recount: check and repair the counters from the contacts themselves --------------------------

RECOUNT_PAGE = 500
REPAIR_ITEMS = 90  # counter items per repair transaction (each with its marker, under 100)


@dataclass(frozen=True)
class Drift:
    """A day counter that differs from the recount of the contacts it should count."""

    key: str
    bucket: str
    counted: int
    recounted: int


def _team_contacts(svc: Services, team: str, day_from: date, day_to: date) -> Iterator[ContactRecord]:
    """Every contact of `team` that occurred in the days (Query on `by_team`, page by page)."""
    position: dict[str, Any] | None = None
    while True:
        page = svc.store.contacts.list_contacts(
            team=team, occurred_from=f"{day_from.isoformat()}T00:00:00Z", occurred_to=f"{day_to.isoformat()}T23:59:59Z",
            kind=None, limit=RECOUNT_PAGE, position=position)
        yield from page.records
        if page.position is None:
            return
        position = page.position


def counted_teams(svc: Services, day_from: date, day_to: date) -> list[str]:
    """The teams the force-wide `team` counters name in the days."""
    rows = svc.store.contacts.counters(stats_keys.counter_pk(stats_keys.FORCE_SCOPE, "team"),
                                       f"{day_from.isoformat()}|", f"{day_to.isoformat()}|\uffff")
    return sorted({bucket.split("|", 1)[1] for bucket, _ in rows})


def recount(svc: Services, day_from: date, day_to: date, teams: Iterable[str]) -> Counter[tuple[str, str]]:
    """The day counters as the contacts of `teams` say they should be (every counter a contact
    adds 1 to: domain.stats_keys)."""
    expected: Counter[tuple[str, str]] = Counter()
    for team in teams:
        for record in _team_contacts(svc, team, day_from, day_to):
            expected.update(record.counter_keys())
    return expected


def _keys(teams: Iterable[str], force: bool) -> set[str]:
    """The day counter keys of the teams' scopes (and the force's)."""
    keys = {stats_keys.counter_pk(stats_keys.FORCE_SCOPE, d) for d in stats_keys.DIMENSIONS} if force else set()
    return keys | {stats_keys.counter_pk(stats_keys.team_scope(t), d) for t in teams for d in stats_keys.DIMENSIONS
                   if d != "team"}


def _counted(svc: Services, keys: Iterable[str], day_from: date, day_to: date) -> dict[tuple[str, str], int]:
    counted: dict[tuple[str, str], int] = {}
    for key in sorted(keys):
        for bucket, n in svc.store.contacts.counters(key, f"{day_from.isoformat()}|", f"{day_to.isoformat()}|\uffff"):
            counted[(key, bucket)] = n
    return counted


def check(svc: Services, day_from: date, day_to: date, teams: Sequence[str] = (), force: bool = True) -> list[Drift]:
    """Every day counter of the days that differs from a recount: of each team and, with `force`,
    the force-wide ones (then every team the counters name is recounted too; `teams` adds those
    with uncounted contacts)."""
    every = sorted({*counted_teams(svc, day_from, day_to), *teams}) if force else sorted(set(teams))
    keys = _keys(every, force)
    expected = Counter({k: n for k, n in recount(svc, day_from, day_to, every).items() if k[0] in keys})
    counted = _counted(svc, keys, day_from, day_to)
    return [Drift(key, bucket, counted.get((key, bucket), 0), expected.get((key, bucket), 0))
            for key, bucket in sorted(set(counted) | set(expected))
            if counted.get((key, bucket), 0) != expected.get((key, bucket), 0)]


def repair(svc: Services, drifts: Sequence[Drift], run_id: str) -> int:
    """Add each drift's difference (with its week and month roll-ups) so the counters equal the
    recount; written like a stream batch, each part under a marker `recount-<run_id>-<n>`, so a
    repair run again with the same id changes nothing. Run it once the stream has settled (a
    batch applied meanwhile is counted by both). The number of counter items moved."""
    deltas = stats_keys.with_period_grains({(d.key, d.bucket): d.recounted - d.counted for d in drifts})
    items = sorted(deltas.items())
    now = svc.clock()
    for start in range(0, len(items), REPAIR_ITEMS):
        part = stream_counts.Part(event_ids=[f"recount-{run_id}-{start // REPAIR_ITEMS}"],
                                  counters=Counter(dict(items[start:start + REPAIR_ITEMS])))
        svc.store.contact_stream.apply_part(part, now)
    return len(items)
