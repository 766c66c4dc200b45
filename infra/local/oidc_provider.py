"""The local staff OIDC provider (infra/local/oidc/server.mjs, node + oidc-provider) as a child
process: `make run` starts it on port 8002, the browser tests on a free port."""

from __future__ import annotations

import shutil
from pathlib import Path

from infra.local.child import ChildService

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
        self.child = ChildService("the OIDC provider")

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> LocalOIDCProvider:
        if not (SERVER_DIR / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError("infra/local/oidc/node_modules is missing: run `make deps`")
        self.child.launch(self.argv, cwd=SERVER_DIR, timeout=timeout,
                          ready_url=f"{self.issuer}/.well-known/openid-configuration")
        return self

    def output(self) -> str:
        return self.child.output()

    def stop(self) -> None:
        self.child.stop()
