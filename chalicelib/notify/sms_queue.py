"""The `sms_sender` function's queue (ports.SmsQueue): SQS in AWS (its event source), in-process
locally (each job runs the sender's use case at once: synchronously in tests, on one background
thread under `make run`). The same shape as notify/export_queue.py. A body holds ids only."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from chalicelib.domain.sms import SmsJob, decode_job, encode_job
from chalicelib.ports import QueueUnavailable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient  # boto3-stubs (dev only)

LOG = logging.getLogger("beatline.sms")


class SqsSmsQueue:
    """SendMessage, the client made on first use (a worker run that texts nobody makes none)."""

    def __init__(self, client: Callable[[], SQSClient], queue_url: str) -> None:
        self._make_client = client
        self._client: SQSClient | None = None
        self._lock = threading.Lock()  # the fan-out's threads share one client
        self._url = queue_url

    def _sqs(self) -> SQSClient:
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def send(self, job: SmsJob) -> None:
        try:
            self._sqs().send_message(QueueUrl=self._url, MessageBody=encode_job(job))
        except Exception as exc:  # botocore ClientError/BotoCoreError: throttled, unreachable
            raise QueueUnavailable(f"sms job not enqueued: {type(exc).__name__}") from exc


class LocalSmsQueue:
    """Runs `process` (the sender's use case: True when the job is finished) for each job; a job
    it reports unfinished is run again a few times, as SQS would redeliver it."""

    def __init__(self, process: Callable[[SmsJob], bool], *, asynchronous: bool = False, retries: int = 3) -> None:
        self._process = process
        self._retries = retries
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sms") if asynchronous else None

    def send(self, job: SmsJob) -> None:
        body = encode_job(job)  # the same serialisation as SQS
        if self._executor is not None:
            self._executor.submit(self._run, body)
        else:
            self._run(body)

    def _run(self, body: str) -> None:
        pending = deque([(body, 0)])
        while pending:
            body, tries = pending.popleft()
            try:
                done = self._process(decode_job(body))
            except Exception:
                LOG.exception("sms job failed")
                done = False
            if not done and tries < self._retries:
                pending.append((body, tries + 1))
