"""A requests Session that only talks to destinations the EgressGuard vetted, at the vetted address.

- Every request (whoever builds it: pywebpush posts through this session) is checked by the
  guard inside the transport adapter, at send time: the name is resolved again (DNS may have
  changed since registration) and refused if any address is not public (DestinationRefused).
- The connection is opened to the first vetted address (a urllib3 pool keyed by that address),
  while the `Host` header, TLS SNI and certificate verification use the URL's host name
  (`server_hostname` / `assert_hostname` pool settings). Nothing resolves the name a second time.
- Redirects are never followed (`get_redirect_target` is None: a 3xx is returned as it is).
- No proxies or netrc from the environment (`trust_env = False`); certificates are always verified.

Imports requests/urllib3: only the fan-out worker loads this module.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool

from chalicelib.notify.egress import EgressGuard


class GuardedAdapter(HTTPAdapter):
    """Checks each request with the guard and dials the vetted address (never a proxy)."""

    def __init__(self, guard: EgressGuard, **kwargs: Any) -> None:
        self.guard = guard
        super().__init__(**kwargs)

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
    """A session that returns 3xx responses instead of following them."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None


def guarded_session(guard: EgressGuard, *, ca_certs: str | None = None, pool_maxsize: int = 16) -> requests.Session:
    """A pooled session whose every request goes through `guard` (http and https alike)."""
    session = NoRedirectSession()
    session.trust_env = False
    session.max_redirects = 0
    if ca_certs:
        session.verify = ca_certs
    adapter = GuardedAdapter(guard, pool_maxsize=pool_maxsize, max_retries=0)
    for prefix in ("https://", "http://"):
        session.mount(prefix, adapter)
    return session
