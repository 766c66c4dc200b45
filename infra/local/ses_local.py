"""The local SES v2 server (npm `aws-ses-v2-local`, pinned in infra/local/package.json): `make run`
and the tests send email to it through boto3's `sesv2` client (`AWS_ENDPOINT_URL_SESV2`), and read
what was sent from its `GET /store`."""

from __future__ import annotations

import json
import shutil
import urllib.request
from typing import Any

from infra.local.child import ChildService
from infra.local.dynamodb_local import ROOT, free_port

CLI = ROOT / "infra" / "local" / "node_modules" / "aws-ses-v2-local" / "dist" / "cli.js"


class SesLocal:
    """One aws-ses-v2-local process on 127.0.0.1 (it listens on every interface unless told)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._child = ChildService("aws-ses-v2-local")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> SesLocal:
        node = shutil.which("node")
        if not node or not CLI.exists():
            raise RuntimeError(f"aws-ses-v2-local not found at {CLI}; run `make deps` (npm ci in infra/local).")
        self._child.launch([node, str(CLI), "--host", "127.0.0.1", "--port", str(self.port)], cwd=ROOT,
                           ready_url=f"{self.endpoint}/health-check", timeout=timeout, keep_stdout=False)
        return self

    def emails(self) -> list[dict[str, Any]]:
        """Everything sent so far, oldest first: {messageId, from, replyTo, destination: {to, cc, bcc},
        subject, body: {text, html}, headers: [{name, value}], at}."""
        with urllib.request.urlopen(f"{self.endpoint}/store", timeout=5) as response:  # noqa: S310 - loopback
            return list(json.loads(response.read())["emails"])

    def emails_to(self, address: str) -> list[dict[str, Any]]:
        return [e for e in self.emails() if address in e["destination"]["to"]]

    def stop(self) -> None:
        self._child.stop()

    def __enter__(self) -> SesLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
