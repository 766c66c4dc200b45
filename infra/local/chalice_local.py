"""`chalice local` with a listen backlog fit for concurrent clients.

socketserver's default backlog is 5: with a dozen clients connecting at once on a busy machine,
the kernel resets the extra connections before the threaded server accepts them. And every HTTP
method reaches the app (http.server would answer TRACE and other unknown methods with an HTML 501).

    python -m infra.local.chalice_local local --stage local --port 8000
"""

from __future__ import annotations

import sys
from typing import Any

from chalice import local
from chalice.cli import main

local.ThreadedHTTPServer.request_queue_size = 128


def _any_method(self: local.ChaliceRequestHandler, name: str) -> Any:
    """http.server answers a method without a `do_<METHOD>` (TRACE, PROPFIND, ...) with an HTML 501.
    Every method goes to the app instead, which answers an undeclared one with 405 problem+json."""
    if name.startswith("do_"):
        return self._generic_handle
    raise AttributeError(name)


local.ChaliceRequestHandler.__getattr__ = _any_method  # type: ignore[attr-defined]

if __name__ == "__main__":
    sys.argv[0] = "chalice"
    sys.exit(main())
