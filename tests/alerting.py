"""Helpers for the residents' alerts tests: fake push channels, registration, alert drafting."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.ports import SendOutcome
from tests.conftest import bearer

CENTRE = (51.5074, -0.1278)  # lat, lon


def square(lat: float, lon: float, half: float = 0.01) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[
        [lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half],
        [lon - half, lat - half]]]}


def circle(lat: float, lon: float, radius_m: float = 500) -> dict[str, Any]:
    return {"type": "Circle", "center": {"lat": lat, "lon": lon}, "radius_m": radius_m}


class FakeChannel:
    """Records sends; `script[key]` lists outcomes to return in turn (default 'sent').
    The key is the web push endpoint or the SNS token of the target."""

    def __init__(self) -> None:
        self.sends: list[tuple[str, Any]] = []
        self.outcomes: list[tuple[str, str]] = []
        self.script: dict[str, list[str]] = {}
        self.failing: set[str] = set()  # keys answered 'retry' while listed
        self._lock = threading.Lock()

    @staticmethod
    def key(target: dict) -> str:
        return target.get("subscription", {}).get("endpoint") or target.get("token") or target.get("endpoint_arn", "")

    def send(self, target: dict, notification: Any) -> SendOutcome:
        key = self.key(target)
        with self._lock:
            self.sends.append((key, notification))
            outcomes = self.script.get(key)
            outcome = "retry" if key in self.failing else (outcomes.pop(0) if outcomes else "sent")
            self.outcomes.append((key, outcome))
            return SendOutcome(outcome)  # the real outcome type, as the channels return it

    def delivered(self, key: str) -> int:
        return sum(1 for k, outcome in self.outcomes if k == key and outcome == "sent")

    def sent_to(self, key: str) -> list[Any]:
        return [n for k, n in self.sends if k == key]


class RecordingQueue:
    """A queue that only keeps what was enqueued (the SQS tests drive the worker themselves)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    def enqueue(self, messages: list[Any]) -> None:
        self.messages.extend(messages)


def browser_keys() -> dict[str, str]:
    """A real PushSubscription key pair's public half (P-256 point) and a 16-byte auth secret."""
    import base64
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return {"p256dh": b64(point), "auth": b64(os.urandom(16))}


def webpush_channel(endpoint: str | None = None) -> dict[str, Any]:
    return {"type": "webpush", "subscription": {
        "endpoint": endpoint or f"https://push.example.test/{uuid.uuid4().hex}", "keys": browser_keys()}}


def register(client, channel: dict | None = None, **prefs: Any) -> tuple[str, str]:
    body = {"channel": channel or {"type": "inbox"}, **prefs}
    response = client.http.post("/v1/subscribers", headers={"Content-Type": "application/json"}, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return response.json_body["id"], response.json_body["token"]


def set_areas(client, token: str, areas: list[dict]) -> Any:
    return client.http.put("/v1/subscribers/me/areas", headers=bearer(token), body=json.dumps({"areas": areas}))


def resident(client, areas: list[dict], channel: dict | None = None, **prefs: Any) -> tuple[str, str]:
    subscriber_id, token = register(client, channel, **prefs)
    response = set_areas(client, token, areas)
    assert response.status_code == 200, response.body
    return subscriber_id, token


def alert_body(area: dict, **overrides: Any) -> dict[str, Any]:
    body = {
        "headline": "Burglaries reported on Elm Street", "description": "Several break-ins overnight.",
        "instruction": "Lock doors and windows.", "category": "Security", "severity": "Moderate",
        "urgency": "Expected", "certainty": "Likely", "area": area,
        "expires_at": (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body.update(overrides)
    return body


def draft(client, token: str, area: dict, **overrides: Any) -> Any:
    return client.http.post("/v1/alerts", headers=bearer(token), body=json.dumps(alert_body(area, **overrides)))


def post(client, path: str, token: str | None, body: Any = None) -> Any:
    headers = bearer(token) if token else {"Content-Type": "application/json"}
    return client.http.post(path, headers=headers, body=json.dumps(body) if body is not None else None)


def publish(client, officer: str, supervisor: str, area: dict, **overrides: Any) -> str:
    drafted = draft(client, officer, area, **overrides)
    assert drafted.status_code == 201, drafted.body
    alert_id = drafted.json_body["id"]
    approved = post(client, f"/v1/alerts/{alert_id}/approve", supervisor)
    assert approved.status_code == 200, approved.body
    return alert_id


def inbox(client, token: str) -> list[dict]:
    response = client.http.get("/v1/subscribers/me/inbox?limit=100", headers=bearer(token))
    assert response.status_code == 200, response.body
    return response.json_body["items"]


def spot() -> tuple[float, float]:
    """A random place (so tests never share index cells)."""
    import random

    return round(random.uniform(50.5, 54.5), 5), round(random.uniform(-4.0, 0.0), 5)


def resident_pseudonym(subscriber_id: str, purpose: str = "resident") -> str:
    """What the access log calls this resident (only computable while its record, and so its
    secret, exists)."""
    from chalicelib.services import services
    from chalicelib.store import subscribers as subscriber_store
    from chalicelib.usecases.subscribers import resident_name

    record = subscriber_store.get(subscriber_id)
    assert record is not None and record.secret, "the subscriber (and its secret) must still exist"
    return resident_name(services(), record, purpose)


def propose(client, token: str, alert_id: str, body: dict[str, Any]) -> str:
    """Propose an update (202); the proposal's id, which the approver names."""
    response = post(client, f"/v1/alerts/{alert_id}/update", token, body)
    assert response.status_code == 202, response.body
    return response.json_body["pending_update"]["id"]


def approve(client, token: str, alert_id: str, proposal: str | None = None) -> Any:
    query = f"?proposal={proposal}" if proposal else ""
    return post(client, f"/v1/alerts/{alert_id}/approve{query}", token)


def update_published(client, proposer: str, approver: str, alert_id: str, body: dict[str, Any]) -> Any:
    """Propose then approve (two people): the approval's response."""
    response = approve(client, approver, alert_id, propose(client, proposer, alert_id, body))
    assert response.status_code == 200, response.body
    return response
