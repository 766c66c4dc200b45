"""Alert texts: one SMS per alert per subscriber, only at or above the force's severity threshold
unless the resident asked for more, within the segment budget, under per-alert and per-day
ceilings (docs/channels.md, the SMS channel).

Per target, in this order: the severity rule; the exactly-once claim (a delivery record keyed
`sms:<alert>`, the fan-out's conditional claim, so a redelivered batch texts nobody twice); the
ceilings (two conditional counters, the day's first: a text refused by either is `capped`, never
sent later); compose in the resident's language; send; record the message's status and the
day's figures. A transient failure is recorded `retry` (the claim can be taken again by the
redelivery, up to MAX_ATTEMPTS); a refused text is `failed`.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.clock import Clock, parse_rfc3339, to_rfc3339
from chalicelib.domain.alerts import AlertRecord, InfoBlock, pick_language
from chalicelib.domain.sms import compose, sms_wanted
from chalicelib.domain.subscribers import SubscriberRecord
from chalicelib.ports import Repositories, SendOutcome, SmsSender
from chalicelib.settings import Settings

LOG = logging.getLogger("beatline.sms")
MAX_ATTEMPTS = 5
KEEP = timedelta(days=30)
MESSAGE_KEEP = timedelta(days=30)
CHANNEL = "sms"

SEVERITY_WORDS = {
    "en": {"Extreme": "EXTREME", "Severe": "Severe", "Moderate": "Moderate", "Minor": "Minor", "Unknown": "Alert"},
    "cy": {"Extreme": "EITHAFOL", "Severe": "Difrifol", "Moderate": "Cymedrol", "Minor": "Bach", "Unknown": "Rhybudd"},
}


def delivery_key(alert_id: str) -> str:
    """The delivery record of an alert's SMS: its own key, so the push claim and the SMS claim are
    each exactly once and never block each other."""
    return f"sms:{alert_id}"


@dataclass(frozen=True)
class SmsTarget:
    """A subscriber with a confirmed number (the number only in memory, on its way to the service)."""

    sub: SubscriberRecord
    number: str
    asked_for: str | None = None  # a severity lower (or higher) than the force's threshold


def alert_link(base_url: str, alert_id: str) -> str:
    return f"{base_url}/app/#alert={alert_id}"


def alert_text(alert: AlertRecord, language: str | None, *, force_name: str, base_url: str, budget: int) -> str:
    """The alert in the resident's language: `<force> <severity>: <headline>. <instruction or
    description>` cut to the budget, then the link to the full alert."""
    infos = alert.infos()
    info: InfoBlock = infos[pick_language(language, [i.language for i in infos])]
    words = SEVERITY_WORDS["cy" if info.language.lower().startswith("cy") else "en"]
    severity = alert.content.severity
    prefix = f"{force_name} {words.get(severity, severity)}:"
    body = f"{info.headline.rstrip('.')}. {info.instruction or info.description}"
    return compose(prefix, body, alert_link(base_url, alert.id), budget).text


def _day_end(now: datetime) -> datetime:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)


class AlertTexts:
    """Sends an alert's SMS to the targets the fan-out found (already past geometry and preferences)."""

    def __init__(self, *, store: Repositories, sender: SmsSender, settings: Settings, clock: Clock) -> None:
        self._store, self._sender, self._settings, self._clock = store, sender, settings, clock

    def deliver(self, alert: AlertRecord, targets: list[SmsTarget]) -> bool:
        """False when some text must be retried later (the queue redelivers the message)."""
        now = self._clock()
        figures: Counter[str] = Counter()
        retry = False
        for target in targets:
            retry = self._one(alert, target, now, figures) or retry
        if figures:
            self._store.sms.add_figures(CHANNEL, to_rfc3339(now)[:10], figures)
        return not retry

    def _one(self, alert: AlertRecord, target: SmsTarget, now: datetime, figures: Counter[str]) -> bool:
        """One target; True when its text is to be retried."""
        if not sms_wanted(alert.content.severity, threshold=self._settings.sms_min_severity, asked_for=target.asked_for):
            return False
        key, sub_id = delivery_key(alert.id), target.sub.id
        expires = parse_rfc3339(alert.expires) + KEEP
        if self._store.deliveries.claim(key, sub_id, 0, state="claimed", now_text=to_rfc3339(now),
                                        expires_at=expires) is None:
            return False  # texted already (a redelivered batch)
        if not self._within_ceilings(alert, now):
            self._store.deliveries.mark(key, sub_id, 0, "capped")
            figures["capped"] += 1
            return False
        text = alert_text(alert, target.sub.preferences.language, force_name=self._settings.force_name,
                          base_url=self._settings.public_base_url, budget=self._settings.sms_segment_budget)
        receipt = self._sender.send_text(target.number, text)
        return self._record(alert, sub_id, receipt.outcome, receipt.message_id, text, now, figures)

    def _within_ceilings(self, alert: AlertRecord, now: datetime) -> bool:
        """The day's ceiling, then the alert's: each one conditional ADD (exact under concurrency).
        A text refused by the alert's ceiling has used one of the day's (conservative)."""
        settings, counters = self._settings, self._store.ratelimit
        day_end = _day_end(now)
        if not counters.hit(f"sms-day#{to_rfc3339(now)[:10]}", limit=settings.sms_per_day_ceiling, window_ends=day_end):
            return False
        return counters.hit(f"sms-alert#{alert.id}", limit=settings.sms_per_alert_ceiling,
                            window_ends=parse_rfc3339(alert.expires) + KEEP)

    def _record(self, alert: AlertRecord, sub_id: str, outcome: SendOutcome, message_id: str | None, text: str,
                now: datetime, figures: Counter[str]) -> bool:
        key = delivery_key(alert.id)
        if outcome is SendOutcome.SENT:
            from chalicelib.domain.sms import count_segments

            figures["sent"] += 1
            figures["segments"] += count_segments(text).count
            if message_id:
                self._store.sms.record_message(message_id, f"alert:{alert.id}", "sent", to_rfc3339(now), now + MESSAGE_KEEP)
            return False
        if outcome is SendOutcome.RETRY and self._store.deliveries.mark_retry(key, sub_id, 0, MAX_ATTEMPTS):
            return True
        self._store.deliveries.mark(key, sub_id, 0, "failed")
        figures["failed"] += 1
        return False
