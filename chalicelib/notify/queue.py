"""The fan-out queue: one interface, two implementations.

- SqsQueue (AWS): SendMessageBatch, 10 per call; entries reported in `Failed` are retried.
- LocalQueue (chalice local, tests): the same worker function, called in-process, synchronously
  (tests) or on one background thread (`make run`). Messages the worker reports as failed are
  retried a few times, as SQS would after the visibility timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from chalicelib.ports import QueueMessage, QueueUnavailable, decode_queue_message, encode_queue_message

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient  # boto3-stubs (dev only)

LOG = logging.getLogger("beatline.fanout")


def encode(message: QueueMessage) -> str:
    return encode_queue_message(message)


def decode(body: str | bytes) -> QueueMessage:
    """By the message's `type` (bodies without one are alert fan-out work, or old-format answers)."""
    return decode_queue_message(body)


class SqsQueue:
    def __init__(self, client: SQSClient, queue_url: str, *, attempts: int = 4) -> None:
        self._client = client
        self._url = queue_url
        self._attempts = attempts
        self.calls = 0

    def enqueue(self, messages: Sequence[QueueMessage]) -> None:
        for offset in range(0, len(messages), 10):
            self._send_batch({str(i): encode(m) for i, m in enumerate(messages[offset:offset + 10])})

    def _send_batch(self, pending: dict[str, str]) -> None:
        """One SendMessageBatch of up to 10, retrying the entries that failed with backoff."""
        for attempt in range(self._attempts):
            failed = self._send_once(pending)
            pending = {k: v for k, v in pending.items() if k in failed}
            if not pending:
                return
            time.sleep(min(1.0, 0.05 * 2**attempt))
        raise QueueUnavailable(f"{len(pending)} fan-out messages could not be enqueued")

    def _send_once(self, pending: dict[str, str]) -> set[str]:
        """The ids of the entries that did not go (all of them when the call itself failed)."""
        self.calls += 1
        try:
            response = self._client.send_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": entry_id, "MessageBody": body} for entry_id, body in pending.items()],
            )
            return {f["Id"] for f in response.get("Failed", [])}
        except Exception as exc:  # botocore ClientError/BotoCoreError: throttled, unreachable
            LOG.warning("SendMessageBatch failed: %s", exc)
            return set(pending)


class LocalQueue:
    def __init__(self, process: Callable[[QueueMessage], bool], *, asynchronous: bool = False,
                 retries: int = 3) -> None:
        self._process = process
        self._retries = retries
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fanout") if asynchronous else None

    def enqueue(self, messages: Sequence[QueueMessage]) -> None:
        encoded = [encode(m) for m in messages]  # same serialisation as SQS
        if self._executor is not None:
            self._executor.submit(self._drain, encoded)
        else:
            self._drain(encoded)

    def _drain(self, bodies: list[str]) -> None:
        pending: deque[tuple[str, int]] | None = getattr(self._local, "pending", None)
        if pending is not None:  # a continuation enqueued by the worker we are running
            pending.extend((b, 0) for b in bodies)
            return
        pending = deque((b, 0) for b in bodies)
        self._local.pending = pending
        try:
            while pending:
                body, tries = pending.popleft()
                try:
                    done = self._process(decode(body))
                except Exception:
                    LOG.exception("fan-out message failed")
                    done = False
                if not done and tries < self._retries:
                    pending.append((body, tries + 1))
        finally:
            self._local.pending = None
