"""SQS's partial batch response for the job workers (exports, pulses, texts)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable


def partial_batch_response(records: Iterable[tuple[str, str]], run: Callable[[str], object], what: str,
                           log: logging.Logger) -> dict[str, list[dict[str, str]]]:
    """(messageId, body) pairs -> `{"batchItemFailures": [...]}`: a message whose `run` raises or
    returns False is reported failed, so SQS redelivers it (and after the redrive count, the DLQ)."""
    failures = []
    for message_id, body in records:
        try:
            done = run(body) is not False
        except Exception:
            log.exception("%s %s failed", what, message_id)
            done = False
        if not done:
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
