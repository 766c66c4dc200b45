"""What the team's app reads and writes about staff themselves: an officer's own figures, the
team's door sign-ups and staff devices (docs/team-app.md). Bounded reads only: a Query on the
officer's own contacts (`by_author`), on the team's alerts (`by_team`), counter items, a staff
member's devices (their partition), a team's devices (`by_team`)."""

from __future__ import annotations

import json

from chalicelib.domain.staff_devices import StaffDevice
from chalicelib.domain.staff_figures import Activity
from chalicelib.store import contacts as contact_store
from chalicelib.store.errors import translate_store_errors
from chalicelib.store.models import AlertModel, ContactModel, StaffDeviceModel, StatCounterModel

CONTACT_FIELDS = ["id", "author", "occurred_at", "kind", "direction", "platform", "thread_ref", "tags"]


@translate_store_errors
def own_activity(author: str, occurred_from: str, occurred_to: str, limit: int) -> list[Activity]:
    """The author's contacts in [from, to), at most `limit` (one Query, paginated by 1 MB)."""
    found = ContactModel.by_author.query(
        author, ContactModel.occurred_at.between(occurred_from, occurred_to), limit=limit,
        attributes_to_get=CONTACT_FIELDS)
    return [Activity(occurred_at=m.occurred_at, kind=m.kind, direction=m.direction, platform=m.platform,
                     thread_ref=m.thread_ref, tags=tuple(m.tags or ())) for m in found
            if m.occurred_at < occurred_to]


@translate_store_errors
def alerts_drafted(team: str, author: str, created_from: str, created_to: str) -> list[str]:
    """When the author's alerts of the team were created, in [from, to) (one Query on `by_team`)."""
    found = AlertModel.by_team.query(team, AlertModel.created_at.between(created_from, created_to),
                                     filter_condition=AlertModel.author == author,
                                     attributes_to_get=["id", "team", "created_at", "author"])
    return [m.created_at for m in found if m.created_at < created_to]


def signup_key(team: str, grain: str) -> str:
    return f"team:{team}|signups|{grain}"


@translate_store_errors
def add_signup(team: str, periods: dict[str, str]) -> None:
    """A resident registered through the team's QR code: +1 per grain (`week`, `month`) and period."""
    for grain, period in periods.items():
        StatCounterModel(key=signup_key(team, grain), bucket=f"{period}|00").update(
            actions=[StatCounterModel.contacts.add(1)])


@translate_store_errors
def signups(team: str, grain: str, period: str) -> int:
    return sum(n for _, n in contact_store.counters(signup_key(team, grain), f"{period}|", f"{period}|"))


# -- staff devices -----------------------------------------------------------------------------


def _device(m: StaffDeviceModel) -> StaffDevice:
    return StaffDevice(staff=m.staff, device_id=m.device_id, team=m.team, roles=tuple(r for r in m.roles.split(",") if r),
                       subscription=json.loads(m.subscription), updated_at=m.updated_at, expires_at=m.expires_at)


@translate_store_errors
def device_ids(staff: str, limit: int) -> list[str]:
    """The ids of a member of staff's devices (at most `limit`; one Query on their partition)."""
    return [m.device_id for m in StaffDeviceModel.query(staff, limit=limit, attributes_to_get=["staff", "device_id"])]


@translate_store_errors
def put_device(device: StaffDevice) -> None:
    StaffDeviceModel(
        staff=device.staff, device_id=device.device_id, team=device.team, device_key=f"{device.staff}#{device.device_id}",
        roles=",".join(device.roles), subscription=json.dumps(device.subscription), updated_at=device.updated_at,
        expires_at=device.expires_at,
    ).save()


@translate_store_errors
def delete_device(staff: str, device_id: str) -> None:
    StaffDeviceModel(staff=staff, device_id=device_id).delete()


@translate_store_errors
def team_devices(team: str) -> list[StaffDevice]:
    """Every registered device of a team (one Query on `by_team`, paginated)."""
    return [_device(m) for m in StaffDeviceModel.by_team.query(team)]


@translate_store_errors
def team_has_devices(team: str) -> bool:
    """Whether a staff push would reach anyone (one Query on `by_team`, one item)."""
    return next(iter(StaffDeviceModel.by_team.query(team, limit=1, attributes_to_get=["staff", "device_id"])), None) is not None
