"""History (analysts) and the access log: parse, call one use case, reply."""

from __future__ import annotations

from urllib.parse import urlencode

import msgspec
from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.context import RequestContext
from chalicelib.domain.engagement import EngagementOut, EngagementQuery
from chalicelib.domain.exports import ExportIn, ExportOut
from chalicelib.domain.history import (
    AlertHistoryPage,
    AlertHistoryQuery,
    AuditQuery,
    HistoryPage,
    HistoryQuery,
    StatsOut,
    StatsQuery,
)
from chalicelib.domain.ratelimit import EXPORT_STARTS
from chalicelib.services import Services
from chalicelib.usecases import exports as export_usecase
from chalicelib.usecases import history as usecase

bp = Blueprint(__name__)
TAG = "history"
CSV = "text/csv; charset=utf-8"
PURPOSE_NOTE = "`purpose` (3..200 characters) is required and kept in the access log with the filters and row count."


def _next_link(path: str, query: HistoryQuery, cursor: str) -> str:
    params = {k: v for k, v in msgspec.to_builtins(query).items() if v is not None and k != "cursor"}
    params["cursor"] = cursor
    return f'<{path}?{urlencode(params)}>; rel="next"'


@operation(bp, "GET", "/v1/history/contacts", action="history:contacts", tag=TAG, query=HistoryQuery,
           summary="Pseudonymised contacts, newest first (supervisors: own team only)",
           description="Range at most 366 days; rows carry no notes, handles, thread refs or tags; the officer "
                       "is a stable pseudonym and the location an H3 res-7 cell. " + PURPOSE_NOTE,
           responses={200: ("A page of rows.", HistoryPage), **std(400, 401, 403, 503)})
def history_contacts(svc: Services, ctx: RequestContext, query: HistoryQuery) -> Reply:
    return Reply(200, usecase.contacts(svc, ctx, query))


@operation(bp, "GET", "/v1/history/contacts.csv", action="history:export", tag=TAG, query=HistoryQuery,
           content_type=CSV,
           summary="The same rows as RFC 4180 CSV (next cursor in `X-Next-Cursor` and `Link`)",
           description="Cells a spreadsheet could evaluate (starting with = + - @ tab CR) are prefixed with `'`. "
                       + PURPOSE_NOTE,
           responses={200: ("CSV with a header line.", "text/csv"), **std(400, 401, 403, 503)})
def history_contacts_csv(svc: Services, ctx: RequestContext, query: HistoryQuery) -> Reply:
    text, next_cursor = usecase.contacts_csv(svc, ctx, query)
    headers = {"Content-Disposition": 'attachment; filename="contacts.csv"'}
    if next_cursor:
        headers["X-Next-Cursor"] = next_cursor
        headers["Link"] = _next_link("/v1/history/contacts.csv", query, next_cursor)
    return Reply(200, text, headers=headers, content_type=CSV)


@operation(bp, "GET", "/v1/history/stats", action="history:stats", tag=TAG, query=StatsQuery,
           summary="Contact counts per period (day, ISO week, month; UTC) and dimension",
           description="Read from counters written with each contact: one Query per request. Supervisors: own "
                       "team only. Contacts with no named area are not in `by=area`. " + PURPOSE_NOTE,
           responses={200: ("Buckets sorted by period then key.", StatsOut), **std(400, 401, 403, 503)})
def history_stats(svc: Services, ctx: RequestContext, query: StatsQuery) -> Reply:
    return Reply(200, usecase.stats(svc, ctx, query))


@operation(bp, "GET", "/v1/history/engagement", action="history:engagement", tag=TAG, query=EngagementQuery,
           summary="Distinct staff who logged contacts, per period (day, ISO week, month; UTC) and team",
           description="Counts only, never staff ids: per bucket, how many distinct staff logged at least one "
                       "contact (`any`), one street, one online and one outbound online contact, in total and "
                       "by the role they logged it under. Read from counters written with each contact (one "
                       "Query per request); amendments move them. Supervisors: own team only; without `team`, "
                       "analysts and admins get one bucket per team. " + PURPOSE_NOTE,
           responses={200: ("Buckets sorted by period then team.", EngagementOut), **std(400, 401, 403, 503)})
def history_engagement(svc: Services, ctx: RequestContext, query: EngagementQuery) -> Reply:
    return Reply(200, usecase.engagement(svc, ctx, query))


@operation(bp, "GET", "/v1/history/alerts", action="history:alerts", tag=TAG, query=AlertHistoryQuery,
           summary="Per published alert: targeted / sent / failed / read / responses, and totals",
           description=PURPOSE_NOTE,
           responses={200: ("A page of alerts with totals.", AlertHistoryPage), **std(400, 401, 403, 503)})
def history_alerts(svc: Services, ctx: RequestContext, query: AlertHistoryQuery) -> Reply:
    return Reply(200, usecase.alerts(svc, ctx, query))


@operation(bp, "GET", "/v1/audit", action="audit:read", tag="audit", query=AuditQuery,
           summary="The access log, newest first (by `actor` or over the time range)",
           description="Without `actor`, at most 31 days are walked per call: a page can be short, follow "
                       "`next_cursor` until null. Reading the log is itself logged. " + PURPOSE_NOTE,
           responses={200: ("A page of entries.", usecase.AuditPage), **std(400, 401, 403, 503)})
def read_audit(svc: Services, ctx: RequestContext, query: AuditQuery) -> Reply:
    return Reply(200, usecase.audit(svc, ctx, query))


@operation(bp, "POST", "/v1/history/exports", action="history:bulk_export", tag=TAG, request=ExportIn,
           rate_limit=EXPORT_STARTS,
           summary="Start a bulk export of history rows (whole UTC days, force-wide) as gzip CSV files",
           description="Asynchronous: 202 with the job; `GET /v1/history/exports/{id}` tells its status and, as "
                       "they are written, its files (one folder per day, `dt=YYYY-MM-DD/`, Hive style for "
                       "Athena). The rows are exactly `GET /v1/history/contacts`'s. `purpose` is required and "
                       "kept in the access log with the range.",
           responses={202: ("The job, queued.", ExportOut), **std(400, 401, 403, 413, 429, 503)})
def start_export(svc: Services, ctx: RequestContext, body: ExportIn) -> Reply:
    job = export_usecase.start(svc, ctx, body)
    return Reply(202, job, headers={"Location": f"/v1/history/exports/{job.id}"})


@operation(bp, "GET", "/v1/history/exports/{id}", action="history:bulk_export", tag=TAG,
           summary="An export job: status and, when written, where its files are",
           description="Your own jobs (admins: any). In AWS each file has a presigned URL that expires in "
                       "minutes (BEATLINE_EXPORT_LINK_SECONDS); files expire with the bucket's lifecycle rule. "
                       "Handing out the links is access-logged with the job's purpose.",
           responses={200: ("The job.", ExportOut), **std(401, 403, 404, 503)})
def read_export(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, export_usecase.get(svc, ctx, id))
