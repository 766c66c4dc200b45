"""POST /v1/contacts through the full Chalice handler vs the same transaction issued raw with boto3.

    python -m bench.contacts_create [--requests 300] [--warmup 50] [--profile]

Starts its own DynamoDB Local (in memory, free port) and, on it, alternates:
  handler: `app(event, context)` with an API Gateway (REST, proxy) event, exactly what Lambda calls:
           token verification, validation, H3 cell, pseudonyms, PynamoDB transaction, response, log line;
  raw:     `client.transact_write_items(...)` with boto3, the same TransactItems the handler sent
           (captured from the handler's own call; fresh ids per request).
Prints p50/p99 of each, their ratio, and DynamoDB round trips per request, counted with a botocore
`before-call.dynamodb.*` hook. Not a test: numbers depend on the machine.
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
        self.calls: dict[str, list[str]] = {"handler": [], "raw": []}
        self.captured: dict[str, Any] = {}
        self.cpu: dict[str, float] = {"handler": 0.0, "raw": 0.0}
        pynamo_client.meta.events.register("before-call.dynamodb.*", self._counter("handler"))
        self.raw_client.meta.events.register("before-call.dynamodb.*", self._counter("raw"))
        pynamo_client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", self._capture)

    def _counter(self, side: str) -> Any:
        def count(model: Any, **_: Any) -> None:
            self.calls[side].append(model.name)

        return count

    def _capture(self, params: Any, **_: Any) -> None:
        if "template" not in self.captured:
            self.captured["template"] = copy.deepcopy(params)

    def reset(self) -> None:
        self.calls["handler"].clear()
        self.calls["raw"].clear()
        self.cpu.update(handler=0.0, raw=0.0)

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
        cpu_started = time.process_time()
        started = time.perf_counter()
        self.raw_client.transact_write_items(**params)
        elapsed = time.perf_counter() - started
        self.cpu["raw"] += time.process_time() - cpu_started
        return elapsed

    def measure(self, requests: int, profiler: Any) -> tuple[list[float], list[float]]:
        handler_times: list[float] = []
        raw_times: list[float] = []
        for i in range(requests):
            # alternate the order so neither side always runs on a warmer socket
            if i % 2:
                raw_times.append(self.raw())
                handler_times.append(self.handler(profiler))
            else:
                handler_times.append(self.handler(profiler))
                raw_times.append(self.raw())
        return handler_times, raw_times


def _report(args: argparse.Namespace, endpoint: str, runner: _Runner, handler_times: list[float],
            raw_times: list[float]) -> None:
    handler_p50, raw_p50 = percentile(handler_times, 50), percentile(raw_times, 50)
    handler_p99, raw_p99 = percentile(handler_times, 99), percentile(raw_times, 99)
    handler_trips = len(runner.calls["handler"]) / args.requests
    raw_trips = len(runner.calls["raw"]) / args.requests
    kinds = sorted(set(runner.calls["handler"]))
    print(f"POST /v1/contacts: {args.requests} requests each, after {args.warmup} warm-up; DynamoDB Local {endpoint}")
    print("handler = app(event, context) with an API Gateway proxy event; raw = boto3 transact_write_items, same items\n")
    handler_cpu, raw_cpu = runner.cpu["handler"] / args.requests, runner.cpu["raw"] / args.requests
    header = f"{'path':<10} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'CPU ms/req':>11} {'round trips/req':>16}"
    print(header)
    print("-" * len(header))
    print(f"{'handler':<10} {handler_p50 * 1e3:8.2f} {handler_p99 * 1e3:8.2f} {statistics.fmean(handler_times) * 1e3:8.2f} "
          f"{handler_cpu * 1e3:11.2f} {handler_trips:16.2f}")
    print(f"{'raw boto3':<10} {raw_p50 * 1e3:8.2f} {raw_p99 * 1e3:8.2f} {statistics.fmean(raw_times) * 1e3:8.2f} "
          f"{raw_cpu * 1e3:11.2f} {raw_trips:16.2f}")
    print(f"{'ratio':<10} {handler_p50 / raw_p50:8.2f} {handler_p99 / raw_p99:8.2f} "
          f"{statistics.fmean(handler_times) / statistics.fmean(raw_times):8.2f} {handler_cpu / raw_cpu:11.2f}")
    print("(CPU ms/req: this process only; DynamoDB Local runs in its own JVM. Stable under machine load,"
          " unlike wall-clock percentiles.)")
    items = len(runner.captured["template"]["TransactItems"])
    print(f"\nhandler DynamoDB operations: {', '.join(kinds)}; items per transaction: {items}")
    print(f"overhead p50: {(handler_p50 - raw_p50) * 1e3:.2f} ms; targets: 1 round trip/create, p50 ratio <= 1.3 -> "
          f"{'met' if handler_trips == 1 and handler_p50 / raw_p50 <= 1.3 else 'NOT met'}")


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
        runner.reset()
        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
        handler_times, raw_times = runner.measure(args.requests, profiler)
    _report(args, db.endpoint, runner, handler_times, raw_times)
    if profiler:
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
