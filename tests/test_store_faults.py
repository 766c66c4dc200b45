"""A throttled store answers 503 + Retry-After and leaves nothing half-written.

Faults are injected with botocore's own event hooks on the models' client (the same mechanism
botocore's Stubber uses), on the real DynamoDB Local connection; unregistered after each test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from tests.support import EMPTY_FOOTPRINT, footprint, get, post, problem, street

_ids = itertools.count()


def _events() -> Any:
    from chalicelib.store.models import ContactModel

    return ContactModel._get_connection().connection.client.meta.events


@contextmanager
def on_call(operation: str, handler: Callable[..., Any]) -> Iterator[list[str]]:
    """Run `handler` before every `operation` call; yields the list of intercepted operations."""
    seen: list[str] = []
    unique = f"fault-{next(_ids)}"

    def hook(model: Any, **kwargs: Any) -> Any:
        seen.append(model.name)
        return handler(model)

    _events().register(f"before-call.dynamodb.{operation}", hook, unique_id=unique)
    try:
        yield seen
    finally:
        _events().unregister(f"before-call.dynamodb.{operation}", unique_id=unique)


def raise_client_error(code: str) -> Callable[[Any], Any]:
    def handler(model: Any) -> Any:
        raise ClientError({"Error": {"Code": code, "Message": "injected"}}, model.name)

    return handler


def respond(status: int, parsed: dict[str, Any]) -> Callable[[Any], Any]:
    """Short-circuit the call with a DynamoDB error response (botocore then raises ClientError)."""

    def handler(model: Any) -> Any:
        return AWSResponse("http://dynamodb.injected", status, {}, None), parsed

    return handler


def _assert_503(response: Any) -> None:
    assert response.status_code == 503, response.body
    assert int(response.headers["Retry-After"]) >= 1
    assert problem(response)["type"].endswith("store-unavailable")


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"])
def test_throttled_create_is_503_and_writes_nothing(client, staff_token, team, code):
    actor = f"pc-throttle-{team}"
    body = street()
    with on_call("TransactWriteItems", raise_client_error(code)) as seen:
        response = post(client, staff_token("officer", sub=actor, team=team), "/v1/contacts", body)
    _assert_503(response)
    assert seen == ["TransactWriteItems"]
    assert footprint(team, actor, [body["id"]]) == EMPTY_FOOTPRINT
    # the client's retry then goes through, once
    assert post(client, staff_token("officer", sub=actor, team=team), "/v1/contacts", body).status_code == 201


def test_transaction_cancelled_for_throttling_is_503(client, staff_token, team):
    actor = f"pc-cancel-{team}"
    body = street()
    cancelled = {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": [{"Code": "None"}, {"Code": "ThrottlingError", "Message": "slow down"}],
    }
    with on_call("TransactWriteItems", respond(400, cancelled)):
        response = post(client, staff_token("officer", sub=actor, team=team), "/v1/contacts", body)
    _assert_503(response)
    assert footprint(team, actor, [body["id"]]) == EMPTY_FOOTPRINT


def test_persistent_transaction_conflict_is_503(client, staff_token, team):
    from chalicelib.store import transact

    body = street()
    conflicted = {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
    }
    with on_call("TransactWriteItems", respond(400, conflicted)) as seen:
        response = post(client, staff_token("officer", team=team), "/v1/contacts", body)
    _assert_503(response)
    assert len(seen) == transact.CONFLICT_RETRIES + 1


def test_throttled_read_is_503(client, staff_token, team):
    token = staff_token("officer", team=team)
    body = street()
    assert post(client, token, "/v1/contacts", body).status_code == 201
    with on_call("GetItem", respond(400, {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}})):
        _assert_503(get(client, token, f"/v1/contacts/{body['id']}"))
    with on_call("Query", raise_client_error("ThrottlingException")):
        _assert_503(get(client, token, "/v1/contacts"))


def test_throttled_batch_is_503_and_safe_to_resend(client, staff_token, team):
    actor = f"pc-batch-throttle-{team}"
    token = staff_token("officer", sub=actor, team=team)
    items = [street() for _ in range(4)]
    with on_call("TransactWriteItems", raise_client_error("ProvisionedThroughputExceededException")):
        response = post(client, token, "/v1/contacts/batch", {"contacts": items})
    _assert_503(response)
    assert footprint(team, actor, [i["id"] for i in items]) == EMPTY_FOOTPRINT
    again = post(client, token, "/v1/contacts/batch", {"contacts": items})
    assert [r["status"] for r in again.json_body["results"]] == [201] * 4


def test_unexpected_store_error_is_500_problem_without_details(client, staff_token, team):
    """Not a client's fault and not a throttle: a generic problem, never a stack trace."""
    with on_call("TransactWriteItems", raise_client_error("ValidationException")):
        response = post(client, staff_token("officer", team=team), "/v1/contacts", street())
    assert response.status_code == 500
    assert b"ValidationException" not in response.body
    problem(response)
