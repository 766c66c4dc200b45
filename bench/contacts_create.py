"""POST /v1/contacts through the full Chalice handler vs the same transaction issued raw with boto3.

    python -m bench.contacts_create [--requests 300] [--warmup 50] [--profile]

Starts its own DynamoDB Local (in memory, free port) and, on it, alternates:
  handler: `app(event, context)` with an API Gateway (REST, proxy) event, exactly what Lambda calls:
           token verification, validation, H3 cell, pseudonyms, PynamoDB transaction, response, log line;
  raw:     `client.transact_write_items(...)` with boto3, the same TransactItems the handler sent
           (captured from the handler's own call; fresh ids per request);
  put:     one conditional `PutItem` of the same contact item (`attribute_not_exists(id)`): the
           physical limit of a create (issue 23's yardstick).
Prints p50/p99 of each, the handler's ratio to each, DynamoDB round trips per request (counted with a
botocore `before-call.dynamodb.*` hook) and write units per create (`ReturnConsumedCapacity`; DynamoDB
Local reports them like DynamoDB: 2 per item of a transaction, 1 per plain put of up to 1 KB).
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.local.dynamodb_local import DynamoDBLocal
from infra.local.idp import PSEUDONYM_KEY, STAFF_JWKS, STAFF_PRIVATE, ensure_keys, issue_token

ISSUER = "https://idp.bench.beatline"
AUDIENCE = "beatline-bench"


class LambdaContext:
    function_name = "beatline-bench"
    memory_limit_in_mb = 512
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def proxy_event(body: str, token: str) -> dict[str, Any]:
    return {
        "resource": "/v1/contacts",
        "path": "/v1/contacts",
        "httpMethod": "POST",
        "headers": {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        "multiValueHeaders": {"Authorization": [f"Bearer {token}"], "Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v1/contacts", "httpMethod": "POST", "stage": "bench",
            "requestId": str(uuid.uuid4()), "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def contact_body() -> str:
    occurred = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({
        "id": str(uuid.uuid4()), "kind": "street", "occurred_at": occurred, "topic": "burglary",
        "outcome": "advice_given", "tags": ["door-knock"], "notes": "Spoke to the shop owner.",
        "location": {"lat": 51.5014, "lon": -0.1419}, "setting": "patrol",
    })


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def fresh_transaction(template: dict[str, Any]) -> dict[str, Any]:
    """The captured TransactItems with a new contact id and a new access-log key."""
    params = copy.deepcopy(template)
    new_id = str(uuid.uuid4())
    for item in params["TransactItems"]:
        put = item.get("Put")
        if not put:
            continue
        attrs = put["Item"]
        if "content_digest" in attrs:
            attrs["id"] = {"S": new_id}
        elif "at_id" in attrs:
            attrs["at_id"] = {"S": attrs["at_id"]["S"].split("#")[0] + "#" + str(uuid.uuid4())}
            attrs["record_id"] = {"S": new_id}
    return params


def _environment(db: Any, keys_dir: Path) -> dict[str, str]:
    return {
        "BEATLINE_STAGE": "bench",
        "BEATLINE_TABLE_PREFIX": "bench-",
        "AWS_ENDPOINT_URL_DYNAMODB": db.endpoint,
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "BEATLINE_STAFF_ISSUER": ISSUER,
        "BEATLINE_STAFF_AUDIENCE": AUDIENCE,
        "BEATLINE_STAFF_JWKS_FILE": str(keys_dir / STAFF_JWKS),
        "BEATLINE_PSEUDONYM_KEY_FILE": str(keys_dir / PSEUDONYM_KEY),
    }


def _silence_request_log() -> None:
    """The request log line is part of the handler's cost; send it to a buffer, not the terminal."""
    for handler in logging.getLogger("beatline.request").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(io.StringIO())


class _Runner:
    """One create through the handler, or the same transaction through raw boto3; counts calls and CPU."""

    def __init__(self, app: Any, token: str, endpoint: str) -> None:
        import boto3
        from botocore.config import Config

        from chalicelib.store.models import ContactModel

        self.app, self.token, self.context = app, token, LambdaContext()
        pynamo_client = ContactModel._get_connection().connection.client
        # Same client settings as PynamoDB's (no parameter validation, same retries), for a fair raw side.
        self.raw_client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="eu-west-2",
            config=Config(parameter_validation=False, retries={"total_max_attempts": 4, "mode": "standard"}),
        )
        self.calls: dict[str, list[str]] = {"handler": [], "raw": [], "put": []}
        self.captured: dict[str, Any] = {}
        self.cpu: dict[str, float] = {"handler": 0.0, "raw": 0.0, "put": 0.0}
        self.units: dict[str, float] = {"raw": 0.0, "put": 0.0}
        pynamo_client.meta.events.register("before-call.dynamodb.*", self._counter("handler"))
        self.raw_client.meta.events.register("before-call.dynamodb.*", self._counter("raw"))
        self.put_client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="eu-west-2",
            config=Config(parameter_validation=False, retries={"total_max_attempts": 4, "mode": "standard"}),
        )
        self.put_client.meta.events.register("before-call.dynamodb.*", self._counter("put"))
        pynamo_client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", self._capture)

    def _counter(self, side: str) -> Any:
        def count(model: Any, **_: Any) -> None:
            self.calls[side].append(model.name)

        return count

    def _capture(self, params: Any, **_: Any) -> None:
        if "template" not in self.captured:
            self.captured["template"] = copy.deepcopy(params)

    def reset(self) -> None:
        for calls in self.calls.values():
            calls.clear()
        self.cpu.update(handler=0.0, raw=0.0, put=0.0)
        self.units.update(raw=0.0, put=0.0)

    def handler(self, profiler: Any = None) -> float:
        event = proxy_event(contact_body(), self.token)
        if profiler:
            profiler.start()
        cpu_started = time.process_time()
        started = time.perf_counter()
        response = self.app(event, self.context)
        elapsed = time.perf_counter() - started
        self.cpu["handler"] += time.process_time() - cpu_started
        if profiler:
            profiler.stop()
        if response["statusCode"] != 201:
            raise RuntimeError(f"handler answered {response['statusCode']}: {response['body']}")
        return elapsed

    def raw(self) -> float:
        params = fresh_transaction(self.captured["template"])
        params["ReturnConsumedCapacity"] = "TOTAL"
        cpu_started = time.process_time()
        started = time.perf_counter()
        answer = self.raw_client.transact_write_items(**params)
        elapsed = time.perf_counter() - started
        self.cpu["raw"] += time.process_time() - cpu_started
        self.units["raw"] += sum(c.get("WriteCapacityUnits", c.get("CapacityUnits", 0.0))
                                 for c in answer.get("ConsumedCapacity", []))
        return elapsed

    def put(self) -> float:
        """One conditional PutItem of the contact item the handler's transaction wrote."""
        params = fresh_transaction(self.captured["template"])
        contact = next(i["Put"] for i in params["TransactItems"] if "content_digest" in i.get("Put", {}).get("Item", {}))
        cpu_started = time.process_time()
        started = time.perf_counter()
        answer = self.put_client.put_item(TableName=contact["TableName"], Item=contact["Item"],
                                          ConditionExpression="attribute_not_exists(id)",
                                          ReturnConsumedCapacity="TOTAL")
        elapsed = time.perf_counter() - started
        self.cpu["put"] += time.process_time() - cpu_started
        capacity = answer.get("ConsumedCapacity", {})
        self.units["put"] += capacity.get("WriteCapacityUnits", capacity.get("CapacityUnits", 0.0))
        return elapsed

    def measure(self, requests: int, profiler: Any) -> dict[str, list[float]]:
        times: dict[str, list[float]] = {"handler": [], "raw": [], "put": []}
        sides = {"handler": lambda: self.handler(profiler), "raw": self.raw, "put": self.put}
        order = list(sides)
        for i in range(requests):
            # rotate the order so no side always runs on a warmer socket
            for side in order[i % 3:] + order[:i % 3]:
                times[side].append(sides[side]())
        return times


def _row(name: str, times: list[float], cpu: float, trips: float) -> str:
    return (f"{name:<10} {percentile(times, 50) * 1e3:8.2f} {percentile(times, 99) * 1e3:8.2f} "
            f"{statistics.fmean(times) * 1e3:8.2f} {cpu * 1e3:11.2f} {trips:16.2f}")


def _report(args: argparse.Namespace, endpoint: str, runner: _Runner, times: dict[str, list[float]]) -> None:
    n = args.requests
    handler_times, raw_times, put_times = times["handler"], times["raw"], times["put"]
    handler_p50, raw_p50, put_p50 = (percentile(t, 50) for t in (handler_times, raw_times, put_times))
    handler_trips = len(runner.calls["handler"]) / n
    kinds = sorted(set(runner.calls["handler"]))
    print(f"POST /v1/contacts: {n} requests each, after {args.warmup} warm-up; DynamoDB Local {endpoint}")
    print("handler = app(event, context) with an API Gateway proxy event; raw = boto3 transact_write_items, "
          "same items; put = one conditional PutItem of the contact item\n")
    header = f"{'path':<10} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'CPU ms/req':>11} {'round trips/req':>16}"
    print(header)
    print("-" * len(header))
    print(_row("handler", handler_times, runner.cpu["handler"] / n, handler_trips))
    print(_row("raw boto3", raw_times, runner.cpu["raw"] / n, len(runner.calls["raw"]) / n))
    print(_row("put item", put_times, runner.cpu["put"] / n, len(runner.calls["put"]) / n))
    print(f"{'ratio/raw':<10} {handler_p50 / raw_p50:8.2f} {percentile(handler_times, 99) / percentile(raw_times, 99):8.2f} "
          f"{statistics.fmean(handler_times) / statistics.fmean(raw_times):8.2f}")
    print(f"{'ratio/put':<10} {handler_p50 / put_p50:8.2f} {percentile(handler_times, 99) / percentile(put_times, 99):8.2f} "
          f"{statistics.fmean(handler_times) / statistics.fmean(put_times):8.2f}")
    print("(CPU ms/req: this process only; DynamoDB Local runs in its own JVM. Stable under machine load,"
          " unlike wall-clock percentiles.)")
    items = len(runner.captured["template"]["TransactItems"])
    print(f"\nhandler DynamoDB operations: {', '.join(kinds)}; items per transaction: {items}")
    print(f"write units per create: handler's transaction {runner.units['raw'] / n:.1f}, "
          f"one PutItem of the contact {runner.units['put'] / n:.1f}")
    print(f"overhead p50 over raw: {(handler_p50 - raw_p50) * 1e3:.2f} ms; targets: 1 round trip/create, "
          f"p50 ratio to one PutItem <= 1.5 -> "
          f"{'met' if handler_trips == 1 and handler_p50 / put_p50 <= 1.5 else 'NOT met'}")


def _aggregate(endpoint: str, contacts: int) -> str:
    """Apply the contacts stream (every create of the run) through app.py's `contact_counter`,
    counting the aggregator's write items and timing it."""
    from app import contact_counter
    from chalicelib.settings import SETTINGS
    from chalicelib.store.models import StatCounterModel
    from infra.local.streams import StreamPoller

    items: list[int] = []

    def count(params: Any, **_: Any) -> None:
        items.append(len(params.get("TransactItems", [])) or 1)

    client = StatCounterModel._get_connection().connection.client
    client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", count)
    client.meta.events.register("before-parameter-build.dynamodb.UpdateItem", count)
    poller = StreamPoller(endpoint=endpoint, table_name=SETTINGS.table_name("contacts"), handler=contact_counter)
    started = time.perf_counter()
    records = poller.settle()
    seconds = time.perf_counter() - started
    per_contact = sum(items) / max(1, records)
    return (f"stream aggregator: {records} records ({contacts} measured creates) applied in {seconds:.1f} s "
            f"({records / seconds:.0f}/s on {len(poller.positions)} shard(s), GetRecords included); "
            f"{per_contact:.2f} write items per contact (about {2 * per_contact:.1f} WCU, transactional; "
            "one team and day: aggregation's best case)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="profile the handler runs with pyinstrument")
    args = parser.parse_args(argv)

    keys_dir = Path(tempfile.mkdtemp(prefix="beatline-bench-keys-"))
    ensure_keys(keys_dir)
    with DynamoDBLocal() as db:
        os.environ.update(_environment(db, keys_dir))
        # Imported only now: settings are read from the environment at import.
        from app import app
        from chalicelib.store.tables import ensure_tables

        ensure_tables()
        _silence_request_log()
        token = issue_token(
            private_pem=(keys_dir / STAFF_PRIVATE).read_bytes(), issuer=ISSUER, audience=AUDIENCE,
            sub="pc-bench", roles=["officer"], team="bench-team", ttl_seconds=3600,
        )
        runner = _Runner(app, token, db.endpoint)
        runner.handler()  # first request: captures the transaction template, pays imports (h3)
        for _ in range(args.warmup):
            runner.handler()
            runner.raw()
            runner.put()
        runner.reset()
        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
        times = runner.measure(args.requests, profiler)
        aggregated = _aggregate(db.endpoint, args.requests)
    _report(args, db.endpoint, runner, times)
    print(aggregated)
    if profiler:
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
