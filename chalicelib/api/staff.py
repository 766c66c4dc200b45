"""The team's app: a staff member's own figures and push devices. Parse, call one use case, reply."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.context import RequestContext
from chalicelib.domain.staff_devices import MAX_DEVICES, StaffDeviceIn, StaffDeviceOut
from chalicelib.domain.staff_figures import MAX_CONTACTS, MyFiguresOut, MyFiguresQuery
from chalicelib.services import Services
from chalicelib.usecases import staff as usecase
from chalicelib.usecases import staff_devices

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


@operation(bp, "PUT", "/v1/staff/me/devices/{id}", action="staff:self", tag=TAG, request=StaffDeviceIn,
           summary="Register (or renew) one of your devices for staff pushes: its Web Push subscription",
           description=("Body: the browser's PushSubscription JSON `{endpoint, keys: {p256dh, auth}}`; `id` is the "
                        "device's UUID (yours to choose). The endpoint must be a public HTTPS push service (checked "
                        "now and at each send; else 400 on `endpoint`). Pushes: a new waiting conversation for your "
                        "team, a wait nearing the response standard, an alert awaiting your approval (supervisors); "
                        "they carry no resident's words. Kept BEATLINE_STAFF_DEVICE_DAYS after the last PUT; at "
                        f"most {MAX_DEVICES} devices each (409)."),
           responses={200: ("Registered.", StaffDeviceOut), **std(400, 401, 403, 404, 409, 413, 503)})
def put_device(svc: Services, ctx: RequestContext, id: str, body: StaffDeviceIn) -> Reply:
    return Reply(200, staff_devices.put_device(svc, ctx, id, body))


@operation(bp, "DELETE", "/v1/staff/me/devices/{id}", action="staff:self", tag=TAG,
           summary="Erase one of your devices (no more staff pushes to it)",
           responses={204: ("Erased (also when it did not exist).", None), **std(401, 403, 404, 503)})
def delete_device(svc: Services, ctx: RequestContext, id: str) -> Reply:
    staff_devices.delete_device(svc, ctx, id)
    return Reply(204)
