"""The confidence pulse's delivery, off the request path (docs/history.md "Residents' trust"). Pure.

`POST /v1/pulses` writes the pulse (`queued`) and enqueues one `PulseStep`; the pulse worker takes
one step per queue message: up to `ENTRIES_PER_STEP` entries of one area's followers (pages of the
subscription index, from `start`), then enqueues the next step (the same area from where it
stopped, the next area, or nothing: the pulse is `sent`). A step is resumable: the residents it
reaches are skipped by the next attempt (their once-only sent items), so a redelivered or retried
step writes no second inbox copy and claims no second push.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import Struct

PulseState = Literal["queued", "sending", "sent"]
QUEUED: PulseState = "queued"
SENDING: PulseState = "sending"
SENT: PulseState = "sent"
INDEX_PAGE = 500  # subscription index entries per Query page
ENTRIES_PER_STEP = 2_000  # index entries one message handles before the rest goes to the next message
STALLED_MINUTES = 15  # a pulse not `sent` whose progress is older than this is resumed by an identical POST


class PulseStep(Struct, kw_only=True, tag="pulse", tag_field="type"):
    """One queue message: deliver the pulse to the followers of its `area`-th area, from `start`
    (the subscription index's position; None: the area's first page)."""

    pulse: str
    area: int = 0
    start: dict[str, Any] | None = None
    step: int = 0  # how many steps came before (logs)


def encode_step(step: PulseStep) -> str:
    return msgspec.json.encode(step).decode()


def decode_step(body: str | bytes) -> PulseStep:
    return msgspec.json.decode(body, type=PulseStep)


def next_step(step: PulseStep, start: dict[str, Any] | None, areas: int) -> PulseStep | None:
    """Where the delivery goes on after this step: the rest of the area, the next area, or nowhere."""
    if start is not None:
        return PulseStep(pulse=step.pulse, area=step.area, start=start, step=step.step + 1)
    if step.area + 1 < areas:
        return PulseStep(pulse=step.pulse, area=step.area + 1, step=step.step + 1)
    return None


def counted_under(record_areas: set[str], pulse_areas: tuple[str, ...], index: int) -> bool:
    """A resident following several of the pulse's areas is asked once, under the first of them:
    the step of area `index` keeps them only when they follow no earlier one."""
    return pulse_areas[index] in record_areas and not record_areas & set(pulse_areas[:index])
