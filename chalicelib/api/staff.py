"""The team's app: a staff member's own figures and push devices. Parse, call one use case, reply."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.context import RequestContext
from chalicelib.domain.staff_figures import MAX_CONTACTS, MyFiguresOut, MyFiguresQuery
from chalicelib.services import Services
from chalicelib.usecases import staff as usecase

bp = Blueprint(__name__)
TAG = "staff"


@operation(bp, "GET", "/v1/staff/me/figures", action="staff:self", tag=TAG, query=MyFiguresQuery,
           summary="Your own figures this week and this month (officer, supervisor): only ever the caller's",
           description=("UTC ISO week (from Monday) and calendar month: your contacts by kind (street, online, "
                        "online outbound), the conversations you answered (distinct), the alerts you drafted, and "
                        "the residents who signed up through your team's QR code (`team_signups`). No parameter "
                        "names anyone else. Two bounded Queries (your contacts by author, your team's alerts) and "
                        f"counter items; `complete: false` past {MAX_CONTACTS} contacts in the range."),
           responses={200: ("Your figures.", MyFiguresOut), **std(400, 401, 403, 503)})
def my_figures(svc: Services, ctx: RequestContext, query: MyFiguresQuery) -> Reply:
    return Reply(200, usecase.my_figures(svc, ctx))
