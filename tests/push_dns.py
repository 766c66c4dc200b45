"""A resolver for tests (no DNS traffic): the push-endpoint guard resolves through this.

Names come from a table the test can change between calls (DNS rebinding); `*.example.test`
names not in the table resolve to one public address (nothing in the tests connects to it);
anything else is NXDOMAIN, as `getaddrinfo` would report it.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence

PUBLIC_TEST_ADDRESS = "93.184.215.14"  # a public unicast address


class StaticResolver:
    def __init__(self, table: Mapping[str, Sequence[str]] | None = None, *, suffix: str = ".example.test") -> None:
        self.table = dict(table or {})
        self.suffix = suffix
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host in self.table:
            return list(self.table[host])
        if self.suffix and host.endswith(self.suffix):
            return [PUBLIC_TEST_ADDRESS]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


TEST_PUSH_RESOLVER = StaticResolver()
