"""Every route that puts a contact in the engagement log moves the distinct-staff figures the same
way (issue 17, item 10), and residents' messages are never presented or counted as staff (item
11): conversation answers, alert-reply conversations, contacts and amendments, erasure; history
rows, CSV, stats and engagement (DynamoDB Local, through HTTP)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from chalicelib.clock import to_rfc3339
from chalicelib.domain import history
from chalicelib.domain.contacts import RESIDENTS_AUTHOR, author_kind
from tests.alerting import register, spot, square
from tests.conftest import bearer
from tests.support import team_contacts

PURPOSE = "engagement routes review"


@pytest.fixture
def now() -> datetime:
    """A recent past Wednesday at noon on a day <= 26 (so Wednesday and Thursday share one week
    and one month). Recent: a resident's record and token carry real times. Tests set it as the
    clock once their resident is registered."""
    day = datetime.now(UTC) - timedelta(days=7)
    day -= timedelta(days=(day.weekday() - 2) % 7)
    while day.day > 26:
        day -= timedelta(days=7)
    return day.replace(hour=12, minute=0, second=0, microsecond=0)


def _at(services_override, moment: datetime) -> None:
    services_override(clock=lambda: moment, channels={})


def _post(client, token: str, path: str, body: dict) -> dict:
    response = client.http.post(path, headers=bearer(token), body=json.dumps(body))
    assert response.status_code in (200, 201), response.body
    return response.json_body


def _area(client, staff_token, team: str) -> str:
    lat, lon = spot()
    area_id = str(uuid.uuid4())
    response = client.http.put(f"/v1/areas/{area_id}", headers=bearer(staff_token("admin", team=None)),
                               body=json.dumps({"name": "Elm ward", "team": team, "geometry": square(lat, lon)}))
    assert response.status_code == 201, response.body
    return area_id


def _start(client, resident: str, area_id: str, text: str = "Loud music at no. 4") -> str:
    return _post(client, resident, "/v1/conversations",
                 {"id": str(uuid.uuid4()), "topic": "noise", "text": text, "area_id": area_id})["id"]


def _say(client, token: str, conv_id: str, text: str) -> None:
    _post(client, token, f"/v1/conversations/{conv_id}/messages", {"id": str(uuid.uuid4()), "text": text})


def _engagement(client, staff_token, team: str, day_from: datetime, day_to: datetime, group_by: str) -> dict:
    query = urlencode({"from": day_from.date().isoformat(), "to": day_to.date().isoformat(), "team": team,
                       "group_by": group_by, "purpose": PURPOSE})
    response = client.http.get(f"/v1/history/engagement?{query}", headers=bearer(staff_token("analyst", team=None)))
    assert response.status_code == 200, response.body
    return {b["period"]: b for b in response.json_body["buckets"]}


def counts(any_: int = 0, street: int = 0, online: int = 0, outbound: int = 0) -> dict:
    return {"any": any_, "street": street, "online": online, "online_outbound": outbound}


def _staff(bucket: dict) -> tuple[dict, dict, dict]:
    return bucket["staff"], bucket["by_role"]["officer"], bucket["by_role"]["supervisor"]


def test_officers_who_only_answer_conversations_are_counted_in_every_grain(client, staff_token, team, now,
                                                                          services_override):
    area_id = _area(client, staff_token, team)
    _, resident = register(client)
    _at(services_override, now)
    conv = _start(client, resident, area_id)
    first, second = (staff_token("officer", sub=f"pc-{uuid.uuid4().hex[:6]}", team=team) for _ in range(2))
    sergeant = staff_token("supervisor", sub=f"sgt-{uuid.uuid4().hex[:6]}", team=team)
    _say(client, first, conv, "We will visit tonight.")
    _say(client, first, conv, "And again tomorrow.")  # a second answer: still one officer
    _say(client, sergeant, conv, "I have asked the licensing team too.")
    for n in range(3):
        _say(client, resident, conv, f"Thank you {n}")  # residents are not staff
    _at(services_override, now + timedelta(days=1))
    _say(client, second, conv, "Visited; music off.")
    _start(client, resident, area_id, "Another matter")  # inbound only: nobody counted

    day = _engagement(client, staff_token, team, now, now + timedelta(days=1), "day")
    assert _staff(day[now.date().isoformat()]) == (counts(2, 0, 2, 2), counts(1, 0, 1, 1), counts(1, 0, 1, 1))
    assert _staff(day[(now + timedelta(days=1)).date().isoformat()]) == (
        counts(1, 0, 1, 1), counts(1, 0, 1, 1), counts())
    for grain in ("week", "month"):
        (only,) = _engagement(client, staff_token, team, now, now + timedelta(days=1), grain).values()
        assert _staff(only) == (counts(3, 0, 3, 3), counts(2, 0, 2, 2), counts(1, 0, 1, 1)), grain


def test_an_answer_and_a_logged_contact_are_one_member_the_same_way(client, staff_token, team, now,
                                                                    services_override):
    """The same officer answering and logging an outbound online contact is one member of the
    period; another officer logging only through /v1/contacts counts exactly like one answering."""
    area_id = _area(client, staff_token, team)
    _, resident = register(client)
    _at(services_override, now)
    conv = _start(client, resident, area_id)
    both = staff_token("officer", sub=f"pc-{uuid.uuid4().hex[:6]}", team=team)
    logger = staff_token("officer", sub=f"pc-{uuid.uuid4().hex[:6]}", team=team)
    _say(client, both, conv, "On it.")
    contact = {"kind": "online", "occurred_at": to_rfc3339(now - timedelta(minutes=5)), "topic": "noise",
               "outcome": "advice_given", "platform": "facebook", "direction": "outbound"}
    _post(client, both, "/v1/contacts", {"id": str(uuid.uuid4()), **contact})
    before = _staff(_engagement(client, staff_token, team, now, now, "day")[now.date().isoformat()])
    assert before == (counts(1, 0, 1, 1), counts(1, 0, 1, 1), counts())
    batch = {"contacts": [{"id": str(uuid.uuid4()), **contact}]}
    assert client.http.post("/v1/contacts/batch", headers=bearer(logger), body=json.dumps(batch)).status_code == 200
    after = _staff(_engagement(client, staff_token, team, now, now, "day")[now.date().isoformat()])
    assert after == (counts(2, 0, 2, 2), counts(2, 0, 2, 2), counts())


def test_alert_reply_conversations_count_the_answering_supervisor(client, staff_token, team, services_override):
    from tests.alerting import circle, publish
    from tests.alerting import resident as make_resident

    services_override(channels={})
    today = datetime.now(UTC)
    lat, lon = spot()
    _, reader = make_resident(client, [circle(lat, lon, 300)])
    drafter = staff_token("officer", team=team)
    sergeant = staff_token("supervisor", sub=f"sgt-{uuid.uuid4().hex[:6]}", team=team)
    alert_id = publish(client, drafter, sergeant, square(lat, lon, 0.01))
    replied = _post(client, reader, f"/v1/alerts/{alert_id}/responses", {"message": "Saw a white van"})
    assert _engagement(client, staff_token, team, today, today, "day") == {}  # the reply is no staff
    _say(client, sergeant, replied["conversation_id"], "Thank you, passed to CID.")
    (bucket,) = _engagement(client, staff_token, team, today, today, "day").values()
    assert _staff(bucket) == (counts(1, 0, 1, 1), counts(), counts(1, 0, 1, 1))


def test_amending_and_erasure_keep_answer_counts_exact(client, staff_token, team, now, services_override):
    area_id = _area(client, staff_token, team)
    _, resident = register(client)
    _at(services_override, now)
    conv = _start(client, resident, area_id, "My name is Ann Lee")
    sub = f"pc-{uuid.uuid4().hex[:6]}"
    officer = staff_token("officer", sub=sub, team=team)
    _say(client, officer, conv, "Noted, Ann.")
    (answer,) = [c for c in team_contacts(team) if c.author == sub]
    assert answer.author_role == "officer" and answer.direction == "outbound"
    today, yesterday = now.date().isoformat(), (now - timedelta(days=1)).date().isoformat()

    def day_counts() -> dict:
        found = _engagement(client, staff_token, team, now - timedelta(days=1), now, "day")
        return {period: _staff(b)[0] for period, b in found.items()}

    def patch(version: int, **changes) -> None:
        response = client.http.patch(f"/v1/contacts/{answer.id}", headers=bearer(officer),
                                     body=json.dumps({"version": version, **changes}))
        assert response.status_code == 200, response.body

    assert day_counts() == {today: counts(1, 0, 1, 1)}
    patch(1, direction="inbound")  # no longer outbound: still online
    assert day_counts() == {today: counts(1, 0, 1, 0)}
    patch(2, direction="outbound", occurred_at=to_rfc3339(now - timedelta(days=1)))  # moved a day back
    assert day_counts() == {yesterday: counts(1, 0, 1, 1)}
    patch(3, occurred_at=to_rfc3339(now - timedelta(minutes=1)))
    assert day_counts() == {today: counts(1, 0, 1, 1)}
    assert client.http.delete("/v1/subscribers/me", headers=bearer(resident)).status_code == 204
    assert day_counts() == {today: counts(1, 0, 1, 1)}  # the resident's erasure leaves staff counts


# --- item 11: a non-person is never staff --------------------------------------------------------

def test_author_kinds_of_every_spelling():
    assert author_kind("pc-1", "officer") == author_kind("pc-1", "supervisor") == "staff"
    assert author_kind("pc-1", None) == "staff"  # logged before roles were recorded
    assert author_kind(RESIDENTS_AUTHOR, None) == author_kind(RESIDENTS_AUTHOR, "resident") == "resident"
    assert author_kind("anything", "resident") == "resident"
    assert author_kind("system:erasure", None) == author_kind("x", "system") == "system"
    assert author_kind(RESIDENTS_AUTHOR, "officer") == "staff"  # a recorded staff role decides


def test_rows_stored_before_author_kind_name_no_officer_for_residents():
    """`hrow` projections written before this change carry only the author id."""
    def officer(sub: str) -> str:
        return f"off_{sub}"

    base = {"id": "c1", "occurred_at": "2026-01-01T10:00:00Z", "kind": "online", "topic": "noise",
            "outcome": "information_received", "team": "north"}
    for author, kind in ((RESIDENTS_AUTHOR, "resident"), ("system:import", "system"), ("pc-9", "staff")):
        row = history.to_row(json.dumps({**base, "author": author}), officer, lambda c: "row_x")
        assert row.author_kind == kind
        assert row.officer == (officer(author) if kind == "staff" else None)
    stored = json.dumps({**base, "author": "pc-9", "author_kind": "resident"})
    assert history.to_row(stored, officer, lambda c: "row_x").officer is None  # the stored kind wins


def test_residents_messages_are_no_officer_in_rows_csv_stats_or_figures(client, staff_token, team, now,
                                                                        services_override):
    area_id = _area(client, staff_token, team)
    _, resident = register(client)
    _at(services_override, now)
    conv = _start(client, resident, area_id)
    _say(client, resident, conv, "Still loud")
    officers = [staff_token("officer", sub=f"pc-{uuid.uuid4().hex[:6]}", team=team) for _ in range(2)]
    for token in officers:
        _say(client, token, conv, "Noted")
    analyst = bearer(staff_token("analyst", team=None))
    window = {"from": to_rfc3339(now - timedelta(hours=1)), "to": to_rfc3339(now + timedelta(minutes=1)),
              "team": team, "purpose": PURPOSE}
    rows = client.http.get(f"/v1/history/contacts?{urlencode(window)}", headers=analyst).json_body["items"]
    assert len(rows) == 4
    inbound = [r for r in rows if r["direction"] == "inbound"]
    assert len(inbound) == 2 and all(r["author_kind"] == "resident" and "officer" not in r for r in inbound)
    staff_rows = [r for r in rows if r["direction"] == "outbound"]
    assert {r["author_kind"] for r in staff_rows} == {"staff"}
    assert len({r["officer"] for r in staff_rows}) == 2  # two officers, not three

    exported = client.http.get(f"/v1/history/contacts.csv?{urlencode(window)}", headers=analyst).body.decode()
    table = list(csv.DictReader(io.StringIO(exported)))
    assert len(table) == 4 and list(table[0]) == list(history.CSV_COLUMNS)
    assert {(r["direction"], r["author_kind"], bool(r["officer"])) for r in table} == {
        ("inbound", "resident", False), ("outbound", "staff", True)}
    assert len({r["officer"] for r in table if r["officer"]}) == 2

    # A supervisor reading the team's contacts sees who wrote each: the residents' messages are no staff's.
    supervisor = bearer(staff_token("supervisor", team=team))
    listed = client.http.get("/v1/contacts?team=mine&limit=10", headers=supervisor).json_body["items"]
    assert sorted((c["direction"], c["author_kind"], c.get("author_role")) for c in listed) == [
        ("inbound", "resident", "resident"), ("inbound", "resident", "resident"),
        ("outbound", "staff", "officer"), ("outbound", "staff", "officer")]

    day = now.date().isoformat()
    stats = {"from": day, "to": day, "team": team, "purpose": PURPOSE}
    by_team = client.http.get(f"/v1/history/stats?{urlencode({**stats, 'by': 'team'})}", headers=analyst)
    assert [(b["key"], b["contacts"]) for b in by_team.json_body["buckets"]] == [(team, 4)]  # contacts, not staff
    by_direction = client.http.get(f"/v1/history/stats?{urlencode({**stats, 'by': 'direction'})}", headers=analyst)
    assert {b["key"]: b["contacts"] for b in by_direction.json_body["buckets"]} == {"inbound": 2, "outbound": 2}
    (bucket,) = _engagement(client, staff_token, team, now, now, "day").values()
    assert _staff(bucket) == (counts(2, 0, 2, 2), counts(2, 0, 2, 2), counts())
