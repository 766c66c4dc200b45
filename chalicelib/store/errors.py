"""Mapping DynamoDB failures a client cannot cause onto the API's 503 + Retry-After."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException, UpdateError
from pynamodb.models import Model

from chalicelib.ports import StoreUnavailable

P = ParamSpec("P")
R = TypeVar("R")

THROTTLE_CODES = frozenset({
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
})


def error_code(exc: BaseException) -> str | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ClientError):
            code = current.response.get("Error", {}).get("Code")
            return None if code is None else str(code)
        current = getattr(current, "cause", None) or current.__cause__
    return None


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, BotoCoreError):  # timeouts, connection refused
        return True
    cause = getattr(exc, "cause", None) or exc.__cause__
    if isinstance(cause, BotoCoreError):
        return True
    return error_code(exc) in THROTTLE_CODES


def translate_store_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Repository functions raise StoreUnavailable for throttling/timeouts; the rest propagates."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (PynamoDBException, ClientError, BotoCoreError) as exc:
            if is_unavailable(exc):
                raise StoreUnavailable(str(exc)) from exc
            raise

    return wrapper


def update_if(item: Model, actions: list[Any], condition: Any) -> bool:
    """UpdateItem under `condition`; False (nothing written) when the condition does not hold."""
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True
