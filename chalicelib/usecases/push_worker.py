"""The push queue's worker: each message goes to its own use case by type (alert fan-out work to
`FanoutWorker`, a team answer to `AnswerPusher`, a notice to `NoticePusher`), and the housekeeping
run releases pushes held by quiet hours the same way (by the delivery key: `conv:` answers, `note:`
notices, else alerts)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from chalicelib.clock import to_rfc3339
from chalicelib.domain.alerts import AlertRecord
from chalicelib.ports import AnswerPush, NoticePush, QueueMessage, Repositories, StaffPush, decode_queue_message
from chalicelib.usecases.conversation_push import AnswerPusher, is_answer_delivery
from chalicelib.usecases.fanout import FanoutWorker
from chalicelib.usecases.notice_push import NoticePusher, is_notice_delivery
from chalicelib.usecases.push import PushSender

LOG = logging.getLogger("beatline.fanout")


class PushWorker:
    def __init__(self, *, alerts: FanoutWorker, answers: AnswerPusher, notices: NoticePusher, sender: PushSender,
                 store: Repositories) -> None:
        self._alerts = alerts
        self._answers = answers
        self._notices = notices
        self._sender = sender
        self._store = store

    def process(self, message: QueueMessage) -> bool:
        """True when the message is finished; False when some send must be retried later."""
        if isinstance(message, AnswerPush):
            return self._answers.push(message.conversation_id, message.message_id)
        if isinstance(message, NoticePush):
            return self._notices.push(message)
        if isinstance(message, StaffPush):
            from chalicelib.usecases.staff_push import push_staff

            return push_staff(self._sender, self._store, message)
        return self._alerts.process(message)

    def handle_sqs_records(self, records: Iterable[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
        """(messageId, body) pairs -> the partial batch response SQS expects. The messages of a
        batch run in parallel threads (they are I/O bound), so batch_size=10 does not serialise them."""
        records = list(records)

        def run(record: tuple[str, str]) -> bool:
            message_id, body = record
            try:
                return self.process(decode_queue_message(body))
            except Exception:
                LOG.exception("push queue message %s failed", message_id)
                return False

        if len(records) > 1:
            with ThreadPoolExecutor(max_workers=len(records)) as pool:
                done = list(pool.map(run, records))
        else:
            done = [run(r) for r in records]
        return {"batchItemFailures": [{"itemIdentifier": message_id}
                                      for (message_id, _), ok in zip(records, done, strict=True) if not ok]}

    def release_held(self, *, hours_back: int = 26) -> int:
        """Send pushes held back by quiet hours that may now go out (housekeeping schedule)."""
        now = self._sender.now()
        until_key = to_rfc3339(now) + "#~"
        released = 0
        alerts: dict[str, AlertRecord | None] = {}
        for back in range(hours_back, -1, -1):
            bucket = to_rfc3339(now - timedelta(hours=back))[:13]
            for held in self._store.deliveries.held_due(bucket, until_key):
                if is_answer_delivery(held.alert_id):
                    released += self._answers.release(held)
                elif is_notice_delivery(held.alert_id):
                    released += self._notices.release(held)
                else:
                    released += self._alerts.release(held, now, alerts)
        return released
