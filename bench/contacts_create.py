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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="profile the handler runs with pyinstrument")
    args = parser.parse_args(argv)

    keys_dir = Path(tempfile.mkdtemp(prefix="beatline-bench-keys-"))
    ensure_keys(keys_dir)
    with DynamoDBLocal() as db:
        os.environ.update({
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
        })
        # Imported only now: settings and PynamoDB models read the environment at import.
        import boto3
        from botocore.config import Config

        from app import app
        from chalicelib.store.models import ContactModel
        from chalicelib.store.tables import ensure_tables

        ensure_tables()
        # The request log line is part of the handler's cost; send it to a buffer, not the terminal.
        request_logger = logging.getLogger("beatline.request")
        for handler in request_logger.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(io.StringIO())

        token = issue_token(
            private_pem=(keys_dir / STAFF_PRIVATE).read_bytes(), issuer=ISSUER, audience=AUDIENCE,
            sub="pc-bench", roles=["officer"], team="bench-team", ttl_seconds=3600,
        )
        context = LambdaContext()
        pynamo_client = ContactModel._get_connection().connection.client
        # Same client settings as PynamoDB's (no parameter validation, same retries), for a fair raw side.
        raw_client = boto3.client(
            "dynamodb", endpoint_url=db.endpoint, region_name="eu-west-2",
            config=Config(parameter_validation=False, retries={"total_max_attempts": 4, "mode": "standard"}),
        )

        calls: dict[str, list[str]] = {"handler": [], "raw": []}
        captured: dict[str, Any] = {}

        def count_handler(model: Any, **_: Any) -> None:
            calls["handler"].append(model.name)

        def capture(params: Any, **_: Any) -> None:
            if "template" not in captured:
                captured["template"] = copy.deepcopy(params)

        def count_raw(model: Any, **_: Any) -> None:
            calls["raw"].append(model.name)

        pynamo_client.meta.events.register("before-call.dynamodb.*", count_handler)
        raw_client.meta.events.register("before-call.dynamodb.*", count_raw)
        pynamo_client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", capture)

        cpu: dict[str, float] = {"handler": 0.0, "raw": 0.0}

        def run_handler() -> float:
            event = proxy_event(contact_body(), token)
            cpu_started = time.process_time()
            started = time.perf_counter()
            response = app(event, context)
            elapsed = time.perf_counter() - started
            cpu["handler"] += time.process_time() - cpu_started
            if response["statusCode"] != 201:
                raise RuntimeError(f"handler answered {response['statusCode']}: {response['body']}")
            return elapsed

        def run_raw() -> float:
            params = fresh_transaction(captured["template"])
            cpu_started = time.process_time()
            started = time.perf_counter()
            raw_client.transact_write_items(**params)
            elapsed = time.perf_counter() - started
            cpu["raw"] += time.process_time() - cpu_started
            return elapsed

        run_handler()  # first request: captures the transaction template, pays imports (h3)
        for _ in range(args.warmup):
            run_handler()
            run_raw()
        calls["handler"].clear()
        calls["raw"].clear()
        cpu.update(handler=0.0, raw=0.0)

        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
        handler_times: list[float] = []
        raw_times: list[float] = []
        for i in range(args.requests):
            # alternate the order so neither side always runs on a warmer socket
            if i % 2:
                raw_times.append(run_raw())
                if profiler:
                    profiler.start()
                handler_times.append(run_handler())
                if profiler:
                    profiler.stop()
            else:
                if profiler:
                    profiler.start()
                handler_times.append(run_handler())
                if profiler:
                    profiler.stop()
                raw_times.append(run_raw())

    handler_p50, raw_p50 = percentile(handler_times, 50), percentile(raw_times, 50)
    handler_p99, raw_p99 = percentile(handler_times, 99), percentile(raw_times, 99)
    handler_trips = len(calls["handler"]) / args.requests
    raw_trips = len(calls["raw"]) / args.requests
    kinds = sorted(set(calls["handler"]))
    print(f"POST /v1/contacts: {args.requests} requests each, after {args.warmup} warm-up; DynamoDB Local {db.endpoint}")
    print("handler = app(event, context) with an API Gateway proxy event; raw = boto3 transact_write_items, same items\n")
    handler_cpu, raw_cpu = cpu["handler"] / args.requests, cpu["raw"] / args.requests
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
    print(f"\nhandler DynamoDB operations: {', '.join(kinds)}; items per transaction: {len(captured['template']['TransactItems'])}")
    print(f"overhead p50: {(handler_p50 - raw_p50) * 1e3:.2f} ms; targets: 1 round trip/create, p50 ratio <= 1.3 -> "
          f"{'met' if handler_trips == 1 and handler_p50 / raw_p50 <= 1.3 else 'NOT met'}")
    if profiler:
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
