"""The fan-out worker: from a FanoutMessage to claimed, recorded, sent deliveries.

Per page of candidates (one Query of the cell index, or of an alert's delivery records):
1. exact geometry: keep subscribers whose own shape intersects the alert's area;
2. BatchGetItem the subscriber records (channel, preferences; erased ones are skipped);
3. preferences: categories and min_severity (first message only: Update/Cancel reach the same
   audience), quiet hours (pushes held back unless Severe/Extreme; released by housekeeping);
4. claim each delivery with a conditional write BEFORE sending (see store.deliveries);
5. inbox copies (BatchWriteItem) for everyone claimed, then pushes through the injected channels;
6. one UpdateItem ADD of the alert's counters for the whole message.

A send that fails transiently is recorded as `retry` and the message is reported failed, so the
redelivery re-sends only that one. A worker crash between claim and send loses that push rather
than risking a double push (the inbox copy is written before the send).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec

from chalicelib.clock import to_rfc3339
from chalicelib.domain.alerts import (
    AlertRecord,
    InboxEntry,
    Notification,
    bypasses_quiet_hours,
    notification_for,
    wanted_by,
)
from chalicelib.domain.geometry import AreaMatcher
from chalicelib.domain.shapes import Shape
from chalicelib.domain.subscribers import SubscriberRecord, quiet_until
from chalicelib.ports import FanoutMessage, FanoutQueue, Held, InboxCopy, Repositories, SendOutcome
from chalicelib.usecases.push import PushSender

LOG = logging.getLogger("beatline.fanout")
PAGE_SIZE = 500
BUDGET = 5_000  # index entries per message before the rest goes to a continuation message
MAX_ATTEMPTS = 5
DELIVERY_KEEP = timedelta(days=30)
RETRY_HELD = timedelta(minutes=5)  # delivery records and inbox copies outlive the alert by this


def _shapes(raw: list[dict[str, Any]]) -> list[Shape]:
    return msgspec.convert(raw, type=list[Shape])


@dataclass
class Outcome:
    figures: Counter[str] = field(default_factory=Counter[str])
    retry: bool = False


@dataclass(frozen=True)
class Wanted:
    sub: SubscriberRecord
    held: datetime | None  # quiet hours hold the push until then


@dataclass(frozen=True)
class Claimed:
    sub: SubscriberRecord
    held: datetime | None
    claim: Any  # the store's claim result (previous_state: None on a first claim)


class _NotificationCache:
    """One rendered notification per language for the alert."""

    def __init__(self, alert: AlertRecord, base_url: str) -> None:
        self._alert, self._base_url = alert, base_url
        self._by_language: dict[str | None, Notification] = {}

    def __call__(self, language: str | None) -> Notification:
        if language not in self._by_language:
            self._by_language[language] = notification_for(self._alert, language, base_url=self._base_url)
        return self._by_language[language]


def _wants(alert: AlertRecord, sub: SubscriberRecord) -> bool:
    prefs = sub.preferences
    return wanted_by(alert.content.severity, alert.content.category,
                     categories=prefs.categories, min_severity=prefs.min_severity)


def _held_until(alert: AlertRecord, sub: SubscriberRecord, now: datetime) -> datetime | None:
    if not sub.reached_beyond_inbox() or bypasses_quiet_hours(alert.content.severity):
        return None
    return quiet_until(sub.preferences.quiet_hours, now)


def _release(alert: AlertRecord, wanted: Wanted) -> tuple[str, str] | None:
    """The held push's release bucket (hour) and sort key; None when it goes now."""
    if wanted.held is None:
        return None
    held_text = to_rfc3339(wanted.held)
    return held_text[:13], f"{held_text}#{alert.id}#{wanted.sub.id}"


class FanoutWorker:
    """Alert fan-out: from a FanoutMessage to claimed, recorded, sent deliveries (pushes through
    the shared PushSender). Queue batches and held pushes are dispatched by usecases/push_worker.py."""

    def __init__(
        self,
        *,
        sender: PushSender,
        queue: Callable[[], FanoutQueue] | FanoutQueue | None,
        threads: int = 8,
        page_size: int = PAGE_SIZE,
        budget: int = BUDGET,
        batch_claims: bool = True,
        store: Repositories,
    ) -> None:
        self._store = store
        self._sender = sender
        self._queue = queue
        self._threads = threads
        self.page_size = page_size
        self.budget = budget
        self.batch_claims = batch_claims  # TransactWriteItems of 100 claims, else one UpdateItem each

    def _enqueue(self, messages: list[FanoutMessage]) -> None:
        queue = self._queue() if callable(self._queue) else self._queue
        if queue is None:
            raise RuntimeError("no fan-out queue for continuations")
        queue.enqueue(messages)

    # -- entry point -------------------------------------------------------------------------
    def process(self, message: FanoutMessage) -> bool:
        """True when the message is finished; False when some send must be retried later."""
        alert = self._store.alerts.get(message.alert_id)
        now = self._sender.now()
        if alert is None:
            return True
        status = alert.status_at(now)
        if status == "cancelled" and message.mode != "audience":
            return True  # nobody new learns of a cancelled alert
        if status not in ("published", "cancelled"):
            return True  # draft or expired: expired alerts stop showing anywhere
        if message.mode == "audience":
            return self._process_audience(alert, message, now)
        return self._process_cells(alert, message, now)

    # -- modes -------------------------------------------------------------------------------
    def _process_cells(self, alert: AlertRecord, message: FanoutMessage, now: datetime) -> bool:
        matcher = AreaMatcher(alert.area.shape)
        covered = set(alert.cells)
        outcome = Outcome()
        index, start, handled = message.cell_index, message.start, 0
        while index < len(message.cells):
            cell = message.cells[index]
            entries, start = self._store.subscribers.index_page(cell, self.page_size, start)
            handled += len(entries)
            # A subscriber is indexed under each of its cells: handle it only in the first one the
            # alert covers (saves the duplicate claims), and only if its own shape intersects.
            matching = [sid for sid, shapes, cells in entries
                        if min((c for c in cells if c in covered), default=cell) == cell
                        and matcher.any_intersects(_shapes(shapes))]
            self._deliver(alert, matching, now, outcome, first_message=True, cell=cell)
            if start is None:
                index += 1
            if handled >= self.budget and index < len(message.cells):
                self._enqueue([msgspec.structs.replace(message, cell_index=index, start=start)])
                break
        self._store.alerts.add_figures(alert.id, outcome.figures)
        return not outcome.retry

    def _process_audience(self, alert: AlertRecord, message: FanoutMessage, now: datetime) -> bool:
        outcome = Outcome()
        start, handled = message.start, 0
        while True:
            subscriber_ids, start = self._store.deliveries.audience_page(alert.id, message.shard, self.page_size, start)
            handled += len(subscriber_ids)
            self._deliver(alert, subscriber_ids, now, outcome, first_message=False)
            if start is None:
                break
            if handled >= self.budget:
                self._enqueue([msgspec.structs.replace(message, start=start)])
                break
        self._store.alerts.add_figures(alert.id, outcome.figures)
        return not outcome.retry

    # -- delivery: select, claim, inbox, send, record ----------------------------------------
    def _deliver(self, alert: AlertRecord, subscriber_ids: list[str], now: datetime, outcome: Outcome,
                 *, first_message: bool, cell: str | None = None) -> None:
        if not subscriber_ids:
            return
        wanted = self._select(alert, subscriber_ids, now, first_message=first_message, cell=cell)
        keep_until = _parse(alert.expires) + DELIVERY_KEEP
        claimed = self._claim(alert, wanted, to_rfc3339(now), keep_until)
        if not claimed:
            return
        outcome.figures["targeted"] += sum(1 for c in claimed if c.claim.previous_state is None)
        note = _NotificationCache(alert, self._sender.base_url)
        self._store.subscribers.put_inbox(
            InboxCopy(c.sub.id, InboxEntry.sort_key(alert), InboxEntry.json(note(c.sub.preferences.language), alert.infos()),
                      keep_until)
            for c in claimed
        )
        sends = self._count_inbox_only(claimed, outcome)
        results = self._map(lambda c: self._send(c.sub, note(c.sub.preferences.language)), sends)
        for c, result in zip(sends, results, strict=True):
            self._record(alert, c.sub, c.claim.previous_state, result, outcome)

    def _select(self, alert: AlertRecord, subscriber_ids: list[str], now: datetime, *, first_message: bool,
                cell: str | None) -> list[Wanted]:
        """The subscribers that still exist, are still indexed here and want this alert; with the
        time quiet hours hold their push until (None: send now)."""
        subscribers = self._store.subscribers.many(subscriber_ids)
        wanted: list[Wanted] = []
        for sid in dict.fromkeys(subscriber_ids):
            sub = subscribers.get(sid)
            if sub is None or (cell is not None and cell not in sub.cells):
                continue  # erased, or a stale index entry
            if first_message and not _wants(alert, sub):
                continue
            wanted.append(Wanted(sub, _held_until(alert, sub, now)))
        return wanted

    def _claim(self, alert: AlertRecord, wanted: list[Wanted], now_text: str, keep_until: datetime) -> list[Claimed]:
        """Conditional claims before any send: only what this call claimed goes on (exactly once)."""
        items = [(w.sub.id, "held" if w.held else "claimed", _release(alert, w)) for w in wanted]
        if self.batch_claims:
            got = self._store.deliveries.claim_many(alert.id, alert.revision, items, now_text=now_text,
                                                    expires_at=keep_until)
        else:
            results = self._map(lambda item: self._store.deliveries.claim(
                alert.id, item[0], alert.revision, state=item[1], now_text=now_text, expires_at=keep_until,
                release=item[2]), items)
            got = {c.subscriber_id: c for c in results if c is not None}
        return [Claimed(w.sub, w.held, got[w.sub.id]) for w in wanted if w.sub.id in got]

    @staticmethod
    def _count_inbox_only(claimed: list[Claimed], outcome: Outcome) -> list[Claimed]:
        """Inbox-only subscribers are served by the inbox copy; the rest to push now (not held)."""
        sends = []
        for c in claimed:
            if not c.sub.reached_beyond_inbox():
                outcome.figures["sent"] += 1
                if c.claim.previous_state == "retry":
                    outcome.figures["failed"] -= 1
            elif c.held is None:
                sends.append(c)
        return sends

    def _send(self, sub: SubscriberRecord, notification: Notification) -> SendOutcome:
        return self._sender.send(sub, notification)

    def _record(self, alert: AlertRecord, sub: SubscriberRecord, previous_state: str | None, result: SendOutcome,
                outcome: Outcome) -> None:
        """Count the outcome of one send and record it on the delivery (gone/retry/failed)."""
        was_failed = previous_state == "retry"
        if result is SendOutcome.SENT:
            outcome.figures["sent"] += 1
            if was_failed:
                outcome.figures["failed"] -= 1
            return
        if not was_failed:
            outcome.figures["failed"] += 1
        if result is SendOutcome.GONE:
            self._store.deliveries.mark(alert.id, sub.id, alert.revision, "gone")
            self._store.subscribers.downgrade_to_inbox(sub.id, str(sub.channel.get("type")))
            return
        if result is SendOutcome.FAILED:  # refused for good (e.g. 400/413): keep the subscription, no retry
            self._store.deliveries.mark(alert.id, sub.id, alert.revision, "failed")
            return
        if self._store.deliveries.mark_retry(alert.id, sub.id, alert.revision, MAX_ATTEMPTS):
            outcome.retry = True  # else attempts are spent: recorded `failed`

    def _map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        if len(items) <= 2 or self._threads <= 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=self._threads) as pool:
            return list(pool.map(fn, items))

    # -- quiet hours -------------------------------------------------------------------------
    def release(self, held: Held, now: datetime, alerts: dict[str, AlertRecord | None]) -> int:
        """Send one alert push held back by quiet hours (`alerts`: the run's cache of alert reads)."""
        if held.alert_id not in alerts:
            alerts[held.alert_id] = self._store.alerts.get(held.alert_id)
        alert = alerts[held.alert_id]
        deliveries = self._store.deliveries
        if alert is None or alert.revision != held.revision or not deliveries.release(
                held.alert_id, held.subscriber_id, held.revision):
            return 0
        if alert.status_at(now) not in ("published", "cancelled"):
            deliveries.mark(alert.id, held.subscriber_id, held.revision, "expired")
            return 0
        sub = self._store.subscribers.get(held.subscriber_id)
        if sub is None:
            return 0
        outcome = Outcome()
        result = self._send(sub, notification_for(alert, sub.preferences.language, base_url=self._sender.base_url))
        self._record(alert, sub, "held", result, outcome)
        if outcome.retry:  # hold it again; the next run after RETRY_HELD tries once more
            again = to_rfc3339(now + RETRY_HELD)
            deliveries.claim(alert.id, sub.id, held.revision, state="held", now_text=to_rfc3339(now),
                             expires_at=_parse(alert.expires) + DELIVERY_KEEP,
                             release=(again[:13], f"{again}#{alert.id}#{sub.id}"))
        self._store.alerts.add_figures(alert.id, outcome.figures)
        return 1


def _parse(text: str) -> datetime:
    from chalicelib.clock import parse_rfc3339

    return parse_rfc3339(text)



IN_FORCE_MAX = 200  # live alerts looked at when a resident follows new areas (one Query of `by_public`)


def _in_force_for(alert: AlertRecord, sub: SubscriberRecord, new_cells: set[str], shapes: list[Shape],
                  now: datetime) -> bool:
    """Published, over one of the newly followed cells, intersecting the resident's own shapes, wanted."""
    if alert.status_at(now) != "published" or not new_cells.intersection(alert.cells) or not _wants(alert, sub):
        return False
    return AreaMatcher(alert.area.shape).any_intersects(shapes)


def deliver_in_force(store: Repositories, sub: SubscriberRecord, new_cells: set[str], now: datetime, *,
                     base_url: str) -> int:
    """Alerts already in force over areas a resident starts following land in their inbox (no
    push: they are not news). The same exactly-once claim as the fan-out: whichever claims the
    (alert, subscriber) first writes its one inbox copy, so a fan-out running meanwhile adds no
    duplicate. Bounded work: one Query of the live alerts, never a Scan."""
    if not new_cells:
        return 0
    shapes = _shapes([a["shape"] for a in sub.areas])
    delivered = 0
    for alert in store.alerts.public_live(now, None, IN_FORCE_MAX):
        if not _in_force_for(alert, sub, new_cells, shapes, now):
            continue
        keep_until = _parse(alert.expires) + DELIVERY_KEEP
        if store.deliveries.claim(alert.id, sub.id, alert.revision, state="inbox", now_text=to_rfc3339(now),
                                  expires_at=keep_until) is None:
            continue  # the fan-out (or an earlier save) delivered it
        note = notification_for(alert, sub.preferences.language, base_url=base_url)
        store.subscribers.put_inbox([InboxCopy(sub.id, InboxEntry.sort_key(alert), InboxEntry.json(note, alert.infos()),
                                               keep_until)])
        store.alerts.add_figures(alert.id, {"targeted": 1, "sent": 1})
        delivered += 1
    return delivered
