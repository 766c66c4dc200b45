"""The recount on DynamoDB Local (issue 23; infra/recount.py, usecases/recount.py): after normal
traffic (contacts, conversations answered, closed as abuse and waiting past the standard, a
rating; the contacts stream settled) nothing differs; for each kind a corrupted item (or the
deleted wait gauge: the backfill of waits opened before it existed) is reported, repaired, and a
second repair changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.clock import fixed_clock
from chalicelib.domain import conversations as conv_rules
from chalicelib.domain import engagement, stats_keys
from chalicelib.domain import trust as trust_rules
from chalicelib.usecases import conversations as conversation_cases
from chalicelib.usecases import recount
from tests.alerting import register, spot
from tests.conftest import bearer, settle_streams
from tests.push_dns import TEST_PUSH_RESOLVER
from tests.support import online, post, street
from tests.test_conversations import make_area, start_body


@dataclass
class Traffic:
    team: str
    day_from: date
    day_to: date
    waiting_since: str  # the day the open wait began

    def check(self, svc: Any, kind: str) -> list[recount.Drift]:
        return recount.check(svc, self.day_from, self.day_to, [self.team], force=False, kinds=[kind])


def _post(client: Any, token: str, path: str, body: Any) -> Any:
    response = client.http.post(path, headers=bearer(token), body=json.dumps(body))
    assert response.status_code in (200, 201), response.body
    return response


@contextmanager
def _clock(at: datetime) -> Iterator[None]:
    """Services on a fixed clock for a while (what the services_override fixture does per test)."""
    from chalicelib import services as services_module
    from chalicelib.settings import SETTINGS

    previous = services_module._current
    services_module.use_services(services_module.build_services(
        SETTINGS, clock=fixed_clock(at), channels={}, push_resolver=TEST_PUSH_RESOLVER))
    try:
        yield
    finally:
        services_module.use_services(previous)


def _conversations(client: Any, staff_token: Any, team: str, now: datetime) -> str:
    """Three conversations: one answered and rated, one closed as abuse, one waiting since four
    days ago (past its 72 h standard, counted by the clock). The day that wait began."""
    lat, lon = spot()
    area = make_area(client, staff_token, team, lat, lon)
    began = now - timedelta(days=4)
    _, resident = register(client)
    with _clock(began):
        _post(client, resident, "/v1/conversations", start_body(area))
    with _clock(now):
        answered = _post(client, resident, "/v1/conversations", start_body(area)).json_body["id"]
        abuse = _post(client, resident, "/v1/conversations", start_body(area)).json_body["id"]
        officer = staff_token("officer", team=team, rank="constable")
        _post(client, officer, f"/v1/conversations/{answered}/messages", {"id": str(uuid.uuid4()), "text": "On it"})
        _post(client, resident, f"/v1/conversations/{answered}/rating", {"answered": "yes", "satisfaction": 4})
        _post(client, staff_token("supervisor", team=team), f"/v1/conversations/{abuse}/close", {"outcome": "abuse"})
        from chalicelib.services import services

        assert conversation_cases.count_overdue(services(), now) >= 1  # the wait passed 24 h and its standard
    return began.date().isoformat()


@pytest.fixture(scope="module")
def traffic(client: Any, staff_token: Any) -> Traffic:
    """One team's normal traffic, shared by the module's tests (each leaves it as it found it)."""
    team, now = f"team-{uuid.uuid4().hex[:10]}", datetime.now(UTC).replace(microsecond=0)
    officer = staff_token("officer", sub=f"pc-{uuid.uuid4().hex[:6]}", team=team, rank="constable")
    supervisor = staff_token("supervisor", team=team, rank="sergeant")
    for token, body in ((officer, street()), (officer, street(topic="drugs")), (officer, online(direction="outbound")),
                        (supervisor, street())):
        assert post(client, token, "/v1/contacts", body).status_code == 201
    began = _conversations(client, staff_token, team, now)
    settle_streams()
    return Traffic(team, date.fromisoformat(began), now.date(), began)


def _svc() -> Any:
    from chalicelib.services import services

    return services()


def _corrupt(svc: Any, key: str, bucket: str, numbers: dict[str, int]) -> None:
    assert svc.store.recount.add(f"corrupt-{uuid.uuid4().hex}", {(key, bucket): numbers}, {}, svc.clock())


def _lost(svc: Any, key: str, bucket: str, delta: int) -> None:
    """A day counter and its week and month roll-ups off by `delta`, as a lost or doubled stream
    batch leaves them (on shard 03)."""
    for (k, b), n in stats_keys.with_period_grains({(key, bucket): delta}).items():
        _corrupt(svc, k, f"{b}|03", {"contacts": n})


def _repaired_once(svc: Any, traffic: Traffic, kind: str, drifts: list[recount.Drift]) -> None:
    run_id = uuid.uuid4().hex
    assert recount.repair(svc, drifts, run_id) > 0
    assert traffic.check(svc, kind) == []
    assert recount.repair(svc, drifts, run_id) == 0  # the same repair again: its markers refuse it
    assert recount.repair(svc, traffic.check(svc, kind), uuid.uuid4().hex) == 0  # nothing left to repair
    assert traffic.check(svc, kind) == []


def test_after_normal_traffic_nothing_differs(traffic: Traffic) -> None:
    svc = _svc()
    assert recount.check(svc, traffic.day_from, traffic.day_to, [traffic.team], force=False) == []
    # and the force-wide items of the team agree too
    assert [d for d in recount.check(svc, traffic.day_from, traffic.day_to, [traffic.team], force=True)
            if traffic.team in d.bucket] == []


def test_a_statistics_counter_corrupted_is_reported_and_repaired(traffic: Traffic) -> None:
    svc = _svc()
    key = stats_keys.counter_pk(stats_keys.team_scope(traffic.team), "topic")
    _lost(svc, key, f"{traffic.day_to.isoformat()}|burglary", 5)
    drifts = traffic.check(svc, "stats")
    assert [(d.kind, d.key, d.bucket, d.counted - d.recounted) for d in drifts] == [
        ("stats", key, f"{traffic.day_to.isoformat()}|burglary", 5)]
    _repaired_once(svc, traffic, "stats", drifts)
    week = stats_keys.period_of(traffic.day_to.isoformat(), "week")
    assert dict(svc.store.contacts.counters(f"{key}|week", f"{week}|", f"{week}|"))[f"{week}|burglary"] == 2
    # a week counter bent alone is seen by a check over its whole week, and repaired alone
    _corrupt(svc, f"{key}|week", f"{week}|drugs|02", {"contacts": -1})
    monday = traffic.day_to - timedelta(days=traffic.day_to.weekday())
    whole_week = (monday, monday + timedelta(days=6))
    [bent] = recount.check(svc, *whole_week, [traffic.team], force=False, kinds=["stats"])
    assert (bent.key, bent.bucket, bent.counted, bent.recounted) == (f"{key}|week", f"{week}|drugs", 0, 1)
    assert recount.repair(svc, [bent], uuid.uuid4().hex) == 1
    assert recount.check(svc, *whole_week, [traffic.team], force=False, kinds=["stats"]) == []


def test_engagement_member_and_counter_items_corrupted_are_reported_and_repaired(traffic: Traffic) -> None:
    svc = _svc()
    grain, period = "week", stats_keys.period_of(traffic.day_to.isoformat(), "week")
    [(member_bucket, _)] = [(b, n) for b, n in svc.store.engagement.items(
        engagement.member_key(traffic.team, grain), f"{period}|", f"{period}|\uffff") if n.get("ss", 0) > 0]
    _corrupt(svc, engagement.member_key(traffic.team, grain), member_bucket, {"ss": -1, "sr_sergeant": -1})
    _corrupt(svc, engagement.team_key(traffic.team, "month"), f"{traffic.day_to.isoformat()[:7]}|00", {"a_t": 3})
    drifts = traffic.check(svc, "engagement")
    assert {(d.key.rsplit("|", 2)[1], d.attribute, d.recounted - d.counted) for d in drifts} == {
        ("engmember", "ss", 1), ("engmember", "sr_sergeant", 1), ("engagement", "a_t", -3)}
    _repaired_once(svc, traffic, "engagement", drifts)


def test_conversation_figures_corrupted_are_reported_and_repaired(traffic: Traffic) -> None:
    svc = _svc()
    key, today = conv_rules.figures_pk(traffic.team, "day"), traffic.day_to.isoformat()
    _lost(svc, key, f"{today}|{traffic.team}|opened", -1)
    _lost(svc, key, f"{today}|{traffic.team}|frt:00", 2)
    _lost(svc, key, f"{today}|{traffic.team}|closed", 7)  # not recountable: left alone
    drifts = traffic.check(svc, "figures")
    assert {(d.bucket.rsplit("|", 1)[1], d.recounted - d.counted) for d in drifts} == {("opened", 1), ("frt:00", -2)}
    _repaired_once(svc, traffic, "figures", drifts)
    month = conv_rules.figures_pk(traffic.team, "month")
    counted = dict(svc.store.conversations.figures(month, f"{today[:7]}|", f"{today[:7]}|\uffff"))
    opened_this_month = 1 + (traffic.waiting_since[:7] == today[:7])  # the answered one, and the waiting one?
    assert counted[f"{today[:7]}|{traffic.team}|opened"] == opened_this_month
    assert counted[f"{today[:7]}|{traffic.team}|dismissed"] == 1


def test_the_wait_gauge_deleted_is_rebuilt_from_the_conversations_waiting_now(traffic: Traffic, client: Any,
                                                                               staff_token: Any) -> None:
    from chalicelib.store.models import StatCounterModel

    svc = _svc()
    for item in StatCounterModel.query(conv_rules.waits_pk(traffic.team)):
        item.delete()  # as before the gauge existed
    assert svc.store.conversations.figures(conv_rules.waits_pk(traffic.team), "0", "9") == []
    drifts = traffic.check(svc, "waits")
    assert [(d.bucket, d.counted, d.recounted) for d in drifts] == [(f"{traffic.waiting_since}|{traffic.team}", 0, 1)]
    _repaired_once(svc, traffic, "waits", drifts)
    waiting = client.http.get(f"/v1/history/waiting?purpose=backlog+review&team={traffic.team}",
                              headers=bearer(staff_token("supervisor", team=traffic.team))).json_body
    assert (waiting["waiting"], waiting["oldest_waiting_since"]) == (1, traffic.waiting_since)


def test_rating_counts_below_the_rating_items_are_reported_and_repaired(traffic: Traffic) -> None:
    svc = _svc()
    key, month = trust_rules.counter_pk(traffic.team, trust_rules.GRAIN), traffic.day_to.isoformat()[:7]
    [bucket] = [b for b, n in svc.store.trust.counts(key, f"{month}|", f"{month}|\uffff") if "|answered|yes|" in b]
    _corrupt(svc, key, bucket, {"contacts": -1})
    drifts = traffic.check(svc, "trust")
    assert [(d.bucket.rsplit("|", 2)[1:], d.counted, d.recounted) for d in drifts] == [(["answered", "yes"], 0, 1)]
    _repaired_once(svc, traffic, "trust", drifts)
    _corrupt(svc, key, bucket, {"contacts": 1})  # more counted than items left: an erased resident's, kept
    assert traffic.check(svc, "trust") == []


def test_the_operators_command_reports_per_kind_and_repairs(traffic: Traffic, capsys: Any) -> None:
    from infra.recount import main

    svc = _svc()
    _corrupt(svc, conv_rules.waits_pk(traffic.team), f"{traffic.waiting_since}|{traffic.team}|05", {"contacts": 2})
    argv = ["--from", traffic.day_from.isoformat(), "--to", traffic.day_to.isoformat(), "--team", traffic.team,
            "--only-teams", "--kind", "waits", "--kind", "figures"]
    assert main(argv) == 1  # something differs, nothing repaired
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"waits {conv_rules.waits_pk(traffic.team)} {traffic.waiting_since}|{traffic.team} "
                                "contacts: counted 3, recount 1"]
    assert "waits 1, figures 0" in err
    assert main([*argv, "--repair", "--run-id", "ops-1"]) == 0
    assert main(argv) == 0 and "waits 0, figures 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--from", "2026-12-02", "--to", "2026-12-01"])  # a range backwards is refused
