"""A worker's queue of jobs (exports, pulses, texts: ports.ExportQueue, PulseQueue, SmsQueue).

SQS in AWS (the worker function's event source); in-process locally, where each job runs the
worker's use case at once and the continuations it sends run after it (synchronously in tests, on
one background thread under `make run`). A job is a msgspec Struct, serialised the same way both
ways. The alert fan-out keeps its own batch queue (notify/queue.py).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Generic, TypeVar

import msgspec

from chalicelib.ports import QueueUnavailable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient  # boto3-stubs (dev only)

LOG = logging.getLogger("beatline.jobs")

Job = TypeVar("Job", bound=msgspec.Struct)


class SqsJobQueue(Generic[Job]):
    """SendMessage, the client made on first use (a cold start that queues nothing makes none)."""

    def __init__(self, client: Callable[[], SQSClient], queue_url: str, what: str) -> None:
        self._make_client = client
        self._client: SQSClient | None = None
        self._lock = threading.Lock()  # the fan-out's threads may share one queue
        self._url = queue_url
        self._what = what

    def _sqs(self) -> SQSClient:
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def send(self, job: Job) -> None:
        try:
            self._sqs().send_message(QueueUrl=self._url, MessageBody=msgspec.json.encode(job).decode())
        except Exception as exc:  # botocore ClientError/BotoCoreError: throttled, unreachable
            raise QueueUnavailable(f"{self._what} not enqueued: {type(exc).__name__}") from exc


class LocalJobQueue(Generic[Job]):
    """Runs `process` for each job; a job it reports unfinished (returns False or raises) runs again
    up to `retries` times, as SQS would redeliver it."""

    def __init__(self, process: Callable[[Job], object], job_type: type[Job], *, name: str,
                 asynchronous: bool = False, retries: int = 0) -> None:
        self._process = process
        self._type = job_type
        self._name = name
        self._retries = retries
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) if asynchronous else None

    def send(self, job: Job) -> None:
        body = msgspec.json.encode(job)  # the same serialisation as SQS
        if self._executor is not None:
            self._executor.submit(self._drain, body)
        else:
            self._drain(body)

    def _drain(self, body: bytes) -> None:
        pending: deque[tuple[bytes, int]] | None = getattr(self._local, "pending", None)
        if pending is not None:  # a continuation sent by the job we are running
            pending.append((body, 0))
            return
        pending = deque([(body, 0)])
        self._local.pending = pending
        try:
            while pending:
                body, tries = pending.popleft()
                if not self._run(body) and tries < self._retries:
                    pending.append((body, tries + 1))
        finally:
            self._local.pending = None

    def _run(self, body: bytes) -> bool:
        try:
            return self._process(msgspec.json.decode(body, type=self._type)) is not False
        except Exception:
            LOG.exception("%s job failed", self._name)
            return False
