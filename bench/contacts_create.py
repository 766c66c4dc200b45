"""POST /v1/contacts through the full Chalice handler vs the same transaction issued raw with boto3.

    python -m bench.contacts_create [--requests 300] [--warmup 50] [--profile]

Starts its own DynamoDB Local (in memory, free port) and, on it, alternates:
  handler: `app(event, context)` with an API Gateway (REST, proxy) event, exactly what Lambda calls:
           token verification, validation, H3 cell, pseudonyms, PynamoDB transaction, response, log line;
  raw:     `client.transact_write_items(...)` with boto3, the same TransactItems the handler sent
           (captured from the handler's own call; fresh ids per request);
  put:     one conditional `PutItem` of the same contact item (`attribute_not_exists(id)`): the
           physical limit of a create (issue 23's yardstick);
  pair:    design B raw: the contact's conditional PutItem and the access-log entry's conditional
           PutItem sent concurrently (the log put on a second thread, one shared client);
  seq:     the same two PutItems one after the other (with `pair`: does DynamoDB Local serve two
           writes at once, or serialize them?);
  handler B: the handler with a bench-only prototype of design B's store create (`DesignBContacts`:
           the contact's conditional put and the access-log entry's conditional put, keyed by
           (contact id, version, action), at once on two threads), everything else unchanged.
Also the JVM's CPU per request of each side (/proc/<pid>/stat of DynamoDB Local, clock ticks summed).
Prints p50/p99 of each side and its ratio to one PutItem, DynamoDB round trips per request (counted with a
botocore `before-call.dynamodb.*` hook) and write units per create (`ReturnConsumedCapacity`; DynamoDB
Local's figures, not DynamoDB's bill: docs/benchmarks.md).
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import io
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
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


SIDES = ("handler", "raw", "put", "pair", "seq", "handler_b")
LOG_IDS = uuid.UUID("5b0f3e2c-8d1a-4e0b-9a57-3c2d7e4f1a60")  # uuid5 namespace of the prototype's log keys


class DesignBContacts:
    """Bench-only prototype of design B: the store's contacts module, but `create` writes the contact
    (conditional PutItem) and its access-log entry (conditional PutItem, keyed by contact id, version
    and action) at once, the entry's on `pool`'s thread. Happy path only: it is here to be timed."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        from chalicelib.store import contacts

        self.pool, self.module = pool, contacts

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)

    def create(self, record: Any, audit: Any, words: Any = None) -> str:
        from chalicelib.store import access_log
        from chalicelib.store.models import ContactModel

        keyed = dataclasses.replace(audit, entry_id=str(uuid.uuid5(LOG_IDS, f"{record.id}#{record.version}#{audit.action}")))
        entry = access_log.to_model(keyed)
        logged = self.pool.submit(entry.save, condition=access_log.append_condition())
        try:
            self.module.to_model(record).save(condition=ContactModel.id.does_not_exist())
        finally:
            logged.result()
        return "created"


def jvm_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Runner:
    """One create through the handler, or the same transaction through raw boto3; counts calls and CPU."""

    def __init__(self, app: Any, token: str, endpoint: str, jvm_pid: int) -> None:
        import boto3
        from botocore.config import Config

        from chalicelib import services as services_module
        from chalicelib.store.models import AccessLogModel, ContactModel

        self.app, self.token, self.context, self.jvm_pid = app, token, LambdaContext(), jvm_pid
        self.handler_side = "handler"
        pynamo_client = ContactModel._get_connection().connection.client
        # Same client settings as PynamoDB's (no parameter validation, same retries), for a fair raw side.
        self.raw_client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="eu-west-2",
            config=Config(parameter_validation=False, retries={"total_max_attempts": 4, "mode": "standard"}),
        )
        self.calls: dict[str, list[str]] = {side: [] for side in SIDES}
        self.captured: dict[str, Any] = {}
        self.cpu: dict[str, float] = dict.fromkeys(SIDES, 0.0)
        self.units: dict[str, float] = dict.fromkeys(SIDES, 0.0)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-log")
        self.jvm: dict[str, float] = dict.fromkeys(SIDES, 0.0)
        current = services_module.services()
        self.services = {
            "handler": current,
            "handler_b": dataclasses.replace(current, store=dataclasses.replace(
                current.store, contacts=DesignBContacts(ThreadPoolExecutor(max_workers=1, thread_name_prefix="log")))),
        }
        pynamo_client.meta.events.register("before-call.dynamodb.*", self._handler_counter)
        log_client = AccessLogModel._get_connection().connection.client
        if log_client is not pynamo_client:
            log_client.meta.events.register("before-call.dynamodb.*", self._handler_counter)
        self.raw_client.meta.events.register("before-call.dynamodb.*", self._counter("raw"))
        self.put_client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="eu-west-2",
            config=Config(parameter_validation=False, retries={"total_max_attempts": 4, "mode": "standard"}),
        )
        self.put_client.meta.events.register("before-call.dynamodb.*", self._counter("put"))
        self.pair_client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="eu-west-2",
            config=Config(parameter_validation=False, retries={"total_max_attempts": 4, "mode": "standard"}),
        )
        self.pair_client.meta.events.register("before-call.dynamodb.*", self._pair_counter)
        pynamo_client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", self._capture)

    def _counter(self, side: str) -> Any:
        def count(model: Any, **_: Any) -> None:
            self.calls[side].append(model.name)

        return count

    def _handler_counter(self, model: Any, **_: Any) -> None:
        self.calls[self.handler_side].append(model.name)

    def _pair_counter(self, model: Any, **_: Any) -> None:
        self.calls[self.current].append(model.name)

    current = "pair"

    def _capture(self, params: Any, **_: Any) -> None:
        if "template" not in self.captured:
            self.captured["template"] = copy.deepcopy(params)

    def reset(self) -> None:
        for calls in self.calls.values():
            calls.clear()
        self.cpu.update(dict.fromkeys(SIDES, 0.0))
        self.jvm.update(dict.fromkeys(SIDES, 0.0))
        self.units.update(dict.fromkeys(SIDES, 0.0))

    def handler(self, profiler: Any = None, side: str = "handler") -> float:
        from chalicelib import services as services_module

        services_module.use_services(self.services[side])
        self.handler_side = side
        event = proxy_event(contact_body(), self.token)
        if profiler:
            profiler.start()
        cpu_started = time.process_time()
        started = time.perf_counter()
        response = self.app(event, self.context)
        elapsed = time.perf_counter() - started
        self.cpu[side] += time.process_time() - cpu_started
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

    def _two_puts(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The contact's and the access-log entry's PutItem parameters, conditional on new keys."""
        params = fresh_transaction(self.captured["template"])
        puts = [i["Put"] for i in params["TransactItems"] if "Put" in i]
        contact = next(p for p in puts if "content_digest" in p["Item"])
        entry = next(p for p in puts if "at_id" in p["Item"])
        return (
            {"TableName": contact["TableName"], "Item": contact["Item"],
             "ConditionExpression": "attribute_not_exists(id)", "ReturnConsumedCapacity": "TOTAL"},
            {"TableName": entry["TableName"], "Item": entry["Item"],
             "ConditionExpression": "attribute_not_exists(at_id)", "ReturnConsumedCapacity": "TOTAL"},
        )

    def _units(self, side: str, *answers: Any) -> None:
        for answer in answers:
            capacity = answer.get("ConsumedCapacity", {})
            self.units[side] += capacity.get("WriteCapacityUnits", capacity.get("CapacityUnits", 0.0))

    def pair(self) -> float:
        """Design B raw: the two PutItems at once (the log entry's on the pool's thread)."""
        contact, entry = self._two_puts()
        self.current = "pair"
        cpu_started = time.process_time()
        started = time.perf_counter()
        logged = self.pool.submit(lambda: self.pair_client.put_item(**entry))
        answers = (self.pair_client.put_item(**contact), logged.result())
        elapsed = time.perf_counter() - started
        self.cpu["pair"] += time.process_time() - cpu_started
        self._units("pair", *answers)
        return elapsed

    def seq(self) -> float:
        """The same two PutItems, one after the other."""
        contact, entry = self._two_puts()
        self.current = "seq"
        cpu_started = time.process_time()
        started = time.perf_counter()
        answers = (self.pair_client.put_item(**contact), self.pair_client.put_item(**entry))
        elapsed = time.perf_counter() - started
        self.cpu["seq"] += time.process_time() - cpu_started
        self._units("seq", *answers)
        return elapsed

    def measure(self, requests: int, profiler: Any) -> dict[str, list[float]]:
        times: dict[str, list[float]] = {side: [] for side in SIDES}
        sides = {"handler": lambda: self.handler(profiler), "raw": self.raw, "put": self.put,
                 "pair": self.pair, "seq": self.seq, "handler_b": lambda: self.handler(side="handler_b")}
        order = list(sides)
        for i in range(requests):
            # rotate the order so no side always runs on a warmer socket
            shift = i % len(order)
            for side in order[shift:] + order[:shift]:
                jvm_started = jvm_cpu(self.jvm_pid)
                times[side].append(sides[side]())
                self.jvm[side] += jvm_cpu(self.jvm_pid) - jvm_started
        return times


def _row(name: str, times: list[float], cpu: float, trips: float) -> str:
    return (f"{name:<10} {percentile(times, 50) * 1e3:8.2f} {percentile(times, 99) * 1e3:8.2f} "
            f"{statistics.fmean(times) * 1e3:8.2f} {cpu * 1e3:11.2f} {trips:16.2f}")


LABELS = {"handler": "handler", "raw": "raw tx", "put": "put item", "pair": "B pair", "seq": "B seq",
          "handler_b": "handler B"}


def _report(args: argparse.Namespace, endpoint: str, runner: _Runner, times: dict[str, list[float]]) -> None:
    n = args.requests
    put_times = times["put"]
    handler_p50, raw_p50, put_p50 = (percentile(times[s], 50) for s in ("handler", "raw", "put"))
    kinds = sorted(set(runner.calls["handler"]))
    print(f"POST /v1/contacts: {n} requests each, after {args.warmup} warm-up; DynamoDB Local {endpoint}")
    print("handler = app(event, context) with an API Gateway proxy event; raw tx = boto3 transact_write_items, "
          "same items; put item = one conditional PutItem of the contact item; B pair = the contact's and "
          "the access-log entry's conditional PutItems at once (two threads); B seq = the same two one after "
          "the other\n")
    header = (f"{'path':<10} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'CPU ms/req':>11} {'round trips/req':>16}"
              f" {'p50/put':>8} {'p99/put':>8} {'JVM CPU ms/req':>15}")
    print(header)
    print("-" * len(header))
    for side in times:
        side_times = times[side]
        print(_row(LABELS.get(side, side), side_times, runner.cpu[side] / n, len(runner.calls[side]) / n)
              + f" {percentile(side_times, 50) / put_p50:8.2f} {percentile(side_times, 99) / percentile(put_times, 99):8.2f}"
              + f" {runner.jvm[side] / n * 1e3:15.2f}")
    print(f"{'handler/raw':<10} {handler_p50 / raw_p50:8.2f}; handler B / B pair "
          f"{percentile(times['handler_b'], 50) / percentile(times['pair'], 50):.2f}")
    print("(CPU ms/req: this process only; DynamoDB Local runs in its own JVM. Stable under machine load,"
          " unlike wall-clock percentiles.)")
    items = len(runner.captured["template"]["TransactItems"])
    print(f"\nhandler DynamoDB operations: {', '.join(kinds)}; items per transaction: {items}")
    print("write units per create (as DynamoDB Local reports them): "
          + ", ".join(f"{LABELS[s]} {runner.units[s] / n:.1f}" for s in ("raw", "put", "pair", "seq")))
    handler_b_p50 = percentile(times["handler_b"], 50)
    print(f"overhead p50 over raw: {(handler_p50 - raw_p50) * 1e3:.2f} ms; target: p50 ratio to one PutItem "
          f"<= 1.5 -> handler {'met' if handler_p50 / put_p50 <= 1.5 else 'NOT met'}, "
          f"handler B {'met' if handler_b_p50 / put_p50 <= 1.5 else 'NOT met'}")


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
        runner = _Runner(app, token, db.endpoint, db._process.pid)
        runner.handler()  # first request: captures the transaction template, pays imports (h3)
        for _ in range(args.warmup):
            runner.handler()
            runner.raw()
            runner.put()
            runner.pair()
            runner.seq()
            runner.handler(side="handler_b")
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
