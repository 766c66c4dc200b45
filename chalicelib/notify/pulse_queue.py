"""The pulse worker's queue (ports.PulseQueue): SQS in AWS (the `pulse_worker` function's event
source), in-process locally (each step runs at once, its continuations after it: synchronously in
tests, on one background thread under `make run`). The same shape as notify/export_queue.py."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from chalicelib.domain.pulses import PulseStep, decode_step, encode_step
from chalicelib.ports import QueueUnavailable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient  # boto3-stubs (dev only)

LOG = logging.getLogger("beatline.pulses")


class SqsPulseQueue:
    """SendMessage, the client made on first use (a cold start that sends no pulse makes none)."""

    def __init__(self, client: Callable[[], SQSClient], queue_url: str) -> None:
        self._make_client = client
        self._client: SQSClient | None = None
        self._url = queue_url

    def send(self, step: PulseStep) -> None:
        if self._client is None:
            self._client = self._make_client()
        try:
            self._client.send_message(QueueUrl=self._url, MessageBody=encode_step(step))
        except Exception as exc:  # botocore ClientError/BotoCoreError: throttled, unreachable
            raise QueueUnavailable(f"pulse step not enqueued: {exc}") from exc


class LocalPulseQueue:
    def __init__(self, process: Callable[[PulseStep], object], *, asynchronous: bool = False) -> None:
        self._process = process
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pulses") if asynchronous else None

    def send(self, step: PulseStep) -> None:
        body = encode_step(step)  # the same serialisation as SQS
        if self._executor is not None:
            self._executor.submit(self._drain, body)
        else:
            self._drain(body)

    def _drain(self, body: str) -> None:
        pending: deque[str] | None = getattr(self._local, "pending", None)
        if pending is not None:  # a continuation sent by the step we are running
            pending.append(body)
            return
        pending = deque([body])
        self._local.pending = pending
        try:
            while pending:
                try:
                    self._process(decode_step(pending.popleft()))
                except Exception:
                    LOG.exception("pulse step failed")  # SQS would redeliver; locally an identical POST resumes it
        finally:
            self._local.pending = None
