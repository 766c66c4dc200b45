"""Analysts' history: index keys, pseudonymised rows, query plans, periods and CSV. Pure, no I/O.

Index design (see docs/history.md): every contact item carries up to 12 history index keys, one
per *shape* of filter combination it can answer, each the partition key of one sparse GSI on the
contacts table. A key is `<values>|<month>` (month = `YYYY-MM` of `occurred_at`, UTC) so every
index partition holds at most one month; the common GSI sort key is `occurred_at#id`. A query
reads exactly the rows it returns (plus one empty read per month partition it walks past).

Shapes: optional team (t) x optional topic (p) x a channel group:
- base (`hb_*`): no kind/platform/area filter             (all contacts)
- kind (`hk_*`): `kind=street|online`                     (all contacts)
- place (`hx_*`): `area_id=` (street, when tagged) or `platform=` (online). A contact is either
  street or online, so the two share GSIs: a street item writes `a:<area>` keys, an online item
  `f:<platform>` keys, never both.
Filters implied by others (platform => online, area => street) are folded into the shape;
contradictory ones (area with kind=online, platform with kind=street) answer empty without I/O.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from chalicelib.domain import geo, stats_keys
from chalicelib.domain.contact_schemas import PLATFORMS, SYSTEM_PLATFORMS, TOPICS, AwareDatetime
from chalicelib.domain.contacts import AuthorKind, ContactRecord, author_kind
from chalicelib.domain.errors import FieldError, RuleViolation
from chalicelib.domain.pseudonyms import Pseudonymizer

MAX_RANGE_DAYS = 366
PAGE_LIMIT_MAX = 200
PAGE_LIMIT_DEFAULT = 50

GROUPS = ("b", "k", "x")  # base, kind, place (area or platform)
SUBSETS = ("", "t", "p", "tp")  # none, team, topic, team+topic
INDEX_ATTRIBUTES = tuple(f"h{group}_{subset or 'all'}" for group in GROUPS for subset in SUBSETS)
SORT_ATTRIBUTE = "hsk"
ROW_ATTRIBUTE = "hrow"

Purpose = Annotated[
    str,
    Meta(min_length=3, max_length=200, description="Why the data is consulted (kept in the access log)."),
]
TeamFilter = Annotated[str, Meta(min_length=1, max_length=64)]
AreaFilter = Annotated[str, Meta(min_length=1, max_length=64)]
Cursor = Annotated[str, Meta(max_length=4096)]


class HistoryQuery(Struct, forbid_unknown_fields=True, kw_only=True):
    from_: AwareDatetime = msgspec.field(name="from")
    to: AwareDatetime
    purpose: Purpose
    area_id: AreaFilter | None = None
    team: TeamFilter | None = None
    kind: Literal["street", "online"] | None = None
    platform: Literal[PLATFORMS + SYSTEM_PLATFORMS] | None = None  # type: ignore[valid-type]
    topic: Literal[TOPICS] | None = None  # type: ignore[valid-type]
    limit: Annotated[int, Meta(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT
    cursor: Cursor | None = None


class HistoryRow(Struct, omit_defaults=True, kw_only=True):
    """One pseudonymised contact: no id, notes, handles, thread refs, tags or exact location, and
    the time only to the minute (so a row cannot be matched to the full record by id or second)."""

    row: Annotated[str, Meta(description="Stable keyed pseudonym of the contact (`row_...`), never its id.")]
    occurred_at: Annotated[str, Meta(description="UTC, truncated to the minute (seconds always `00`).")]
    kind: str
    topic: str
    outcome: str
    team: str
    author_kind: Annotated[AuthorKind, Meta(description=(
        "Who logged it: `staff` (an officer or supervisor, named by `officer`), `resident` (a "
        "resident's message or alert reply) or `system`. Only staff rows carry `officer`."))]
    officer: Annotated[str | None, Meta(description=(
        "Stable keyed pseudonym of the officer, never the id; absent when `author_kind` is not `staff`."))] = None
    cell: Annotated[str | None, Meta(description="H3 resolution-7 cell (~5 km²) of a street contact.")] = None
    area_id: str | None = None
    setting: str | None = None
    platform: str | None = None
    direction: str | None = None
    author_rank: Annotated[str | None, Meta(description=(
        "The staff author's rank when they logged it (`constable`, ..., `staff`); absent when "
        "their token carried none or the author is not staff."))] = None
    author_role: Annotated[str | None, Meta(description=(
        "The role a staff author logged it under (`officer`, `supervisor`); absent when the author "
        "is not staff or the contact was logged before roles were recorded."))] = None
    conversation: Annotated[str | None, Meta(description=(
        "Keyed pseudonym (`cnv_...`) of the conversation a message belongs to, never its id: the same "
        "conversation gives the same value across rows, pages and calls. Absent on logged contacts."))] = None
    alert: Annotated[str | None, Meta(description=(
        "Keyed pseudonym (`alr_...`) of the alert a resident's reply, and the conversation it opened, "
        "answer; stable per alert. Absent when the row belongs to no alert."))] = None


class HistoryPage(Struct):
    items: list[HistoryRow]
    next_cursor: str | None


CSV_COLUMNS = ("row", "occurred_at", "kind", "topic", "outcome", "team", "officer", "cell", "area_id",
               "setting", "platform", "direction", "author_kind", "author_rank", "author_role", "conversation",
               "alert")


# --- write side: the index attributes of one contact ---------------------------------------

def _subset_parts(subset: str, team: str, topic: str) -> list[str]:
    parts = []
    if "t" in subset:
        parts.append(f"t:{team}")
    if "p" in subset:
        parts.append(f"p:{topic}")
    return parts


def index_key(group: str, subset: str, *, team: str, topic: str, channel: str | None, month: str) -> str:
    parts = _subset_parts(subset, team, topic)
    if channel:
        parts.append(channel)
    return "|".join([*parts, month])


def index_name(group: str, subset: str) -> str:
    return f"h{group}_{subset or 'all'}"


def stored_row(record: ContactRecord) -> dict[str, Any]:
    """What the indexes project (the officer still as the id: pseudonymised when read)."""
    row: dict[str, Any] = {
        "id": record.id, "occurred_at": record.occurred_at, "kind": record.kind, "topic": record.topic,
        "outcome": record.outcome, "team": record.team, "author": record.author,
    }
    if record.author_kind != "staff":
        row["author_kind"] = record.author_kind
    optional = {
        "cell": geo.coarse_cell(record.cell) if record.cell else None, "area_id": record.area_id,
        "setting": record.setting, "platform": record.platform, "direction": record.direction,
        "author_rank": record.author_rank if record.author_kind == "staff" else None,
        "author_role": record.author_role if record.author_kind == "staff" else None,
        "conversation_id": record.conversation_id, "alert_id": record.alert_id,
    }
    row.update({k: v for k, v in optional.items() if v is not None})
    return row


def index_attributes(record: ContactRecord) -> dict[str, str | None]:
    """The GSI attributes of a contact item (None: the item is not in that sparse index)."""
    month = record.occurred_at[:7]
    place = None
    if record.kind == "street" and record.area_id:
        place = f"a:{record.area_id}"
    elif record.kind == "online" and record.platform:
        place = f"f:{record.platform}"
    channels = {"b": "", "k": f"k:{record.kind}", "x": place}
    attributes: dict[str, str | None] = {}
    for group in GROUPS:
        for subset in SUBSETS:
            channel = channels[group]
            attributes[index_name(group, subset)] = (
                None if channel is None
                else index_key(group, subset, team=record.team, topic=record.topic, channel=channel, month=month)
            )
    attributes[SORT_ATTRIBUTE] = f"{record.occurred_at}#{record.id}"
    attributes[ROW_ATTRIBUTE] = json.dumps(stored_row(record), separators=(",", ":"), sort_keys=True)
    return attributes


# --- read side ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """Which GSI answers a filter combination, and its partition key for a month."""

    index: str
    parts: tuple[str, ...]
    empty: bool = False

    def partition(self, month: str) -> str:
        return "|".join([*self.parts, month])


def plan(*, team: str | None, area_id: str | None, kind: str | None, platform: str | None,
         topic: str | None) -> Plan:
    subset = ("t" if team else "") + ("p" if topic else "")
    parts = _subset_parts(subset, team or "", topic or "")
    group, channel = _channel(area_id, kind, platform)
    if channel:
        parts.append(channel)
    return Plan(index=index_name(group, subset), parts=tuple(parts), empty=_contradictory(area_id, kind, platform))


def _contradictory(area_id: str | None, kind: str | None, platform: str | None) -> bool:
    """Filters no contact can match: a place with online filters, a platform on street contacts."""
    if area_id is not None and (kind == "online" or platform is not None):
        return True
    return platform is not None and kind == "street"


def _channel(area_id: str | None, kind: str | None, platform: str | None) -> tuple[str, str]:
    """The index group and the channel part of its key: place, platform, kind, or none."""
    if area_id is not None:
        return "x", f"a:{area_id}"
    if platform is not None:
        return "x", f"f:{platform}"
    if kind is not None:
        return "k", f"k:{kind}"
    return "b", ""


def months_desc(start: datetime, end: datetime) -> list[str]:
    """`YYYY-MM` of every month touched by [start, end], newest first (UTC)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    year, month = end.year, end.month
    months = []
    while (year, month) >= (start.year, start.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def check_range(start: date, end: date, max_days: int = MAX_RANGE_DAYS) -> None:
    """`from` <= `to`, at most `max_days` apart (datetimes or whole days, both of one kind)."""
    if start > end:
        raise RuleViolation("`from` is after `to`.", [FieldError("from", "must not be after `to`")])
    if end - start > timedelta(days=max_days):
        raise RuleViolation(
            f"The time range is longer than {max_days} days.",
            [FieldError("to", f"at most {max_days} days after `from`")],
        )


def to_minute(occurred_at: str) -> str:
    """`2026-11-24T09:30:59Z` -> `2026-11-24T09:30:00Z` (stored times are UTC, whole seconds)."""
    return occurred_at[:17] + "00Z" if len(occurred_at) == 20 and occurred_at.endswith("Z") else occurred_at


def _linked(data: dict[str, Any], field: str, pseudonym: Callable[[str], str] | None) -> str | None:
    """A stored id the row may carry only as its keyed pseudonym (dropped without one)."""
    raw = data.pop(field, None)
    return pseudonym(raw) if raw and pseudonym is not None else None


def to_row(stored: str, officer_pseudonym: Callable[[str], str], row_pseudonym: Callable[[str], str],
           conversation_pseudonym: Callable[[str], str] | None = None,
           alert_pseudonym: Callable[[str], str] | None = None) -> HistoryRow:
    """The analyst's row: the stored ids and author replaced by keyed pseudonyms, time to the minute.
    Only a staff author gets an officer pseudonym (rows stored before `author_kind` was projected
    are told by their author id)."""
    data = json.loads(stored)
    author = data.pop("author")
    kind = data.pop("author_kind", None) or author_kind(author, None)
    contact_id = data.pop("id")
    occurred = to_minute(data.pop("occurred_at"))
    officer = officer_pseudonym(author) if kind == "staff" else None
    conversation = _linked(data, "conversation_id", conversation_pseudonym)
    alert = _linked(data, "alert_id", alert_pseudonym)
    return HistoryRow(row=row_pseudonym(contact_id), occurred_at=occurred, author_kind=kind, officer=officer,
                      conversation=conversation, alert=alert, **data)


def pseudonymised_row(stored: str, names: Pseudonymizer) -> HistoryRow:
    """One stored `hrow` as analysts see it (every id a keyed pseudonym): pages, CSV and exports."""
    return to_row(stored, names.officer, names.history_row, names.conversation, names.alert)


# --- CSV ---------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: Any) -> str:
    """Spreadsheet formula injection: a cell a spreadsheet could evaluate gets a leading `'`."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(rows: Iterable[HistoryRow]) -> str:
    """RFC 4180: CRLF line ends, quoted where needed, a header line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect="excel", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([neutralise(getattr(row, column)) for column in CSV_COLUMNS])
    return buffer.getvalue()


# --- statistics --------------------------------------------------------------------------------

StatsDimension = Literal["area", "team", "kind", "platform", "topic", "direction", "outcome", "cell"]
GroupBy = Literal["day", "week", "month"]
DayOrTime = Annotated[str, Meta(min_length=10, max_length=40, description="YYYY-MM-DD or RFC 3339 (UTC day taken).")]


class StatsQuery(Struct, forbid_unknown_fields=True, kw_only=True):
    from_: DayOrTime = msgspec.field(name="from")
    to: DayOrTime
    group_by: GroupBy = "day"
    by: StatsDimension
    purpose: Purpose
    team: TeamFilter | None = None


class StatsBucket(Struct):
    period: str
    key: str
    contacts: int


AS_OF_DESCRIPTION = (
    "The newest contact change these figures include (RFC 3339, UTC): counters are derived from the "
    "contacts table's change stream, so a contact logged or amended just now may be missing for the "
    "stream's delay (normally a second or two). null: no change applied yet.")


class StatsOut(Struct):
    buckets: list[StatsBucket]
    as_of: Annotated[str | None, Meta(description=AS_OF_DESCRIPTION)] = None


def day_range(text_from: str, text_to: str) -> tuple[date, date]:
    """The whole UTC days of a figures query (stats, conversations, trust), checked by `check_range`."""
    day_from, day_to = parse_day(text_from, "from"), parse_day(text_to, "to")
    check_range(day_from, day_to)
    return day_from, day_to


def parse_day(text: str, field: str) -> date:
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RuleViolation("Bad date.", [FieldError(field, "expected YYYY-MM-DD or RFC 3339")]) from None
    if moment.tzinfo is None:
        raise RuleViolation("Bad date.", [FieldError(field, "a time needs an offset (UTC is used)")])
    return moment.astimezone(UTC).date()


period_of = stats_keys.period_of  # UTC day -> `2026-11-28` | ISO week `2026-W48` | `2026-11`


def aggregate(counters: Iterable[tuple[str, int]], keep: Any = None) -> list[StatsBucket]:
    """Counter items (`<period>|value`, n) of one grain -> buckets sorted by period then key."""
    totals: dict[tuple[str, str], int] = {}
    for bucket, count in counters:
        period, _, value = bucket.partition("|")
        if keep is not None:
            value = keep(value)
            if value is None:
                continue
        key = (period, value)
        totals[key] = totals.get(key, 0) + count
    return [StatsBucket(period=p, key=k, contacts=n) for (p, k), n in sorted(totals.items()) if n]


# --- alerts figures ----------------------------------------------------------------------------

class AlertHistoryQuery(Struct, forbid_unknown_fields=True, kw_only=True):
    from_: AwareDatetime = msgspec.field(name="from")
    to: AwareDatetime
    purpose: Purpose
    limit: Annotated[int, Meta(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT
    cursor: Cursor | None = None


class AlertFigures(Struct, kw_only=True):
    id: str
    team: str
    headline: str
    status: str
    published_at: str
    targeted: int = 0
    sent: int = 0
    failed: int = 0
    read: int = 0
    responses: int = 0


class AlertTotals(Struct, kw_only=True):
    alerts: int = 0
    targeted: int = 0
    sent: int = 0
    failed: int = 0
    read: int = 0
    responses: int = 0


class AlertHistoryPage(Struct):
    items: list[AlertFigures]
    totals: Annotated[AlertTotals, Meta(description="Sums over `items` (the whole range when `next_cursor` is null and no cursor was given).")]
    next_cursor: str | None


def alert_totals(items: Iterable[AlertFigures]) -> AlertTotals:
    totals = AlertTotals()
    for item in items:
        totals.alerts += 1
        totals.targeted += item.targeted
        totals.sent += item.sent
        totals.failed += item.failed
        totals.read += item.read
        totals.responses += item.responses
    return totals


# --- audit -------------------------------------------------------------------------------------

AUDIT_DAYS_PER_CALL = 31


class AuditQuery(Struct, forbid_unknown_fields=True, kw_only=True):
    from_: AwareDatetime = msgspec.field(name="from")
    to: AwareDatetime
    purpose: Purpose
    actor: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    limit: Annotated[int, Meta(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT
    cursor: Cursor | None = None


def days_desc(start: datetime, end: datetime) -> list[str]:
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    return [(last - timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
