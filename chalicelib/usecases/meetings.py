"""Beat meetings: published by the team, attended by residents who follow the neighbourhood,
reminded the day before, recorded with counts and concerns (docs/guarantee.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import msgspec

from chalicelib.clock import parse_rfc3339, to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import meetings as rules
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.meetings import AttendOut, Meeting, MeetingIn, MeetingList, MeetingOut, RecordIn
from chalicelib.domain.notices import MEETING_REMINDER
from chalicelib.ports import InboxCopy
from chalicelib.usecases.neighbourhood_access import area_or_404, follows, require_team_member, uuid_or_404
from chalicelib.usecases.priorities import enqueue_notices

if TYPE_CHECKING:
    from chalicelib.services import Services

RECENT = timedelta(days=30)  # a neighbourhood's list shows meetings from this long ago on
REMINDERS_PER_RUN = 200


def _load(svc: Services, meeting_id: str) -> tuple[Meeting, int]:
    found = svc.store.meetings.get(uuid_or_404(meeting_id, "meeting"))
    if found is None:
        raise NotFound("No such meeting.")
    return found


def publish(svc: Services, ctx: RequestContext, area_id: str, body: MeetingIn) -> tuple[bool, MeetingOut]:
    """An officer or supervisor of the area's team publishes a meeting; idempotent on `id`."""
    area = area_or_404(svc, area_id)
    require_team_member(ctx, area.team, supervisor=False)
    meeting = rules.schedule(body, area.id, area.team, ctx.now)
    existing = svc.store.meetings.create(meeting)
    if existing is None:
        return True, meeting.to_out(0)
    if not existing.same_request(body, area.id):
        raise Conflict("A meeting with this id already exists with other content.")
    stored, attending = _load(svc, existing.id)
    return False, stored.to_out(attending)


def list_for_area(svc: Services, ctx: RequestContext, area_id: str) -> MeetingList:
    area = area_or_404(svc, area_id)
    rows = svc.store.meetings.of_area(area.id, to_rfc3339(ctx.now - RECENT))
    return MeetingList(items=[meeting.to_out(attending) for meeting, attending in rows])


def attend(svc: Services, ctx: RequestContext, meeting_id: str) -> tuple[bool, AttendOut]:
    """A resident following the neighbourhood says they will come (once; a repeat answers 200)."""
    from chalicelib.usecases.subscribers import current

    record = current(svc, ctx)
    meeting, attending = _load(svc, meeting_id)
    if not follows(record, meeting.area_id):
        raise NotFound("No such meeting among the neighbourhoods you follow.")
    rules.check_attendable(meeting, ctx.now)
    added = svc.store.meetings.attend(meeting.id, record.id, to_rfc3339(ctx.now), record.expires_at)
    return added, AttendOut(event_id=meeting.id, attending=attending + (1 if added else 0))


def record(svc: Services, ctx: RequestContext, meeting_id: str, body: RecordIn) -> MeetingOut:
    """The team records how many came and the concerns raised (which a supervisor may then propose
    as priorities)."""
    meeting, attending = _load(svc, meeting_id)
    require_team_member(ctx, meeting.team, supervisor=False)
    new = rules.recorded(meeting, body, ctx.now)
    if not svc.store.meetings.save_record(meeting, new):
        raise Conflict("The meeting changed meanwhile; read it again.")
    return new.to_out(attending)


def _remind(svc: Services, meeting: Meeting) -> int:
    expires = parse_rfc3339(meeting.end) + timedelta(days=1)
    item = msgspec.json.encode({
        "kind": "meeting_reminder", "event_id": meeting.id, "area_id": meeting.area_id, "title": meeting.title,
        "start": meeting.start, "end": meeting.end, "address": meeting.address, "online_url": meeting.online_url,
        "sent_at": meeting.remind_at, "expires_at": to_rfc3339(expires),
    }).decode()
    residents = list(svc.store.meetings.attendees(meeting.id))
    # Keyed by the meeting's reminder time: a run repeated after a crash rewrites the same items.
    svc.store.subscribers.put_inbox(InboxCopy(sid, f"{meeting.remind_at}#event#{meeting.id}", item, expires)
                                    for sid in residents)
    enqueue_notices(svc, MEETING_REMINDER, meeting.id, residents)  # and by push (usecases/notice_push.py)
    return len(residents)


def remind_meetings(svc: Services, now: datetime) -> int:
    """The day before a meeting, everyone who said they will come finds a reminder in their inbox
    (and gets a push, on a push channel).
    Runs on the conversation clock's schedule; returns the number of reminders written."""
    sent = 0
    start_by = to_rfc3339(now + rules.REMIND_BEFORE)
    for day in sorted({to_rfc3339(now - timedelta(days=1))[:10], to_rfc3339(now)[:10]}):
        for meeting in svc.store.meetings.due_reminders(day, start_by, REMINDERS_PER_RUN):
            sent += _remind(svc, meeting)
            svc.store.meetings.reminded(meeting.id)
    return sent
