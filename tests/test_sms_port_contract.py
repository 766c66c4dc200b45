"""The SmsRepository contract: the same cases on the fake (tests/sms_fakes.py) and on the SMS table
in DynamoDB Local (chalicelib/store/sms.py): the STOP index, per-message status set once, figures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.ports import Repositories
from tests.fakes import fake_repositories

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
KEEP = NOW + timedelta(days=30)


@pytest.fixture(params=[pytest.param("fake", marks=pytest.mark.no_database), "dynamodb"])
def ports(request: pytest.FixtureRequest) -> Repositories:
    if request.param == "fake":
        return fake_repositories()
    from chalicelib.services import dynamodb_repositories

    return dynamodb_repositories()


def new_id() -> str:
    return str(uuid.uuid4())


def test_number_index_lists_holders_and_forgets_them(ports: Repositories) -> None:
    digest, first, second = new_id(), new_id(), new_id()
    assert ports.sms.holders(digest) == []
    ports.sms.link_number(digest, first, KEEP)
    ports.sms.link_number(digest, second, KEEP)
    ports.sms.link_number(digest, first, KEEP)  # again: still one entry
    assert sorted(ports.sms.holders(digest)) == sorted([first, second])
    ports.sms.unlink_number(digest, first)
    ports.sms.unlink_number(digest, first)  # a missing entry is no error
    assert ports.sms.holders(digest) == [second]


def test_message_status_changes_once_per_status(ports: Repositories) -> None:
    message = new_id()
    assert ports.sms.set_status(message, "delivered", "2026-11-30T12:01:00Z") is None  # never sent
    assert ports.sms.message_status(message) is None
    ports.sms.record_message(message, "alert:a1", "sent", "2026-11-30T12:00:00Z", KEEP)
    assert ports.sms.message_status(message) == ("alert:a1", "sent")
    assert ports.sms.set_status(message, "delivered", "2026-11-30T12:01:00Z") == "alert:a1"
    assert ports.sms.set_status(message, "delivered", "2026-11-30T12:02:00Z") is None  # a replayed event
    assert ports.sms.message_status(message) == ("alert:a1", "delivered")


def test_figures_add_per_channel_and_day(ports: Repositories) -> None:
    channel = f"sms-{new_id()[:8]}"
    ports.sms.add_figures(channel, "2026-11-29", {"sent": 2, "segments": 3})
    ports.sms.add_figures(channel, "2026-11-30", {"sent": 1, "capped": 4, "unknown": 9})
    ports.sms.add_figures(channel, "2026-11-30", {"sent": 1, "failed": 0})
    ports.sms.add_figures(channel, "2026-12-01", {"sent": 5})
    rows = ports.sms.figures(channel, "2026-11-29", "2026-11-30")
    assert [day for day, _ in rows] == ["2026-11-29", "2026-11-30"]
    assert rows[0][1]["segments"] == 3 and rows[1][1]["sent"] == 2 and rows[1][1]["capped"] == 4
    assert rows[1][1]["failed"] == 0 and "unknown" not in rows[1][1]
