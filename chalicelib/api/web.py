"""The web pages: /dashboard/ and /docs/ (public shells; data calls carry the user's token), the
dashboard's sign-in configuration and the hashed static assets.

These are not JSON API operations: they stay out of `/v1/openapi.json` and the role matrix
(`WEB_ROUTES`). Every answer carries the strict security headers; see docs/web.md.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.framework import PROBLEM_JSON, REQUEST_LOG
from chalicelib.settings import SETTINGS
from chalicelib.web import assets

bp = Blueprint(__name__)

HTML = "text/html; charset=utf-8"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
WEB_ROUTES = {("GET", "/dashboard"), ("GET", "/dashboard/config.json"), ("GET", "/docs"), ("GET", "/assets/{name}")}


def security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": assets.content_security_policy(SETTINGS.staff_issuer),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }


def _reply(route: str, status: int, body: str | bytes, content_type: str, cache: str, started: float) -> Response:
    request_id = str(uuid.uuid4())
    headers = {**security_headers(), "Content-Type": content_type, "Cache-Control": cache, "X-Request-Id": request_id}
    REQUEST_LOG.info(json.dumps({
        "msg": "request", "method": "GET", "route": route, "status": status,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2), "request_id": request_id,
        "role": "anonymous", "caller": None,
    }))
    return Response(body=body, status_code=status, headers=headers)


def _context() -> dict[str, Any]:
    request = bp.current_request
    return request.context if request is not None and isinstance(request.context, dict) else {}


def _page(route: str, page: str) -> Response:
    started = time.perf_counter()
    return _reply(route, 200, assets.render_page(page, assets.base_path(_context())), HTML, NO_CACHE, started)


@bp.route("/dashboard", methods=["GET"])
def dashboard() -> Response:
    return _page("/dashboard", "dashboard")


@bp.route("/docs", methods=["GET"])
def docs() -> Response:
    return _page("/docs", "docs")


@bp.route("/dashboard/config.json", methods=["GET"])
def dashboard_config() -> Response:
    """What the page needs to sign in: the staff issuer (OIDC discovery) and its public client."""
    started = time.perf_counter()
    base = assets.base_path(_context())
    config = {
        "issuer": SETTINGS.staff_issuer,
        "client_id": SETTINGS.dashboard_client_id,
        "scope": SETTINGS.dashboard_scope,
        "redirect_path": f"{base}/dashboard/",
        "api_base": base,
    }
    return _reply("/dashboard/config.json", 200, json.dumps(config), "application/json", NO_CACHE, started)


@bp.route("/assets/{name}", methods=["GET"])
def asset(name: str) -> Response:
    started = time.perf_counter()
    found = assets.manifest().lookup(name)
    if found is None:
        problem = {"type": "about:blank", "title": "Not found", "status": 404,
                   "detail": "No such asset (asset names carry their content hash)."}
        return _reply("/assets/{name}", 404, json.dumps(problem), PROBLEM_JSON, NO_CACHE, started)
    body: str | bytes = found.body if found.binary else found.body.decode("utf-8")
    return _reply("/assets/{name}", 200, body, found.content_type, IMMUTABLE, started)
