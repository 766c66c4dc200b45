"""A conversation message through the full Chalice handler vs one conditional PutItem of the
message item (issue 23: conversation figures off the write path).

    python -m bench.conversation_message [--requests 150] [--warmup 20]

Starts its own DynamoDB Local (in memory, free port). Per round, on a conversation a resident
opened (not timed), interleaved:
  answer: an officer's first answer, `app(event, context)` with an API Gateway proxy event: it ends
          a wait, so it moves the most figures (answered, first-response bucket, answered_wait,
          within_standard, the open-wait gauge);
  reply:  the resident writes again: a new wait (the gauge);
  put:    one conditional PutItem (`attribute_not_exists`) of the answer's message item: the
          physical limit of a message.
Prints p50/p99 of each, each message's ratio to the PutItem, DynamoDB round trips and the items of
each message's TransactWriteItems (a botocore hook). Pushes go to a queue that keeps them (the push
worker is another Lambda). Uses only the HTTP contract, so the same script measures any revision:
run it in an export of the revision before to compare (docs/benchmarks.md). Not a test: numbers
depend on the machine.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.contacts_create import AUDIENCE, ISSUER, LambdaContext, _environment, _silence_request_log, percentile
from infra.local.dynamodb_local import DynamoDBLocal
from infra.local.idp import RESIDENT_PRIVATE, STAFF_PRIVATE, ensure_keys, issue_token

UNLIMITED = {f"BEATLINE_{name}": "1000000" for name in (
    "RESIDENT_WRITE_RATE_PER_MINUTE", "RESIDENT_WRITE_RATE_PER_HOUR", "RESIDENT_REPLY_RATE_PER_MINUTE",
    "RESIDENT_REPLY_RATE_PER_HOUR", "CONVERSATION_RATE_PER_ADDRESS_PER_MINUTE",
    "CONVERSATION_RATE_PER_ADDRESS_PER_HOUR", "CONVERSATION_RATE_PER_ADDRESS_PER_DAY")}
SQUARE = {"type": "Polygon", "coordinates": [[[-0.15, 51.49], [-0.13, 51.49], [-0.13, 51.51], [-0.15, 51.51],
                                              [-0.15, 51.49]]]}


class KeptQueue:
    """The push queue: keeps what the requests enqueue (the worker is another function)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    def enqueue(self, messages: Any) -> None:
        self.messages.extend(messages)


def event(method: str, resource: str, path: str, body: Any, token: str | None,
          parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway (REST, proxy) event, what Lambda hands the handler."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    return {
        "resource": resource, "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()}, "queryStringParameters": None,
        "multiValueQueryStringParameters": None, "pathParameters": parameters, "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "stage": "bench",
                           "requestId": str(uuid.uuid4()), "identity": {"sourceIp": "127.0.0.1"}},
        "body": json.dumps(body), "isBase64Encoded": False,
    }


class Runner:
    """The handler's requests, timed; each TransactWriteItems' items by the kind of request."""

    def __init__(self, app: Any, endpoint: str, staff: dict[str, str]) -> None:
        import boto3
        from botocore.config import Config

        from chalicelib.store.models import ALL_MODELS, ContactModel

        self.app, self.staff, self.context = app, staff, LambdaContext()
        self.kind = "setup"
        self.items: dict[str, list[int]] = {}
        self.trips: dict[str, int] = {}
        self.message_item: dict[str, Any] = {}
        client = ContactModel._get_connection().connection.client
        client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", self._capture)
        # Every model has its own botocore client: count the round trips on each, once.
        for each in {id(c): c for c in (m._get_connection().connection.client for m in ALL_MODELS)}.values():
            each.meta.events.register("before-call.dynamodb.*", self._trip)
        self.put_client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-west-2",
                                       config=Config(parameter_validation=False,
                                                     retries={"total_max_attempts": 4, "mode": "standard"}))

    def _capture(self, params: Any, **_: Any) -> None:
        items = params.get("TransactItems", [])
        self.items.setdefault(self.kind, []).append(len(items))
        if self.kind == "answer":
            for item in items:
                put = item.get("Put", {})
                if "seq" in put.get("Item", {}):
                    self.message_item = copy.deepcopy(put)

    def _trip(self, **_: Any) -> None:
        self.trips[self.kind] = self.trips.get(self.kind, 0) + 1

    def call(self, kind: str, request: dict[str, Any]) -> tuple[float, Any]:
        self.kind = kind
        started = time.perf_counter()
        response = self.app(request, self.context)
        elapsed = time.perf_counter() - started
        self.kind = "setup"
        if response["statusCode"] >= 300:
            raise RuntimeError(f"{kind}: {response['statusCode']} {response['body']}")
        return elapsed, json.loads(response["body"])

    def put(self) -> float:
        """One conditional PutItem of the answer's message item (a fresh id)."""
        put = copy.deepcopy(self.message_item)
        put["Item"]["id"] = {"S": str(uuid.uuid4())}
        started = time.perf_counter()
        self.put_client.put_item(TableName=put["TableName"], Item=put["Item"],
                                 ConditionExpression="attribute_not_exists(id)")
        return time.perf_counter() - started


def _setup(runner: Runner) -> tuple[str, str]:
    """An area of the bench team and a resident: (area id, resident token)."""
    area_id = str(uuid.uuid4())
    runner.call("setup", event("PUT", "/v1/areas/{id}", f"/v1/areas/{area_id}",
                               {"name": "Elm ward", "team": "bench-team", "geometry": SQUARE}, runner.staff["admin"],
                               {"id": area_id}))
    _, resident = runner.call("setup", event("POST", "/v1/subscribers", "/v1/subscribers",
                                             {"channel": {"type": "inbox"}}, None))
    return area_id, str(resident["token"])


def _round(runner: Runner, area_id: str, resident: str, times: dict[str, list[float]]) -> None:
    _, opened = runner.call("setup", event("POST", "/v1/conversations", "/v1/conversations", {
        "id": str(uuid.uuid4()), "topic": "noise", "text": "Loud music every night", "area_id": area_id}, resident))
    conv = opened["id"]
    path, ids = f"/v1/conversations/{conv}/messages", {"id": conv}
    for kind, token, text in (("answer", runner.staff["officer"], "We will call round."),
                              ("reply", resident, "Thank you, it is still going on.")):
        elapsed, _ = runner.call(kind, event("POST", "/v1/conversations/{id}/messages", path,
                                             {"id": str(uuid.uuid4()), "text": text}, token, ids))
        times[kind].append(elapsed)
    times["put"].append(runner.put())


def _report(args: argparse.Namespace, runner: Runner, times: dict[str, list[float]]) -> None:
    put_p50 = percentile(times["put"], 50)
    print(f"conversation messages: {args.requests} rounds after {args.warmup} warm-up")
    print(f"{'request':<8} {'p50 ms':>8} {'p99 ms':>8} {'p50 / PutItem':>14} {'items / write':>14} {'round trips':>12}")
    for kind in ("answer", "reply", "put"):
        p50 = percentile(times[kind], 50)
        items = runner.items.get(kind, [1])
        trips = runner.trips.get(kind, 0) / max(1, args.requests + args.warmup) if kind != "put" else 1.0
        print(f"{kind:<8} {p50 * 1e3:8.2f} {percentile(times[kind], 99) * 1e3:8.2f} {p50 / put_p50:14.2f} "
              f"{max(items):14d} {trips:12.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)
    keys_dir = Path(tempfile.mkdtemp(prefix="beatline-bench-keys-"))
    ensure_keys(keys_dir)
    with DynamoDBLocal() as db:
        os.environ.update({**_environment(db, keys_dir), **UNLIMITED,
                           "BEATLINE_RESIDENT_KEY_FILE": str(keys_dir / RESIDENT_PRIVATE)})
        # Imported only now: settings are read from the environment at import.
        from app import app
        from chalicelib import services as services_module
        from chalicelib.settings import SETTINGS
        from chalicelib.store.tables import ensure_tables

        ensure_tables()
        services_module.use_services(services_module.build_services(SETTINGS, fanout_queue=KeptQueue()))
        _silence_request_log()
        private = (keys_dir / STAFF_PRIVATE).read_bytes()
        staff = {role: issue_token(private_pem=private, issuer=ISSUER, audience=AUDIENCE, sub=f"bench-{role}",
                                   roles=[role], team="bench-team", ttl_seconds=7200) for role in ("officer", "admin")}
        runner = Runner(app, db.endpoint, staff)
        area_id, resident = _setup(runner)
        times: dict[str, list[float]] = {"answer": [], "reply": [], "put": []}
        for _ in range(args.warmup):
            _round(runner, area_id, resident, times)
        times = {kind: [] for kind in times}
        for _ in range(args.requests):
            _round(runner, area_id, resident, times)
    _report(args, runner, times)
    return 0


if __name__ == "__main__":
    sys.exit(main())
