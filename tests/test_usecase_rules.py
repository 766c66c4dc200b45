"""Use-case rules on in-memory fakes of the ports: no DynamoDB Local. Storage behaviour itself stays
tested on DynamoDB Local (test_areas.py, test_rate_limits.py); these prove the use cases take their
storage from `Services.store` and touch nothing else."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from chalicelib.context import RequestContext
from chalicelib.domain.areas import AreaIn, AreaRecord
from chalicelib.domain.errors import NotFound, RateLimited, RuleViolation
from chalicelib.domain.ratelimit import MINUTE, RateLimit, Window
from chalicelib.domain.results import Created, Replaced
from chalicelib.errors import DomainError, as_problem
from chalicelib.ports import Repositories
from chalicelib.services import Services, build_services
from chalicelib.settings import SETTINGS
from chalicelib.usecases import areas as area_cases
from chalicelib.usecases import ratelimit as rate_cases
from tests.push_dns import TEST_PUSH_RESOLVER

pytestmark = pytest.mark.no_database  # in-memory fakes only

NOW = datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC)


class Untouched:
    """A repository the use case under test must not call."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise AssertionError(f"the use case reached the {self._name} repository ({attr})")


class FakeAreas:
    def __init__(self) -> None:
        self.items: dict[str, AreaRecord] = {}

    def put(self, record: AreaRecord) -> bool:
        created = record.id not in self.items
        self.items[record.id] = record
        return created

    def get(self, area_id: str) -> AreaRecord | None:
        return self.items.get(area_id)


class FakeCounters:
    def __init__(self) -> None:
        self.hits: dict[str, int] = {}

    def hit(self, key: str, *, limit: int, window_ends: datetime) -> bool:
        if self.hits.get(key, 0) >= limit:
            return False
        self.hits[key] = self.hits.get(key, 0) + 1
        return True


def services_with(**fakes: Any) -> Services:
    fields = [f.name for f in dataclasses.fields(Repositories)]
    store = Repositories(**{name: fakes.get(name, Untouched(name)) for name in fields})
    return build_services(SETTINGS, store=store, clock=lambda: NOW, push_resolver=TEST_PUSH_RESOLVER)


def square(lat: float, lon: float, half: float) -> dict[str, Any]:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]]
    return {"type": "Polygon", "coordinates": [ring]}


def area_in(geometry: dict[str, Any]) -> AreaIn:
    return msgspec.convert({"name": "Beat 7", "team": "north", "geometry": geometry}, AreaIn)


def test_put_then_get_an_area_through_the_injected_repository() -> None:
    areas = FakeAreas()
    svc = services_with(areas=areas)
    ctx = RequestContext(request_id="r1", now=NOW)
    area_id = str(uuid.uuid4())
    saved = area_cases.put_area(svc, ctx, area_id, area_in(square(51.5, -0.1, 0.01)))
    assert isinstance(saved, Created) and saved.value.id == area_id  # the domain's word; api/ says 201
    assert area_cases.get_area(svc, ctx, area_id) == saved.value
    again = area_cases.put_area(svc, ctx, area_id, area_in(square(51.5, -0.1, 0.02)))
    assert isinstance(again, Replaced)
    assert list(areas.items) == [area_id]


@pytest.mark.parametrize("raw_id", ["not-a-uuid", "", "1234", "../areas"])
def test_a_bad_area_id_is_a_400_on_put_and_a_404_on_get(raw_id: str) -> None:
    svc = services_with(areas=FakeAreas())
    ctx = RequestContext(request_id="r1", now=NOW)
    with pytest.raises(RuleViolation) as put:
        area_cases.put_area(svc, ctx, raw_id, area_in(square(51.5, -0.1, 0.01)))
    assert as_problem(put.value).status == 400 and put.value.errors[0].field == "id"
    with pytest.raises(NotFound) as got:
        area_cases.get_area(svc, ctx, raw_id)
    assert as_problem(got.value).status == 404


@pytest.mark.parametrize("half", [0.6, 2.0])  # ~8,900 km² and more: over the 2,500 km² named-area limit
def test_a_refused_shape_writes_nothing(half: float) -> None:
    areas = FakeAreas()
    svc = services_with(areas=areas)
    with pytest.raises(DomainError) as refused:
        area_cases.put_area(svc, RequestContext(request_id="r1", now=NOW), str(uuid.uuid4()),
                            area_in(square(51.5, -0.1, half)))
    assert as_problem(refused.value).status == 400
    assert refused.value.errors and refused.value.errors[0].field.startswith("geometry")
    assert areas.items == {}


def test_rate_limit_counts_every_window_and_answers_429_with_retry_after() -> None:
    counters = FakeCounters()
    svc = services_with(ratelimit=counters)
    limit = RateLimit("registrations", "registrations", (Window(MINUTE, "subscriber_rate_per_minute"),))
    svc.settings = dataclasses.replace(SETTINGS, subscriber_rate_per_minute=3)
    ctx = RequestContext(request_id="r1", now=NOW, client_ip="203.0.113.7")
    for _ in range(3):
        rate_cases.enforce(svc, ctx, limit)
    with pytest.raises(RateLimited) as limited:
        rate_cases.enforce(svc, ctx, limit)
    problem = as_problem(limited.value)
    assert problem.status == 429
    assert problem.headers["Retry-After"] == "30"  # 30 s left in the minute at 12:00:30
    (key,) = counters.hits
    assert "203.0.113.7" not in key  # keyed digest of the address, not the address
    # The next window starts afresh.
    later = dataclasses.replace(ctx, now=NOW + timedelta(minutes=1))
    rate_cases.enforce(svc, later, limit)
    assert len(counters.hits) == 2
