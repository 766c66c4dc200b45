"""What the code calls, as IAM sees it: botocore `before-call` hooks -> (action, resource) grants.

Resources use infra.permissions' names (`table/<short>`, `table/<short>/index/<name>`,
`queue/fanout`, `bucket/audit-archive`, ...), so a recording compares directly with a declaration.
DynamoDB calls come from every model's client (PynamoDB's botocore clients); SQS, SNS and S3 calls
from `recording_client`s that answer in place of AWS (nothing leaves the process).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

# TransactWriteItems/TransactGetItems are authorised per item, by these actions.
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
# Batch APIs authorised by the single action (SQS has no separate *Batch actions).
BATCH_ACTIONS = {"sqs:SendMessageBatch": "sqs:SendMessage", "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
                 "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
                 "s3:ListObjectsV2": "s3:ListBucket"}  # (not a batch: the action IAM authorises it by)


class CallLog:
    def __init__(self, table_prefix: str) -> None:
        self._prefix = table_prefix
        self._lock = threading.Lock()
        self.grants: set[tuple[str, str]] = set()

    def _table(self, name: str, index: str | None = None) -> str:
        """`table/<short>`, or `table/<short>/index/<name>` for a Query on one index."""
        short = name.removeprefix(self._prefix)
        return f"table/{short}" + (f"/index/{index}" if index else "")

    def add(self, action: str, resource: str) -> None:
        with self._lock:
            self.grants.add((BATCH_ACTIONS.get(action, action), resource))

    def dynamodb(self, operation: str, params: dict[str, Any]) -> None:
        if operation in ("TransactWriteItems", "TransactGetItems"):
            for item in params["TransactItems"]:
                for kind, body in item.items():
                    self.add(f"dynamodb:{TRANSACT_ACTIONS[kind]}", self._table(body["TableName"]))
        elif operation in ("BatchWriteItem", "BatchGetItem"):
            for table in params["RequestItems"]:
                self.add(f"dynamodb:{operation}", self._table(table))
        else:
            self.add(f"dynamodb:{operation}", self._table(params["TableName"], params.get("IndexName")))


def _model_clients() -> list[Any]:
    from chalicelib.store.models import ALL_MODELS

    seen: dict[int, Any] = {}
    for model in ALL_MODELS:
        client = model._get_connection().connection.client
        seen[id(client)] = client
    return list(seen.values())


_RECORDING: list[CallLog] = []  # nested blocks: only the innermost records (another function's turn)


@contextmanager
def recording_dynamodb(log: CallLog) -> Iterator[CallLog]:
    """Record every DynamoDB call of every model while the block runs (a nested block, such as
    the worker's turn inside the API flow, records into its own log only)."""
    unique = f"iam-recorder-{id(log)}"

    def hook(model: Any, params: dict[str, Any], **_: Any) -> None:
        if _RECORDING and _RECORDING[-1] is log:
            log.dynamodb(model.name, params)

    # before-parameter-build sees the API parameters (before-call sees the serialised request).
    clients = _model_clients()
    for client in clients:
        client.meta.events.register("before-parameter-build.dynamodb", hook, unique_id=unique)
    _RECORDING.append(log)
    try:
        yield log
    finally:
        _RECORDING.remove(log)
        for client in clients:
            client.meta.events.unregister("before-parameter-build.dynamodb", unique_id=unique)


Responder = Callable[[str, dict[str, Any]], dict[str, Any]]


def recording_client(service: str, log: CallLog, resource: str, answer: Responder,
                     resources: dict[str, str] | None = None) -> Any:
    """A real botocore client whose calls are recorded as `<service>:<Operation>` on `resource`
    (or `resources[operation]`: S3's ListObjectsV2 is on the bucket, not its objects) and answered
    by `answer(operation, params)` instead of AWS (before-call short-circuit)."""
    session = boto3.session.Session(region_name="eu-west-2", aws_access_key_id="test",
                                    aws_secret_access_key="test")
    client = session.client(service)

    seen: list[dict[str, Any]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        log.add(f"{service}:{model.name}", (resources or {}).get(model.name, resource))
        seen.append(params)

    def reply(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://recorded.invalid/", 200, {}, None), answer(model.name, seen[-1])

    client.meta.events.register(f"before-parameter-build.{service}", record)
    client.meta.events.register(f"before-call.{service}", reply)
    return client
