"""The one table of who may do what. Handlers name an action; they never test roles themselves.

Record-level rules (whose contact, which team) live next to the table so every route asks the
same questions the same way.
"""

from __future__ import annotations

from chalicelib.auth.principal import Principal
from chalicelib.domain.errors import Forbidden

PUBLIC = "public"

PERMISSIONS: dict[str, frozenset[str]] = {
    # Contacts (engagement log)
    "contacts:create": frozenset({"officer", "supervisor"}),
    "contacts:read": frozenset({"officer", "supervisor"}),
    "contacts:amend": frozenset({"officer", "supervisor"}),
    "contacts:list": frozenset({"officer", "supervisor"}),
    "contacts:list-team": frozenset({"supervisor"}),
    # Areas
    "areas:write": frozenset({"admin"}),
    # Residents (subscribers) and alerts
    "subscribers:self": frozenset({"resident"}),
    "alerts:draft": frozenset({"officer", "supervisor"}),
    "alerts:read": frozenset({"officer", "supervisor"}),
    "alerts:list": frozenset({"officer", "supervisor"}),
    "alerts:approve": frozenset({"supervisor"}),
    "alerts:update": frozenset({"officer", "supervisor"}),  # a proposal; approval is a second person
    "alerts:cancel": frozenset({"supervisor"}),
    "alerts:receipt": frozenset({"resident"}),
    "alerts:respond": frozenset({"resident"}),
    # History (analysts) and the access log; supervisors are held to their own team in the use case
    "history:contacts": frozenset({"analyst", "admin", "supervisor"}),
    # Leaders (chief officers): force-wide figures only, never rows, texts or the access log.
    "history:stats": frozenset({"analyst", "admin", "supervisor", "leader"}),
    "history:engagement": frozenset({"analyst", "admin", "supervisor", "leader"}),
    "history:export": frozenset({"analyst", "admin"}),
    "history:bulk_export": frozenset({"analyst", "admin"}),  # own jobs (admins: any) in usecases/exports.py
    "history:alerts": frozenset({"analyst", "admin", "leader"}),
    "audit:read": frozenset({"admin"}),
    # Conversations: record-level rules (own conversation, own team) in usecases/conversations.py
    "conversations:start": frozenset({"resident"}),
    "conversations:mine": frozenset({"resident"}),
    "conversations:read": frozenset({"resident", "officer", "supervisor"}),
    "conversations:message": frozenset({"resident", "officer", "supervisor"}),
    "conversations:queue": frozenset({"officer", "supervisor"}),
    "conversations:close": frozenset({"officer", "supervisor"}),
    "conversations:claim": frozenset({"officer", "supervisor"}),  # own team: usecases/team_queue.py
    "conversations:escalate": frozenset({"resident"}),  # own conversation, past respond_by: usecases/conversations.py
    # The team's app: a staff member's own figures and devices (only ever their own: /staff/me)
    "staff:self": frozenset({"officer", "supervisor"}),
    "history:conversations": frozenset({"analyst", "admin", "supervisor", "leader"}),
    # The Neighbourhood Policing Guarantee: a supervisor is held to their own team in the use case
    "teams:write": frozenset({"admin", "supervisor"}),
    "teams:strength": frozenset({"admin"}),
    "priorities:manage": frozenset({"supervisor"}),
    "priorities:act": frozenset({"officer", "supervisor"}),
    "priorities:support": frozenset({"resident"}),
    "meetings:manage": frozenset({"officer", "supervisor"}),
    "meetings:attend": frozenset({"resident"}),
    # Residents' trust: the owner rates (usecases/trust.py); pulses reach residents who follow the areas
    "trust:rate": frozenset({"resident"}),
    "trust:pulse": frozenset({"admin"}),
    "trust:answer": frozenset({"resident"}),
    "history:trust": frozenset({"analyst", "admin", "supervisor", "leader"}),
}


def allowed_roles(action: str) -> frozenset[str]:
    return PERMISSIONS[action]


def may(principal: Principal, action: str) -> bool:
    return bool(principal.roles & PERMISSIONS[action])


def require(principal: Principal, action: str) -> None:
    if not may(principal, action):
        raise Forbidden(f"Your role may not perform {action}.")


def is_team_supervisor(principal: Principal, team: str) -> bool:
    return principal.has("supervisor") and principal.team is not None and principal.team == team


def may_see_contact(principal: Principal, author: str, team: str) -> bool:
    """The author, or a supervisor of the author's team. Everyone else gets a 404."""
    return principal.sub == author or is_team_supervisor(principal, team)

