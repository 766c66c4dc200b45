"""Time source, injected so tests can pin "now"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    return lambda: at


def to_rfc3339(moment: datetime) -> str:
    """UTC, whole seconds, `Z` suffix, four-digit year: sorts lexicographically in time order.

    (strftime's %Y does not pad years before 1000 on glibc.) A client may send a time at the very
    edge of what datetime holds (0001-01-01T00:00+05:00): its UTC value is clamped to the edge
    rather than overflowing.
    """
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        utc = datetime.min.replace(tzinfo=UTC) if moment.year == 1 else datetime.max.replace(tzinfo=UTC)
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
