"""Residents' trust: ratings of team answers and the figures (the confidence pulse: api/pulses.py)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.context import RequestContext
from chalicelib.domain.disclosure import MIN_ANSWERS
from chalicelib.domain.ratelimit import RESIDENT_WRITES
from chalicelib.domain.trust import SETTLING, RatingIn, RatingOut, TrustOut, TrustQuery
from chalicelib.services import Services
from chalicelib.usecases import trust as usecase

bp = Blueprint(__name__)
TAG = "trust"


@operation(bp, "POST", "/v1/conversations/{id}/rating", action="trust:rate", tag="conversations", request=RatingIn,
           rate_limit=RESIDENT_WRITES,
           summary="Rate the team's latest answer in your conversation, once (resident owner)",
           description=("One rating per team answer: it rates the conversation's latest team message (a "
                        "conversation closed without any team answer: that close, once per close). 409 when that "
                        "answer was rated already; 422 when there is no team answer yet and it is not closed. "
                        "Optional for the resident. Counted per period, team and area (no resident in the "
                        "counts); the rating itself is kept with the resident only for their own view and erased "
                        "with them. Others' conversations (and unknown ids) 404. Access-logged "
                        "(`conversation.rate`)."),
           responses={201: ("Rated.", RatingOut), **std(400, 401, 403, 404, 409, 413, 422, 429, 503)})
def rate_conversation(svc: Services, ctx: RequestContext, id: str, body: RatingIn) -> Reply:
    return Reply(201, usecase.rate(svc, ctx, id, body))


@operation(bp, "GET", "/v1/history/trust", action="history:trust", tag="history", query=TrustQuery,
           summary="Residents' trust per calendar month and team / area: ratings and pulse answers with 95% Wilson intervals",
           description=("Per calendar month (UTC; whole months: a range that starts or ends inside a month reads the "
                        "whole month) one bucket per team (`area_id` null: all its answers) and one per named area: "
                        "`answered` (yes/partly/no), `satisfaction` (1..5) of ratings and `confidence` "
                        "(excellent..very_poor) of pulse answers, each with `n`, `counts`, `shares` and `favourable` "
                        "(share with a 95% Wilson score interval). "
                        f"A measure of fewer than {MIN_ANSWERS} answers is withheld (`withheld: true`, the rest "
                        "null), and so is the smallest published area of a team whenever its withheld areas (and "
                        "its answers outside any area) would otherwise add up to 1.."
                        f"{MIN_ANSWERS - 1} answers: no subtraction of published figures gives a withheld one "
                        "away. Published by month only: `group_by=day` or `week` is 422 (a month minus its published "
                        "weeks or days could single out a small group). Only months that have ended and settled are "
                        f"published (from the first of the next month plus {SETTLING.days} day, UTC, when late counts have "
                        "landed): the month in progress changes as answers arrive, so two reads of it could give an "
                        "answer away by subtraction. The range's other months have no bucket at all; `unpublished` "
                        "lists each with its `reason` (`in_progress`, `settling`: ended, waiting for late counts, "
                        "`not_started`) and `published_from`; `published_through` is the latest month published now. "
                        "One Query on counters. `purpose` (3..200 "
                        "characters) is required and access-logged (`history.trust`). Supervisors: own team; "
                        "`area_id` selects its team."),
           responses={200: ("Buckets by month, team, area.", TrustOut), **std(400, 401, 403, 404, 422, 503)})
def trust_figures(svc: Services, ctx: RequestContext, query: TrustQuery) -> Reply:
    return Reply(200, usecase.figures(svc, ctx, query))
