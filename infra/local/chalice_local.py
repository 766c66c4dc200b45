"""`chalice local` with a listen backlog fit for concurrent clients.

socketserver's default backlog is 5: with a dozen clients connecting at once on a busy machine,
the kernel resets the extra connections before the threaded server accepts them.

    python -m infra.local.chalice_local local --stage local --port 8000
"""

from __future__ import annotations

import sys

from chalice import local
from chalice.cli import main

local.ThreadedHTTPServer.request_queue_size = 128

if __name__ == "__main__":
    sys.argv[0] = "chalice"
    sys.exit(main())
