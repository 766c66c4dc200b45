"""In-memory SMS ports: the SMS table (`FakeSms`, over `FakeDatabase.sms`), the sender
(`FakeSmsSender`: keeps every text; scripted outcomes) and the SMS sender's queue (`FakeSmsQueue`).
tests/test_port_contract.py runs the same SmsRepository cases on these and on DynamoDB Local."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.domain.sms import SmsJob, decode_job, encode_job
from chalicelib.ports import QueueUnavailable, SendOutcome, SmsQueue, SmsReceipt, SmsRepository, SmsSender

FIGURES = ("sent", "failed", "capped", "delivered", "undelivered", "stopped", "codes", "segments")


class FakeSms:
    """The SMS table as (key, item) -> attributes; conditions decided under the lock."""

    def __init__(self, items: dict[tuple[str, str], dict[str, Any]], lock: threading.RLock) -> None:
        self.items = items
        self.lock = lock

    def link_number(self, number_digest: str, subscriber_id: str, expires_at: datetime) -> None:
        with self.lock:
            self.items[(f"number#{number_digest}", subscriber_id)] = {"expires_at": expires_at}

    def unlink_number(self, number_digest: str, subscriber_id: str) -> None:
        with self.lock:
            self.items.pop((f"number#{number_digest}", subscriber_id), None)

    def holders(self, number_digest: str) -> list[str]:
        return sorted(item for key, item in self.items if key == f"number#{number_digest}")

    def record_message(self, message_id: str, ref: str, status: str, at: str, expires_at: datetime) -> None:
        with self.lock:
            self.items[(f"message#{message_id}", "-")] = {"ref": ref, "status": status, "at": at, "expires_at": expires_at}

    def set_status(self, message_id: str, status: str, at: str) -> str | None:
        with self.lock:
            item = self.items.get((f"message#{message_id}", "-"))
            if item is None or item["status"] == status:
                return None
            item.update(status=status, at=at)
            return str(item["ref"])

    def message_status(self, message_id: str) -> tuple[str, str] | None:
        item = self.items.get((f"message#{message_id}", "-"))
        return None if item is None else (item["ref"], item["status"])

    def add_figures(self, channel: str, day: str, deltas: Mapping[str, int]) -> None:
        with self.lock:
            item = self.items.setdefault((f"figures#{channel}", day), {})
            for name, n in deltas.items():
                if n and name in FIGURES:
                    item[name] = item.get(name, 0) + n

    def figures(self, channel: str, day_from: str, day_to: str) -> list[tuple[str, dict[str, int]]]:
        rows = sorted((day, item) for (key, day), item in self.items.items()
                      if key == f"figures#{channel}" and day_from <= day <= day_to)
        return [(day, {name: int(item.get(name, 0)) for name in FIGURES}) for day, item in rows]

    def numbers_held(self) -> list[str]:
        """Every stored key or value that could be a phone number (tests: none)."""
        import re

        phone = re.compile(r"\+[1-9][0-9]{6,14}")
        return [str(v) for key, item in self.items.items() for v in (*key, *item.values()) if phone.search(str(v))]


class FakeSmsSender:
    """Keeps every (number, text); `outcomes` answers in turn, then `outcome`; `opted` numbers are
    on the service's opt-out list."""

    def __init__(self, outcome: SendOutcome = SendOutcome.SENT) -> None:
        self.outcome = outcome
        self.outcomes: list[SendOutcome] = []
        self.opted: set[str] = set()
        self.sent: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def send_text(self, number: str, text: str) -> SmsReceipt:
        with self._lock:
            outcome = self.outcomes.pop(0) if self.outcomes else self.outcome
            if outcome is not SendOutcome.SENT:
                return SmsReceipt(outcome)
            self.sent.append((number, text))
            return SmsReceipt(outcome, f"msg-{len(self.sent)}")

    def opted_out(self, number: str) -> bool:
        return number in self.opted

    def texts_to(self, number: str) -> list[str]:
        return [text for n, text in self.sent if n == number]


_sms: SmsRepository = FakeSms({}, threading.RLock())
_sender: SmsSender = FakeSmsSender()


class FakeSmsQueue:
    """Keeps each job as SQS would carry it (the encoded body); `refuse` makes it raise
    QueueUnavailable (nothing kept)."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.bodies: list[str] = []
        self.refuse = refuse

    def send(self, job: SmsJob) -> None:
        if self.refuse:
            raise QueueUnavailable("refused (fake)")
        self.bodies.append(encode_job(job))

    def jobs(self) -> list[SmsJob]:
        return [decode_job(body) for body in self.bodies]

    def take(self) -> list[tuple[str, str]]:
        """(messageId, body) records, as the sms_sender function receives them."""
        taken, self.bodies = self.bodies, []
        return [(f"m-{i}", body) for i, body in enumerate(taken)]


_sms_queue: SmsQueue = FakeSmsQueue()
