"""Applying a declared rate limit: one conditional counter write per window (store.ratelimit)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chalicelib.auth.principal import Principal
from chalicelib.context import RequestContext
from chalicelib.domain.errors import RateLimited
from chalicelib.domain.ratelimit import RateLimit, window_start

if TYPE_CHECKING:
    from chalicelib.services import Services


def _caller(svc: Services, ctx: RequestContext, principal: Principal) -> str:
    """A resident by a name keyed with its own secret (like `res_`: once erased, no key holder
    can recompute it from the subscriber id), staff by `sub`."""
    subscriber = ctx.subscriber if principal.kind == "resident" else None
    if subscriber is not None and subscriber.secret is not None:
        from chalicelib.usecases.residents import resident_name

        return f"res|{resident_name(svc, subscriber, 'rate-limit')}"
    return f"sub|{principal.sub}"


def client_network(address: str | None) -> str:
    """What one client controls: an IPv4 address, but an IPv6 /64 (a single host or home usually
    gets a whole /64 and can pick any address in it, so counting per IPv6 address counts nothing)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def subject(svc: Services, ctx: RequestContext, per: str = "caller") -> str:
    """Who is counted: per caller, the resident (or staff member), else the client address; per
    address, the client address whoever calls. Keyed digests, so the counter table holds neither
    subscriber ids nor addresses."""
    principal = ctx.principal if per == "caller" else None
    value = _caller(svc, ctx, principal) if principal is not None else f"ip|{client_network(ctx.client_ip)}"
    return hmac.new(svc.pseudonyms.subkey("rate-limit"), value.encode(), hashlib.sha256).hexdigest()[:32]


def enforce(svc: Services, ctx: RequestContext, limit: RateLimit) -> None:
    """Count this request in every window (shortest first); 429 + Retry-After at the first full one."""
    if not limit.applies_to(ctx.principal):
        return
    who = subject(svc, ctx, limit.per)
    epoch = int(ctx.now.timestamp())
    for window in limit.windows:
        start = window_start(epoch, window)
        ends = start + window.seconds
        key = f"{limit.name}|{who}|{window.seconds}|{start}"
        if not svc.store.ratelimit.hit(key, limit=window.allowed(svc.settings), window_ends=datetime.fromtimestamp(ends, tz=UTC)):
            raise RateLimited(max(1, ends - epoch))
