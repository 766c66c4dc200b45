"""Conversations: a team answer through the full handler vs the raw transaction it issues, and a
queue page's read capacity with 10k and 200k conversations in the table.

    python -m bench.conversations [--requests 200] [--warmup 30] [--small 10000] [--large 200000]

Starts its own DynamoDB Local (in memory). Part 1 alternates `app(event, context)` for
POST /v1/conversations/{id}/messages (officer; the push is enqueued on a recording queue) with
`transact_write_items` of the same TransactItems (captured, fresh ids). Part 2 fills the table with
conversations of many teams (BatchWriteItem), then Queries one team's waiting queue page (limit 25)
with ReturnConsumedCapacity, at both sizes. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import logging
import os
import re
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.contacts_create import AUDIENCE, ISSUER, LambdaContext, percentile
from infra.local.dynamodb_local import DynamoDBLocal
from infra.local.idp import PSEUDONYM_KEY, STAFF_JWKS, STAFF_PRIVATE, ensure_keys, issue_token


class NullQueue:
    def enqueue(self, messages: list[Any]) -> None:
        pass


def event(path: str, body: str, token: str) -> dict[str, Any]:
    return {
        "resource": "/v1/conversations/{id}/messages", "path": path, "httpMethod": "POST",
        "headers": {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        "multiValueHeaders": {"Authorization": [f"Bearer {token}"], "Content-Type": ["application/json"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"id": path.split("/")[3]}, "stageVariables": None,
        "requestContext": {"resourcePath": "/v1/conversations/{id}/messages", "httpMethod": "POST",
                           "stage": "bench", "requestId": str(uuid.uuid4()), "identity": {"sourceIp": "127.0.0.1"}},
        "body": body, "isBase64Encoded": False,
    }


def _prune_aliases(action: dict[str, Any], key: str, used: str) -> None:
    aliases = action.get(key) or {}
    tokens = set(re.findall(r"[#:][A-Za-z0-9_]+", used))  # whole tokens: "#1" is not in "#12"
    for alias in list(aliases):
        if alias not in tokens:
            aliases.pop(alias)
    if not aliases:
        action.pop(key, None)


def _unconditional(action: dict[str, Any]) -> None:
    """One action keyed apart (fresh ids), with its condition and unused aliases dropped."""
    key = action.get("Item") or action.get("Key") or {}
    for name in ("id", "at_id", "sort_key"):
        if name in key and "S" in key[name]:
            key[name] = {"S": key[name]["S"] + "#" + uuid.uuid4().hex[:8]}
    action.pop("ConditionExpression", None)
    action.pop("ReturnValuesOnConditionCheckFailure", None)
    used = action.get("UpdateExpression") or ""
    _prune_aliases(action, "ExpressionAttributeNames", used)
    _prune_aliases(action, "ExpressionAttributeValues", used)


def raw_copy(template: dict[str, Any]) -> dict[str, Any]:
    """The raw side writes the same items into a copy of the conversation keyed apart, with the
    version condition dropped (it would need a read, which is what we compare against)."""
    params = copy.deepcopy(template)
    params.pop("ClientRequestToken", None)  # botocore fills one in per call (idempotency token)
    for item in params["TransactItems"]:
        for kind in ("Put", "Update"):
            if item.get(kind):
                _unconditional(item[kind])
    return params


def post_messages(app: Any, token: str, conv_id: str, requests: int, warmup: int, raw_client: Any,
                  calls: dict[str, list[str]], captured: dict[str, Any]) -> dict[str, Any]:
    context = LambdaContext()
    path = f"/v1/conversations/{conv_id}/messages"

    def run_handler() -> float:
        body = json.dumps({"id": str(uuid.uuid4()), "text": "We will visit tonight."})
        started = time.perf_counter()
        response = app(event(path, body, token), context)
        elapsed = time.perf_counter() - started
        if response["statusCode"] != 201:
            raise RuntimeError(f"handler answered {response['statusCode']}: {response['body']}")
        return elapsed

    def run_raw() -> float:
        params = raw_copy(captured["template"])
        started = time.perf_counter()
        raw_client.transact_write_items(**params)
        return time.perf_counter() - started

    run_handler()
    for _ in range(warmup):
        run_handler()
        run_raw()
    calls["handler"].clear()
    handler_times, raw_times = [], []
    for _ in range(requests):
        handler_times.append(run_handler())
        raw_times.append(run_raw())
    items = len(captured["template"]["TransactItems"])  # a later answer's (the first one writes more)
    return {"handler": handler_times, "raw": raw_times, "round_trips": len(calls["handler"]) / requests,
            "operations": sorted(set(calls["handler"])), "items": items}


def other_containers(app: Any, token: str, conv_id: str, calls: dict[str, list[str]],
                     requests: int = 20) -> dict[str, tuple[float, list[str]]]:
    """The answers that cannot use a current hint: a container that never saw the conversation
    (its hints emptied before each answer), without and with the client echoing the state token
    of its last answer, and one whose hint is a version behind (another container answered in
    between: simulated by rolling the hint back one answer)."""
    from chalicelib.services import services
    from chalicelib.store.conversations import StateHints

    context, path = LambdaContext(), f"/v1/conversations/{conv_id}/messages"
    repository = services().conversations
    echoed: dict[str, Any] = {"on": False, "token": None}

    def answer() -> None:
        body = {"id": str(uuid.uuid4()), "text": "We will visit tonight."}
        if echoed["on"] and echoed["token"]:
            body["state_token"] = echoed["token"]
        response = app(event(path, json.dumps(body), token), context)
        if response["statusCode"] != 201:
            raise RuntimeError(f"answer refused: {response['body']}")
        echoed["token"] = json.loads(response["body"])["state_token"]

    def measure(before_each: Any) -> tuple[float, list[str]]:
        calls["handler"].clear()
        for _ in range(requests):
            before_each()
            answer()
        return len(calls["handler"]) / requests, sorted(set(calls["handler"]))

    def forget() -> None:
        repository.hints = StateHints()

    cold = measure(forget)
    echoed["on"] = True  # the token of the last answer is current
    with_token = measure(forget)
    echoed["on"] = False
    answer()  # a hint again
    previous = {"state": repository.last_seen(conv_id)}
    answer()

    def roll_back() -> None:
        current = repository.last_seen(conv_id)
        repository.hints.remember(previous["state"])
        previous["state"] = current

    return {"new container (no hint)": cold, "new container, the client echoes its last state_token": with_token,
            "hint a version behind": measure(roll_back)}


def fill(model: Any, teams: int, total: int, start: int, now_text: str) -> None:
    """`total` conversations over `teams` teams, waiting since distinct times (BatchWriteItem)."""
    from chalicelib.store.models import ConversationModel

    def chunk(offset: int) -> None:
        with ConversationModel.batch_write() as batch:
            for n in range(offset, min(offset + 1000, start + total)):
                team = f"team-{n % teams:03d}"
                since = f"2026-01-01T00:{(n // 60) % 60:02d}:{n % 60:02d}Z"
                cid = f"{n:08d}-0000-4000-8000-000000000000"
                batch.save(ConversationModel(
                    id=cid, team=team, owner=f"sub-{n}", topic="noise", status="waiting", created_at=since,
                    last_message_at=since, waiting_since=since, version=1, content_digest="x",
                    queue_key=f"waiting#{since}#{cid}", activity_key=f"{since}#{cid}", expires_at=timedelta(days=1)))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(chunk, range(start, start + total, 1000)))


def queue_page_capacity(raw_client: Any, table: str) -> float:
    response = raw_client.query(
        TableName=table, IndexName="by_team", KeyConditionExpression="team = :t AND begins_with(queue_key, :s)",
        ExpressionAttributeValues={":t": {"S": "team-007"}, ":s": {"S": "waiting#"}}, Limit=25,
        ReturnConsumedCapacity="INDEXES")
    assert len(response["Items"]) == 25
    return float(response["ConsumedCapacity"]["CapacityUnits"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=200_000)
    args = parser.parse_args(argv)
    keys_dir = Path(tempfile.mkdtemp(prefix="beatline-bench-keys-"))
    ensure_keys(keys_dir)
    with DynamoDBLocal() as db:
        os.environ.update({
            "BEATLINE_STAGE": "bench", "BEATLINE_TABLE_PREFIX": "bench-", "AWS_ENDPOINT_URL_DYNAMODB": db.endpoint,
            "AWS_DEFAULT_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
            "BEATLINE_STAFF_ISSUER": ISSUER, "BEATLINE_STAFF_AUDIENCE": AUDIENCE,
            "BEATLINE_STAFF_JWKS_FILE": str(keys_dir / STAFF_JWKS), "BEATLINE_PSEUDONYM_KEY_FILE": str(keys_dir / PSEUDONYM_KEY),
        })
        import boto3
        from botocore.config import Config

        from app import app
        from chalicelib import services as services_module
        from chalicelib.clock import to_rfc3339
        from chalicelib.settings import SETTINGS
        from chalicelib.store.models import ContactModel, ConversationModel
        from chalicelib.store.tables import ensure_tables

        ensure_tables()
        services_module.use_services(services_module.build_services(SETTINGS, fanout_queue=NullQueue()))
        for handler in logging.getLogger("beatline.request").handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(io.StringIO())
        # One conversation waiting in team bench-team (written directly: no resident needed here).
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        conv_id = str(uuid.uuid4())
        ConversationModel(id=conv_id, team="bench-team", owner="sub-bench", topic="noise", status="waiting",
                          created_at=to_rfc3339(now), last_message_at=to_rfc3339(now), waiting_since=to_rfc3339(now),
                          version=1, content_digest="x", queue_key=f"waiting#{to_rfc3339(now)}#{conv_id}",
                          activity_key=f"{to_rfc3339(now)}#{conv_id}", expires_at=now + timedelta(days=1)).save()
        token = issue_token(private_pem=(keys_dir / STAFF_PRIVATE).read_bytes(), issuer=ISSUER, audience=AUDIENCE,
                            sub="pc-bench", roles=["officer"], team="bench-team", ttl_seconds=3600)
        pynamo = ContactModel._get_connection().connection.client
        raw_client = boto3.client("dynamodb", endpoint_url=db.endpoint, region_name="eu-west-2",
                                  config=Config(parameter_validation=False, retries={"total_max_attempts": 4, "mode": "standard"}))
        calls: dict[str, list[str]] = {"handler": []}
        captured: dict[str, Any] = {}
        def count(model: Any, **_: Any) -> None:
            calls["handler"].append(model.name)

        from chalicelib.store.models import ALL_MODELS

        clients = {id(m._get_connection().connection.client): m._get_connection().connection.client
                   for m in ALL_MODELS}
        for client in clients.values():  # every model's own botocore client
            client.meta.events.register("before-call.dynamodb.*", count)

        def capture(params: Any, **_: Any) -> None:
            # The handler's latest transaction (a reference: copied by raw_copy, outside its timing),
            # so the raw side replays what the handler just sent (a first answer writes more items).
            captured["template"] = params

        pynamo.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", capture)
        result = post_messages(app, token, conv_id, args.requests, args.warmup, raw_client, calls, captured)
        h50, r50 = statistics.median(result["handler"]) * 1000, statistics.median(result["raw"]) * 1000
        print("| measure | value |\n| --- | --- |")
        print(f"| team answer through the handler, p50 / p99 | {h50:.1f} / {percentile(result['handler'], 99) * 1000:.1f} ms |")
        print(f"| its raw TransactWriteItems ({result['items']} items), p50 / p99 | {r50:.1f} / {percentile(result['raw'], 99) * 1000:.1f} ms |")
        print(f"| ratio of p50s | {h50 / r50:.2f} |")
        print(f"| DynamoDB calls per answer, warm container (it has seen the conversation) | {result['round_trips']:.1f} ({', '.join(result['operations'])}) |")
        for case, (trips, ops) in other_containers(app, token, conv_id, calls).items():
            print(f"| DynamoDB calls per answer, {case} | {trips:.1f} ({', '.join(ops)}) |")
        table = ConversationModel.Meta.table_name
        started = time.perf_counter()
        fill(ConversationModel, 100, args.small, 0, to_rfc3339(now))
        small = queue_page_capacity(raw_client, table)
        print(f"| queue page (25) read capacity, {args.small:,} conversations | {small} RCU |")
        fill(ConversationModel, 100, args.large - args.small, args.small, to_rfc3339(now))
        large = queue_page_capacity(raw_client, table)
        print(f"| queue page (25) read capacity, {args.large:,} conversations | {large} RCU |")
        print(f"(filling took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
