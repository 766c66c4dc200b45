"""A requests Session that only talks to destinations the EgressGuard vetted, at the vetted address.

- Every request (whoever builds it: pywebpush posts through this session) is checked by the
  guard inside the transport adapter, at send time: the name is resolved again (DNS may have
  changed since registration) and refused if any address is not public (DestinationRefused).
- The connection is opened to the first vetted address (a urllib3 pool keyed by that address),
  while the `Host` header, TLS SNI and certificate verification use the URL's host name
  (`server_hostname` / `assert_hostname` pool settings). Nothing resolves the name a second time.
- Redirects are never followed (`get_redirect_target` is None: a 3xx is returned as it is).
- No proxies or netrc from the environment (`trust_env = False`); certificates are always verified.
- Each request has a deadline for its WHOLE duration (connect, TLS handshake, writing the request,
  reading headers and body): the peer decides nothing about how long a send takes. A per-read
  timeout alone lets an endpoint that sends one byte every few seconds hold a send for minutes.
  Every socket the request uses is registered with a watch; when the deadline passes, the watch
  shuts the sockets down (a blocked recv/send/handshake returns at once) and the send raises
  `SendDeadlineExceeded` (a requests Timeout). Connect and read timeouts are clamped to what is left.

Imports requests/urllib3: only the fan-out worker loads this module.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from chalicelib.notify.egress import EgressGuard

DEFAULT_DEADLINE = 5.0  # seconds for one whole request, whatever the peer does


class SendDeadlineExceeded(requests.exceptions.Timeout):
    """The request was cut off at its deadline (the peer was too slow, in any phase)."""


class _Watch:
    """The deadline of one request: shuts down every socket registered with it when it passes."""

    def __init__(self, seconds: float) -> None:
        self.expires = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watch:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        return max(0.001, self.expires - time.monotonic())

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def clamp(self, timeout: Any) -> tuple[float, float]:
        """(connect, read) timeouts no longer than what is left of the deadline."""
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        left = self.remaining()
        return (min(connect, left) if connect else left, min(read, left) if read else left)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()  # the watch of the request this thread is sending


def _register(sock: socket.socket | None) -> None:
    watch: _Watch | None = getattr(_current, "watch", None)
    if watch is not None and sock is not None:
        watch.add(sock)


class _WatchedHTTPConnection(HTTPConnection):
    """Registers its socket with the sending thread's watch: new (before any TLS) and reused."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _register(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _register(sock)  # the TLS handshake runs on this socket: the watch can cut it
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """Checks each request with the guard and dials the vetted address (never a proxy)."""

    def __init__(self, guard: EgressGuard, **kwargs: Any) -> None:
        self.guard = guard
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: Any,
                                        proxies: dict[str, str] | None = None, cert: Any = None) -> HTTPConnectionPool:
        destination = self.guard.check(request.url or "")  # raises DestinationRefused / DestinationUnresolved
        _, pool_kwargs = self.build_connection_pool_key_attributes(request, _always_verify(verify), cert)
        if destination.scheme == "https":
            pool_kwargs = {**pool_kwargs, "server_hostname": destination.host, "assert_hostname": destination.host}
        # The pool's host is the address, so urllib3 would write it into Host: name the service instead.
        request.headers["Host"] = destination.host_header
        return self.poolmanager.connection_from_host(destination.addresses[0], port=destination.port,
                                                     scheme=destination.scheme, pool_kwargs=pool_kwargs)


    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, _always_verify(verify), cert)


def _always_verify(verify: Any) -> bool | str:
    """A CA bundle path, or True: `verify=False` is not honoured here."""
    return verify if isinstance(verify, str) and verify else True


class NoRedirectSession(requests.Session):
    """A session that returns 3xx responses instead of following them, each request (body read
    included) within `deadline` seconds."""

    deadline = DEFAULT_DEADLINE

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        previous = getattr(_current, "watch", None)
        with _Watch(self.deadline) as watch:
            _current.watch = watch
            try:
                kwargs["timeout"] = watch.clamp(kwargs.get("timeout"))
                response = super().send(request, **kwargs)  # stream=False: reads the body too
            except requests.exceptions.RequestException as exc:
                if watch.expired:
                    raise SendDeadlineExceeded(f"no answer within {self.deadline} s") from exc
                raise
            finally:
                _current.watch = previous
        if watch.expired:
            raise SendDeadlineExceeded(f"no answer within {self.deadline} s")
        return response


class SlowHosts:
    """Origins whose sends ran into the deadline: after `strikes` within `window` seconds, further
    sends to that origin are skipped (deferred to a retry) until the window passes, so a hostile or
    failing host costs one or two deadlines per container, not one per subscription on it."""

    def __init__(self, *, strikes: int = 2, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.strikes, self.window, self._clock = strikes, window, clock
        self._hits: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, origin: str) -> list[float]:
        now = self._clock()
        hits = [t for t in self._hits.get(origin, []) if now - t < self.window]
        if hits:
            self._hits[origin] = hits
        else:
            self._hits.pop(origin, None)
        return hits

    def strike(self, origin: str) -> None:
        with self._lock:
            self._hits[origin] = [*self._recent(origin), self._clock()]

    def is_slow(self, origin: str) -> bool:
        with self._lock:
            return len(self._recent(origin)) >= self.strikes


def guarded_session(guard: EgressGuard, *, ca_certs: str | None = None, pool_maxsize: int = 16,
                    deadline: float = DEFAULT_DEADLINE) -> requests.Session:
    """A pooled session whose every request goes through `guard` (http and https alike) and
    ends within `deadline` seconds."""
    session = NoRedirectSession()
    session.deadline = deadline
    session.trust_env = False
    session.max_redirects = 0
    if ca_certs:
        session.verify = ca_certs
    adapter = GuardedAdapter(guard, pool_maxsize=pool_maxsize, max_retries=0)
    for prefix in ("https://", "http://"):
        session.mount(prefix, adapter)
    return session
