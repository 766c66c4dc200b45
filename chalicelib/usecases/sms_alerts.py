"""Alert texts (docs/channels.md), in two parts run by two functions with two roles:

- `SmsJobs`, the `sms` channel as PushSender sees it in the fan-out worker and housekeeping: it
  decides whether a notification is to be texted at all and queues one `SmsJob` (ids only) on
  the sms queue. It sends nothing: those roles hold no Publish to a phone number.
- `AlertTexts`, the `sms_sender` function's use case: per job it reads the subscriber's confirmed
  number and the alert, then applies the SMS rules in front of the service: only new alerts (not
  Updates, Cancels, answers or notices), only at or above the force's severity threshold unless
  the resident set their own bar for texts, one text per alert per subscriber, per-alert and
  per-day ceilings, one text within the segment budget.

Per send, in this order: what to text at all; the exactly-once claim (a delivery record keyed
`sms:<alert>`, the fan-out's conditional claim, separate from the push claim, so a redelivered
job, batch or push never texts twice); the ceilings (two conditional counters, the day's
first: a text refused by either is `capped`, never sent later); compose in the notification's
language (already the resident's); send; record the message's status and the day's figures.

Nothing to text is SENT (the resident's other channels and inbox copy carry the message, and a
retry would change nothing). A transient failure is RETRY (recorded `retry` on the SMS claim, which
the sms queue's redelivery takes again, up to MAX_ATTEMPTS); a refused text is FAILED.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.clock import Clock, parse_rfc3339, to_rfc3339
from chalicelib.domain.alerts import Notification, notification_for
from chalicelib.domain.sms import SmsJob, compose, count_segments, decode_job, sms_wanted
from chalicelib.ports import QueueUnavailable, Repositories, SendOutcome, SmsQueue, SmsSender
from chalicelib.usecases.batches import partial_batch_response

if TYPE_CHECKING:
    from chalicelib.domain.conversations import AnswerNotification
    from chalicelib.domain.notices import NoticeNotification
    from chalicelib.settings import Settings

LOG = logging.getLogger("beatline.sms")
MAX_ATTEMPTS = 5
KEEP = timedelta(days=30)
CHANNEL = "sms"

SEVERITY_WORDS = {
    "en": {"Extreme": "EXTREME", "Severe": "Severe", "Moderate": "Moderate", "Minor": "Minor", "Unknown": "Alert"},
    "cy": {"Extreme": "EITHAFOL", "Severe": "Difrifol", "Moderate": "Cymedrol", "Minor": "Bach", "Unknown": "Rhybudd"},
}


def delivery_key(alert_id: str) -> str:
    """The delivery record of an alert's SMS: its own key, so the push claim and the SMS claim are
    each exactly once and never block each other."""
    return f"sms:{alert_id}"


def alert_link(base_url: str, alert_id: str) -> str:
    return f"{base_url}/app/#alert={alert_id}"


def alert_text(note: Notification, *, force_name: str, base_url: str, budget: int) -> str:
    """`<force> <severity>: <headline>. <instruction or description>` cut to the budget, then the
    link to the full alert; Welsh severity words for a Welsh info block."""
    info = note.info
    words = SEVERITY_WORDS["cy" if info.language.lower().startswith("cy") else "en"]
    prefix = f"{force_name} {words.get(note.severity, note.severity)}:"
    body = f"{info.headline.rstrip('.')}. {info.instruction or info.description}"
    return compose(prefix, body, alert_link(base_url, note.alert_id), budget).text


def _day_end(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def wants_text(settings: Settings, target: dict[str, Any], notification: object) -> bool:
    """A new alert (no Update/Cancel texts, no answers or notices by SMS) at or above the force's
    threshold, or the resident's own bar for texts (`target["min_severity"]`)."""
    if not isinstance(notification, Notification) or notification.msg_type != "Alert":
        return False
    if not target.get("address") or not target.get("subscriber_id"):
        return False
    asked = target.get("min_severity")
    return sms_wanted(notification.severity, threshold=settings.sms_min_severity,
                      asked_for=str(asked) if asked else None)


class SmsJobs:
    """The `sms` Channel of the push worker: queues one job per text to send (the sender claims,
    caps and sends it). SENT once queued (the sms queue retries the text itself, whatever the
    subscriber's other channels did); RETRY when the queue refused it."""

    def __init__(self, *, queue: SmsQueue | Callable[[], SmsQueue], settings: Settings) -> None:
        self._queue, self._settings = queue, settings

    def send(self, target: dict[str, Any], notification: Notification | AnswerNotification | NoticeNotification,
             ) -> SendOutcome:
        if not wants_text(self._settings, target, notification):
            return SendOutcome.SENT  # nothing to text: the other channels and the inbox carry it
        assert isinstance(notification, Notification)  # noqa: S101 - wants_text checked it
        queue = self._queue() if callable(self._queue) else self._queue
        try:
            queue.send(SmsJob(kind="alert", alert_id=notification.alert_id, subscriber_id=str(target["subscriber_id"])))
        except QueueUnavailable:
            LOG.warning("sms job for alert %s not queued", notification.alert_id)
            return SendOutcome.RETRY
        return SendOutcome.SENT


class AlertTexts:
    """The `sms_sender` function's use case. `run(job)` texts one queued job; `send(target,
    notification)` applies the rules to one confirmed contact channel, target `{"type": "sms",
    "address": <E.164>, "subscriber_id", ...}`, `min_severity` when the resident set their own bar."""

    def __init__(self, *, store: Repositories, sender: SmsSender | Callable[[], SmsSender], settings: Settings,
                 clock: Clock) -> None:
        self._store, self._sender, self._settings, self._clock = store, sender, settings, clock

    def sender(self) -> SmsSender:
        return self._sender() if callable(self._sender) else self._sender

    def send(self, target: dict[str, Any], notification: Notification | AnswerNotification | NoticeNotification,
             ) -> SendOutcome:
        if not self._to_text(target, notification):
            return SendOutcome.SENT  # nothing to text: the other channels and the inbox carry it
        assert isinstance(notification, Notification)  # noqa: S101 - _to_text checked it
        now = self._clock()
        key, sub_id = delivery_key(notification.alert_id), str(target["subscriber_id"])
        if self._store.deliveries.claim(key, sub_id, 0, state="claimed", now_text=to_rfc3339(now),
                                        expires_at=parse_rfc3339(notification.expires_at) + KEEP) is None:
            return SendOutcome.SENT  # texted already (a redelivered batch, a retried push)
        if not self._within_ceilings(notification, now):
            self._store.deliveries.mark(key, sub_id, 0, "capped")
            self._figures(now, capped=1)
            return SendOutcome.SENT
        settings = self._settings
        text = alert_text(notification, force_name=settings.force_name, base_url=settings.public_base_url,
                          budget=settings.sms_segment_budget)
        receipt = self.sender().send_text(str(target["address"]), text)
        return self._record(key, sub_id, receipt.outcome, receipt.message_id, text, now)

    def _to_text(self, target: dict[str, Any], notification: object) -> bool:
        return wants_text(self._settings, target, notification)

    def run(self, job: SmsJob) -> bool:
        """One queued text: True when finished (sent, refused, capped, texted already or nothing
        left to text), False to have the queue redeliver it (a transient failure). The number is
        the subscriber's confirmed one now (removed or stopped meanwhile: nothing is sent); the
        alert as it is now, still live (cancelled or expired meanwhile: nothing is sent). The text
        is that alert's one text whatever revision it reached: the job stands for the new alert."""
        sub = self._store.subscribers.get(job.subscriber_id)
        contact = next((c for c in sub.sendable_contacts() if c.type == CHANNEL), None) if sub else None
        alert = self._store.alerts.get(job.alert_id) if contact is not None else None
        if sub is None or contact is None or alert is None or not alert.live_at(self._clock()):
            return True
        note = notification_for(alert, sub.preferences.language, base_url=self._settings.public_base_url)
        return self.send(contact.target(sub.id), replace(note, msg_type="Alert")) is not SendOutcome.RETRY

    def handle_sqs_records(self, records: Iterable[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
        """(messageId, body) pairs -> the partial batch response SQS expects. A body that is not a
        job is reported failed: after the redrive count it lands in the DLQ (alarmed)."""
        return partial_batch_response(records, lambda body: self.run(decode_job(body)), "sms job", LOG)

    def _within_ceilings(self, note: Notification, now: datetime) -> bool:
        """The day's ceiling, then the alert's: each one conditional ADD (exact under concurrency).
        A text refused by the alert's ceiling has used one of the day's (conservative)."""
        settings, counters = self._settings, self._store.ratelimit
        if not counters.hit(f"sms-day#{to_rfc3339(now)[:10]}", limit=settings.sms_per_day_ceiling,
                            window_ends=_day_end(now)):
            return False
        return counters.hit(f"sms-alert#{note.alert_id}", limit=settings.sms_per_alert_ceiling,
                            window_ends=parse_rfc3339(note.expires_at) + KEEP)

    def _figures(self, now: datetime, **deltas: int) -> None:
        self._store.sms.add_figures(CHANNEL, to_rfc3339(now)[:10], deltas)

    def _record(self, key: str, sub_id: str, outcome: SendOutcome, message_id: str | None, text: str,
                now: datetime) -> SendOutcome:
        if outcome is SendOutcome.SENT:
            self._figures(now, sent=1, segments=count_segments(text).count)
            if message_id:
                self._store.sms.record_message(message_id, key, "sent", to_rfc3339(now), now + KEEP)
            return outcome
        if outcome is SendOutcome.RETRY and self._store.deliveries.mark_retry(key, sub_id, 0, MAX_ATTEMPTS):
            return outcome
        self._store.deliveries.mark(key, sub_id, 0, "failed")
        self._figures(now, failed=1)
        return SendOutcome.FAILED
