"""Store faults injected where the network would put them: botocore's `before-send` hook on every
model's client answers in place of DynamoDB Local, so botocore's own retry logic (standard mode,
exponential backoff with jitter) runs exactly as it would against AWS."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

_ids = itertools.count()


class _Body:
    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._payload


@dataclass
class FaultLog:
    attempts: list[str] = field(default_factory=list)


def _clients() -> list[Any]:
    from chalicelib.store.models import ALL_MODELS

    seen: dict[int, Any] = {}
    for model in ALL_MODELS:
        client = model._get_connection().connection.client
        seen[id(client)] = client
    return list(seen.values())


def throttling_response() -> AWSResponse:
    body = json.dumps({
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "injected: the level of configured provisioned throughput was exceeded",
    }).encode()
    return AWSResponse("http://dynamodb.injected/", 400, {"x-amzn-RequestId": "injected"}, _Body(body))


@contextmanager
def store_fault(operation: str, kind: str = "throttle", times: int | None = None) -> Iterator[FaultLog]:
    """Fail the next `times` (None: all) sends of `operation` with a throttle or a read timeout."""
    log = FaultLog()
    unique = f"send-fault-{next(_ids)}"
    remaining = [times]

    def hook(request: Any, **kwargs: Any) -> Any:
        if remaining[0] is not None and remaining[0] <= 0:
            return None
        if remaining[0] is not None:
            remaining[0] -= 1
        log.attempts.append(operation)
        if kind == "timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        return throttling_response()

    event = f"before-send.dynamodb.{operation}"
    clients = _clients()
    for client in clients:
        client.meta.events.register_first(event, hook, unique_id=unique)
    try:
        yield log
    finally:
        for client in clients:
            client.meta.events.unregister(event, unique_id=unique)
