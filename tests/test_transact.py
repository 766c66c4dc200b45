"""The one transaction runner (chalicelib/store/transact.py): labels name the cancelled item
whatever order actions were added in; conflicts are retried with jitter, then 503; PynamoDB's
private connection accessor is read in that module only."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.test_architecture import parsed
from tests.test_store_faults import on_call, respond

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.no_database
def test_only_the_runner_reads_pynamodbs_private_connection():
    readers = set()
    for path in [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]:
        if any(isinstance(node, ast.Attribute) and node.attr == "_get_connection" for node in ast.walk(parsed(path))):
            readers.add(path.relative_to(ROOT).as_posix())
    assert readers == {"chalicelib/store/transact.py"}


@pytest.mark.no_database
def test_transaction_mechanics_live_only_in_the_runner():
    """No other module builds a TransactWrite or reads cancellation reasons itself."""
    spelled = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        text = path.read_text()
        if "TransactWrite(" in text or "cancellation_reasons" in text or "TransactionConflict\"" in text:
            spelled.add(path.relative_to(ROOT).as_posix())
    assert spelled == {"chalicelib/store/transact.py"}


def _counter(key: str, bucket: str) -> Any:
    from chalicelib.store.models import StatCounterModel

    return StatCounterModel(key=key, bucket=bucket)


def test_cancellation_names_the_failed_item_whatever_the_order_added():
    from chalicelib.store import transact
    from chalicelib.store.models import StatCounterModel

    key = f"test-transact-{uuid.uuid4().hex}"
    existing = _counter(key, "existing")
    existing.contacts = 7
    existing.save()

    def build(tx: transact.Transaction) -> None:
        # updates are added first but sent after puts and checks (PynamoDB's request order)
        tx.update("bump", _counter(key, "existing"), actions=[StatCounterModel.contacts.add(1)],
                  condition=StatCounterModel.contacts == 6, return_values="ALL_OLD")
        tx.put("fresh", _counter(key, "fresh"), condition=StatCounterModel.key.does_not_exist())
        tx.check("present", StatCounterModel, key, StatCounterModel.key.exists(), range_key="existing")

    with pytest.raises(transact.ConditionsFailed) as failed:
        transact.run(build, via=StatCounterModel)
    cancelled = failed.value
    assert [r.label for r in cancelled.reasons] == ["present", "fresh", "bump"]
    assert [r.label for r in cancelled.failed] == ["bump"]
    bump = cancelled.of("bump")
    assert bump is not None and bump.item is not None and bump.item["contacts"] == {"N": "7"}
    assert cancelled.of("fresh") is None
    assert not StatCounterModel.count(key, StatCounterModel.bucket == "fresh")  # nothing written


def test_conflicts_are_retried_with_capped_jitter_then_store_unavailable():
    from chalicelib.ports import StoreUnavailable
    from chalicelib.store import transact
    from chalicelib.store.models import ContactModel, StatCounterModel

    conflicted = {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": [{"Code": "TransactionConflict"}],
    }
    slept: list[float] = []
    key = f"test-transact-{uuid.uuid4().hex}"

    def build(tx: transact.Transaction) -> None:
        tx.update("counter", _counter(key, "b"), actions=[StatCounterModel.contacts.add(1)])

    assert ContactModel is not None  # on_call hooks the contacts client: run on that connection
    with on_call("TransactWriteItems", respond(400, conflicted)) as seen, pytest.raises(StoreUnavailable):
        transact.run(build, via=ContactModel, retries=3, backoff=transact.Backoff(base=0.5, cap=0.75),
                     sleep=slept.append)
    assert len(seen) == 4
    assert len(slept) == 3 and all(0 <= s <= 0.75 for s in slept)
    assert not StatCounterModel.count(key)


def test_a_reason_beyond_the_labelled_items_still_decides():
    """DynamoDB's reasons follow the request's items; should a throttling reason come after the
    labelled ones, it is still read: 503, not an unexplained 500."""
    from chalicelib.ports import StoreUnavailable
    from chalicelib.store import transact
    from chalicelib.store.models import ContactModel, StatCounterModel

    cancelled = {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": [{"Code": "None"}, {"Code": "ThrottlingError", "Message": "slow down"}],
    }
    key = f"test-transact-{uuid.uuid4().hex}"

    def build(tx: transact.Transaction) -> None:
        tx.update("counter", _counter(key, "b"), actions=[StatCounterModel.contacts.add(1)])

    assert ContactModel is not None
    with on_call("TransactWriteItems", respond(400, cancelled)), pytest.raises(StoreUnavailable):
        transact.run(build, via=ContactModel)
    assert not StatCounterModel.count(key)
