"""The pulse worker (the `pulse_worker` function in app.py; in-process locally): one step of a
confidence pulse's delivery per queue message. Its dependencies are explicit (like the export and
fan-out workers'), built by `Services.pulse_worker()`; writing the pulse is usecases/pulses.py.

A step reaches one area's followers a page of the subscription index at a time, up to a budget of
index entries, and hands the rest on to the next message (domain/pulses.py). Per page: inbox copies,
then the pushes (NoticePush messages; the notice pusher claims each resident before sending), then
the once-only `sent#<subscriber>` items. A resident with a sent item is skipped, so a retried or
redelivered step writes no second inbox copy and queues no second push, and a step cut short
(before its sent items) is completed by its redelivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec

from chalicelib.clock import Clock, parse_rfc3339, to_rfc3339
from chalicelib.domain import pulses as steps
from chalicelib.domain import trust as rules
from chalicelib.domain.areas import AreaRecord
from chalicelib.domain.notices import PULSE, chunks
from chalicelib.domain.pulses import SENDING, SENT, PulseStep
from chalicelib.domain.shapes import Shape
from chalicelib.domain.subscribers import SUBSCRIPTION_RESOLUTION, PulseInboxItem
from chalicelib.domain.trust import Pulse, PulseSent
from chalicelib.ports import FanoutQueue, InboxCopy, NoticePush, PulseQueue, Repositories
from chalicelib.usecases.batches import partial_batch_response

LOG = logging.getLogger("beatline.pulses")
PULSE_DAYS = 30  # a pulse stays in the inbox, answerable, this long (its sent items expire then)


def pulse_expiry(pulse: Pulse) -> datetime:
    return parse_rfc3339(pulse.created_at) + timedelta(days=PULSE_DAYS)


def inbox_copy(pulse: Pulse, sent: PulseSent, answered: bool = False) -> InboxCopy:
    expires = pulse_expiry(pulse)
    item = PulseInboxItem(pulse_id=pulse.id, question=pulse.question, area_id=sent.area_id,
                          sent_at=pulse.created_at, expires_at=to_rfc3339(expires), answered=answered)
    return InboxCopy(sent.subscriber_id, sent.inbox_key, msgspec.json.encode(item).decode(), expires)


class PulseWorker:
    def __init__(self, *, store: Repositories, sample_key: Callable[[], bytes],
                 cover: Callable[[Shape, int], set[str]], pushes: Callable[[], FanoutQueue],
                 queue: Callable[[], PulseQueue], clock: Clock, page_size: int = steps.INDEX_PAGE,
                 budget: int = steps.ENTRIES_PER_STEP) -> None:
        self._store = store
        self._sample_key = sample_key
        self._cover = cover
        self._pushes = pushes
        self._queue = queue
        self._clock = clock
        self._page_size = page_size
        self._budget = budget

    def run_step(self, step: PulseStep) -> int:
        """One step, then the next queued (or the pulse marked `sent`): the residents it reached.
        A step of a sent (or unknown) pulse does nothing."""
        pulse = self._store.trust.get_pulse(step.pulse)
        if pulse is None or pulse.state == SENT or step.area >= len(pulse.areas):
            LOG.info("pulse step for %s dropped (%s)", step.pulse, pulse.state if pulse else "no such pulse")
            return 0
        area = self._store.areas.get(pulse.areas[step.area])
        reached, start = self._walk(pulse, step, area) if area is not None else (0, None)
        following = steps.next_step(step, start, len(pulse.areas))
        self._store.trust.advance_pulse(pulse.id, SENDING if following is not None else SENT, reached,
                                        to_rfc3339(self._clock()))
        if following is not None:
            self._queue().send(following)  # QueueUnavailable: this message fails and is redelivered
        return reached

    def handle_sqs_records(self, records: list[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
        """(messageId, body) pairs -> SQS's partial batch response: a failed step is redelivered."""
        return partial_batch_response(records, lambda body: self.run_step(steps.decode_step(body)),
                                      "pulse step", LOG)

    def _walk(self, pulse: Pulse, step: PulseStep, area: AreaRecord) -> tuple[int, dict[str, Any] | None]:
        """The area's followers from `step.start`, page by page, until the budget of index entries
        is spent: (residents reached, where the next step starts; None: the area is done). A named
        area's followers are indexed under every cell of its cover: one cell's partition holds them all."""
        cells = sorted(self._cover(area.geometry, SUBSCRIPTION_RESOLUTION))
        if not cells:
            return 0, None
        start, handled, reached = step.start, 0, 0
        while True:
            page, start = self._store.subscribers.index_page(cells[0], self._page_size, start)
            handled += len(page)
            reached += self._deliver_page(pulse, step.area, area, [subscriber_id for subscriber_id, _, _ in page])
            if start is None or handled >= self._budget:
                return reached, start

    def _audience(self, pulse: Pulse, index: int, area: AreaRecord, candidates: list[str]) -> list[PulseSent]:
        """The page's sampled followers counted under this area (not under an earlier one) whom the
        pulse has not reached yet."""
        key = self._sample_key()
        sampled = [sid for sid in dict.fromkeys(candidates) if rules.sampled(key, pulse.id, sid, pulse.sample)]
        records = self._store.subscribers.many(sampled)
        followers = [sid for sid in sorted(records)
                     if steps.counted_under({str(a.get("area_id")) for a in records[sid].areas}, pulse.areas, index)]
        inbox_key = f"{pulse.created_at}#pulse#{pulse.id}"
        return [PulseSent(subscriber_id=sid, area_id=area.id, team=area.team, inbox_key=inbox_key)
                for sid in self._store.trust.unsent(pulse.id, followers)]

    def _deliver_page(self, pulse: Pulse, index: int, area: AreaRecord, candidates: list[str]) -> int:
        """The inbox copy, then the push, then the sent item of each resident the page reaches."""
        reach = self._audience(pulse, index, area, candidates)
        if not reach:
            return 0
        self._store.subscribers.put_inbox(inbox_copy(pulse, s) for s in reach)
        # QueueUnavailable propagates: the message fails before the sent items, so its redelivery pushes them.
        self._pushes().enqueue([NoticePush(kind=PULSE, ref=pulse.id, subscribers=chunk)
                                for chunk in chunks([s.subscriber_id for s in reach])])
        self._store.trust.mark_sent(pulse.id, reach, to_rfc3339(self._clock()), pulse_expiry(pulse))
        return len(reach)
