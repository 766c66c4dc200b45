"""Alert rules on fakes: the lifecycle (draft, approve, update, cancel, expiry) and two-person
approval of every word that goes out. Use cases are called directly; a refusal is the domain error
and the status `as_problem` gives it. The HTTP side (parsing, problem bodies, public outputs) is
tests/test_alerts_lifecycle.py and tests/test_alert_update_approval.py; the store's condition that
binds an approval to the proposal it read is tests/test_port_contract.py, on both stores."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import msgspec
import pytest

from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain.alerts import AlertListQuery, AlertUpdateIn
from chalicelib.errors import DomainError, as_problem
from chalicelib.usecases import alerts as alert_cases
from tests.scenes import OLD, Scene, circle, square, webpush_channel

pytestmark = pytest.mark.no_database

NEW = "Arrest made: Elm Street burglaries solved"


def refused(status: int, call: object, *args: object, **kwargs: object) -> DomainError:
    assert callable(call)
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert as_problem(caught.value).status == status, caught.value
    return caught.value


class Published:
    """A published alert with one resident in it, and the staff of its team."""

    def __init__(self) -> None:
        self.scene = Scene()
        self.push_channel = webpush_channel()
        self.resident = self.scene.resident([circle(Scene.LAT, Scene.LON, 300)], self.push_channel)
        self.staff = {"officer": self.scene.staff("officer")}
        self.staff.update({who: self.scene.staff("supervisor", sub=f"sgt-{who}") for who in ("author", "approver", "a", "b")})
        self.alert_id = self.scene.publish(self.staff["author"], self.staff["approver"],
                                           square(Scene.LAT, Scene.LON, 0.005))
        self.svc = self.scene.svc

    def __getitem__(self, who: str) -> RequestContext:
        return self.staff[who]

    def propose(self, who: str, **fields: object) -> str:
        return self.scene.propose(self.staff[who], self.alert_id, **fields)

    def approve(self, who: str, proposal: str | None = None) -> object:
        return alert_cases.approve(self.svc, self.staff[who], self.alert_id, proposal)

    def unpublished(self) -> bool:
        """Nothing new went out: the content, revision and message stand, nothing was queued or sent."""
        record = self.scene.stored(self.alert_id)
        sent = [n.msg_type for n in self.scene.notifications_to(self.push_channel)]
        inbox = [(i.msg_type, i.headline) for i in self.scene.inbox(self.resident)]
        return ((record.content.headline, record.revision, record.msg_type) == (OLD, 0, "Alert")
                and self.scene.fakes.queue.messages == [] and sent == ["Alert"] and inbox == [("Alert", OLD)])


@pytest.fixture
def alert() -> Published:
    return Published()


# --- the lifecycle -----------------------------------------------------------------------------


def test_draft_approve_update_cancel_reach_the_same_audience() -> None:
    scene = Scene()
    lat, lon = Scene.LAT, Scene.LON
    inside = scene.resident([circle(lat, lon, 300)])
    web = webpush_channel()
    scene.resident([square(lat + 0.004, lon, 0.003)], web)
    outside = scene.resident([circle(lat + 0.2, lon, 300)])
    officer, supervisor, second = scene.staff("officer"), scene.staff("supervisor"), scene.staff("supervisor")

    drafted = scene.draft(officer, square(lat, lon, 0.005))
    assert drafted.status == "draft" and scene.inbox(inside) == [] and scene.fakes.queue.messages == []
    approved = alert_cases.approve(scene.svc, supervisor, drafted.id)
    assert approved.status == "published"
    scene.deliver()
    assert [i.msg_type for i in scene.inbox(inside)] == ["Alert"] and scene.inbox(outside) == []
    assert len(scene.notifications_to(web)) == 1
    figures = alert_cases.get_alert(scene.svc, officer, drafted.id).delivery
    assert (figures.targeted, figures.sent, figures.failed, figures.read) == (2, 2, 0, 0)

    # Following the area while the alert is in force: the alert in the inbox (deliver_in_force),
    # and so in the audience of its Update.
    late = scene.resident([circle(lat, lon, 300)])
    assert [i.msg_type for i in scene.inbox(late)] == ["Alert"]
    proposal = scene.propose(supervisor, drafted.id, headline="Arrests made on Elm Street")
    updated = alert_cases.approve(scene.svc, second, drafted.id, proposal)
    assert (updated.msg_type, updated.revision) == ("Update", 1)
    scene.deliver()
    assert [(i.msg_type, i.headline) for i in scene.inbox(inside)] == [("Update", "Arrests made on Elm Street"),
                                                                       ("Alert", OLD)]
    assert [i.msg_type for i in scene.inbox(late)] == ["Update", "Alert"]

    cancelled = alert_cases.cancel(scene.svc, supervisor, drafted.id)
    scene.deliver()
    assert cancelled.status == "cancelled"
    assert [i.msg_type for i in scene.inbox(inside)] == ["Cancel", "Update", "Alert"]
    assert [n.msg_type for n in scene.notifications_to(web)] == ["Alert", "Update", "Cancel"]
    assert scene.inbox(scene.resident([circle(lat, lon, 300)])) == []  # following it once cancelled: nothing
    refused(422, alert_cases.approve, scene.svc, supervisor, drafted.id)
    refused(422, alert_cases.cancel, scene.svc, supervisor, drafted.id)
    refused(422, scene.propose, supervisor, drafted.id, headline="x")
    assert alert_cases.public_alerts(scene.svc, officer, lat, lon).items == []


def test_expired_alerts_refuse_changes_and_stop_showing() -> None:
    scene = Scene()
    lat, lon = Scene.LAT, Scene.LON
    token_holder = scene.resident([circle(lat, lon, 300)])
    officer, supervisor = scene.staff("officer"), scene.staff("supervisor")
    soon = to_rfc3339(scene.fakes.clock() + timedelta(minutes=10))
    alert_id = scene.publish(officer, supervisor, square(lat, lon, 0.005), expires_at=soon)
    assert [a.id for a in alert_cases.public_alerts(scene.svc, officer, lat, lon).items] == [alert_id]
    assert len(scene.inbox(token_holder)) == 1

    scene.fakes.clock.advance(minutes=20)
    officer, supervisor = scene.staff("officer", sub=officer.caller.sub), scene.staff("supervisor", sub=supervisor.caller.sub)
    assert alert_cases.get_alert(scene.svc, officer, alert_id).status == "expired"
    refused(422, scene.propose, supervisor, alert_id, headline="Too late")
    refused(422, alert_cases.cancel, scene.svc, supervisor, alert_id)
    assert alert_cases.public_alerts(scene.svc, officer, lat, lon).items == []
    refused(404, alert_cases.cap_document, scene.svc, officer, f"{alert_id}.cap")
    assert scene.inbox(token_holder) == []
    listed = alert_cases.list_alerts(scene.svc, officer, AlertListQuery(status="expired"))
    assert [a.id for a in listed.items] == [alert_id]
    assert alert_cases.list_alerts(scene.svc, officer, AlertListQuery(status="published")).items == []


def test_a_draft_needs_a_second_supervisor_of_its_team() -> None:
    scene = Scene()
    author = scene.staff("supervisor")
    drafted = scene.draft(author, square(Scene.LAT, Scene.LON))
    refused(403, alert_cases.approve, scene.svc, author, drafted.id)
    refused(403, alert_cases.approve, scene.svc, scene.staff("officer"), drafted.id)
    refused(404, alert_cases.approve, scene.svc, scene.staff("supervisor", team="other-team"), drafted.id)
    refused(422, scene.propose, scene.staff("supervisor"), drafted.id, headline="x")
    assert scene.fakes.queue.messages == []
    approved = alert_cases.approve(scene.svc, scene.staff("supervisor"), drafted.id)
    assert approved.approved_by not in (None, approved.author)


def test_a_team_sees_its_own_alerts_only() -> None:
    scene = Scene()
    mine = scene.draft(scene.staff("officer"), square(Scene.LAT, Scene.LON)).id
    scene.draft(scene.staff("officer", team="other"), square(Scene.LAT, Scene.LON))
    listed = alert_cases.list_alerts(scene.svc, scene.staff("supervisor"), AlertListQuery(status="draft"))
    assert [a.id for a in listed.items] == [mine]
    refused(404, alert_cases.get_alert, scene.svc, scene.staff("officer", team="other"), mine)


# --- two-person approval of an update ------------------------------------------------------------


def test_an_officer_proposes_and_nothing_goes_out_until_a_supervisor_approves(alert: Published) -> None:
    proposed = alert_cases.update(alert.svc, alert["officer"], alert.alert_id, _update(headline=NEW, severity="Minor"))
    pending = proposed.pending_update
    assert pending is not None and (proposed.status, proposed.headline, proposed.revision) == ("published", OLD, 0)
    assert (pending.headline, pending.severity, pending.description) == (NEW, "Minor", "Several break-ins overnight.")
    assert pending.proposed_by == alert["officer"].caller.sub and pending.expires_at == proposed.expires_at
    assert alert.unpublished()
    out = alert_cases.approve(alert.svc, alert["a"], alert.alert_id, pending.id)
    assert (out.msg_type, out.revision, out.headline, out.severity) == ("Update", 1, NEW, "Minor")
    assert out.pending_update is None and out.approved_by == "sgt-a"
    messages = alert.scene.fakes.queue.alert_work()
    assert len(messages) == 64 and {(m.mode, m.revision) for m in messages} == {("audience", 1)}
    alert.scene.deliver()
    assert [n.msg_type for n in alert.scene.notifications_to(alert.push_channel)] == ["Alert", "Update"]


def _update(**fields: object) -> AlertUpdateIn:
    return msgspec.json.decode(json.dumps(fields), type=AlertUpdateIn)


@pytest.mark.parametrize("proposer", ["author", "approver", "a"])
def test_a_proposer_may_not_approve_their_own_update(alert: Published, proposer: str) -> None:
    proposal = alert.propose(proposer, headline=NEW)
    refused(403, alert.approve, proposer, proposal)
    assert alert.scene.stored(alert.alert_id).pending.id == proposal  # type: ignore[union-attr]
    assert alert.unpublished()


@pytest.mark.parametrize(("proposer", "approver"), [("a", "b"), ("approver", "author")])
def test_another_supervisor_of_the_team_approves(alert: Published, proposer: str, approver: str) -> None:
    """Supervisor A proposes and B approves; the draft's author may approve someone else's update."""
    proposal = alert.propose(proposer, headline=NEW)
    alert.approve(approver, proposal)
    assert alert.scene.stored(alert.alert_id).content.headline == NEW


def test_a_replaced_proposal_cannot_be_approved_and_its_new_proposer_cannot_approve(alert: Published) -> None:
    first = alert.propose("officer", headline="First wording")
    second = alert.propose("a", description="Second wording.")
    pending = alert.scene.stored(alert.alert_id).pending
    assert pending is not None and second != first
    # The replacement starts from the published content, not from the proposal it replaced.
    assert (pending.id, pending.content.headline, pending.content.description) == (second, OLD, "Second wording.")
    refused(409, alert.approve, "b", first)
    refused(403, alert.approve, "a", second)
    assert alert.unpublished()
    third = alert.propose("b", headline=NEW)  # A is no longer the proposer: may approve B's words
    alert.approve("a", third)
    record = alert.scene.stored(alert.alert_id)
    assert (record.content.headline, record.content.description) == (NEW, "Several break-ins overnight.")


def test_approving_an_update_names_the_pending_proposal(alert: Published) -> None:
    alert.propose("officer", headline=NEW)
    refused(428, alert.approve, "a")
    refused(409, alert.approve, "a", str(uuid.uuid4()))
    assert alert.unpublished()


def test_without_a_pending_update_there_is_nothing_to_approve_and_a_draft_takes_no_proposal(alert: Published) -> None:
    refused(422, alert.approve, "a")
    refused(422, alert.approve, "a", str(uuid.uuid4()))
    drafted = alert.scene.draft(alert["officer"], square(Scene.LAT, Scene.LON, 0.005))
    refused(409, alert_cases.approve, alert.svc, alert["a"], drafted.id, str(uuid.uuid4()))
    assert alert.unpublished()


def test_cancel_stays_one_person_and_drops_the_pending_update(alert: Published) -> None:
    alert.propose("author", headline=NEW)
    cancelled = alert_cases.cancel(alert.svc, alert["author"], alert.alert_id)
    assert (cancelled.status, cancelled.pending_update, cancelled.headline) == ("cancelled", None, OLD)
    alert.scene.deliver()
    assert [(i.msg_type, i.headline) for i in alert.scene.inbox(alert.resident)] == [("Cancel", OLD), ("Alert", OLD)]
    refused(422, alert.approve, "a")
    refused(422, alert.propose, "a", headline=NEW)


def test_a_proposal_whose_expiry_has_passed_is_not_published(alert: Published) -> None:
    soon = to_rfc3339(alert.scene.fakes.clock() + timedelta(minutes=30))
    proposal = alert.propose("officer", expires_at=soon)
    alert.scene.fakes.clock.advance(hours=1)
    late = alert.scene.staff("supervisor", sub="sgt-a")
    refused(422, alert_cases.approve, alert.svc, late, alert.alert_id, proposal)
    assert alert.scene.stored(alert.alert_id).revision == 0
