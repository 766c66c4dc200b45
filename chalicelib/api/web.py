"""The web pages: /dashboard/, /docs/, the residents' app /app/ and the team's app /team/ (public
shells; data calls carry the user's token), the dashboard's sign-in configuration, the apps'
manifests and service workers, and the hashed static assets.

These are not JSON API operations: they stay out of `/v1/openapi.json` and the role matrix
(`WEB_ROUTES`). Every answer carries the strict security headers; see docs/web.md.
"""

from __future__ import annotations

import hashlib
import html
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
WEB_ROUTES = {("GET", "/dashboard"), ("GET", "/dashboard/config.json"), ("GET", "/docs"), ("GET", "/assets/{name}"),
              ("GET", "/app"), ("GET", "/app/sw.js"), ("GET", "/app/manifest.webmanifest"),
              ("GET", "/team"), ("GET", "/team/sw.js"), ("GET", "/team/manifest.webmanifest"),
              ("GET", "/app/confirm")}
MANIFEST = "application/manifest+json"
JAVASCRIPT = "text/javascript; charset=utf-8"


def security_headers(app: bool = False) -> dict[str, str]:
    """The strict headers of every web answer. The residents' app (`app=True`) talks to this origin
    only (no issuer), may load map tiles from the configured tile origin and may ask for the
    device's location (its "use my location" button)."""
    policy = (assets.content_security_policy("", SETTINGS.map_tile_url) if app
              else assets.content_security_policy(SETTINGS.staff_issuer))
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": f"camera=(), microphone=(), geolocation=({'self' if app else ''})",
    }


def module_page(route: str, page: str, modules: dict[str, str], values: dict[str, str], *, issuer: str,
                tiles: str, geolocation: bool) -> Response:
    """A page of ES modules (dashboard, residents' app, team's app): its import map in the page and
    admitted by hash in the CSP, beside `issuer` (sign-in) and `tiles` (map tiles) when the page needs them."""
    started = time.perf_counter()
    base = assets.base_path(_context())
    import_map = assets.import_map(modules, base)
    body = assets.render_page(page, base, {"importmap": import_map, **values})
    policy = assets.content_security_policy(issuer, tiles, (assets.script_hash(import_map),))
    headers = {**security_headers(), "Content-Security-Policy": policy,
               "Permissions-Policy": f"camera=(), microphone=(), geolocation=({'self' if geolocation else ''})"}
    return _reply(route, 200, body, HTML, NO_CACHE, started, headers_=headers)


def _reply(route: str, status: int, body: str | bytes, content_type: str, cache: str, started: float,
           app: bool = False, headers_: dict[str, str] | None = None) -> Response:
    request_id = str(uuid.uuid4())
    headers = {**(headers_ or security_headers(app)), "Content-Type": content_type, "Cache-Control": cache, "X-Request-Id": request_id}
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


# The dashboard: ES modules on the same layout as the team's app (shared api/auth/i18n/dom modules),
# sent to their hashed files by the page's import map; uPlot and oidc-client-ts stay classic scripts.
DASHBOARD_MODULES = {
    "./api.js": "api.js", "./auth.js": "auth.js", "./i18n.js": "i18n.js", "./dom.js": "dom.js",
    "./lists.js": "lists.js", "./dashboard-en.js": "dashboard-en.js", "./dashboard-periods.js": "dashboard-periods.js",
    "./dashboard-csv.js": "dashboard-csv.js", "./dashboard-figures.js": "dashboard-figures.js",
    "./dashboard-headline.js": "dashboard-headline.js",
}


@bp.route("/dashboard", methods=["GET"])
def dashboard() -> Response:
    return module_page("/dashboard", "dashboard", DASHBOARD_MODULES, {}, issuer=SETTINGS.staff_issuer, tiles="",
                       geolocation=False)


@bp.route("/docs", methods=["GET"])
def docs() -> Response:
    return _page("/docs", "docs")


@bp.route("/app/confirm", methods=["GET"])
def confirm_email() -> Response:
    """The page an email confirmation link opens: a button that POSTs the token (docs/channels.md)."""
    return _page("/app/confirm", "confirm")


# The residents' app: ES modules sent to their hashed files by the page's import map, as for the
# team's app below (app.js is the entry; the views are app-*.js; the shared modules are the team's).
APP_MODULES = {
    "./api.js": "api.js", "./i18n.js": "i18n.js", "./storage.js": "storage.js", "./dom.js": "dom.js",
    "./lists.js": "lists.js", "./app-core.js": "app-core.js", "./app-en.js": "app-en.js", "./app-cy.js": "app-cy.js",
    "./app-areas.js": "app-areas.js", "./app-inbox.js": "app-inbox.js", "./app-conversations.js": "app-conversations.js",
    "./app-neighbourhood.js": "app-neighbourhood.js", "./app-prefs.js": "app-prefs.js", "./app-trust.js": "app-trust.js",
    "./app-contacts.js": "app-contacts.js",
    "idb-keyval": "idb-keyval.esm.js",
}


def app_shell(base: str) -> list[str]:
    """What the residents' service worker precaches: the page, the files it names, every module."""
    files = assets.manifest()
    modules = [files.url(name, base) for name in APP_MODULES.values()]
    # no URL twice: Cache.addAll() rejects duplicate requests, and the worker would never install
    return list(dict.fromkeys([f"{base}/app/", *assets.asset_urls("app.html", base), *modules]))


@bp.route("/app", methods=["GET"])
def resident_app() -> Response:
    """The residents' web app shell; the map tile settings and the emergency numbers ride in meta
    tags (no extra request; the cached shell has them offline too). No issuer: it talks to this
    origin only; the device's location for its "use my location" button."""
    values = {"tile_url": html.escape(SETTINGS.map_tile_url, quote=True),
              "tile_attribution": html.escape(SETTINGS.map_tile_attribution, quote=True),
              "emergency_number": html.escape(SETTINGS.emergency_number, quote=True),
              "non_emergency_number": html.escape(SETTINGS.non_emergency_number, quote=True)}
    return module_page("/app", "app", APP_MODULES, values, issuer="", tiles=SETTINGS.map_tile_url, geolocation=True)


@bp.route("/app/sw.js", methods=["GET"])
def service_worker() -> Response:
    """The service worker. Its URL cannot carry a content hash (a new URL is a new worker), so it is
    `no-cache`: the browser revalidates it on every navigation and byte-compares it; it names the
    hashed shell files, so any asset change changes it and installs the new version. Served from
    /app/, its default scope is /app/: no `Service-Worker-Allowed` needed."""
    started = time.perf_counter()
    base = assets.base_path(_context())
    shell = app_shell(base)
    version = hashlib.sha256("|".join(shell).encode()).hexdigest()[:12]
    body = assets.render_file("app-sw.js", base, {"shell": json.dumps(shell), "version": version})
    return _reply("/app/sw.js", 200, body, JAVASCRIPT, NO_CACHE, started, app=True)


@bp.route("/app/manifest.webmanifest", methods=["GET"])
def app_manifest() -> Response:
    """The web app manifest (installable: name, start URL and scope /app/, standalone, icons)."""
    started = time.perf_counter()
    base = assets.base_path(_context())
    files = assets.manifest()
    document = {
        "name": "Beatline: your neighbourhood team", "short_name": "Beatline", "lang": "en-GB",
        "description": "Police alerts for the places you choose, and a line to your neighbourhood team.",
        "id": f"{base}/app/", "start_url": f"{base}/app/", "scope": f"{base}/app/", "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#0b3d6e",
        "icons": [{"src": files.url(name, base), "sizes": sizes, "type": kind, "purpose": "any"}
                  for name, sizes, kind in (("app-icon.svg", "any", "image/svg+xml"),)],
    }
    return _reply("/app/manifest.webmanifest", 200, json.dumps(document), MANIFEST, NO_CACHE, started, app=True)


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


# The team's app: ES modules named by plain relative names, sent to their hashed files by the page's
# import map (`./x.js` is `<base>/assets/x.js`). `lazy/` entries are classic scripts and styles a
# module loads on demand (the map and its drawing plugin): resolved through the same map with
# `import.meta.resolve`, not precached by the service worker.
TEAM_MODULES = {
    "./api.js": "api.js", "./auth.js": "auth.js", "./i18n.js": "i18n.js", "./storage.js": "storage.js",
    "./dom.js": "dom.js", "./lists.js": "lists.js", "./map.js": "map.js",
    "./team-en.js": "team-en.js", "./team-cy.js": "team-cy.js",
    "./team-log.js": "team-log.js", "./team-mine.js": "team-mine.js", "./team-queue.js": "team-queue.js",
    "./team-alerts.js": "team-alerts.js", "./team-qr.js": "team-qr.js", "./team-push.js": "team-push.js",
    "idb-keyval": "idb-keyval.esm.js", "qrcode-generator": "qrcode-generator.esm.js",
    "lazy/leaflet.js": "leaflet.js", "lazy/leaflet.css": "leaflet.css",
    "lazy/leaflet-geoman.js": "leaflet-geoman.min.js", "lazy/leaflet-geoman.css": "leaflet-geoman.css",
}


def team_shell(base: str) -> list[str]:
    """What the team's service worker precaches: the page, its files and every module (not lazy/)."""
    files = assets.manifest()
    modules = [files.url(name, base) for spec, name in TEAM_MODULES.items() if not spec.startswith("lazy/")]
    # no URL twice: Cache.addAll() rejects duplicate requests, and the worker would never install
    return list(dict.fromkeys([f"{base}/team/", *assets.asset_urls("team.html", base), *modules]))


@bp.route("/team", methods=["GET"])
def team_app() -> Response:
    """The team's app shell. Its sign-in settings ride in meta tags, so the cached shell signs in
    and works offline without another request; the device's location for street contacts."""
    values = {"issuer": html.escape(SETTINGS.staff_issuer, quote=True),
              "client_id": html.escape(SETTINGS.dashboard_client_id, quote=True),
              "scope": html.escape(SETTINGS.dashboard_scope, quote=True),
              "tile_url": html.escape(SETTINGS.map_tile_url, quote=True),
              "tile_attribution": html.escape(SETTINGS.map_tile_attribution, quote=True)}
    return module_page("/team", "team", TEAM_MODULES, values, issuer=SETTINGS.staff_issuer,
                       tiles=SETTINGS.map_tile_url, geolocation=True)


@bp.route("/team/sw.js", methods=["GET"])
def team_service_worker() -> Response:
    """The team's service worker (scope /team/): the shell offline, staff notifications. no-cache
    for the same reason as the residents' worker."""
    started = time.perf_counter()
    base = assets.base_path(_context())
    shell = team_shell(base)
    version = hashlib.sha256("|".join(shell).encode()).hexdigest()[:12]
    body = assets.render_file("team-sw.js", base, {"shell": json.dumps(shell), "version": version})
    return _reply("/team/sw.js", 200, body, JAVASCRIPT, NO_CACHE, started)


@bp.route("/team/manifest.webmanifest", methods=["GET"])
def team_manifest() -> Response:
    started = time.perf_counter()
    base = assets.base_path(_context())
    document = {
        "name": "Beatline for the team", "short_name": "Beatline team", "lang": "en-GB",
        "description": "Log contacts, answer residents and draft alerts on patrol.",
        "id": f"{base}/team/", "start_url": f"{base}/team/", "scope": f"{base}/team/", "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#0b3d6e",
        "icons": [{"src": assets.manifest().url("team-icon.svg", base), "sizes": "any", "type": "image/svg+xml",
                   "purpose": "any"}],
    }
    return _reply("/team/manifest.webmanifest", 200, json.dumps(document), MANIFEST, NO_CACHE, started)
