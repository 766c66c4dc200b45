"""A scene on fakes: staff and residents calling the use cases directly, the fan-out queue drained
through the worker, the clock moved by hand. For the rule tests (tests/test_*_rules.py)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec

from chalicelib.auth.principal import Principal
from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain.alerts import AlertIn, AlertOut, AlertRecord, AlertUpdateIn, Notification
from chalicelib.domain.subscribers import AreasIn, InboxQuery, SubscriberIn, SubscriberRecord
from chalicelib.services import Services
from chalicelib.usecases import alerts as alert_cases
from chalicelib.usecases import subscribers as subscriber_cases
from tests.fakes import NOW, FakeChannel, Fakes, fake_services

OLD = "Burglaries reported on Elm Street"


def square(lat: float, lon: float, half: float = 0.01) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[
        [lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half],
        [lon - half, lat - half]]]}


def circle(lat: float, lon: float, radius_m: float = 500) -> dict[str, Any]:
    return {"type": "Circle", "center": {"lat": lat, "lon": lon}, "radius_m": radius_m}


def browser_keys() -> dict[str, str]:
    """A real P-256 public point and a 16-byte auth secret, as a browser's PushSubscription has."""
    import base64
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"p256dh": base64.urlsafe_b64encode(point).decode().rstrip("="),
            "auth": base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")}


def webpush_channel() -> dict[str, Any]:
    return {"type": "webpush", "subscription": {
        "endpoint": f"https://push.example.test/{uuid.uuid4().hex}", "keys": browser_keys()}}


def endpoint(channel: dict[str, Any]) -> str:
    return str(channel["subscription"]["endpoint"])


class Scene:
    """One force on fakes: `svc` (real Services, every port a fake) and `fakes` to look into."""

    LAT, LON = 51.5074, -0.1278

    def __init__(self, now: datetime = NOW, **overrides: Any) -> None:
        self.svc: Services
        self.svc, self.fakes = fake_services(now=now, **overrides)
        self._requests = 0

    def container(self, **overrides: Any) -> Services:
        """Another warm container on the same tables: its own Services and conversation hints."""
        from tests.fakes import FakeConversations, fake_repositories

        store = fake_repositories(self.fakes.db)
        conversations = overrides.pop("conversations", None) or FakeConversations(self.fakes.db)
        svc, _ = fake_services(db=self.fakes.db, store=dataclasses.replace(store, conversations=conversations),
                               clock=self.fakes.clock, fanout_queue=self.fakes.queue, channels=self.fakes.channels,
                               **overrides)
        return svc

    # -- who is calling ------------------------------------------------------------------------
    def context(self, principal: Principal | None = None, subscriber: SubscriberRecord | None = None) -> RequestContext:
        self._requests += 1
        return RequestContext(request_id=f"req-{self._requests}", now=self.fakes.clock(), principal=principal,
                              subscriber=subscriber, client_ip="203.0.113.9")

    def staff(self, role: str = "officer", sub: str | None = None, team: str = "north") -> RequestContext:
        principal = Principal(sub=sub or f"{role}-{uuid.uuid4().hex[:6]}", roles=frozenset({role}), kind="staff",
                              team=team, force="test-force")
        return self.context(principal)

    def as_resident(self, subscriber_id: str) -> RequestContext:
        """A resident's request, with its record loaded as the framework loads it (None once erased)."""
        return self.context(Principal(sub=subscriber_id, roles=frozenset({"resident"}), kind="resident"),
                            subscriber=self.fakes.db.subscribers.get(subscriber_id))

    def register(self, channel: dict[str, Any] | None = None, **prefs: Any) -> str:
        body = msgspec.json.decode(json.dumps({"channel": channel or {"type": "inbox"}, **prefs}), type=SubscriberIn)
        return subscriber_cases.register(self.svc, self.context(), body).id

    def area(self, team: str = "north", lat: float = LAT, lon: float = LON) -> str:
        """A named area of `team` around (lat, lon)."""
        from chalicelib.domain.areas import AreaIn
        from chalicelib.usecases import areas as area_cases

        area_id = str(uuid.uuid4())
        body = msgspec.convert({"name": "Elm ward", "team": team, "geometry": square(lat, lon, 0.01)}, AreaIn)
        area_cases.put_area(self.svc, self.staff("admin", team=team), area_id, body)
        return area_id

    # -- residents -----------------------------------------------------------------------------
    def resident(self, areas: list[dict[str, Any]], channel: dict[str, Any] | None = None, **prefs: Any) -> str:
        subscriber_id = self.register(channel, **prefs)
        areas_in = msgspec.json.decode(json.dumps({"areas": areas}), type=AreasIn)
        subscriber_cases.put_areas(self.svc, self.as_resident(subscriber_id), areas_in)
        return subscriber_id

    def record(self, subscriber_id: str) -> SubscriberRecord | None:
        return self.fakes.db.subscribers.get(subscriber_id)

    def inbox(self, subscriber_id: str) -> list[Any]:
        return list(subscriber_cases.inbox(self.svc, self.as_resident(subscriber_id), InboxQuery(limit=100)).items)

    # -- alerts --------------------------------------------------------------------------------
    def alert_in(self, area: dict[str, Any], **overrides: Any) -> AlertIn:
        body = {"headline": OLD, "description": "Several break-ins overnight.", "instruction": "Lock doors.",
                "category": "Security", "severity": "Moderate", "urgency": "Expected", "certainty": "Likely",
                "area": area, "expires_at": to_rfc3339(self.fakes.clock() + timedelta(days=1)), **overrides}
        return msgspec.json.decode(json.dumps(body), type=AlertIn)

    def draft(self, officer: RequestContext, area: dict[str, Any], **overrides: Any) -> AlertOut:
        return alert_cases.draft(self.svc, officer, self.alert_in(area, **overrides))

    def publish(self, officer: RequestContext, supervisor: RequestContext, area: dict[str, Any],
                **overrides: Any) -> str:
        """Draft, approve (two people) and deliver: the alert's id."""
        drafted = self.draft(officer, area, **overrides)
        alert_cases.approve(self.svc, supervisor, drafted.id)
        self.deliver()
        return drafted.id

    def propose(self, who: RequestContext, alert_id: str, **fields: Any) -> str:
        body = msgspec.json.decode(json.dumps(fields), type=AlertUpdateIn)
        out = alert_cases.update(self.svc, who, alert_id, body)
        assert out.pending_update is not None
        return out.pending_update.id

    def stored(self, alert_id: str) -> AlertRecord:
        record = self.svc.store.alerts.get(alert_id)
        assert record is not None
        return record

    # -- the worker ----------------------------------------------------------------------------
    def deliver(self) -> list[bool]:
        """Run every queued push message (continuations too) through the worker (by type)."""
        worker = self.svc.push_worker()
        return self.fakes.queue.drain(worker.process)

    def release_held(self) -> int:
        return self.svc.push_worker().release_held()

    @property
    def push(self) -> FakeChannel:
        return self.fakes.channels["webpush"]

    def headlines_to(self, channel: dict[str, Any]) -> list[str]:
        return [n.info.headline for n in self.push.sent_to(endpoint(channel))]

    def notifications_to(self, channel: dict[str, Any]) -> list[Notification]:
        return self.push.sent_to(endpoint(channel))


__all__ = ["OLD", "Fakes", "Scene", "circle", "endpoint", "square", "webpush_channel"]
