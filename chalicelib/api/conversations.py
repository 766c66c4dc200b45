"""Conversations between residents and their neighbourhood team: parse, call one use case, reply."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.context import RequestContext
from chalicelib.domain.conversations import (
    MESSAGES_PAGE_MAX,
    TEXT_MAX,
    CloseIn,
    ConversationIn,
    ConversationOut,
    ConversationPage,
    ConversationQuery,
    FiguresOut,
    FiguresQuery,
    MessageIn,
    MessageOut,
    MyConversationsQuery,
    TeamQueueQuery,
    WaitingOut,
    WaitingQuery,
)
from chalicelib.domain.ratelimit import CONVERSATION_OPENINGS, RESIDENT_MESSAGES, RESIDENT_READS, RESIDENT_WRITES
from chalicelib.domain.team_queue import PREVIEW_CHARS, ClaimOut, QueuePage
from chalicelib.services import Services
from chalicelib.usecases import conversations as usecase
from chalicelib.usecases import team_queue

bp = Blueprint(__name__)
TAG = "conversations"
RATE = "Residents only (staff answering are not counted); the budget is shared with alert replies."
ID_LINK = {"conversation_id": "$response.body#/id"}
LINKS = {201: {
    "GetConversation": {"operationId": "get_conversation", "parameters": {"id": "$response.body#/id"}},
    "PostMessage": {"operationId": "post_message", "parameters": {"id": "$response.body#/id"}},
}}


@operation(bp, "POST", "/v1/conversations", action="conversations:start", tag=TAG, request=ConversationIn,
           rate_limit=(RESIDENT_MESSAGES, CONVERSATION_OPENINGS),
           summary="Start a conversation with the team of a named area (or of the area holding a point)",
           description=(f"`text` 1..{TEXT_MAX} characters; `id` is the client's UUID (201 new, 200 identical "
                        "resend, 409 same id other content). Give `area_id` or `location`; a place no team's "
                        "area covers is 422 (a point belongs to the area whose H3 res-9 cell centre it shares). "
                        + RATE),
           responses={201: ("Started.", ConversationOut), 200: ("Identical resend.", ConversationOut),
                      **std(400, 401, 403, 409, 413, 422, 429, 503)},
           links=LINKS)
def start_conversation(svc: Services, ctx: RequestContext, body: ConversationIn) -> Reply:
    return Reply.saved(usecase.start(svc, ctx, body))


@operation(bp, "GET", "/v1/subscribers/me/conversations", action="conversations:mine", tag=TAG,
           query=MyConversationsQuery, rate_limit=RESIDENT_READS, summary="Own conversations, latest activity first",
           responses={200: ("A page.", ConversationPage), **std(400, 401, 403, 503)})
def my_conversations(svc: Services, ctx: RequestContext, query: MyConversationsQuery) -> Reply:
    return Reply(200, usecase.mine(svc, ctx, query))


@operation(bp, "GET", "/v1/conversations", action="conversations:queue", tag=TAG, query=TeamQueueQuery,
           summary=("The team's conversations: waiting (urgent, then escalated, then oldest waiting first), answered or "
                    "closed (latest first); escalated (supervisors)"),
           description=("Reads `limit` index items whatever the table holds (GSI team + status#since), and the "
                        "latest message of each in one batch read. Each item carries `preview` (the start of the "
                        f"last message, at most {PREVIEW_CHARS} characters; null once erased), `respond_by` "
                        "(waiting ones: `waiting_since` + the response standard, BEATLINE_RESPONSE_STANDARD_HOURS), "
                        "`claimed_by` (display pseudonym of the officer holding a live claim), `claim_expires_at`, "
                        "`claimed_by_me` and `resident_erased`. A waiting conversation whose resident was erased "
                        "leaves the waiting queue. Waits the resident escalated (`escalated_at`) lead the waiting "
                        "queue; `status=escalated` lists only those (supervisors of the team: the supervisors' "
                        "view; officers 403), oldest waiting first. `urgent`: a "
                        "resident message suggests immediate danger (automatic emergency guidance sent); urgent "
                        "waits lead the waiting queue, before escalated ones."),
           responses={200: ("A page.", QueuePage), **std(400, 401, 403, 503)})
def team_conversations(svc: Services, ctx: RequestContext, query: TeamQueueQuery) -> Reply:
    return Reply(200, usecase.team_queue(svc, ctx, query))


@operation(bp, "POST", "/v1/conversations/{id}/claim", action="conversations:claim", tag=TAG,
           summary="Claim a waiting conversation for yourself (officer or supervisor of the team); the claim lapses",
           description=("The team sees `claimed_by` (your display pseudonym) until `claim_expires_at` "
                        "(BEATLINE_CLAIM_MINUTES, default 30) or until the conversation is answered or closed. "
                        "Claiming again renews your own claim. 409 while another officer's claim is live; 422 "
                        "unless the conversation is waiting (and its resident exists). One conditional write "
                        "decides, so two officers claiming at once never both win. Claims are advisory: any "
                        "member of the team may still answer."),
           responses={200: ("Claimed.", ClaimOut), **std(401, 403, 404, 409, 422, 503)})
def claim_conversation(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, team_queue.claim(svc, ctx, id))


@operation(bp, "POST", "/v1/conversations/{id}/release", action="conversations:claim", tag=TAG,
           summary="Release a claim (the officer holding it, or a supervisor of the team)",
           description="200 with `claimed_by: null`, also when no claim was held; 409 when another officer holds it.",
           responses={200: ("Released.", ClaimOut), **std(401, 403, 404, 409, 503)})
def release_conversation(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, team_queue.release(svc, ctx, id))


@operation(bp, "GET", "/v1/conversations/{id}", action="conversations:read", tag=TAG, query=ConversationQuery,
           rate_limit=RESIDENT_READS,
           summary="One conversation with its latest messages, oldest first (owner; officers and supervisors of the team)",
           description=(f"The latest `limit` messages (default and most {MESSAGES_PAGE_MAX}), oldest first; when "
                        "there are earlier ones, `earlier_cursor` is given: pass it as `before` (same `limit`) "
                        "for the page before. Access-logged. Team messages name the officer by a display "
                        "pseudonym only."),
           responses={200: ("The conversation.", ConversationOut), **std(400, 401, 403, 404, 503)})
def get_conversation(svc: Services, ctx: RequestContext, id: str, query: ConversationQuery) -> Reply:
    return Reply(200, usecase.get(svc, ctx, id, query))


@operation(bp, "POST", "/v1/conversations/{id}/messages", action="conversations:message", tag=TAG,
           request=MessageIn, rate_limit=RESIDENT_MESSAGES,
           summary="Add a message (resident owner, or an officer or supervisor of the team)",
           description=("`id` is the client's UUID (201 new, 200 identical resend, 409 other content). A team "
                        "message reaches the resident's inbox at once and its push channel (held by quiet "
                        "hours); on a closed conversation it is 422, while a resident message reopens it. "
                        "Echo the `state_token` of the conversation as last read (or of your last message) "
                        "and the write needs no read first. " + RATE),
           responses={201: ("Sent.", MessageOut), 200: ("Identical resend.", MessageOut),
                      **std(400, 401, 403, 404, 409, 413, 422, 429, 503)})
def post_message(svc: Services, ctx: RequestContext, id: str, body: MessageIn) -> Reply:
    return Reply.saved(usecase.post_message(svc, ctx, id, body))


@operation(bp, "POST", "/v1/conversations/{id}/close", action="conversations:close", tag=TAG, request=CloseIn,
           summary="Close with an outcome (officer or supervisor of the team); a resident message reopens it",
           description=("Concurrent closes: exactly one lands; a repeat with the same outcome is 200, another 409. "
                        "Echo the conversation's `state_token` and the close needs no read first. Outcome `abuse` "
                        "(close only): the team judged it abuse or spam; it leaves `opened` of the period it was "
                        "opened (counted there as `dismissed_as_abuse`) and the resident's messages no longer "
                        "reopen it (422)."),
           responses={200: ("Closed.", ConversationOut), **std(400, 401, 403, 404, 409, 413, 503)})
def close_conversation(svc: Services, ctx: RequestContext, id: str, body: CloseIn) -> Reply:
    return Reply(200, usecase.close(svc, ctx, id, body))


@operation(bp, "POST", "/v1/conversations/{id}/escalate", action="conversations:escalate", tag=TAG,
           rate_limit=RESIDENT_WRITES,
           summary="Escalate a wait the team has not answered by its `respond_by` (the resident owner)",
           description=("The Neighbourhood Policing Guarantee's complaint route. Only while the conversation waits "
                        "for the team and its `respond_by` (`waiting_since` + BEATLINE_RESPONSE_STANDARD_HOURS, "
                        "shown on every read of it) has passed: 422 before then or when it is not waiting. The "
                        "conversation gets `escalated_at`, leads the team's waiting queue and is listed in the "
                        "supervisors' view (`GET /v1/conversations?status=escalated`); counted once per wait in "
                        "`escalated` of `/v1/history/conversations`. A repeat for the same wait answers 200 and "
                        "counts nothing. Others' conversations (and unknown ids) 404. Access-logged "
                        "(`conversation.escalate`)."),
           responses={200: ("Escalated (or already, for this wait).", ConversationOut),
                      **std(401, 403, 404, 409, 422, 429, 503)})
def escalate_conversation(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, usecase.escalate(svc, ctx, id))


@operation(bp, "GET", "/v1/history/conversations", action="history:conversations", tag="history",
           query=FiguresQuery,
           summary=("Conversation figures per period and team: opened, answered, closed, first response, waits > 24 h, "
                    "the response standard (within, past, past now) and escalations"),
           description=("Counters written with the messages (one Query). `opened` leaves out conversations the "
                        "team closed as `abuse` (`dismissed_as_abuse`, in the period they were opened); starts are "
                        "limited per client address as well as per resident, so cheap registrations cannot "
                        "inflate it either. `first_response_minutes` comes from a "
                        "histogram with log-spaced buckets (ratio 1.25): the median and p90 are interpolated "
                        "within a bucket, error below 25 % of the value (under 1 minute below 1 minute). "
                        "The response standard (BEATLINE_RESPONSE_STANDARD_HOURS): `answered_waits` (waits ended by "
                        "a team answer, in the period of the answer), `within_standard` (of those, answered by "
                        "their `respond_by`) and `within_standard_share` (null when none); `past_standard` (waits "
                        "that passed `respond_by` unanswered, in the period they passed it, once each, counted by "
                        "the conversation clock while still open) and `past_standard_now` (of those, the ones "
                        "still open now: an answer or a close takes a wait out, in the period it passed; summed "
                        "over a range, the waits past the standard right now that passed it in that range); "
                        "`escalated` (escalations by residents, in the period of the escalation). "
                        "`purpose` (3..200 characters) is required and access-logged. Supervisors: own team."),
           responses={200: ("Buckets by period then team.", FiguresOut), **std(400, 401, 403, 503)})
def conversation_figures(svc: Services, ctx: RequestContext, query: FiguresQuery) -> Reply:
    return Reply(200, usecase.figures(svc, ctx, query))


@operation(bp, "GET", "/v1/history/waiting", action="history:conversations", tag="history", query=WaitingQuery,
           summary="Conversations waiting for a team answer now, and the day the oldest wait began",
           description=("Read from an open-wait gauge written with the messages (+1 when a wait begins, -1 when a "
                        "team answer or a close ends it, in the day the wait began): one Query of at most one "
                        "counter per day and team over the last 366 days, whatever the tables hold. `waiting` "
                        "and `oldest_waiting_since` (a UTC day; null when nothing waits) in all and per team. "
                        "Counts only: no conversation, text or resident. `purpose` (3..200 characters) is "
                        "required and access-logged. Supervisors: own team; analysts, admins and leaders: the "
                        "force or `team`."),
           responses={200: ("Waits open now.", WaitingOut), **std(400, 401, 403, 503)})
def waiting_now(svc: Services, ctx: RequestContext, query: WaitingQuery) -> Reply:
    return Reply(200, usecase.waiting(svc, ctx, query))
