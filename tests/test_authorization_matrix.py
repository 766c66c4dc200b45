"""Every route x {anonymous, resident A, resident B, officer X, officer Y, supervisor X,
supervisor Y, analyst, admin, leader} x {X's record, Y's record}: the expected status, table-driven.

The table is checked against the route registry (`OPERATIONS`): a route without a row fails
`test_every_route_has_a_row`. Each row gets a fresh world, and `{fresh_*}` placeholders make a new
record per call, so state-changing rows never depend on the order roles are tried in.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.alerting import alert_body, circle, draft, propose, publish, resident, spot, square, webpush_channel
from tests.conftest import bearer
from tests.support import post as post_json
from tests.support import street

PRINCIPALS = ("anonymous", "resident_a", "resident_b", "officer_x", "officer_y",
              "supervisor_x", "supervisor_y", "analyst", "admin", "leader")


@dataclass
class World:
    tokens: dict[str, str | None]
    teams: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)
    factories: dict[str, Callable[[], str]] = field(default_factory=dict)

    def resolve(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            return self.factories[name]() if name in self.factories else self.values[name]

        return re.sub(r"\{(\w+)\}", one, text)


@pytest.fixture
def world(client, staff_token, services_override) -> World:
    services_override(channels={})
    lat, lon = spot()
    teams = {"x": f"x-{uuid.uuid4().hex[:8]}", "y": f"y-{uuid.uuid4().hex[:8]}"}
    officers = {side: staff_token("officer", sub=f"pc-{side}-{uuid.uuid4().hex[:6]}", team=teams[side]) for side in "xy"}
    supervisors = {side: staff_token("supervisor", team=teams[side]) for side in "xy"}
    _, resident_a = resident(client, [circle(lat, lon, 300)])
    _, resident_b = resident(client, [circle(lat + 0.3, lon, 300)])
    tokens: dict[str, str | None] = {
        "anonymous": None, "resident_a": resident_a, "resident_b": resident_b,
        "officer_x": officers["x"], "officer_y": officers["y"],
        "supervisor_x": supervisors["x"], "supervisor_y": supervisors["y"],
        "analyst": staff_token("analyst", team=None), "admin": staff_token("admin", team=None),
        "leader": staff_token("leader", team=None),
    }
    admin = tokens["admin"]
    w = World(tokens=tokens, teams=teams)

    def contact(side: str) -> str:
        body = street()
        assert post_json(client, officers[side], "/v1/contacts", body).status_code == 201
        return body["id"]

    now = datetime.now(UTC)
    w.values.update(
        team_x=teams["x"], team_y=teams["y"], lat=str(lat + 0.001), lon=str(lon),
        contact_x=contact("x"), contact_y=contact("y"),
        alert_x=publish(client, officers["x"], supervisors["x"], square(lat, lon, 0.01)),
        alert_y=publish(client, officers["y"], supervisors["y"], square(lat + 0.3, lon, 0.01)),
        draft_x=draft(client, officers["x"], square(lat, lon)).json_body["id"],
        window=urlencode({"from": (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "to": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "purpose": "authorization matrix"}),
    )
    area_id = str(uuid.uuid4())
    geometry = square(lat, lon, 0.01)
    assert client.http.put(f"/v1/areas/{area_id}", headers=bearer(admin),
                           body=json.dumps({"name": "Matrix", "team": teams["x"], "geometry": geometry})).status_code == 201
    w.values["area_x"] = area_id

    def conversation_a() -> str:
        """A conversation of resident A with team X (the team of `area_x`)."""
        body = {"id": str(uuid.uuid4()), "topic": "noise", "text": "Loud", "area_id": area_id}
        started = post_json(client, resident_a, "/v1/conversations", body)
        assert started.status_code == 201, started.body
        return body["id"]

    w.values["conv_a"] = conversation_a()
    pulse = {"id": str(uuid.uuid4()), "question": "police_good_job", "areas": [area_id], "sample": 1}
    assert post_json(client, admin, "/v1/pulses", pulse).status_code == 201
    w.values["pulse_x"] = pulse["id"]
    today = now.date().isoformat()
    started = post_json(client, tokens["analyst"], "/v1/history/exports",
                        {"from": today, "to": today, "purpose": "authorization matrix"})
    assert started.status_code == 202, started.body
    w.values["export_job"] = started.json_body["id"]
    def pending_x() -> str:
        """A fresh published alert of team X with an update proposed by officer X; the proposal id
        is left in `{pending_proposal}` (placeholders resolve left to right)."""
        alert_id = publish(client, officers["x"], supervisors["x"], square(lat, lon, 0.01))
        w.values["pending_proposal"] = propose(client, officers["x"], alert_id, {"headline": "Proposed"})
        return alert_id

    def priority_x(status: str = "proposed") -> str:
        body = {"id": str(uuid.uuid4()), "issue": "Speeding on Mill Lane", "topic": "road_safety", "status": status}
        assert post_json(client, supervisors["x"], f"/v1/areas/{area_id}/priorities", body).status_code == 201
        return body["id"]

    def meeting_x() -> str:
        body = new_meeting()
        assert post_json(client, officers["x"], f"/v1/areas/{area_id}/events", body).status_code == 201
        return body["id"]

    w.factories.update(
        fresh_priority_x=priority_x, fresh_current_priority_x=lambda: priority_x("current"),
        fresh_meeting_x=meeting_x,
        fresh_contact_x=lambda: contact("x"), fresh_contact_y=lambda: contact("y"),
        fresh_uuid=lambda: str(uuid.uuid4()), fresh_pending_x=pending_x, fresh_conv_a=conversation_a,
    )
    return w


# Bodies: a callable is evaluated per call (fresh ids, times in the future).
def new_contact() -> dict:
    return street()


def new_alert() -> dict:
    return alert_body(circle(51.5, -0.1, 500))


def new_priority() -> dict:
    return {"id": str(uuid.uuid4()), "issue": "Litter in the park", "topic": "other"}


def new_action() -> dict:
    return {"id": str(uuid.uuid4()), "text": "Clean-up day held.", "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def new_meeting() -> dict:
    start = datetime.now(UTC) + timedelta(days=3)
    return {"id": str(uuid.uuid4()), "title": "Beat meeting", "type": "meeting", "address": "Community Hall",
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}


TEAM_X_ONLY = {"officer_x": 201, "supervisor_x": 201, "officer_y": 403, "supervisor_y": 403}
SUPERVISOR_X_ONLY = {"supervisor_x": 200, "supervisor_y": 403}
AREA = {"name": "New area", "team": "x", "geometry": square(51.5, -0.1, 0.01)}
CONTACT_PATCH = {"version": 1, "topic": "drugs"}

DENY = {"anonymous": 401, "resident_a": 403, "resident_b": 403, "officer_x": 403, "officer_y": 403,
        "supervisor_x": 403, "supervisor_y": 403, "analyst": 403, "admin": 403,
        "leader": 403}
PUBLIC = dict.fromkeys(PRINCIPALS, 200)


def allow(statuses: dict[str, int]) -> dict[str, int]:
    """Everyone denied by role (401 anonymous, 403 otherwise) except the listed outcomes."""
    return {**DENY, **statuses}


FIELD_STAFF = ("officer_x", "officer_y", "supervisor_x", "supervisor_y")
RESIDENTS = ("resident_a", "resident_b")


def each(names: tuple[str, ...], status: int) -> dict[str, int]:
    return dict.fromkeys(names, status)


X_RECORD = {"officer_x": 200, "supervisor_x": 200, "officer_y": 404, "supervisor_y": 404}
Y_RECORD = {"officer_y": 200, "supervisor_y": 200, "officer_x": 404, "supervisor_x": 404}

# (method, path template, body, expected status per principal)
def new_message() -> dict:
    return {"id": str(uuid.uuid4()), "text": "Hello"}


OWNER_OR_TEAM_X = {"resident_a": 200, "resident_b": 404, **X_RECORD}

MATRIX: list[tuple[str, str, Any, dict[str, int]]] = [
    # Meta
    ("GET", "/v1/health", None, PUBLIC),
    ("GET", "/v1/openapi.json", None, PUBLIC),
    # Contacts: X's and Y's records
    ("POST", "/v1/contacts", new_contact, allow(each(FIELD_STAFF, 201))),
    ("POST", "/v1/contacts/batch", lambda: {"contacts": [street()]}, allow(each(FIELD_STAFF, 200))),
    ("GET", "/v1/contacts", None, allow(each(FIELD_STAFF, 200))),
    ("GET", "/v1/contacts/{contact_x}", None, allow(X_RECORD)),
    ("GET", "/v1/contacts/{contact_y}", None, allow(Y_RECORD)),
    ("PATCH", "/v1/contacts/{fresh_contact_x}", CONTACT_PATCH, allow(X_RECORD)),
    ("PATCH", "/v1/contacts/{fresh_contact_y}", CONTACT_PATCH, allow(Y_RECORD)),
    ("GET", "/v1/contacts/{contact_x}/amendments", None, allow(X_RECORD)),
    ("GET", "/v1/contacts/{contact_y}/amendments", None, allow(Y_RECORD)),
    # Areas
    ("GET", "/v1/areas", None, PUBLIC),
    ("GET", "/v1/areas/{area_x}", None, PUBLIC),
    ("PUT", "/v1/areas/{fresh_uuid}", AREA, allow({"admin": 201})),
    # History: analysts and admins force-wide, supervisors their own team only
    ("GET", "/v1/history/contacts?{window}&team={team_x}", None,
     allow({"analyst": 200, "admin": 200, "supervisor_x": 200})),
    ("GET", "/v1/history/contacts?{window}&team={team_y}", None,
     allow({"analyst": 200, "admin": 200, "supervisor_y": 200})),
    ("GET", "/v1/history/contacts.csv?{window}", None, allow({"analyst": 200, "admin": 200})),
    ("GET", "/v1/history/stats?{window}&by=kind&team={team_x}", None,
     allow({"analyst": 200, "admin": 200, "leader": 200, "supervisor_x": 200})),
    ("GET", "/v1/history/stats?{window}&by=kind&team={team_y}", None,
     allow({"analyst": 200, "admin": 200, "leader": 200, "supervisor_y": 200})),
    ("GET", "/v1/history/engagement?{window}&team={team_x}", None,
     allow({"analyst": 200, "admin": 200, "leader": 200, "supervisor_x": 200})),
    ("GET", "/v1/history/engagement?{window}&team={team_y}", None,
     allow({"analyst": 200, "admin": 200, "leader": 200, "supervisor_y": 200})),
    ("GET", "/v1/history/engagement?{window}&group_by=week", None,
     allow({"analyst": 200, "admin": 200, "leader": 200, "supervisor_x": 200, "supervisor_y": 200})),
    ("GET", "/v1/history/alerts?{window}", None, allow({"analyst": 200, "admin": 200, "leader": 200})),
    # Bulk exports: analysts and admins start them; a job is its requester's (admins: any).
    ("POST", "/v1/history/exports", "EXPORT", allow({"analyst": 202, "admin": 202})),
    ("GET", "/v1/history/exports/{export_job}", None, allow({"analyst": 200, "admin": 200})),
    ("GET", "/v1/audit?{window}", None, allow({"admin": 200})),
    # Subscribers: a resident's own record only (there is no way to name another's)
    ("POST", "/v1/subscribers", {"channel": {"type": "inbox"}}, dict.fromkeys(PRINCIPALS, 201)),
    ("GET", "/v1/subscribers/me", None, allow(each(RESIDENTS, 200))),
    ("PATCH", "/v1/subscribers/me", {"language": "cy"}, allow(each(RESIDENTS, 200))),
    ("PUT", "/v1/subscribers/me/areas", {"areas": [circle(51.5, -0.1, 300)]}, allow(each(RESIDENTS, 200))),
    ("GET", "/v1/subscribers/me/inbox", None, allow(each(RESIDENTS, 200))),
    ("DELETE", "/v1/subscribers/me", None, allow(each(RESIDENTS, 204))),
    # Contact channels: the stage under test offers no SMS (422 once past authorization)
    ("PUT", "/v1/subscribers/me/channels/sms", {"phone": "+447700900123"}, allow(each(RESIDENTS, 422))),
    ("DELETE", "/v1/subscribers/me/channels/email", None, allow(each(RESIDENTS, 204))),
    ("POST", "/v1/subscribers/me/channels/sms/confirm", {"code": "123456"}, allow(each(RESIDENTS, 422))),
    ("POST", "/v1/subscribers/confirm", {"token": "c.email.6f1c1f9e7d4b4f4e9a536a2f2f1f0a11.secretsecretsecret"},
     dict.fromkeys(PRINCIPALS, 404)),
    ("POST", "/v1/subscribers/unsubscribe?token=u.email.6f1c1f9e7d4b4f4e9a536a2f2f1f0a11.secretsecret", None,
     dict.fromkeys(PRINCIPALS, 204)),
    # Alerts: X's and Y's alerts; resident A lives in X's alert area, resident B does not
    ("POST", "/v1/alerts", new_alert, allow(each(FIELD_STAFF, 201))),
    ("GET", "/v1/alerts", None, allow(each(FIELD_STAFF, 200))),
    ("GET", "/v1/alerts/{alert_x}", None, allow(X_RECORD)),
    ("GET", "/v1/alerts/{alert_y}", None, allow(Y_RECORD)),
    ("POST", "/v1/alerts/{draft_x}/approve", None, allow({"supervisor_x": 200, "supervisor_y": 404})),
    # An update is a proposal (officer or supervisor of the team; 202); approving it is a supervisor
    # of the team other than the proposer (here officer X proposed), naming the proposal.
    ("POST", "/v1/alerts/{fresh_pending_x}/approve?proposal={pending_proposal}", None,
     allow({"supervisor_x": 200, "supervisor_y": 404})),
    ("POST", "/v1/alerts/{alert_x}/update", {"headline": "New"}, allow({**X_RECORD, "officer_x": 202, "supervisor_x": 202})),
    ("POST", "/v1/alerts/{alert_y}/cancel", None, allow({"supervisor_y": 200, "supervisor_x": 404})),
    ("POST", "/v1/alerts/{alert_x}/read", None, allow({"resident_a": 200, "resident_b": 404})),
    ("POST", "/v1/alerts/{alert_x}/responses", {"message": "Thanks"}, allow({"resident_a": 201, "resident_b": 404})),
    # Conversations: resident A's conversation with team X
    ("POST", "/v1/conversations", "START_CONVERSATION", allow(each(RESIDENTS, 201))),
    ("GET", "/v1/subscribers/me/conversations", None, allow(each(RESIDENTS, 200))),
    ("GET", "/v1/conversations", None, allow(each(FIELD_STAFF, 200))),
    ("GET", "/v1/conversations/{conv_a}", None, allow(OWNER_OR_TEAM_X)),
    ("POST", "/v1/conversations/{conv_a}/messages", new_message,
     allow({k: 201 if v == 200 else v for k, v in OWNER_OR_TEAM_X.items()})),
    ("POST", "/v1/conversations/{fresh_conv_a}/close", {"outcome": "resolved"}, allow(X_RECORD)),
    # Escalation: the resident owner only (a fresh wait is before its respond_by: 422; the 200 and
    # the repeat are tests/test_conversations.py); the supervisors' view of escalated waits.
    ("POST", "/v1/conversations/{conv_a}/escalate", None, allow({"resident_a": 422, "resident_b": 404})),
    ("GET", "/v1/conversations?status=escalated", None, allow({"supervisor_x": 200, "supervisor_y": 200})),
    # The team's app: a claim on a fresh waiting conversation per call; release answers 200 when
    # none is held (each principal of team X in turn), 404 to another team.
    ("POST", "/v1/conversations/{fresh_conv_a}/claim", None, allow(X_RECORD)),
    ("POST", "/v1/conversations/{conv_a}/release", None, allow(X_RECORD)),
    # The team's app: a staff member's own figures (no parameter names anyone else)
    ("GET", "/v1/staff/me/figures", None, allow(each(FIELD_STAFF, 200))),
    ("PUT", "/v1/staff/me/devices/{fresh_uuid}", lambda: webpush_channel()["subscription"], allow(each(FIELD_STAFF, 200))),
    ("DELETE", "/v1/staff/me/devices/{fresh_uuid}", None, allow(each(FIELD_STAFF, 204))),
    ("GET", "/v1/history/conversations?{window}&team={team_x}", None,
     allow({"analyst": 200, "admin": 200, "leader": 200, "supervisor_x": 200})),
    ("GET", "/v1/history/conversations?{window}&team={team_y}", None,
     allow({"analyst": 200, "admin": 200, "leader": 200, "supervisor_y": 200})),
    ("GET", "/v1/history/waiting?purpose=matrix+check&team={team_x}", None,
     allow({"analyst": 200, "admin": 200, "leader": 200, "supervisor_x": 200})),
    # Public outputs
    ("GET", "/v1/public/alerts?lat={lat}&lon={lon}", None, PUBLIC),
    ("GET", "/v1/public/alerts/{alert_x}.cap", None, PUBLIC),
    ("GET", "/v1/public/feed.atom", None, PUBLIC),
    ("GET", "/v1/public/webpush-key", None, PUBLIC),
    # Named teams: public pages; an admin, or a supervisor of the team (people and description)
    ("GET", "/v1/teams/{team_x}", None, PUBLIC),
    ("PUT", "/v1/teams/{team_x}", "TEAM_PAGE_X", allow({"supervisor_x": 201, "admin": 200})),
    ("PUT", "/v1/teams/{team_x}/strength", {"from": "2026-01-01", "by_rank": {"constable": 6, "pcso": 4}},
     allow({"admin": 201})),
    # The data.police.uk neighbourhood API (public; crime routes 404)
    ("GET", "/v1/police-uk/forces", None, PUBLIC),
    ("GET", "/v1/police-uk/forces/beatline", None, PUBLIC),
    ("GET", "/v1/police-uk/crimes-at-location", None, dict.fromkeys(PRINCIPALS, 404)),
    ("GET", "/v1/police-uk/locate-neighbourhood?q={lat},{lon}", None, PUBLIC),
    ("GET", "/v1/police-uk/beatline/neighbourhoods", None, PUBLIC),
    ("GET", "/v1/police-uk/beatline/{area_x}", None, PUBLIC),
    ("GET", "/v1/police-uk/beatline/{area_x}/people", None, PUBLIC),
    ("GET", "/v1/police-uk/beatline/{area_x}/boundary", None, PUBLIC),
    ("GET", "/v1/police-uk/beatline/{area_x}/priorities", None, PUBLIC),
    ("GET", "/v1/police-uk/beatline/{area_x}/events", None, PUBLIC),
    # Priorities of area X (team X). Residents A and B follow circles, not area X by id: 404.
    ("GET", "/v1/areas/{area_x}/priorities", None, PUBLIC),
    ("POST", "/v1/areas/{area_x}/priorities", new_priority, allow({"supervisor_x": 201, "supervisor_y": 403})),
    ("PATCH", "/v1/priorities/{fresh_priority_x}", {"status": "current"}, allow(SUPERVISOR_X_ONLY)),
    ("POST", "/v1/priorities/{fresh_current_priority_x}/review", None, allow(SUPERVISOR_X_ONLY)),
    ("POST", "/v1/priorities/{fresh_priority_x}/close", None, allow(SUPERVISOR_X_ONLY)),
    ("POST", "/v1/priorities/{fresh_priority_x}/support", None, allow(each(RESIDENTS, 404))),
    ("POST", "/v1/priorities/{fresh_priority_x}/actions", new_action, allow(TEAM_X_ONLY)),
    ("POST", "/v1/priorities/{fresh_priority_x}/links", "LINK_CONV_A",
     allow({k: 200 if v == 201 else v for k, v in TEAM_X_ONLY.items()})),
    # Residents' trust: the owner rates (a fresh conversation has no team answer yet: 422); pulses
    # reach residents following area X by id (A and B follow circles: 404); the figures.
    ("POST", "/v1/conversations/{fresh_conv_a}/rating", {"answered": "yes", "satisfaction": 5},
     allow({"resident_a": 422, "resident_b": 404})),
    ("POST", "/v1/pulses", "NEW_PULSE_X", allow({"admin": 201})),
    ("GET", "/v1/pulses/{pulse_x}", None, allow({"admin": 200})),
    ("POST", "/v1/pulses/{pulse_x}/answers", {"answer": "good"}, allow(each(RESIDENTS, 404))),
    ("GET", "/v1/history/trust?{window}&team={team_x}", None,
     allow({"analyst": 200, "admin": 200, "leader": 200, "supervisor_x": 200})),
    ("GET", "/v1/history/trust?{window}&team={team_y}", None,
     allow({"analyst": 200, "admin": 200, "leader": 200, "supervisor_y": 200})),
    # Beat meetings of area X
    ("GET", "/v1/areas/{area_x}/events", None, PUBLIC),
    ("POST", "/v1/areas/{area_x}/events", new_meeting, allow(TEAM_X_ONLY)),
    ("POST", "/v1/events/{fresh_meeting_x}/attend", None, allow(each(RESIDENTS, 404))),
    ("POST", "/v1/events/{fresh_meeting_x}/record", {"attended": 3},  # before it starts: 422
     allow({k: 422 if v == 201 else v for k, v in TEAM_X_ONLY.items()})),
]


def call(client, world: World, method: str, template: str, token: str | None, body: Any) -> int:
    headers = bearer(token) if token else {"Content-Type": "application/json"}
    payload = body() if callable(body) else body
    if isinstance(payload, dict) and payload.get("team") == "x":
        payload = {**payload, "team": world.teams["x"]}
    if payload == "LINK_CONV_A":
        payload = {"conversation_id": world.values["conv_a"]}
    if payload == "TEAM_PAGE_X":  # name as stored (the team id until an admin names it)
        payload = {"name": world.teams["x"], "description": "Team X"}
    if payload == "NEW_PULSE_X":  # a new pulse to area X per call
        payload = {"id": str(uuid.uuid4()), "question": "police_good_job", "areas": [world.values["area_x"]]}
    if payload == "START_CONVERSATION":  # a new conversation in area X per call
        payload = {"id": str(uuid.uuid4()), "topic": "noise", "text": "Hi", "area_id": world.values["area_x"]}
    if payload == "EXPORT":  # today's rows (a small job: in-process queue, the session's export folder)
        today = datetime.now(UTC).date().isoformat()
        payload = {"from": today, "to": today, "purpose": "authorization matrix"}
    kwargs: dict[str, Any] = {"headers": headers}
    if payload is not None:
        kwargs["body"] = json.dumps(payload)
    return getattr(client.http, method.lower())(world.resolve(template), **kwargs).status_code


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, *_ in MATRIX])
def test_route_by_principal(client, world, method, path, body, expected):
    got = {who: call(client, world, method, path, world.tokens[who], body) for who in PRINCIPALS}
    assert got == {who: expected[who] for who in PRINCIPALS}


def route_of(path: str) -> str:
    """A row's template -> the registered route path, with every parameter written `{}` (the
    police.uk routes' literal force id is a parameter, `{force}`, in the registry)."""
    path = path.split("?", 1)[0]
    if path.endswith(".cap"):
        return re.sub(r"\{\w+\}\.cap$", "{}", path)
    path = path.replace("/v1/police-uk/beatline/", "/v1/police-uk/{}/").replace("/forces/beatline", "/forces/{}")
    path = re.sub(r"^/v1/police-uk/(?!forces$|locate-neighbourhood$)[\w-]+$", "/v1/police-uk/{}", path)
    path = re.sub(r"/channels/(email|sms)\b", "/channels/{}", path)  # the channel type is a parameter
    return re.sub(r"\{\w+\}", "{}", path)


def test_every_route_has_a_row(app):
    from chalicelib.api.framework import OPERATIONS

    registered = {(op.method, re.sub(r"\{\w+\}", "{}", op.path)) for op in OPERATIONS}
    covered = {(method, route_of(path)) for method, path, *_ in MATRIX}
    assert registered - covered == set(), "routes without a row in the authorization matrix"
    assert covered - registered == set(), "rows for routes that do not exist"
