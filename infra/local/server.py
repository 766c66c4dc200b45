"""`chalice local` as a real HTTP server on a free loopback port, sharing the session's
DynamoDB Local and keys (its environment is the test process's)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from infra.local.child import ChildService
from infra.local.dynamodb_local import free_port

ROOT = Path(__file__).resolve().parents[2]


class LiveServer:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.extra_env = dict(env or {})  # on top of the test process's environment
        self.child = ChildService("chalice local")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> LiveServer:
        self.child.launch(
            [sys.executable, "-m", "infra.local.chalice_local", "local", "--no-autoreload", "--stage", "test",
             "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env={**os.environ, **self.extra_env, "PYTHONUNBUFFERED": "1"},
            ready_url=f"{self.url}/v1/health", timeout=timeout, keep_stdout=False,
        )
        return self

    def output(self) -> str:
        return self.child.output()

    def stop(self) -> None:
        self.child.stop()
