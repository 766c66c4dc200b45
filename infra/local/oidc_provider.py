"""The local staff OIDC provider (infra/local/oidc/server.mjs, node + oidc-provider) as a child
process: `make run` starts it on port 8002, the browser tests on a free port."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER_DIR = ROOT / "infra" / "local" / "oidc"


class LocalOIDCProvider:
    def __init__(self, *, port: int, keys_dir: Path, audience: str, redirect_uris: list[str],
                 client_id: str = "beatline-dashboard", force: str = "local-force") -> None:
        self.port = port
        self.argv = [
            shutil.which("node") or "node", "server.mjs", "--port", str(port), "--keys", str(keys_dir),
            "--audience", audience, "--client-id", client_id, "--force", force,
        ]
        for uri in redirect_uris:
            self.argv += ["--redirect", uri]
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> LocalOIDCProvider:
        if not (SERVER_DIR / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError("infra/local/oidc/node_modules is missing: run `make deps`")
        self.process = subprocess.Popen(self.argv, cwd=SERVER_DIR, stdout=self.log, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + timeout
        discovery = f"{self.issuer}/.well-known/openid-configuration"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the OIDC provider exited: {self.output()[-2000:]}")
            try:
                with urllib.request.urlopen(discovery, timeout=1) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the OIDC provider did not start in time")

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
