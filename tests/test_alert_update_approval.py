"""Issue 9, flaw 2: an update of a published alert is a proposal that reaches nobody (fan-out queue,
push, inbox, public JSON, CAP, Atom) until a supervisor of the team other than its proposer
approves it, naming the proposal; the approval is bound to that proposal in the store too."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
from lxml import etree

from chalicelib.ports import FanoutMessage
from tests.alerting import (
    FakeChannel,
    alert_body,
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
    queue.inner = build_queue(SETTINGS, lambda message: holder["svc"].fanout_worker().process(message))
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


@pytest.mark.parametrize("proposer", ["author", "approver", "a"])
def test_a_proposer_may_not_approve_their_own_update(client, scene, proposer):
    """Whoever proposes (the draft's author, its approver, any supervisor) is refused: 403."""
    proposal = propose(client, scene.token(proposer), scene.alert_id, {"headline": NEW})
    refused = approve(client, scene.token(proposer), scene.alert_id, proposal)
    assert refused.status_code == 403, refused.body
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert staff_view(client, scene)["pending_update"]["id"] == proposal
    assert_unpublished(client, scene)


def test_supervisor_a_proposes_and_supervisor_b_approves(client, scene):
    proposal = propose(client, scene.token("a"), scene.alert_id, {"headline": NEW})
    assert approve(client, scene.token("b"), scene.alert_id, proposal).status_code == 200
    assert public_headlines(client, scene)["cap"] == ("Update", NEW)


def test_the_drafts_author_may_approve_someone_elses_update(client, scene):
    proposal = propose(client, scene.token("approver"), scene.alert_id, {"headline": NEW})
    assert approve(client, scene.token("author"), scene.alert_id, proposal).status_code == 200
    assert public_headlines(client, scene)["json"] == ("Update", NEW)


def test_a_replaced_proposal_cannot_be_approved_and_its_new_proposer_cannot_approve(client, scene):
    first = propose(client, scene.token("officer"), scene.alert_id, {"headline": "First wording"})
    second = propose(client, scene.token("a"), scene.alert_id, {"description": "Second wording."})
    assert second != first
    pending = staff_view(client, scene)["pending_update"]
    # The replacement starts from the published content, not from the proposal it replaced.
    assert (pending["id"], pending["headline"], pending["description"]) == (second, OLD, "Second wording.")
    assert pending["proposed_by"].startswith("sgt-a-")

    stale = approve(client, scene.token("b"), scene.alert_id, first)
    assert stale.status_code == 409, stale.body
    assert approve(client, scene.token("a"), scene.alert_id, second).status_code == 403
    assert_unpublished(client, scene)

    # A, no longer the proposer once B replaces the proposal, may approve B's words.
    third = propose(client, scene.token("b"), scene.alert_id, {"headline": NEW})
    assert approve(client, scene.token("a"), scene.alert_id, third).status_code == 200
    seen = public_headlines(client, scene)
    assert seen["cap"] == ("Update", NEW)
    assert "First wording" not in str(seen) and "Second wording." not in str(seen)


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


def test_approve_without_a_pending_update_is_422_and_a_draft_takes_no_proposal(client, scene):
    assert approve(client, scene.token("a"), scene.alert_id).status_code == 422
    assert approve(client, scene.token("a"), scene.alert_id, str(uuid.uuid4())).status_code == 422
    drafted = post(client, "/v1/alerts", scene.token("officer"), alert_body(square(scene.lat, scene.lon, 0.005)))
    assert approve(client, scene.token("a"), drafted.json_body["id"], str(uuid.uuid4())).status_code == 409
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


def test_cancel_stays_one_person_and_drops_the_pending_update(client, scene):
    propose(client, scene.token("author"), scene.alert_id, {"headline": NEW})
    cancelled = post(client, f"/v1/alerts/{scene.alert_id}/cancel", scene.token("author"))
    assert cancelled.status_code == 200, cancelled.body
    assert cancelled.json_body["status"] == "cancelled" and "pending_update" not in cancelled.json_body
    assert cancelled.json_body["headline"] == OLD
    assert [(i["msg_type"], i["headline"]) for i in inbox(client, scene.resident)] == [("Cancel", OLD), ("Alert", OLD)]
    assert approve(client, scene.token("a"), scene.alert_id).status_code == 422
    assert post(client, f"/v1/alerts/{scene.alert_id}/update", scene.token("a"), {"headline": NEW}).status_code == 422


def test_a_proposal_whose_expiry_has_passed_is_not_published(client, scene, services_override):
    soon = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    proposal = propose(client, scene.token("officer"), scene.alert_id, {"expires_at": soon})
    later = datetime.now(UTC) + timedelta(hours=1)
    services_override(channels={}, clock=lambda: later)
    assert approve(client, scene.token("a"), scene.alert_id, proposal).status_code == 422


def test_the_store_binds_an_approval_to_the_proposal_it_read(client, scene):
    """Both races, at the write that publishes: a proposal replaced between the approver's read and
    write, and two approvers who read the same proposal."""
    from chalicelib.domain.alerts import published
    from chalicelib.store import alerts as alert_store

    propose(client, scene.token("officer"), scene.alert_id, {"headline": "Words A"})
    read = alert_store.get(scene.alert_id)
    assert read is not None and read.pending is not None
    propose(client, scene.token("b"), scene.alert_id, {"headline": "Words B"})
    with pytest.raises(alert_store.StaleAlert):
        alert_store.replace(read, published(read, now=datetime.now(UTC), msg_type="Update", content=read.pending.content,
                                            approved_by="sgt-x"))
    assert alert_store.get(scene.alert_id).content.headline == OLD  # type: ignore[union-attr]

    first, second = alert_store.get(scene.alert_id), alert_store.get(scene.alert_id)
    assert first is not None and second is not None and first.pending is not None and second.pending is not None
    alert_store.replace(first, published(first, now=datetime.now(UTC), msg_type="Update", content=first.pending.content))
    with pytest.raises(alert_store.StaleAlert):
        alert_store.replace(second, published(second, now=datetime.now(UTC), msg_type="Update", content=second.pending.content))
    after = alert_store.get(scene.alert_id)
    assert after is not None and (after.revision, after.content.headline, after.pending) == (1, "Words B", None)
