"""Route declaration, request handling and responses, shared by every blueprint.

`operation(...)` registers a Chalice route *and* its contract (action, schemas, statuses). The
same registry drives authentication, the permission check, body/query validation, the OpenAPI
document and the route-by-role test matrix, so a route cannot exist without them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from chalice import Blueprint, Response

from chalicelib.auth import permissions
from chalicelib.auth.tokens import InvalidToken
from chalicelib.context import RequestContext
from chalicelib.domain.errors import DomainError
from chalicelib.domain.ratelimit import RateLimit
from chalicelib.domain.results import Created, Saved
from chalicelib.domain.validation import convert, decode_json
from chalicelib.errors import FieldError, ProblemError, as_problem, bad_request, store_unavailable, unauthorized
from chalicelib.ports import StoreUnavailable
from chalicelib.services import Services, services

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    action: str  # a key of permissions.PERMISSIONS, or permissions.PUBLIC
    summary: str
    tag: str
    responses: dict[int, tuple[str, Any]]
    request: Any = None
    request_doc: Any = None  # schema shown in OpenAPI when it differs from the decoding type
    query: Any = None
    body_limit: Callable[[Services], int] | None = None
    content_type: str = JSON
    operation_id: str = ""
    description: str = ""
    links: dict[int, dict[str, Any]] = field(default_factory=dict)  # OpenAPI links per status
    rate_limits: tuple[RateLimit, ...] = ()  # applied in order after authentication, before the body is read

    @property
    def public(self) -> bool:
        return self.action == permissions.PUBLIC

    @property
    def rate_limit(self) -> RateLimit | None:
        """The first declared limit (the caller's own budget where there are several)."""
        return self.rate_limits[0] if self.rate_limits else None


OPERATIONS: list[Operation] = []


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON

    @classmethod
    def saved(cls, result: Saved[Any]) -> Reply:
        """201 for a new record, 200 for an identical resend or a replacement."""
        return cls(201 if isinstance(result, Created) else 200, result.value)


# These libraries log whole request and response bodies (contacts, notes, handles) at DEBUG.
# Personal data never goes to a log line, so they are held at INFO whatever the root level is.
BODY_LOGGING_LIBRARIES = ("botocore", "boto3", "pynamodb", "urllib3")


def _quiet_body_logging() -> None:
    for name in BODY_LOGGING_LIBRARIES:
        library_logger = logging.getLogger(name)
        if library_logger.level < logging.INFO:  # NOTSET (0) would follow a DEBUG root
            library_logger.setLevel(logging.INFO)


def _log_handler() -> logging.Logger:
    from chalicelib.settings import SETTINGS

    _quiet_body_logging()
    logging.getLogger("beatline").setLevel(SETTINGS.log_level)
    # The request line is the service's access log: always INFO, whatever BEATLINE_LOG_LEVEL says.
    logger = logging.getLogger("beatline.request")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.INFO)
    return logger


REQUEST_LOG = _log_handler()
ERROR_LOG = logging.getLogger("beatline.error")


def problem_response(problem: ProblemError, request_id: str) -> Response:
    body = problem.to_dict()
    body["request_id"] = request_id
    headers: dict[str, str | list[str]] = {"Content-Type": PROBLEM_JSON, "X-Request-Id": request_id, **problem.headers}
    return Response(body=json.dumps(body), status_code=problem.status, headers=headers)


def _encode(reply: Reply, request_id: str) -> Response:
    headers: dict[str, str | list[str]] = {"Content-Type": reply.content_type, "X-Request-Id": request_id,
                                           **reply.headers}
    if reply.body is None:
        body: str = ""
    elif isinstance(reply.body, str | bytes):
        body = reply.body.decode() if isinstance(reply.body, bytes) else reply.body
    else:
        body = msgspec.json.encode(reply.body).decode()
    return Response(body=body, status_code=reply.status, headers=headers)


def authenticate(svc: Services, headers: Any) -> Any:
    value = headers.get("authorization") if headers else None
    if not value:
        raise unauthorized()
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Use `Authorization: Bearer <token>`.")
    try:
        return svc.verifier.verify(token.strip())
    except InvalidToken:
        raise unauthorized("The token is invalid or expired.") from None


def _query_dict(params: Any) -> dict[str, Any]:
    """A plain dict for msgspec: Chalice's MultiDict is not a dict, and msgspec.convert then
    silently ignores unknown parameters. A repeated parameter becomes a list, so it fails
    validation (400) instead of the last value winning."""
    if not params:
        return {}
    out: dict[str, Any] = {}
    for name in params:
        values = params.getlist(name) if hasattr(params, "getlist") else [params[name]]
        out[name] = values[0] if len(values) == 1 else values
    return out


def _require_json(headers: Any) -> None:
    """Bodies are JSON. Chalice would answer other types with its own 415 (not problem+json), so
    routes accept any type and this check answers with a problem the client can act on."""
    value = (headers.get("content-type") if headers else None) or JSON
    media_type = value.split(";", 1)[0].strip().lower()
    if media_type != JSON and not (media_type.startswith("application/") and media_type.endswith("+json")):
        raise bad_request(
            "Send the body as JSON with `Content-Type: application/json`.",
            [FieldError("Content-Type", f"unsupported media type {media_type!r}")],
        )


def _request_id(request: Any) -> str:
    context = getattr(request, "context", None) or {}
    candidate = context.get("requestId") if isinstance(context, dict) else None
    return candidate if isinstance(candidate, str) and candidate else str(uuid.uuid4())


def _client_ip(request: Any) -> str | None:
    context = getattr(request, "context", None) or {}
    identity = context.get("identity") if isinstance(context, dict) else None
    return identity.get("sourceIp") if isinstance(identity, dict) else None


def _caller(svc: Services | None, principal: Any, ctx: RequestContext | None) -> str | None:
    """The request line's pseudonym of the caller. Staff: `usr_` (service key). Residents: `rlg_`,
    keyed by the subscriber's own secret, so a request line cannot be tied to a subscriber id once
    it is erased (and a dead resident token is logged with no caller at all)."""
    if principal is None or svc is None:
        return None
    if principal.kind != "resident":
        return svc.pseudonyms.caller(principal.sub)
    subscriber = ctx.subscriber if ctx is not None else None
    if subscriber is None or getattr(subscriber, "secret", None) is None:
        return None
    from chalicelib.usecases.residents import resident_name

    return resident_name(svc, subscriber, "log-caller")


def _caller_context(op: Operation, svc: Services, request: Any, request_id: str, principal: Any) -> RequestContext:
    """Authorize an authenticated caller; a resident's record is loaded here."""
    ctx = RequestContext(request_id=request_id, now=svc.clock(), client_ip=_client_ip(request))
    if principal is None:
        return ctx
    permissions.require(principal, op.action)
    ctx = dataclasses.replace(ctx, principal=principal)
    if principal.kind == "resident":
        # An erased subscriber's token is dead before anything else is looked at (401, not a 400
        # about the body it sent, nor a 429).
        from chalicelib.usecases.subscribers import current

        ctx = dataclasses.replace(ctx, subscriber=current(svc, ctx))
    return ctx


def _inputs(op: Operation, svc: Services, request: Any, path_params: dict[str, str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(path_params)
    if op.request is not None:
        _require_json(request.headers)
        limit = op.body_limit(svc) if op.body_limit else svc.settings.max_body_bytes
        kwargs["body"] = decode_json(request.raw_body, op.request, limit=limit)
    if op.query is not None:
        kwargs["query"] = convert(_query_dict(request.query_params), op.query, what="query string")
    return kwargs


def handle(op: Operation, fn: Callable[..., Reply], request: Any, path_params: dict[str, str]) -> Response:
    started = time.perf_counter()
    request_id = _request_id(request)
    principal = None
    svc: Services | None = None
    ctx: RequestContext | None = None
    try:
        svc = services()
        principal = None if op.public else authenticate(svc, request.headers)
        ctx = _caller_context(op, svc, request, request_id, principal)
        if op.rate_limits:
            # Before decoding: a limited client's garbage costs one counter write, no parsing.
            from chalicelib.usecases.ratelimit import enforce

            for limit in op.rate_limits:
                enforce(svc, ctx, limit)
        response = _encode(fn(svc, ctx, **_inputs(op, svc, request, path_params)), request_id)
    except (ProblemError, DomainError) as refused:  # the one place domain refusals become problems
        response = problem_response(as_problem(refused), request_id)
    except OverflowError:
        # Only client values reach datetime's limits (year 1 or 9999 with an offset, say).
        response = problem_response(bad_request("A date or number is out of range."), request_id)
    except RecursionError:
        # Only nested client input recurses this deep (bodies are depth-checked before decoding).
        response = problem_response(bad_request("The input nests too deeply."), request_id)
    except StoreUnavailable:
        response = problem_response(store_unavailable(retry_after=2), request_id)
    except Exception:  # never a stack trace to a client; the log has it
        ERROR_LOG.exception("unhandled error in %s %s (request %s)", op.method, op.path, request_id)
        response = problem_response(ProblemError(500, "Internal error", "Something went wrong on our side."), request_id)
    line = {
        "msg": "request",
        "method": op.method,
        "route": op.path,
        "status": response.status_code,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "request_id": request_id,
        "role": principal.primary_role if principal else "anonymous",
        "caller": _caller(svc, principal, ctx),
    }
    REQUEST_LOG.info(json.dumps(line))
    return response


def operation(
    bp: Blueprint,
    method: str,
    path: str,
    *,
    action: str,
    summary: str,
    tag: str,
    responses: dict[int, tuple[str, Any]],
    request: Any = None,
    request_doc: Any = None,
    query: Any = None,
    body_limit: Callable[[Services], int] | None = None,
    content_type: str = JSON,
    description: str = "",
    links: dict[int, dict[str, Any]] | None = None,
    rate_limit: RateLimit | tuple[RateLimit, ...] | None = None,
) -> Callable[[Callable[..., Reply]], Callable[..., Reply]]:
    """Declare a route: `fn(svc, ctx, **path_params, [body=], [query=]) -> Reply`."""
    if action != permissions.PUBLIC:
        permissions.allowed_roles(action)  # unknown actions fail at import, not at request time

    def decorate(fn: Callable[..., Reply]) -> Callable[..., Reply]:
        op = Operation(
            method=method, path=path, action=action, summary=summary, tag=tag,
            responses=responses, request=request, request_doc=request_doc, query=query,
            body_limit=body_limit, content_type=content_type, operation_id=fn.__name__,
            description=description or (fn.__doc__ or "").strip(), links=links or {},
            rate_limits=(rate_limit,) if isinstance(rate_limit, RateLimit) else tuple(rate_limit or ()),
        )
        OPERATIONS.append(op)

        def view(**path_params: str) -> Response:
            return handle(op, fn, bp.current_request, path_params)

        view.__name__ = fn.__name__
        # Any content type reaches the view, which answers a non-JSON body with a problem (400).
        bp.route(path, methods=[method], content_types=[JSON, "*/*"])(view)
        return fn

    return decorate


# Undeclared methods. API Gateway answers a method a path does not declare with its own 403
# ("Missing Authentication Token") and Chalice with a non-problem 405, so every path declares the
# standard methods it lacks, answered here; any other method (TRACE, PROPFIND; only `chalice local`
# lets those through, API Gateway refuses them itself) is answered by the middleware below.
STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
METHOD_FALLBACKS: set[tuple[str, str]] = set()  # (method, path) registered only to answer 405


def declared_methods(path: str) -> list[str]:
    return sorted({op.method for op in OPERATIONS if op.path == path})


def method_not_allowed(method: str, path: str, request: Any) -> Response:
    allow = ", ".join(declared_methods(path))
    problem = ProblemError(405, "Method not allowed", f"This path answers {allow}.", headers={"Allow": allow},
                           slug="method-not-allowed")
    request_id = _request_id(request)
    response = problem_response(problem, request_id)
    if method == "HEAD":
        response.body = ""  # a HEAD answer has no body
    REQUEST_LOG.info(json.dumps({"msg": "request", "method": method[:16], "route": path, "status": 405,
                                 "latency_ms": 0, "request_id": request_id, "role": "anonymous", "caller": None}))
    return response


def _fallback_view(app: Any, path: str) -> Callable[..., Response]:
    def view(**_path_params: str) -> Response:
        request = app.current_request
        return method_not_allowed(request.method, path, request)

    view.__name__ = "method_not_allowed_" + "".join(c if c.isalnum() else "_" for c in path)
    return view


def install_method_guards(app: Any) -> None:
    """Call once, after every blueprint is registered: 405 problem + Allow for undeclared methods."""
    for path in sorted({op.path for op in OPERATIONS}):
        missing = [m for m in STANDARD_METHODS if m not in declared_methods(path)]
        app.route(path, methods=missing, content_types=[JSON, "*/*"])(_fallback_view(app, path))
        METHOD_FALLBACKS.update((m, path) for m in missing)

    def guard(request: Any, get_response: Callable[[Any], Response]) -> Response:
        context = getattr(request, "context", None) or {}
        path = context.get("resourcePath") if isinstance(context, dict) else None
        if isinstance(path, str) and path in app.routes and request.method not in app.routes[path]:
            return method_not_allowed(request.method, path, request)
        return get_response(request)

    app.register_middleware(guard, "http")
