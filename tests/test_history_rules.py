"""Analysts' history rules on fakes: rows name the author's role and rank and the conversation or
alert they belong to only by keyed pseudonyms that join; stats by outcome and by cell."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from chalicelib.auth.principal import Principal
from chalicelib.clock import to_rfc3339
from chalicelib.domain import geo
from chalicelib.domain.contact_schemas import ContactIn
from chalicelib.domain.conversations import ConversationIn, MessageIn
from chalicelib.domain.history import HistoryQuery, HistoryRow, StatsQuery
from chalicelib.usecases import contacts as contact_cases
from chalicelib.usecases import conversations as conversation_cases
from chalicelib.usecases import history as usecase
from tests.scenes import Scene

pytestmark = pytest.mark.no_database


def _rows(scene: Scene) -> list[HistoryRow]:
    now = scene.fakes.clock()
    query = HistoryQuery(from_=now - timedelta(days=2), to=now + timedelta(minutes=5), purpose="rules test",
                         limit=200)
    return usecase.contacts(scene.svc, scene.staff("analyst", team=""), query).items


def _start(scene: Scene, resident: str, area_id: str) -> str:
    body = ConversationIn(id=uuid.uuid4(), topic="noise", text="Loud music at no. 4", area_id=uuid.UUID(area_id))
    return conversation_cases.start(scene.svc, scene.as_resident(resident), body).value.id


def _answer(scene: Scene, conversation_id: str, who: Any) -> None:
    conversation_cases.post_message(scene.svc, who, conversation_id, MessageIn(id=uuid.uuid4(), text="On it"))


def test_rows_of_one_conversation_share_a_keyed_pseudonym_never_the_id() -> None:
    scene = Scene()
    area_id = scene.area("north")
    resident = scene.register()
    first, second = _start(scene, resident, area_id), _start(scene, resident, area_id)
    sergeant = scene.context(Principal(sub="ps-7", roles=frozenset({"supervisor"}), kind="staff", team="north",
                                       force="test-force", rank="sergeant"))
    _answer(scene, first, sergeant)
    _answer(scene, second, scene.staff("officer", sub="pc-1"))

    rows = _rows(scene)
    names = scene.svc.pseudonyms
    by_conversation = {c: [r for r in rows if r.conversation == names.conversation(c)] for c in (first, second)}
    assert [len(found) for found in by_conversation.values()] == [2, 2]  # the resident's message and the answer
    assert {r.author_kind for r in by_conversation[first]} == {"resident", "staff"}
    answer = next(r for r in by_conversation[first] if r.author_kind == "staff")
    assert (answer.author_role, answer.author_rank) == ("supervisor", "sergeant")
    officer_answer = next(r for r in by_conversation[second] if r.author_kind == "staff")
    assert (officer_answer.author_role, officer_answer.author_rank) == ("officer", None)
    resident_row = next(r for r in by_conversation[first] if r.author_kind == "resident")
    assert resident_row.author_role is None and resident_row.alert is None
    assert names.conversation(first) != names.conversation(second)
    text = json.dumps([msgspec.to_builtins(r) for r in rows]) + usecase.contacts_csv(
        scene.svc, scene.staff("analyst", team=""),
        HistoryQuery(from_=scene.fakes.clock() - timedelta(days=2), to=scene.fakes.clock(), purpose="rules test"))[0]
    for raw in (first, second):
        assert raw not in text
    assert _rows(scene) == rows  # stable across calls


def test_an_alert_reply_and_its_answer_carry_the_alert_and_the_conversation() -> None:
    scene = Scene()
    area_id = scene.area("north")
    resident = scene.register()
    alert_id = str(uuid.uuid4())
    conversation_id, _ = conversation_cases.reply_to_alert(
        scene.svc, scene.as_resident(resident), alert_id=alert_id, team="north", area_id=area_id, text="Seen a van")
    _answer(scene, conversation_id, scene.staff("officer"))

    rows = _rows(scene)
    names = scene.svc.pseudonyms
    assert len(rows) == 2
    assert {r.alert for r in rows} == {names.alert(alert_id)}
    assert {r.conversation for r in rows} == {names.conversation(conversation_id)}
    assert names.alert(alert_id).startswith("alr_") and names.conversation(conversation_id).startswith("cnv_")
    assert names.alert(alert_id) != names.conversation(alert_id)  # one subkey per purpose: no cross-matching


def test_logged_contacts_belong_to_no_conversation_and_csv_appends_the_new_columns() -> None:
    scene = Scene()
    _create(scene, scene.staff("officer"), outcome="advice_given")
    [row] = _rows(scene)
    assert (row.conversation, row.alert, row.author_role) == (None, None, "officer")
    now = scene.fakes.clock()
    text, _ = usecase.contacts_csv(scene.svc, scene.staff("admin", team=""),
                                   HistoryQuery(from_=now - timedelta(days=2), to=now, purpose="rules test"))
    header = text.splitlines()[0].split(",")
    assert header[:6] == ["row", "occurred_at", "kind", "topic", "outcome", "team"]  # added, never renamed
    assert header[-3:] == ["author_role", "conversation", "alert"]


def _create(scene: Scene, who: Any, **overrides: Any) -> None:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()), "kind": "street", "occurred_at": to_rfc3339(scene.fakes.clock() - timedelta(hours=1)),
        "topic": "burglary", "outcome": "advice_given", "location": {"lat": 51.5014, "lon": -0.1419},
        "setting": "patrol",
    }
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not None}
    contact_cases.create_contact(scene.svc, who, msgspec.json.decode(json.dumps(body), type=ContactIn))


def _stats(scene: Scene, who: Any, by: str, group_by: str = "day") -> dict[str, int]:
    day = scene.fakes.clock().date().isoformat()
    query = StatsQuery(from_=day, to=day, by=by, group_by=group_by, purpose="rules test")  # type: ignore[arg-type]
    return {b.key: b.contacts for b in usecase.stats(scene.svc, who, query).buckets}


def test_stats_by_outcome_and_by_coarse_cell_for_the_force_and_a_team() -> None:
    scene = Scene()
    officer, other_team = scene.staff("officer", team="north"), scene.staff("officer", team="south")
    _create(scene, officer, outcome="advice_given")
    _create(scene, officer, outcome="referred", location={"lat": 51.5014, "lon": -0.1419})
    _create(scene, other_team, outcome="referred", location={"lat": 53.48, "lon": -2.24})
    _create(scene, officer, kind="online", platform="facebook", direction="inbound", outcome="information_received",
            location=None, setting=None)
    analyst, supervisor = scene.staff("analyst", team=""), scene.staff("supervisor", team="north")

    assert _stats(scene, analyst, "outcome") == {"advice_given": 1, "referred": 2, "information_received": 1}
    assert _stats(scene, supervisor, "outcome") == {"advice_given": 1, "referred": 1, "information_received": 1}
    assert _stats(scene, analyst, "outcome", "month") == _stats(scene, analyst, "outcome")
    london, manchester = geo.coarse_cell(geo.contact_cell(51.5014, -0.1419)), geo.coarse_cell(geo.contact_cell(53.48, -2.24))
    assert _stats(scene, analyst, "cell") == {london: 2, manchester: 1}  # street contacts only
    assert _stats(scene, supervisor, "cell", "week") == {london: 2}
    rows = _rows(scene)
    assert {r.cell for r in rows if r.kind == "street"} == {london, manchester}  # the rows' cell is the stats' cell
