"""Contact rules on fakes: idempotent creates (an identical retry writes nothing, other content is
a 409), versioned amendments that keep their history and move the counters, who may amend. The
HTTP side (validation 400s, problem bodies, one round trip per create) is tests/test_contacts_*.py;
the store's conditions are tests/test_port_contract.py, on both stores."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from chalicelib.auth.principal import Principal
from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain.contact_schemas import ContactIn, ContactPatch
from chalicelib.domain.errors import Conflict, Forbidden, NotFound
from chalicelib.domain.results import Created
from chalicelib.errors import DomainError, as_problem
from chalicelib.usecases import contacts as usecase
from tests.scenes import Scene

pytestmark = pytest.mark.no_database


def street(scene: Scene, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()), "kind": "street", "occurred_at": to_rfc3339(scene.fakes.clock() - timedelta(hours=1)),
        "topic": "burglary", "outcome": "advice_given", "tags": ["door-knock"],
        "notes": "Spoke to the shop owner about the break-in.", "location": {"lat": 51.5014, "lon": -0.1419},
        "setting": "patrol",
    }
    body.update(overrides)
    return body


def create(scene: Scene, who: RequestContext, body: dict[str, Any]) -> tuple[int, Any]:
    """(the status api/ answers, the contact): the use case says Created or Resent."""
    item: Any = msgspec.json.decode(json.dumps(body), type=ContactIn)
    saved = usecase.create_contact(scene.svc, who, item)
    return 201 if isinstance(saved, Created) else 200, saved.value


def amend(scene: Scene, who: RequestContext, contact_id: str, **fields: Any) -> Any:
    return usecase.amend_contact(scene.svc, who, contact_id, msgspec.convert(fields, ContactPatch))


def counters(scene: Scene, team: str = "north") -> dict[tuple[str, str], int]:
    """The team's non-zero counters as stored (shards summed)."""
    found: Counter[tuple[str, str]] = Counter()
    for (key, bucket), attributes in scene.fakes.db.stats.items():
        if f"team:{team}|" in key and "contacts" in attributes:
            found[(key, bucket.rsplit("|", 1)[0])] += attributes["contacts"]
    return {k: v for k, v in found.items() if v}


def recount(scene: Scene, team: str = "north") -> dict[tuple[str, str], int]:
    """The counters as they should be: recomputed from the stored contacts (day grain)."""
    expected: Counter[tuple[str, str]] = Counter()
    for record in scene.fakes.db.contacts.values():
        expected.update(k for k in record.counter_keys() if f"team:{team}|" in k[0])
    return dict(expected)


def day_counters(scene: Scene) -> dict[tuple[str, str], int]:
    return {k: v for k, v in counters(scene).items() if len(k[1].split("|")[0]) == 10 and "-W" not in k[1]}


def footprint(scene: Scene) -> tuple[Any, ...]:
    db = scene.fakes.db
    return (dict(db.contacts), {k: dict(v) for k, v in db.stats.items()}, len(db.access),
            json.dumps(db.amendments, sort_keys=True))


def refused(status: int, call: Any, *args: Any, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert as_problem(caught.value).status == status
    return caught.value


@pytest.fixture
def scene() -> Scene:
    return Scene()


# --- create ------------------------------------------------------------------------------------


def test_a_create_writes_the_contact_its_counters_and_its_access_entry(scene: Scene) -> None:
    officer = scene.staff("officer", sub="pc-1")
    status, out = create(scene, officer, street(scene))
    assert status == 201 and out.version == 1 and out.cell
    assert day_counters(scene) == recount(scene) and recount(scene)
    assert [(a.actor, a.action) for a in scene.fakes.db.access] == [("pc-1", "contact.create")]


def test_an_identical_retry_is_200_and_writes_nothing(scene: Scene) -> None:
    officer = scene.staff("officer", sub="pc-1")
    body = street(scene)
    _, first = create(scene, officer, body)
    before = footprint(scene)
    for _ in range(3):
        assert create(scene, officer, body) == (200, first)
    assert footprint(scene) == before


def test_the_same_instant_in_another_offset_is_still_a_retry(scene: Scene) -> None:
    officer = scene.staff("officer")
    body = street(scene, occurred_at="2026-11-30T09:30:00Z")
    create(scene, officer, body)
    assert create(scene, officer, {**body, "occurred_at": "2026-11-30T10:30:00+01:00"})[0] == 200


def test_a_retry_after_an_amendment_returns_it_and_logs_the_read(scene: Scene) -> None:
    officer = scene.staff("officer", sub="pc-1")
    body = street(scene)
    create(scene, officer, body)
    amend(scene, scene.staff("supervisor"), body["id"], version=1, topic="drugs")
    status, again = create(scene, officer, body)  # sync can be late: still a retry
    assert (status, again.topic, again.version) == (200, "drugs", 2)
    assert [(a.actor, a.action, a.record_id) for a in scene.fakes.db.access][-1] == ("pc-1", "contact.read", body["id"])


def test_the_same_id_with_other_content_is_409_and_changes_nothing(scene: Scene) -> None:
    officer = scene.staff("officer")
    body = street(scene)
    create(scene, officer, body)
    before = footprint(scene)
    refused(409, create, scene, officer, {**body, "topic": "drugs"})
    assert footprint(scene) == before


def test_the_same_content_by_another_officer_is_409_and_reveals_nothing(scene: Scene) -> None:
    body = street(scene)
    create(scene, scene.staff("officer", sub="pc-a"), body)
    before = footprint(scene)
    conflict = refused(409, create, scene, scene.staff("officer", sub="pc-b"), body)
    assert isinstance(conflict, Conflict) and "burglary" not in json.dumps(as_problem(conflict).to_dict())
    assert footprint(scene) == before


def test_staff_without_a_team_cannot_log(scene: Scene) -> None:
    no_team = scene.context(Principal(sub="pc-x", roles=frozenset({"officer"}), kind="staff", team=None))
    with pytest.raises(Forbidden):
        create(scene, no_team, street(scene))
    assert scene.fakes.db.contacts == {}


# --- amend -------------------------------------------------------------------------------------


def test_an_amendment_keeps_its_history_and_moves_the_counters(scene: Scene) -> None:
    officer = scene.staff("officer", sub="pc-1")
    body = street(scene)
    _, created = create(scene, officer, body)
    amended = amend(scene, officer, body["id"], version=1, topic="drugs", tags=["follow-up"])
    assert (amended.version, amended.topic, amended.tags, amended.created_at) == (2, "drugs", ["follow-up"],
                                                                                 created.created_at)
    day = body["occurred_at"][:10]
    assert day_counters(scene) == recount(scene)
    assert ("team:north|topic", f"{day}|burglary") not in counters(scene)  # the old bucket is back to 0
    assert counters(scene)[("team:north|kind", f"{day}|street")] == 1  # untouched dimensions stay
    (entry,) = usecase.list_amendments(scene.svc, officer, body["id"]).items
    assert (entry.version, entry.by, entry.by_role, entry.at) == (2, "pc-1", "officer", amended.updated_at)
    assert {c.field: (c.old, c.new) for c in entry.changes} == {
        "topic": ("burglary", "drugs"), "tags": (["door-knock"], ["follow-up"])}
    actions = [a.action for a in scene.fakes.db.access]
    assert actions.count("contact.amend") == 1 and "contact.amendments.read" in actions


def test_successive_amendments_are_all_kept_oldest_first(scene: Scene) -> None:
    officer = scene.staff("officer", sub="pc-1")
    body = street(scene)
    create(scene, officer, body)
    amend(scene, officer, body["id"], version=1, outcome="referred")
    assert amend(scene, officer, body["id"], version=2, notes=None).notes is None
    items = usecase.list_amendments(scene.svc, officer, body["id"]).items
    assert [i.version for i in items] == [2, 3]
    assert [(c.field, c.old, c.new) for c in items[1].changes] == [("notes", body["notes"], None)]


@pytest.mark.parametrize("version", [1, 7])
def test_a_stale_or_future_version_is_409_and_changes_nothing(scene: Scene, version: int) -> None:
    officer = scene.staff("officer")
    body = street(scene)
    create(scene, officer, body)
    amend(scene, officer, body["id"], version=1, outcome="referred")
    before = footprint(scene)
    refused(409, amend, scene, officer, body["id"], version=version, topic="drugs")
    assert footprint(scene) == before


def test_a_supervisor_of_the_team_may_amend_and_authorship_stays(scene: Scene) -> None:
    body = street(scene)
    create(scene, scene.staff("officer", sub="pc-1"), body)
    sergeant = scene.staff("supervisor", sub="sgt-1")
    assert amend(scene, sergeant, body["id"], version=1, outcome="referred").author == "pc-1"
    (entry,) = usecase.list_amendments(scene.svc, sergeant, body["id"]).items
    assert (entry.by, entry.by_role) == ("sgt-1", "supervisor")


@pytest.mark.parametrize(("role", "team"), [("officer", "north"), ("supervisor", "south"), ("officer", "south")])
def test_others_may_not_amend_nor_see_the_history(scene: Scene, role: str, team: str) -> None:
    body = street(scene)
    create(scene, scene.staff("officer", sub="pc-1"), body)
    other = scene.staff(role, team=team)
    with pytest.raises(NotFound):
        amend(scene, other, body["id"], version=1, topic="drugs")
    with pytest.raises(NotFound):
        usecase.list_amendments(scene.svc, other, body["id"])
    assert scene.fakes.db.contacts[body["id"]].version == 1


def test_a_patch_that_changes_nothing_keeps_the_version(scene: Scene) -> None:
    officer = scene.staff("officer")
    body = street(scene)
    create(scene, officer, body)
    assert amend(scene, officer, body["id"], version=1, topic="burglary").version == 1
    assert usecase.list_amendments(scene.svc, officer, body["id"]).items == []
