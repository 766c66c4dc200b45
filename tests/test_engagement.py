"""GET /v1/history/engagement: distinct staff per period and team, from counters written with
each contact (DynamoDB Local, through HTTP). Retries, amendments and concurrent writes keep the
counts exact; no staff id ever leaves."""

from __future__ import annotations

import itertools
import json
import random
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import msgspec
import pytest

from chalicelib.clock import to_rfc3339
from chalicelib.domain import engagement, stats_keys
from chalicelib.domain.pseudonyms import Pseudonymizer
from chalicelib.domain.results import Created
from tests.conftest import bearer
from tests.support import DynamoCalls

PURPOSE = "neighbourhood engagement review"
_SLOTS = itertools.count()
_rng = random.SystemRandom()
# Own stretch of fixed time per test (far from other files' clocks), so force-wide reads see
# only this test's teams in the periods it asks for (other teams are filtered out anyway).
_BASE = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(days=_rng.randrange(0, 3000))


@pytest.fixture
def now(services_override) -> datetime:
    """A fixed clock on a Wednesday at noon (so `now - 1 h` and `now - 25 h` share an ISO week)."""
    day = _BASE + timedelta(days=70 * next(_SLOTS))
    day += timedelta(days=(2 - day.weekday()) % 7)
    at = day.replace(hour=12, minute=0, second=0, microsecond=0)
    services_override(clock=lambda: at)
    return at


def _street(at: datetime, **extra) -> dict:
    body = {"id": str(uuid.uuid4()), "kind": "street", "occurred_at": to_rfc3339(at), "topic": "burglary",
            "outcome": "advice_given", "location": {"lat": 51.5, "lon": -0.12}, "setting": "patrol"}
    return {**body, **extra}


def _online(at: datetime, direction: str = "inbound", **extra) -> dict:
    body = {"id": str(uuid.uuid4()), "kind": "online", "occurred_at": to_rfc3339(at), "topic": "fraud_scams",
            "outcome": "advice_given", "platform": "facebook", "direction": direction}
    return {**body, **extra}


def _log(client, token: str, body: dict, status: int = 201) -> None:
    response = client.http.post("/v1/contacts", headers=bearer(token), body=json.dumps(body))
    assert response.status_code == status, response.body


def _patch(client, token: str, contact_id: str, **changes) -> None:
    response = client.http.patch(f"/v1/contacts/{contact_id}", headers=bearer(token),
                                 body=json.dumps({"version": changes.pop("version", 1), **changes}))
    assert response.status_code == 200, response.body


def _get(client, token: str, **params):
    params.setdefault("purpose", PURPOSE)
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return client.http.get(f"/v1/history/engagement?{query}", headers=bearer(token))


def _buckets(client, token: str, now: datetime, group_by: str = "day", days: int = 20, **params) -> list[dict]:
    window = {"from": (now - timedelta(days=days)).date().isoformat(), "to": now.date().isoformat()}
    response = _get(client, token, group_by=group_by, **window, **params)
    assert response.status_code == 200, response.body
    return response.json_body["buckets"]


def counts(any_: int = 0, street: int = 0, online: int = 0, outbound: int = 0) -> dict:
    return {"any": any_, "street": street, "online": online, "online_outbound": outbound}


def bucket(period: str, team: str, staff: dict, officer: dict | None = None, supervisor: dict | None = None,
           by_rank: dict | None = None) -> dict:
    """Tokens without a rank count under `unknown`: by default all staff are there."""
    return {"period": period, "team": team, "staff": staff,
            "by_role": {"officer": officer or counts(), "supervisor": supervisor or counts()},
            "by_rank": {"unknown": staff} if by_rank is None else by_rank}


# --- pure ----------------------------------------------------------------------------------------


def test_member_moves_net_out_and_stay_within_one_update_per_item():
    keys = Pseudonymizer(b"k" * 32)
    act = engagement.activity(contact_id="c-1", author="pc-1", team="north", occurred_at="2026-11-25T10:00:00Z", kind="online",
                              direction="inbound", role="officer")
    created = engagement.member_moves(None, act, keys.staff, timedelta(days=730))
    assert len(created) == 3  # one member item per grain (day, week, month)
    assert len({(u.key, u.bucket) for u in created}) == 3
    assert all(u.deltas == {"no": 1, "nr_unknown": 1} and u.bucket.split("|")[1].startswith("stf_") for u in created)
    assert all(len(u.counters) == 2 and u.counters[0][0] == engagement.team_key("north", u.key.rsplit("|", 1)[1])
               for u in created)
    outbound = engagement.activity(contact_id="c-1", author="pc-1", team="north", occurred_at="2026-11-25T10:00:00Z",
                                   kind="online", direction="outbound", role="officer")
    moved = engagement.member_moves(act, outbound, keys.staff, timedelta(days=730))
    assert len(moved) == 3 and all(u.deltas == {"oo": 1, "or_unknown": 1} for u in moved)
    assert engagement.member_moves(act, act, keys.staff, timedelta(days=730)) == []
    # Moved to another day of the same week and month: only the day items change.
    later = engagement.activity(contact_id="c-1", author="pc-1", team="north", occurred_at="2026-11-26T10:00:00Z", kind="online",
                                direction="inbound", role="officer")
    assert {u.key for u in engagement.member_moves(act, later, keys.staff, timedelta(days=730))} == {
        engagement.member_key("north", "day")}
    # Not staff (alert responses, contacts from before the counters): nothing to count.
    assert engagement.activity(contact_id="c-2", author="system", team="north", occurred_at="2026-11-25T10:00:00Z", kind="online",
                               direction="inbound", role=None) is None


def test_optimistic_checks_hold_exactly_when_no_distinct_count_moves():
    assert engagement.optimistic_checks({"so": 1, "no": -1}) == [("no", ">", 1), ("so", ">", 0)]
    cases = [  # (state, deltas, counter moves)
        ({}, {"so": 1}, {"s_o": 1, "s_t": 1, "a_o": 1, "a_t": 1}),  # first contact at all
        ({"no": 2}, {"so": 1}, {"s_o": 1, "s_t": 1}),  # first street contact of an online officer
        ({"ss": 1}, {"so": 1}, {"s_o": 1, "a_o": 1}),  # was counted as supervisor only
        ({"so": 3}, {"so": 1}, {}),  # the common case
        ({"so": 1, "no": 1}, {"so": -1}, {"s_o": -1, "s_t": -1}),  # last street contact amended away
        ({"so": 2}, {"so": -1}, {}),
        ({"no": 1, "oo": 1}, {"oo": -1}, {"o_o": -1, "o_t": -1}),
        ({"so": 1}, {"so": -1, "ns": 1}, {"s_o": -1, "s_t": -1, "a_o": -1, "n_s": 1, "n_t": 1, "a_s": 1}),
    ]
    for state, deltas, want in cases:
        checks, moves = engagement.settle(state, deltas)
        assert moves == want, (state, deltas)
        assert len(checks) == len(engagement.pinned_attributes(deltas))
        # The pinned state is the one seen: every check holds on it.
        for name, op, threshold in checks:
            assert (state.get(name, 0) > threshold) == (op == ">"), (state, name)
        held = all(state.get(n, 0) > t for n, _, t in engagement.optimistic_checks(deltas))
        assert held == (moves == {}), (state, deltas)


def test_staff_pseudonyms_differ_per_period_and_from_history_officer_pseudonyms():
    keys = Pseudonymizer(b"k" * 32)
    week = keys.staff("week", "2026-W48", "pc-1")
    assert week.startswith("stf_") and week == keys.staff("week", "2026-W48", "pc-1")
    others = {keys.staff("week", "2026-W49", "pc-1"), keys.staff("day", "2026-W48", "pc-1"),
              keys.staff("week", "2026-W48", "pc-2"), keys.officer("pc-1")}
    assert week not in others and len(others) == 4
    assert "pc-1" not in week and Pseudonymizer(b"j" * 32).staff("week", "2026-W48", "pc-1") != week


def test_periods_end_on_sunday_and_month_end():
    assert engagement.period_end("2026-11-25", "week").isoformat() == "2026-11-29"
    assert engagement.period_end("2026-12-31", "month").isoformat() == "2026-12-31"
    assert engagement.period_end("2028-02-03", "month").isoformat() == "2028-02-29"
    assert engagement.period_end("2026-11-25", "day").isoformat() == "2026-11-25"


def test_aggregate_sums_shards_and_ignores_unknown_attributes():
    items = [("2026-W48", "north", {"a_t": 2, "a_o": 2, "s_o": 1, "n_o": 1, "zz": 4, "expires_at": 9}),
             ("2026-W48", "north", {"a_t": 1, "a_s": 1, "s_s": 1, "s_t": 1, "n_t": 1, "s_o": 0}),  # another shard
             ("2026-W49", "north", {"a_t": 0, "s_t": 0})]  # amended away
    out = engagement.aggregate(items)
    assert len(out) == 1
    assert (out[0].staff.any, out[0].staff.street, out[0].staff.online) == (3, 1, 1)
    assert out[0].by_role.supervisor.any == 1 and out[0].by_role.officer.any == 2
    assert out[0].by_role.officer.street == 1 and out[0].by_role.supervisor.street == 1


# --- through HTTP ----------------------------------------------------------------------------------


def test_counts_distinct_staff_per_category_role_and_grain(client, staff_token, team, now):
    pc1, pc2 = (staff_token("officer", sub=f"pc-{uuid.uuid4().hex[:6]}", team=team) for _ in range(2))
    sgt_sub = f"sgt-{uuid.uuid4().hex[:6]}"
    sgt = staff_token("supervisor", sub=sgt_sub, team=team)
    hour, yesterday = now - timedelta(hours=1), now - timedelta(hours=25)
    for body in (_street(hour), _street(hour), _online(hour), _online(yesterday, "outbound")):
        _log(client, pc1, body)  # many contacts of one officer still count once
    _log(client, pc2, _online(hour, "outbound"))
    _log(client, sgt, _street(yesterday))
    today, day_before = now.date().isoformat(), (now - timedelta(hours=25)).date().isoformat()
    want_days = [
        bucket(day_before, team, counts(2, 1, 1, 1), officer=counts(1, 0, 1, 1), supervisor=counts(1, 1)),
        bucket(today, team, counts(2, 1, 2, 1), officer=counts(2, 1, 2, 1)),
    ]
    assert _buckets(client, sgt, now) == want_days
    week = stats_keys.period_of(today, "week")
    want_week = [bucket(week, team, counts(3, 2, 2, 2), officer=counts(2, 1, 2, 2), supervisor=counts(1, 1))]
    assert _buckets(client, sgt, now, "week") == want_week
    analyst = staff_token("analyst", team=None)
    assert _buckets(client, analyst, now, "week", team=team) == want_week
    month = _buckets(client, analyst, now, "month", days=40, team=team)
    assert [b["staff"]["any"] for b in month] == [3]
    body = _get(client, analyst, group_by="day", team=team, **{"from": today, "to": today}).body.decode()
    assert "pc-" not in body and "sgt-" not in body and "stf_" not in body and "off_" not in body


def test_force_view_has_one_bucket_per_team(client, staff_token, team, now):
    other = f"{team}-b"
    _log(client, staff_token("officer", team=team), _street(now - timedelta(hours=1)))
    for _ in range(3):
        _log(client, staff_token("officer", team=other), _online(now - timedelta(hours=2)))
    for role in ("analyst", "admin"):
        got = [b for b in _buckets(client, staff_token(role, team=None), now, "week") if b["team"] in (team, other)]
        week = stats_keys.period_of(now.date().isoformat(), "week")
        assert got == [bucket(week, team, counts(1, 1), officer=counts(1, 1)),
                       bucket(week, other, counts(3, 0, 3), officer=counts(3, 0, 3))]


def test_identical_retries_count_once(client, staff_token, team, now):
    officer = staff_token("officer", team=team)
    body = _online(now - timedelta(hours=1), "outbound")
    _log(client, officer, body)
    before = _buckets(client, officer_supervisor := staff_token("supervisor", team=team), now, "week")
    for _ in range(3):
        _log(client, officer, body, status=200)
    response = client.http.post("/v1/contacts/batch", headers=bearer(officer),
                                body=json.dumps({"contacts": [body, body, _online(now - timedelta(hours=2))]}))
    assert [r["status"] for r in response.json_body["results"]] == [200, 200, 201]
    after = _buckets(client, officer_supervisor, now, "week")
    assert before[0]["staff"] == counts(1, 0, 1, 1) and after == before
    # The stored per-member counts sum to the number of contacts (2), not of requests (6).
    from chalicelib.store import engagement as engagement_store

    key = engagement.member_key(team, "week")
    stored = engagement_store.items(key, "0", "\uffff")
    by_category = {"n": 0, "o": 0}
    for _, attrs in stored:
        for name, value in attrs.items():
            if name != "expires_at" and engagement.RANK_MARK not in name:  # role attributes; ranks alike
                by_category[name[0]] += value
    assert by_category == {"n": 2, "o": 1}
    counters = engagement_store.items(engagement.team_key(team, "week"), "0", "\uffff")
    assert sum(attrs.get("a_t", 0) for _, attrs in counters) == 1


def test_amendments_move_members_exactly(client, staff_token, team, now):
    sub = f"pc-{uuid.uuid4().hex[:6]}"
    officer = staff_token("officer", sub=sub, team=team)
    supervisor = staff_token("supervisor", team=team)
    first, second = _online(now - timedelta(hours=1)), _online(now - timedelta(hours=2))
    _log(client, officer, first)
    _log(client, officer, second)
    week = lambda: _buckets(client, supervisor, now, "week")[0]["staff"]  # noqa: E731
    assert week() == counts(1, 0, 1, 0)
    _patch(client, officer, first["id"], direction="outbound")
    assert week() == counts(1, 0, 1, 1)
    _patch(client, supervisor, first["id"], version=2, direction="inbound")  # amended by someone else
    assert week() == counts(1, 0, 1, 0)
    # Move one of the two contacts to an earlier week: the officer stays in this week (the other
    # contact) and appears in the earlier one too; moving the second one empties this week.
    earlier = now - timedelta(days=9)
    _patch(client, officer, first["id"], version=3, occurred_at=to_rfc3339(earlier))
    weeks = {b["period"]: b["staff"] for b in _buckets(client, supervisor, now, "week")}
    this, that = (stats_keys.period_of(d.date().isoformat(), "week") for d in (now, earlier))
    assert weeks == {this: counts(1, 0, 1, 0), that: counts(1, 0, 1, 0)}
    _patch(client, officer, second["id"], occurred_at=to_rfc3339(earlier))
    weeks = {b["period"]: b["staff"] for b in _buckets(client, supervisor, now, "week")}
    assert weeks == {that: counts(1, 0, 1, 0)}
    days = _buckets(client, supervisor, now, "day")
    assert [(b["period"], b["staff"]["any"]) for b in days] == [(earlier.date().isoformat(), 1)]


def test_concurrent_creates_by_many_officers_are_exact(client, staff_token, team, now):
    """8 threads logging 48 contacts of 12 officers and 2 supervisors into one team and day
    (the same engagement items): transaction conflicts are retried, nothing is lost or doubled."""
    from chalicelib.auth.principal import Principal
    from chalicelib.context import RequestContext
    from chalicelib.domain.contact_schemas import OnlineContactIn, StreetContactIn
    from chalicelib.services import services
    from chalicelib.usecases.contacts import create_contact

    svc = services()
    staff = [(f"pc-{n}-{uuid.uuid4().hex[:4]}", "officer") for n in range(12)]
    staff += [(f"sgt-{n}-{uuid.uuid4().hex[:4]}", "supervisor") for n in range(2)]
    jobs = []
    for index in range(48):
        sub, role = staff[index % len(staff)]
        raw = _street(now - timedelta(minutes=index)) if index % 3 else _online(now - timedelta(minutes=index), "outbound")
        jobs.append((sub, role, raw))

    def create(job: tuple[str, str, dict]) -> int:
        sub, role, raw = job
        item = msgspec.convert(raw, StreetContactIn | OnlineContactIn)
        ctx = RequestContext(request_id=str(uuid.uuid4()), now=now,
                             principal=Principal(sub=sub, roles=frozenset({role}), kind="staff", team=team))
        return 201 if isinstance(create_contact(svc, ctx, item), Created) else 200

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(create, jobs + jobs[:10]))  # 10 retries race their originals too
    assert sorted(set(statuses)) in ([200, 201], [201])
    assert statuses.count(201) == 48
    online_subs = {sub for sub, _, raw in jobs if raw["kind"] == "online"}
    street_subs = {sub for sub, _, raw in jobs if raw["kind"] == "street"}
    role_of = dict(staff)

    def split(subs: set[str], role: str) -> int:
        return len({s for s in subs if role_of[s] == role})

    expected = bucket(
        now.date().isoformat(), team,
        counts(14, len(street_subs), len(online_subs), len(online_subs)),
        officer=counts(12, split(street_subs, "officer"), split(online_subs, "officer"), split(online_subs, "officer")),
        supervisor=counts(2, split(street_subs, "supervisor"), split(online_subs, "supervisor"),
                          split(online_subs, "supervisor")),
    )
    assert _buckets(client, staff_token("analyst", team=None), now, "day", days=1, team=team) == [expected]


def test_racing_first_and_last_contacts_and_common_path_stay_exact(client, staff_token, team, now):
    """Every contact of 4 officers races: their first contacts (created together), their first
    outbound ones (all amended to outbound together) and their last outbound ones (all amended
    back together), each mixed with the common path; the counts and member items stay exact."""
    from chalicelib.auth.principal import Principal
    from chalicelib.context import RequestContext
    from chalicelib.domain.contact_schemas import ContactPatch, OnlineContactIn
    from chalicelib.services import services
    from chalicelib.store import engagement as engagement_store
    from chalicelib.usecases.contacts import amend_contact, create_contact

    svc = services()
    subs = [f"pc-r{n}-{uuid.uuid4().hex[:4]}" for n in range(4)]
    bodies = [(sub, _online(now - timedelta(minutes=n))) for n in range(5) for sub in subs]

    def ctx(sub: str) -> RequestContext:
        return RequestContext(request_id=str(uuid.uuid4()), now=now,
                              principal=Principal(sub=sub, roles=frozenset({"officer"}), kind="staff", team=team))

    def create(job: tuple[str, dict]) -> int:
        saved = create_contact(svc, ctx(job[0]), msgspec.convert(job[1], OnlineContactIn))
        return 201 if isinstance(saved, Created) else 200

    def amend(version: int, direction: str) -> Callable[[tuple[str, dict]], int]:
        def run(job: tuple[str, dict]) -> int:
            return amend_contact(svc, ctx(job[0]), job[1]["id"], ContactPatch(version=version, direction=direction)).version
        return run

    analyst = staff_token("analyst", team=None)
    day = now.date().isoformat()
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(create, bodies)) == [201] * 20
        want = bucket(day, team, counts(4, 0, 4, 0), officer=counts(4, 0, 4, 0))
        assert _buckets(client, analyst, now, "day", days=1, team=team) == [want]
        assert list(pool.map(amend(1, "outbound"), bodies)) == [2] * 20
        want = bucket(day, team, counts(4, 0, 4, 4), officer=counts(4, 0, 4, 4))
        assert _buckets(client, analyst, now, "day", days=1, team=team) == [want]
        assert list(pool.map(amend(2, "inbound"), bodies)) == [3] * 20
    want = bucket(day, team, counts(4, 0, 4, 0), officer=counts(4, 0, 4, 0))
    for grain in ("day", "week"):
        got = _buckets(client, analyst, now, grain, days=1, team=team)
        assert [b["staff"] for b in got] == [want["staff"]], grain
        members = engagement_store.items(engagement.member_key(team, grain), "0", "\uffff")
        assert sorted(attrs.get("no", 0) for _, attrs in members) == [5] * 4
        assert all(attrs.get("oo", 0) == 0 for _, attrs in members)
    assert _buckets(client, analyst, now, "day", days=1, team=team) == [want]


def test_supervisor_own_team_only_and_purpose_required(client, staff_token, team, now):
    _log(client, staff_token("officer", team=team), _street(now - timedelta(hours=1)))
    supervisor = staff_token("supervisor", team=team)
    window = {"from": now.date().isoformat(), "to": now.date().isoformat()}
    assert _get(client, supervisor, **window).status_code == 200
    assert _get(client, supervisor, team=team, **window).status_code == 200
    for other in (f"{team}-x", team.upper(), f"{team} ", "*"):
        assert _get(client, supervisor, team=other, **window).status_code == 403, other
    assert _get(client, staff_token("supervisor", team=None), **window).status_code == 403
    assert _get(client, staff_token("officer", team=team), team=team, **window).status_code == 403
    assert client.http.get(f"/v1/history/engagement?{urlencode(window)}").status_code == 401
    for purpose in (None, "", "ab", "x" * 201):
        params = {**window, **({"purpose": purpose} if purpose is not None else {})}
        response = client.http.get(f"/v1/history/engagement?{urlencode(params)}", headers=bearer(supervisor))
        assert response.status_code == 400 and response.json_body["errors"][0]["field"] == "purpose"
    bad = [{"from": "2026-02-01", "to": "2026-01-01"}, {"from": "2026-01-01", "to": "2027-02-01"},
           {"from": "yesterday", "to": "2026-01-01"}, {**window, "group_by": "year"}, {**window, "staff": "pc-1"},
           {**window, "team": ""}, {**window, "team": "t" * 65}]
    for params in bad:
        assert _get(client, supervisor, **params).status_code == 400, params


def test_calls_are_access_logged_with_purpose(client, staff_token, team, now):
    _log(client, staff_token("officer", team=team), _street(now - timedelta(hours=1)))
    analyst_sub = f"an-{uuid.uuid4().hex[:8]}"
    analyst = staff_token("analyst", sub=analyst_sub, team=None)
    assert _get(client, analyst, group_by="week", team=team, purpose="breadth check",
                **{"from": now.date().isoformat(), "to": now.date().isoformat()}).status_code == 200
    from chalicelib.store.models import AccessLogModel

    entries = list(AccessLogModel.by_actor.query(analyst_sub))
    assert [(e.action, e.purpose, e.row_count) for e in entries] == [("history.engagement", "breadth check", 1)]
    assert json.loads(entries[0].filters)["team"] == team and json.loads(entries[0].filters)["group_by"] == "week"


def _transactions(run) -> list[tuple[int, int, int]]:
    """Per TransactWriteItems `run()` sends (on the contacts' or the stats' client): (items,
    engagement member items, counter items)."""
    from chalicelib.store.models import ContactModel, StatCounterModel

    sent: list[tuple[int, int, int]] = []
    clients = {id(c): c for c in (model._get_connection().connection.client for model in (ContactModel, StatCounterModel))}

    def handler(params, **_):
        keys = [t["Update"]["Key"]["key"]["S"] for t in params["TransactItems"] if "Update" in t]
        sent.append((len(params["TransactItems"]), sum("|engmember|" in k for k in keys),
                     sum("|engagement|" in k for k in keys)))

    for client in clients.values():
        client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", handler, unique_id="eng-count")
    try:
        run()
    finally:
        for client in clients.values():
            client.meta.events.unregister("provide-client-params.dynamodb.TransactWriteItems", unique_id="eng-count")
    return sent


def test_round_trips_one_for_a_members_second_contact_and_one_query_per_read(client, staff_token, team, now, settle):
    officer = staff_token("officer", team=team)
    settle()  # what earlier tests left on the stream
    created = _transactions(lambda: _log(client, officer, _street(now - timedelta(hours=1))))
    assert created == [(2, 0, 0)], created  # the create: the contact and its access-log entry only
    first = _transactions(settle)
    # The stream aggregator, a member's first contact of the period: the optimistic write is
    # cancelled on its 3 member items, the settled one adds the distinct counts to 6 counter
    # items (3 grains x team/force), with the statistics sums and the record's marker.
    assert [(m, c) for _, m, c in first] == [(3, 0), (3, 6)], first
    _log(client, officer, _street(now - timedelta(hours=2)))
    second = _transactions(settle)
    assert len(second) == 1 and second[0][1:] == (3, 0), second  # the common path: one round trip
    with DynamoCalls() as calls:
        _log(client, officer, _street(now - timedelta(hours=3)))
    assert calls.operations == ["TransactWriteItems"]
    # Outbound online, first of its categories on a settled round: still far below 100 items.
    _log(client, officer, _online(now - timedelta(hours=2), "outbound"))
    online = _transactions(settle)
    assert len(online) == 2 and all(total <= 100 for total, _, _ in online)
    print(f"street contact on the stream: {second[0][0]} transaction items (common), {first[1][0]} (member's first)")
    from chalicelib.store.models import StatCounterModel

    analyst = staff_token("analyst", team=None)
    queries: list[str] = []
    stats_events = StatCounterModel._get_connection().connection.client.meta.events
    stats_events.register("before-call.dynamodb.Query", lambda **_: queries.append("Query"), unique_id="eng-q")
    try:
        for params in ({"team": team}, {}):
            queries.clear()
            year = {"from": (now - timedelta(days=365)).date().isoformat(), "to": now.date().isoformat()}
            assert _get(client, analyst, group_by="week", **year, **params).status_code == 200
            assert queries == ["Query"], params
    finally:
        stats_events.unregister("before-call.dynamodb.Query", unique_id="eng-q")
