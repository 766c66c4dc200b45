"""Helpers shared by the contact tests: request bodies and a look at what the tables hold."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.clock import to_rfc3339
from tests.conftest import bearer


def iso(moment: datetime) -> str:
    return to_rfc3339(moment)


def recent(hours: float = 1.0) -> str:
    """An `occurred_at` comfortably inside the accepted window."""
    return iso(datetime.now(UTC) - timedelta(hours=hours))


def street(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "kind": "street",
        "occurred_at": recent(),
        "topic": "burglary",
        "outcome": "advice_given",
        "tags": ["door-knock"],
        "notes": "Spoke to the shop owner about the break-in.",
        "location": {"lat": 51.5014, "lon": -0.1419},
        "setting": "patrol",
    }
    body.update(overrides)
    return body


def online(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "kind": "online",
        "occurred_at": recent(),
        "topic": "fraud_scams",
        "outcome": "information_received",
        "platform": "facebook",
        "direction": "inbound",
        "thread_ref": "group-post-17",
        "handle": "@Resident_Handle_42",
        "notes": "Reported a doorstep scam.",
    }
    body.update(overrides)
    return body


def post(client: Any, token: str, path: str, body: Any, raw: bool = False) -> Any:
    payload = body if raw else json.dumps(body)
    return client.http.post(path, headers=bearer(token), body=payload)


def patch(client: Any, token: str, contact_id: str, body: Any) -> Any:
    return client.http.patch(f"/v1/contacts/{contact_id}", headers=bearer(token), body=json.dumps(body))


def get(client: Any, token: str, path: str) -> Any:
    return client.http.get(path, headers=bearer(token))


def problem(response: Any) -> dict[str, Any]:
    assert response.headers["Content-Type"] == "application/problem+json", response.body
    body = json.loads(response.body)
    assert body["status"] == response.status_code
    return body


def error_fields(response: Any) -> list[str]:
    return [e["field"] for e in problem(response).get("errors", [])]


# --- what the tables hold -------------------------------------------------------------------


def contact_exists(contact_id: str) -> bool:
    from chalicelib.store import contacts as store

    return store.get(contact_id) is not None


def access_entries(actor: str) -> list[Any]:
    from chalicelib.store.models import AccessLogModel

    return list(AccessLogModel.by_actor.query(actor))


def team_counters(team: str) -> dict[tuple[str, str], int]:
    """Every counter that belongs to `team` (team-scoped partitions, and the force-wide team row),
    shards summed: keys are (key, "day|value"). The contacts stream is settled first."""
    from collections import defaultdict

    from tests.conftest import settle_streams

    settle_streams()

    from chalicelib.domain import stats_keys
    from chalicelib.store.models import StatCounterModel

    found: dict[tuple[str, str], int] = defaultdict(int)
    for dimension in stats_keys.DIMENSIONS:
        key = stats_keys.counter_pk(stats_keys.team_scope(team), dimension)
        for item in StatCounterModel.query(key, consistent_read=True):
            found[(item.key, item.bucket.rsplit("|", 1)[0])] += int(item.contacts)
    force_team = stats_keys.counter_pk(stats_keys.FORCE_SCOPE, "team")
    for item in StatCounterModel.query(force_team, consistent_read=True):
        bucket = item.bucket.rsplit("|", 1)[0]
        if bucket.endswith("|" + team):
            found[(item.key, bucket)] += int(item.contacts)
    return dict(found)


def team_contacts(team: str) -> list[Any]:
    from chalicelib.store.contacts import from_model
    from chalicelib.store.models import ContactModel

    return [from_model(m) for m in ContactModel.by_team.query(team)]


def recount(team: str) -> dict[tuple[str, str], int]:
    """Counters as they should be: recomputed from the team's contacts."""
    expected: Counter[tuple[str, str]] = Counter()
    for record in team_contacts(team):
        for key in record.counter_keys():
            if key[0].startswith(f"team:{team}|") or key[1].endswith("|" + team):
                expected[key] += 1
    return dict(expected)


def nonzero(counters: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    return {k: v for k, v in counters.items() if v}


def footprint(team: str, actor: str, contact_ids: list[str]) -> dict[str, Any]:
    """Everything a request by `actor` for `team` could have written."""
    return {
        "contacts": [i for i in contact_ids if contact_exists(i)],
        "team_contacts": len(team_contacts(team)),
        "counters": nonzero(team_counters(team)),
        "access_log": len(access_entries(actor)),
    }


EMPTY_FOOTPRINT = {"contacts": [], "team_contacts": 0, "counters": {}, "access_log": 0}


class DynamoCalls:
    """Counts the DynamoDB operations the app's models send (a botocore before-call hook), and
    the items of each TransactWriteItems (`items`)."""

    def __init__(self) -> None:
        self.operations: list[str] = []
        self.items: list[int] = []

    def __call__(self, model: Any, params: Any = None, **_: Any) -> None:
        self.operations.append(model.name)
        if model.name == "TransactWriteItems":  # the request as serialized: a JSON body
            self.items.append(len(json.loads((params or {}).get("body") or b"{}").get("TransactItems", [])))

    def __enter__(self) -> DynamoCalls:
        from chalicelib.store.models import ALL_MODELS

        # Every model has its own botocore client (PITFALLS): hook each one once.
        clients = {id(c): c for c in (m._get_connection().connection.client for m in ALL_MODELS)}
        self._events = [c.meta.events for c in clients.values()]
        for events in self._events:
            events.register("before-call.dynamodb.*", self, unique_id=f"count-{id(self)}")
        return self

    def __exit__(self, *exc: object) -> None:
        for events in self._events:
            events.unregister("before-call.dynamodb.*", unique_id=f"count-{id(self)}")


def header(response: Any, name: str) -> str:
    """A response header by name, whatever its case (the web serving tests)."""
    return {k.lower(): v for k, v in response.headers.items()}[name.lower()]


def inline_scripts(html: str) -> list[tuple[str, str]]:
    """(attributes, text) of each inline <script> of a page (one with `src=` is not inline)."""
    return re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", html, re.S)


def follower(base: Any, handler: Any) -> Any:
    """Another event source mapping on `base`'s stream (infra/local/streams.py), starting at its
    checkpoints and calling `handler`."""
    from infra.local.streams import StreamPoller

    return StreamPoller(endpoint=base.endpoint, table_name=base.table_name, handler=handler, region=base.region,
                        positions=dict(base.positions))


def crash_before_checkpoint(base: Any, handler: Any) -> list[Any]:
    """Lambda killed between a batch's sums and its checkpoint: `handler` writes the next batch of
    `base`'s stream, then the function dies before the mapping hears of it. The handler's answers."""
    import pytest

    answers: list[Any] = []

    def crash_after_the_sums(event: dict[str, Any], context: Any) -> Any:
        answers.append(handler(event, context))  # the sums are written ...
        raise RuntimeError("killed before the checkpoint")  # ... and Lambda never hears of it

    crashing = follower(base, crash_after_the_sums)
    crashing.max_attempts = 2
    with pytest.raises(RuntimeError):
        crashing.poll_once()
    return answers
