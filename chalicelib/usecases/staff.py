"""What a staff member may read and register about themselves (the team's app): their own
figures for this week and month, and (usecases/staff_devices.py) their push devices.

Only ever the caller's own: the routes are `/v1/staff/me/...`, with no parameter that names
another member of staff, and every read is keyed by the caller's token `sub` (and team)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain import staff_figures as rules
from chalicelib.domain.errors import Forbidden
from chalicelib.domain.staff_figures import MyFiguresOut

if TYPE_CHECKING:
    from chalicelib.services import Services


def my_figures(svc: Services, ctx: RequestContext) -> MyFiguresOut:
    """Counts of the caller's own contacts (street, online, outbound), conversations answered and
    alerts drafted, this UTC week and month, and the team's door sign-ups. Two bounded Queries."""
    team = ctx.caller.team
    if not team:
        raise Forbidden("Your token carries no team.")
    spans = rules.periods(ctx.now)
    start = min(spans["week"][0], spans["month"][0])
    end = max(spans["week"][1], spans["month"][1])
    low, high = to_rfc3339(start), to_rfc3339(end)
    activity = svc.store.staff.own_activity(ctx.caller.sub, low, high, rules.MAX_CONTACTS + 1)
    drafted = svc.store.staff.alerts_drafted(team, ctx.caller.sub, low, high)
    figures = {
        grain: rules.count(activity, drafted, first, last, label, svc.store.staff.signups(team, grain, label))
        for grain, (first, last, label) in spans.items()
    }
    return MyFiguresOut(week=figures["week"], month=figures["month"], complete=len(activity) <= rules.MAX_CONTACTS)
