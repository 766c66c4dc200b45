"""Analysts' history: pseudonymised contact rows (JSON and CSV), statistics, alert figures, audit.

Every call carries a `purpose` and is written to the access log with its filters and row count.
Supervisors are held to their own team; analysts and admins see the force; leaders see the
force's figures only (no rows: auth/permissions.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from chalicelib.auth.principal import Principal
from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import engagement as engagement_keys
from chalicelib.domain import history, stats_keys, strength
from chalicelib.domain.access import AccessEntryOut
from chalicelib.domain.cursors import query_fingerprint
from chalicelib.domain.engagement import EngagementBucket, EngagementOut, EngagementQuery
from chalicelib.domain.errors import Forbidden
from chalicelib.domain.history import (
    AlertFigures,
    AlertHistoryPage,
    AlertHistoryQuery,
    AuditQuery,
    HistoryPage,
    HistoryQuery,
    HistoryRow,
    StatsOut,
    StatsQuery,
)

if TYPE_CHECKING:
    from chalicelib.services import Services

FORCE_ROLES = frozenset({"analyst", "admin", "leader"})  # leaders reach only figures (permissions)


class AuditPage(Struct):
    items: list[AccessEntryOut]
    next_cursor: str | None


def _team_scope(caller: Principal, requested: str | None) -> str | None:
    """The team a caller's history query is held to (None: the whole force)."""
    if caller.roles & FORCE_ROLES:
        return requested
    if not caller.team:
        raise Forbidden("Your token carries no team.")
    if requested is not None and requested != caller.team:
        raise Forbidden("Supervisors may query their own team only.")
    return caller.team


@dataclass(frozen=True)
class RowsResult:
    rows: list[HistoryRow]
    next_cursor: str | None


def pseudonymised_row(svc: Services, stored: str) -> HistoryRow:
    """One stored `hrow` as analysts see it (every id a keyed pseudonym): pages, CSV and exports."""
    return history.pseudonymised_row(stored, svc.pseudonyms)


def _contact_rows(svc: Services, ctx: RequestContext, query: HistoryQuery, action: str) -> RowsResult:
    caller = ctx.caller
    history.check_range(query.from_, query.to)
    team = _team_scope(caller, query.team)
    filters: dict[str, Any] = {
        "from": to_rfc3339(query.from_), "to": to_rfc3339(query.to), "area_id": query.area_id,
        "team": team, "kind": query.kind, "platform": query.platform, "topic": query.topic,
        "limit": query.limit,
    }
    # JSON and CSV share a fingerprint: a cursor of one continues the other (the same rows).
    fingerprint = query_fingerprint("history.contacts", caller.sub, filters)
    position = svc.cursors.decode(query.cursor, fingerprint)
    plan = history.plan(team=team, area_id=query.area_id, kind=query.kind, platform=query.platform,
                        topic=query.topic)
    page = svc.store.history.contacts_page(
        plan, months=history.months_desc(query.from_, query.to), occurred_from=filters["from"],
        occurred_to=filters["to"], limit=query.limit, position=position,
    )
    rows = [pseudonymised_row(svc, stored) for stored in page.rows]
    svc.store.access_log.append(ctx.audit(action, query=filters, row_count=len(rows), purpose=query.purpose))
    return RowsResult(rows, svc.cursors.encode(page.position, fingerprint))


def contacts(svc: Services, ctx: RequestContext, query: HistoryQuery) -> HistoryPage:
    result = _contact_rows(svc, ctx, query, "history.contacts")
    return HistoryPage(items=result.rows, next_cursor=result.next_cursor)


def contacts_csv(svc: Services, ctx: RequestContext, query: HistoryQuery) -> tuple[str, str | None]:
    """The same rows as `contacts`, as RFC 4180 CSV text, and the next cursor."""
    result = _contact_rows(svc, ctx, query, "history.export")
    return history.to_csv(result.rows), result.next_cursor


def stats(svc: Services, ctx: RequestContext, query: StatsQuery) -> StatsOut:
    """One counter Query (the dimension asked for, at the grain asked for: day, ISO week or
    month, UTC)."""
    caller = ctx.caller
    day_from, day_to = history.day_range(query.from_, query.to)
    team = _team_scope(caller, query.team)
    keep: Callable[[str], str | None] | None = None
    if team is None:
        key = stats_keys.counter_pk(stats_keys.FORCE_SCOPE, query.by)
    elif query.by == "team":
        # Team scopes keep no `team` dimension; every contact has exactly one kind, so the
        # team's kind counters summed per day are its total: still one Query.
        key = stats_keys.counter_pk(stats_keys.team_scope(team), "kind")
        keep = lambda _value: team  # noqa: E731
    else:
        key = stats_keys.counter_pk(stats_keys.team_scope(team), query.by)
    # Week/month counters are read for those groupings: the edge periods count whole periods.
    first = stats_keys.period_of(day_from.isoformat(), query.group_by)
    last = stats_keys.period_of(day_to.isoformat(), query.group_by)
    as_of = svc.store.contact_stream.as_of()  # read first: the counters include at least this
    items = svc.store.contacts.counters(stats_keys.grain_pk(key, query.group_by), f"{first}|", f"{last}|\uffff")
    buckets = history.aggregate(items, keep)
    filters = {"from": day_from.isoformat(), "to": day_to.isoformat(), "group_by": query.group_by,
               "by": query.by, "team": team}
    svc.store.access_log.append(ctx.audit("history.stats", query=filters, row_count=len(buckets), purpose=query.purpose))
    return StatsOut(buckets=buckets, as_of=as_of)


def _with_strength(svc: Services, buckets: list[EngagementBucket], grain: str) -> list[EngagementBucket]:
    """The strength in force per bucket: one Query per team present (its records in the range)."""
    if not buckets:
        return buckets
    starts = sorted({bucket.period for bucket in buckets})
    first = strength.period_start(starts[0], grain).isoformat()
    last = strength.period_start(starts[-1], grain).isoformat()
    records = {team: svc.store.teams.strengths(team, first, last) for team in sorted({b.team for b in buckets})}
    return engagement_keys.with_strength(buckets, grain, records)


def engagement(svc: Services, ctx: RequestContext, query: EngagementQuery) -> EngagementOut:
    """Distinct staff per period and team, from the engagement items: one Query on the team's
    key (supervisors, or `team=`) or on the force key (every team), whole periods."""
    day_from, day_to = history.day_range(query.from_, query.to)
    team = _team_scope(ctx.caller, query.team)
    first = stats_keys.period_of(day_from.isoformat(), query.group_by)
    last = stats_keys.period_of(day_to.isoformat(), query.group_by)
    as_of = svc.store.contact_stream.as_of()  # read first: the counts include at least this
    if team is None:
        found = svc.store.engagement.items(engagement_keys.force_key(query.group_by), f"{first}|", f"{last}|\uffff")
    else:
        found = svc.store.engagement.items(engagement_keys.team_key(team, query.group_by), f"{first}|", f"{last}|\uffff")
    force = team is None
    rows: list[tuple[str, str, Mapping[str, int]]] = []
    for bucket, attributes in found:
        period, item_team = engagement_keys.parse_bucket(bucket, force)
        rows.append((period, str(item_team if force else team), attributes))
    buckets = _with_strength(svc, engagement_keys.aggregate(rows), query.group_by)
    filters = {"from": day_from.isoformat(), "to": day_to.isoformat(), "group_by": query.group_by, "team": team}
    svc.store.access_log.append(ctx.audit("history.engagement", query=filters, row_count=len(buckets), purpose=query.purpose))
    return EngagementOut(buckets=buckets, as_of=as_of)


AlertSource = Callable[[str, str, dict[str, Any] | None, int], tuple[list[AlertFigures], dict[str, Any] | None]]


def alerts(
    svc: Services, ctx: RequestContext, query: AlertHistoryQuery,
    source: AlertSource | None = None,
) -> AlertHistoryPage:
    """Per-alert delivery figures (targeted/sent/failed/read/responses) and their totals."""
    source = source or svc.store.alert_history.alerts_published_between
    caller = ctx.caller
    history.check_range(query.from_, query.to)
    filters = {"from": to_rfc3339(query.from_), "to": to_rfc3339(query.to), "limit": query.limit}
    fingerprint = query_fingerprint("history.alerts", caller.sub, filters)
    position = svc.cursors.decode(query.cursor, fingerprint)
    items, next_position = source(str(filters["from"]), str(filters["to"]), position, query.limit)
    svc.store.access_log.append(ctx.audit("history.alerts", query=filters, row_count=len(items), purpose=query.purpose))
    return AlertHistoryPage(items=items, totals=history.alert_totals(items),
                            next_cursor=svc.cursors.encode(next_position, fingerprint))


def audit(svc: Services, ctx: RequestContext, query: AuditQuery) -> AuditPage:
    """The access log, newest first: by actor (GSI) or by day partitions."""
    caller = ctx.caller
    history.check_range(query.from_, query.to)
    at_from, at_to = to_rfc3339(query.from_), to_rfc3339(query.to)
    filters = {"from": at_from, "to": at_to, "actor": query.actor, "limit": query.limit}
    fingerprint = query_fingerprint("audit", caller.sub, filters)
    position = svc.cursors.decode(query.cursor, fingerprint)
    if query.actor:
        entries, next_position = svc.store.access_log.entries_by_actor(
            query.actor, at_from=at_from, at_to=at_to, limit=query.limit, position=position,
        )
    else:
        entries, next_position = svc.store.access_log.entries_by_day(
            history.days_desc(query.from_, query.to), at_from=at_from, at_to=at_to,
            limit=query.limit, position=position, max_days=history.AUDIT_DAYS_PER_CALL,
        )
    svc.store.access_log.append(ctx.audit("audit.read", query=filters, row_count=len(entries), purpose=query.purpose))
    return AuditPage(items=entries, next_cursor=svc.cursors.encode(next_position, fingerprint))
