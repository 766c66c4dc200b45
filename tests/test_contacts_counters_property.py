"""Property: after any sequence of creates, retries, conflicting retries and amendments, the
statistics counters equal a recount of the contacts (no double count, no lost move)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.contact_schemas import PLATFORMS, TOPICS
from tests.support import iso, nonzero, online, patch, post, recount, street, team_counters

TOPIC = st.sampled_from(TOPICS[:4])
PLATFORM = st.sampled_from(PLATFORMS[:3])
DAY_BACK = st.integers(min_value=0, max_value=2)
PLACE = st.sampled_from([(51.5014, -0.1419), (53.4808, -2.2426), (51.5014, -0.1500)])

create = st.tuples(st.just("create"), st.sampled_from(["street", "online"]), TOPIC, PLATFORM, DAY_BACK, PLACE)
retry = st.tuples(st.just("retry"), st.integers(min_value=0, max_value=50))
conflict = st.tuples(st.just("conflict"), st.integers(min_value=0, max_value=50), TOPIC)
amend = st.tuples(st.just("amend"), st.integers(min_value=0, max_value=50), TOPIC, DAY_BACK, PLACE, PLATFORM)
stale = st.tuples(st.just("stale"), st.integers(min_value=0, max_value=50), TOPIC)
steps = st.lists(st.one_of(create, retry, conflict, amend, stale), min_size=1, max_size=12)


def _when(days_back: int) -> str:
    return iso(datetime.now(UTC) - timedelta(days=days_back, hours=1))


def _create(client: Any, token: str, step: tuple[Any, ...], bodies: list[dict[str, Any]],
            versions: dict[str, int]) -> None:
    _, contact_kind, topic, platform, days, (lat, lon) = step
    if contact_kind == "street":
        body = street(topic=topic, occurred_at=_when(days), location={"lat": lat, "lon": lon})
    else:
        body = online(topic=topic, occurred_at=_when(days), platform=platform)
    assert post(client, token, "/v1/contacts", body).status_code == 201
    bodies.append(body)
    versions[body["id"]] = 1


def _retry(client: Any, token: str, step: tuple[Any, ...], bodies: list[dict[str, Any]],
           versions: dict[str, int]) -> None:
    body = bodies[step[1] % len(bodies)]
    assert post(client, token, "/v1/contacts", body).status_code == 200


def _conflict(client: Any, token: str, step: tuple[Any, ...], bodies: list[dict[str, Any]],
              versions: dict[str, int]) -> None:
    body = bodies[step[1] % len(bodies)]
    other = {**body, "notes": f"different {uuid.uuid4().hex}", "topic": step[2]}
    assert post(client, token, "/v1/contacts", other).status_code == 409


def _amend(client: Any, token: str, step: tuple[Any, ...], bodies: list[dict[str, Any]],
           versions: dict[str, int]) -> None:
    _, index, topic, days, (lat, lon), platform = step
    body = bodies[index % len(bodies)]
    change: dict[str, Any] = {"version": versions[body["id"]], "topic": topic, "occurred_at": _when(days)}
    if body["kind"] == "street":
        change["location"] = {"lat": lat, "lon": lon}
    else:
        change.update(platform=platform, handle="@same_person")
    response = patch(client, token, body["id"], change)
    assert response.status_code == 200, response.body
    versions[body["id"]] = response.json_body["version"]


def _stale(client: Any, token: str, step: tuple[Any, ...], bodies: list[dict[str, Any]],
           versions: dict[str, int]) -> None:
    body = bodies[step[1] % len(bodies)]
    if versions[body["id"]] > 1:
        response = patch(client, token, body["id"], {"version": versions[body["id"]] - 1, "topic": step[2]})
        assert response.status_code == 409


STEPS = {"retry": _retry, "conflict": _conflict, "amend": _amend, "stale": _stale}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_counters_equal_a_recount(client, staff_token, steps):
    team = f"prop-{uuid.uuid4().hex[:10]}"  # a fresh team per example
    token = staff_token("officer", team=team)
    bodies: list[dict] = []
    versions: dict[str, int] = {}
    for step in steps:
        if step[0] == "create":
            _create(client, token, step, bodies, versions)
        elif bodies:
            STEPS[step[0]](client, token, step, bodies, versions)
    assert nonzero(team_counters(team)) == recount(team)
    assert sum(v for (k, _), v in team_counters(team).items() if k == "force|team") == len(bodies)
