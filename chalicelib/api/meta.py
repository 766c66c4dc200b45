"""Meta routes: health and the OpenAPI document."""

from __future__ import annotations

from chalice import Blueprint
from msgspec import Struct

from chalicelib.api.framework import OPERATIONS, Reply, operation
from chalicelib.auth.permissions import PUBLIC
from chalicelib.context import RequestContext
from chalicelib.services import Services

bp = Blueprint(__name__)


class Health(Struct):
    status: str
    store: str


@operation(bp, "GET", "/v1/health", action=PUBLIC, tag="meta", summary="Service and store health",
           responses={200: ("Healthy.", Health), 503: ("The store is unreachable.", Health)})
def health(svc: Services, ctx: RequestContext) -> Reply:
    if svc.store.health.store_reachable():
        return Reply(200, Health(status="ok", store="ok"))
    return Reply(503, Health(status="unavailable", store="unreachable"), headers={"Retry-After": "5"})


@operation(bp, "GET", "/v1/openapi.json", action=PUBLIC, tag="meta", summary="This OpenAPI 3.1 document",
           responses={200: ("The document.", dict)})
def openapi_document(svc: Services, ctx: RequestContext) -> Reply:
    return Reply(200, _document())


_BUILT: dict[int, bytes] = {}


def _document() -> bytes:
    """Built once per container (~60 ms of CPU; the registry does not change after import), so an
    anonymous flood of this public route costs little besides its edge budget (docs/hardening.md)."""
    if len(OPERATIONS) not in _BUILT:
        import msgspec

        from chalicelib.api.openapi import build_document

        _BUILT.clear()
        _BUILT[len(OPERATIONS)] = msgspec.json.encode(build_document(OPERATIONS))
    return _BUILT[len(OPERATIONS)]



