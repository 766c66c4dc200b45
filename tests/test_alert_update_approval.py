"""Issue 9, flaw 2, over HTTP: an update of a published alert is a proposal that reaches nobody
(fan-out queue, push, inbox, public JSON, CAP, Atom) until a supervisor of the team other than its
proposer approves it, naming the proposal (`?proposal=` parsing, roles). Who may approve what is
tests/test_alert_rules.py (fakes); the store's binding to the proposal, tests/test_port_contract.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import feedparser
import pytest
from lxml import etree

from chalicelib.ports import FanoutMessage
from tests.alerting import (
    FakeChannel,
    approve,
    circle,
    inbox,
    post,
    propose,
    publish,
    resident,
    spot,
    square,
    webpush_channel,
)
from tests.conftest import bearer

NEW = "Arrest made: Elm Street burglaries solved"
OLD = "Burglaries reported on Elm Street"  # tests.alerting.alert_body
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


class TeeQueue:
    """The real in-process queue, recording what was enqueued (injected through build_services)."""

    def __init__(self) -> None:
        self.inner: Any = None
        self.messages: list[FanoutMessage] = []

    def enqueue(self, messages: list[FanoutMessage]) -> None:
        self.messages.extend(messages)
        self.inner.enqueue(messages)


@dataclass
class Scene:
    alert_id: str
    lat: float
    lon: float
    resident: str
    push: FakeChannel
    queue: TeeQueue
    staff: dict[str, str]  # officer, author (supervisor who drafted), approver (approved the draft), a, b

    def token(self, who: str) -> str:
        return self.staff[who]


@pytest.fixture
def scene(client, staff_token, team, services_override) -> Scene:
    from chalicelib.notify.wiring import build_queue
    from chalicelib.settings import SETTINGS

    push, queue = FakeChannel(), TeeQueue()
    holder: dict[str, Any] = {}
    queue.inner = build_queue(SETTINGS, lambda message: holder["svc"].push_worker().process(message))
    holder["svc"] = services_override(channels={"webpush": push, "sns": push}, fanout_queue=queue)
    lat, lon = spot()
    staff = {"officer": staff_token("officer", team=team)}
    staff.update({who: staff_token("supervisor", sub=f"sgt-{who}-{uuid.uuid4().hex[:6]}", team=team)
                  for who in ("author", "approver", "a", "b")})
    staff["other_team"] = staff_token("supervisor", team=team + "-other")
    _, token = resident(client, [circle(lat, lon, 300)], webpush_channel())
    alert_id = publish(client, staff["author"], staff["approver"], square(lat, lon, 0.005))
    assert [i["msg_type"] for i in inbox(client, token)] == ["Alert"]
    queue.messages.clear()
    return Scene(alert_id, lat, lon, token, push, queue, staff)


def staff_view(client, scene: Scene) -> dict:
    response = client.http.get(f"/v1/alerts/{scene.alert_id}", headers=bearer(scene.token("officer")))
    assert response.status_code == 200
    return response.json_body


def public_headlines(client, scene: Scene) -> dict[str, Any]:
    """What every public output and the resident see now."""
    cap = etree.fromstring(client.http.get(f"/v1/public/alerts/{scene.alert_id}.cap").body)
    feed = feedparser.parse(client.http.get("/v1/public/feed.atom").body)
    [entry] = [e for e in feed.entries if e.id == f"urn:uuid:{scene.alert_id}"]
    listed = client.http.get(f"/v1/public/alerts?lat={scene.lat}&lon={scene.lon}").json_body["items"]
    [item] = [a for a in listed if a["id"] == scene.alert_id]
    return {
        "cap": (cap.findtext(f"{CAP}msgType"), cap.findtext(f"{CAP}info/{CAP}headline")),
        "atom": (entry.cap_msgtype, entry.title),
        "json": (item["msg_type"], item["headline"]),
        "inbox": [(i["msg_type"], i["headline"]) for i in inbox(client, scene.resident)],
    }


def assert_unpublished(client, scene: Scene) -> None:
    seen = public_headlines(client, scene)
    assert seen == {"cap": ("Alert", OLD), "atom": ("Alert", OLD), "json": ("Alert", OLD), "inbox": [("Alert", OLD)]}
    assert scene.queue.messages == []
    assert [n.msg_type for _, n in scene.push.sends] == ["Alert"]
    view = staff_view(client, scene)
    assert (view["headline"], view["revision"], view["msg_type"]) == (OLD, 0, "Alert")


def test_officer_proposes_and_nothing_goes_out_until_a_supervisor_approves(client, scene):
    proposed = post(client, f"/v1/alerts/{scene.alert_id}/update", scene.token("officer"),
                    {"headline": NEW, "severity": "Minor"})
    assert proposed.status_code == 202, proposed.body
    body = proposed.json_body
    pending = body["pending_update"]
    assert (body["status"], body["headline"], body["revision"]) == ("published", OLD, 0)
    assert (pending["headline"], pending["severity"], pending["description"]) == (NEW, "Minor", "Several break-ins overnight.")
    assert pending["proposed_by"].startswith("officer-") and pending["proposed_at"].endswith("Z")
    assert pending["expires_at"] == body["expires_at"]
    assert staff_view(client, scene)["pending_update"] == pending
    assert_unpublished(client, scene)

    approved = approve(client, scene.token("a"), scene.alert_id, pending["id"])
    assert approved.status_code == 200, approved.body
    out = approved.json_body
    assert (out["msg_type"], out["revision"], out["headline"], out["severity"]) == ("Update", 1, NEW, "Minor")
    assert "pending_update" not in out and out["approved_by"].startswith("sgt-a-")
    # Fan-out of the Update exactly as before: one message per delivery shard to the original audience.
    assert len(scene.queue.messages) == 64 and {m.mode for m in scene.queue.messages} == {"audience"}
    assert {m.revision for m in scene.queue.messages} == {1}
    seen = public_headlines(client, scene)
    assert seen == {"cap": ("Update", NEW), "atom": ("Update", NEW), "json": ("Update", NEW),
                    "inbox": [("Update", NEW), ("Alert", OLD)]}
    assert [n.msg_type for _, n in scene.push.sends] == ["Alert", "Update"]


@pytest.mark.parametrize(("query", "status"), [
    ("", 428),                                   # an update must be named
    (f"?proposal={uuid.uuid4()}", 409),          # not the pending one
    ("?proposal=..%2F..%2Fx", 400),              # not a proposal id at all
    ("?proposal=" + "a" * 65, 400),              # too long
    ("?proposal=a&proposal=b", 400),             # repeated
    ("?proposal=a&force=1", 400),                # unknown parameter
])
def test_approving_an_update_needs_the_proposal_it_approves(client, scene, query, status):
    propose(client, scene.token("officer"), scene.alert_id, {"headline": NEW})
    response = post(client, f"/v1/alerts/{scene.alert_id}/approve{query}", scene.token("a"))
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert_unpublished(client, scene)


def test_who_may_propose(client, scene, staff_token, team):
    path = f"/v1/alerts/{scene.alert_id}/update"
    assert post(client, path, scene.token("other_team"), {"headline": NEW}).status_code == 404
    assert post(client, path, staff_token("analyst", team=team), {"headline": NEW}).status_code == 403
    assert post(client, path, scene.resident, {"headline": NEW}).status_code == 403
    # Bad input leaves nothing written.
    for body in ({}, {"headline": ""}, {"headline": NEW, "area": {"area_id": "x"}},
                 {"expires_at": "2020-01-01T00:00:00Z"}, {"translations": {"en-GB": {"headline": "h", "description": "d"}}}):
        assert post(client, path, scene.token("officer"), body).status_code == 400, body
    assert "pending_update" not in staff_view(client, scene)
    assert_unpublished(client, scene)


