"""Staff devices (a Web Push subscription per device) and the staff pushes sent to them.

Registration checks the endpoint as residents' Web Push does (a public HTTPS push service,
resolved and vetted by the egress guard, notify/egress.py, again at each send) and keeps it for
`BEATLINE_STAFF_DEVICE_DAYS` (TTL; registering again renews it). Pushes are enqueued on the
fan-out queue (mode `staff`); the worker (usecases/staff_push.py) sends them to the team's devices.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain.errors import Conflict, FieldError, Forbidden, NotFound, RuleViolation
from chalicelib.domain.staff_devices import KINDS, MAX_DEVICES, StaffDevice, StaffDeviceIn, StaffDeviceOut
from chalicelib.ports import DestinationRefused, QueueUnavailable, StaffPush, StoreUnavailable

if TYPE_CHECKING:
    from chalicelib.services import Services

LOG = logging.getLogger("beatline.staff")
STAFF_ROLES = ("officer", "supervisor")


def _device_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound("No such device.") from None


def _checked(svc: Services, body: StaffDeviceIn) -> dict[str, Any]:
    stored: dict[str, Any] = {"endpoint": body.endpoint, "keys": {"p256dh": body.keys.p256dh, "auth": body.keys.auth}}
    try:
        svc.push_guard.check(body.endpoint)
    except DestinationRefused as refused:
        raise RuleViolation("The push endpoint cannot be used.", [FieldError("endpoint", refused.reason)]) from None
    problem = svc.push_subscription_problem(stored)
    if problem:
        raise RuleViolation("The push subscription cannot be used.", [FieldError("keys", problem)])
    return stored


def put_device(svc: Services, ctx: RequestContext, device_id: str, body: StaffDeviceIn) -> StaffDeviceOut:
    """Register (or renew) one of the caller's devices for their team's staff pushes."""
    caller = ctx.caller
    if not caller.team:
        raise Forbidden("Your token carries no team; staff pushes go to a team.")
    device_id = _device_id(device_id)
    subscription = _checked(svc, body)
    known = svc.store.staff.device_ids(caller.sub, MAX_DEVICES + 1)
    if device_id not in known and len(known) >= MAX_DEVICES:
        raise Conflict(f"At most {MAX_DEVICES} devices per person; remove one first.")
    expires = ctx.now + timedelta(days=svc.settings.staff_device_days)
    svc.store.staff.put_device(StaffDevice(
        staff=caller.sub, device_id=device_id, team=caller.team,
        roles=tuple(r for r in STAFF_ROLES if caller.has(r)), subscription=subscription,
        updated_at=to_rfc3339(ctx.now), expires_at=expires))
    return StaffDeviceOut(id=device_id, expires_at=to_rfc3339(expires))


def delete_device(svc: Services, ctx: RequestContext, device_id: str) -> None:
    """Erase one of the caller's devices (204 also when there was none)."""
    svc.store.staff.delete_device(ctx.caller.sub, _device_id(device_id))


def notify_team(svc: Services, team: str, kind: str, record_id: str, *, occurrence: str, exclude: str | None = None,
                roles: tuple[str, ...] = (), count: int = 1) -> None:
    """Enqueue a staff push (no words: the kind, the id, how many) when the team has a device to
    receive it (one small Query; no queue message for nobody). Never fails the caller's request.
    `occurrence` names this happening of `kind` on the record (each device is pushed once per
    occurrence, however often the message is delivered)."""
    assert kind in KINDS  # noqa: S101 - programming error
    try:
        if not svc.store.staff.team_has_devices(team):
            return
        svc.fanout.enqueue([StaffPush(kind=kind, record_id=record_id, team=team, exclude=exclude, roles=list(roles),
                                      count=count, occurrence=occurrence)])
    except (QueueUnavailable, StoreUnavailable):
        LOG.warning("staff push not enqueued (%s)", kind)
