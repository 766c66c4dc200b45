"""A local service run as a child process until an HTTP URL answers 200 (chalice local, the OIDC
provider): start, wait, read its output, stop. One place for the start-up and shutdown rules."""

from __future__ import annotations

import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path


class ChildService:
    def __init__(self, name: str) -> None:
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child

    def launch(self, argv: Sequence[str], *, cwd: Path, ready_url: str, timeout: float,
               env: Mapping[str, str] | None = None, keep_stdout: bool = True) -> None:
        """Start `argv` and return once `ready_url` answers 200; RuntimeError (child stopped) if
        the child exits or does not answer within `timeout` seconds. The log keeps stderr, and
        stdout too unless `keep_stdout` is False."""
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv built by the callers
            list(argv), cwd=cwd, env=dict(env) if env is not None else None,
            stdout=self.log if keep_stdout else subprocess.DEVNULL, stderr=self.log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.output()[-2000:]}")
            if _answers(ready_url):
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not start in time")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
            return response.status == 200
    except OSError:
        return False
