"""The one TransactWriteItems runner of the store.

Every action is added under a label, so a cancellation reason names the item it is about
(DynamoDB reports reasons in request order, and PynamoDB sends condition checks, deletes, puts,
then updates, whatever order they were added in). `run` commits a transaction built by a
callback and decides what a cancellation means:

- an item's condition failed: `ConditionsFailed` with every labelled reason (and the old item,
  where the action asked for `ALL_OLD`); nothing was written;
- the store is throttling: `StoreUnavailable` (the API's 503 + Retry-After);
- another transaction held an item (`TransactionConflict`): rebuilt and retried with full-jitter
  backoff, then `ConflictPersisted` (a `StoreUnavailable`);
- anything else propagates unchanged.

This module is also the one place that reads PynamoDB's private `Model._get_connection` (`table`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pynamodb.connection.table import TableConnection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.ports import StoreUnavailable

# Transactions touching a hot counter can be cancelled with TransactionConflict when another
# transaction holds it; retry those with jittered backoff (they are not client errors).
CONFLICT_RETRIES = 10
# Cancellation reasons that mean "the store is busy", not "your request is wrong".
THROTTLE_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})
CONDITION_FAILED = "ConditionalCheckFailed"


def table(model: type[Model]) -> TableConnection:
    """The model's bound table connection (the same botocore client its own calls use)."""
    return model._get_connection()


@dataclass(frozen=True)
class Backoff:
    """Full jitter: the n-th retry sleeps a random time below min(cap, base * 2**n) seconds."""

    base: float = 0.01
    cap: float = 1.0

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.base * 2**attempt) * random.random())  # noqa: S311 - jitter, not secrecy


@dataclass(frozen=True)
class Reason:
    """Why DynamoDB cancelled one item of a transaction (`code` None: not this item)."""

    label: str
    code: str | None
    item: dict[str, Any] | None  # the old item, for a failed condition that asked for ALL_OLD


class ConditionsFailed(Exception):
    """One or more items failed their condition; nothing was written."""

    def __init__(self, reasons: Sequence[Reason], error: TransactWriteError) -> None:
        super().__init__("transaction condition failed: " + ", ".join(r.label for r in reasons
                                                                     if r.code == CONDITION_FAILED))
        self.reasons = list(reasons)
        self.error = error

    @property
    def failed(self) -> list[Reason]:
        return [r for r in self.reasons if r.code == CONDITION_FAILED]

    def first(self) -> Reason:
        return self.failed[0]

    def of(self, label: str) -> Reason | None:
        """The failed item labelled `label`, if it failed."""
        return next((r for r in self.failed if r.label == label), None)


class ConflictPersisted(StoreUnavailable):
    """TransactionConflict on every attempt."""


@dataclass
class Transaction:
    """A TransactWrite whose every action carries a label."""

    tx: TransactWrite
    _labels: dict[str, list[str]] = field(default_factory=lambda: {"check": [], "delete": [], "put": [], "update": []})

    def put(self, label: str, model: Model, condition: Condition | None = None, return_values: str | None = None) -> None:
        self.tx.save(model, condition=condition, return_values=return_values)
        self._labels["put"].append(label)

    def update(self, label: str, model: Model, actions: list[Any], condition: Condition | None = None,
               return_values: str | None = None) -> None:
        self.tx.update(model, actions=actions, condition=condition, return_values=return_values)
        self._labels["update"].append(label)

    def delete(self, label: str, model: Model, condition: Condition | None = None) -> None:
        self.tx.delete(model, condition=condition)
        self._labels["delete"].append(label)

    def check(self, label: str, model: type[Model], hash_key: Any, condition: Condition,
              range_key: Any = None) -> None:
        self.tx.condition_check(model, hash_key, range_key=range_key, condition=condition)
        self._labels["check"].append(label)

    @property
    def labels(self) -> list[str]:
        """Labels in request order: the order of DynamoDB's cancellation reasons."""
        return [*self._labels["check"], *self._labels["delete"], *self._labels["put"], *self._labels["update"]]

    def reasons(self, exc: TransactWriteError) -> list[Reason]:
        raw = list(exc.cancellation_reasons or [])
        labels = self.labels  # a reason beyond them is still read (its code decides 409/503/retry)
        return [Reason(labels[i] if i < len(labels) else "unlabelled", getattr(reason, "code", None),
                       getattr(reason, "raw_item", None)) for i, reason in enumerate(raw)]


def run(build: Callable[[Transaction], None], *, via: type[Model], retries: int = CONFLICT_RETRIES,
        backoff: Backoff = Backoff(), sleep: Callable[[float], None] = time.sleep) -> None:
    """Build and commit one transaction on `via`'s connection (see the module docstring)."""
    for attempt in range(retries + 1):
        transaction = Transaction(TransactWrite(connection=table(via).connection))
        try:
            with transaction.tx:  # commits on leaving the block
                build(transaction)
            return
        except TransactWriteError as exc:
            reasons = transaction.reasons(exc)
            codes = {r.code for r in reasons}
            if CONDITION_FAILED in codes:
                raise ConditionsFailed(reasons, exc) from exc
            if THROTTLE_REASONS & codes:
                raise StoreUnavailable("transaction cancelled: throttled") from exc
            if "TransactionConflict" not in codes:
                raise
            if attempt == retries:
                raise ConflictPersisted("transaction conflict persisted") from exc
            sleep(backoff.delay(attempt))
