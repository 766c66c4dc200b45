"""`make run`: DynamoDB Local (persisting under .data/) + missing tables + the local SES v2 server
(aws-ses-v2-local: sent email at http://127.0.0.1:8003/) + `chalice local`.

Ctrl-C (or SIGTERM) stops both. A second run finds its data again.

`chalice local` runs with --no-autoreload: its own reloader polls the mtime of *every* file under
the project dir (.venv, node_modules and .data/ included), so each DynamoDB Local write to
.data/dynamodb restarted the server mid-session, and the walk costs CPU. Instead this script
restarts `chalice local` itself when app code (app.py, chalicelib/, .chalice/config.json) changes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

from infra.local.dynamodb_local import ROOT, DynamoDBLocal
from infra.local.idp import ensure_keys, local_stage_env
from infra.local.oidc_provider import LocalOIDCProvider
from infra.local.ses_local import SesLocal

API_PORT = 8000
DB_PORT = 8001  # chalice local owns 8000 (see PITFALLS)
OIDC_PORT = 8002  # the local staff OIDC provider (the local stage's BEATLINE_STAFF_ISSUER)
SES_PORT = 8003  # aws-ses-v2-local (the local stage's AWS_ENDPOINT_URL_SESV2)


WATCHED = ("app.py", "chalicelib", ".chalice/config.json")
CODE_SUFFIXES = {".py", ".js", ".css", ".html", ".svg"}  # web assets are hashed once per process


def code_stamp() -> dict[str, float]:
    """mtime of every file a code change would touch (not the data, not the virtualenv)."""
    stamp: dict[str, float] = {}
    for name in WATCHED:
        path = ROOT / name
        files = [f for f in path.rglob("*") if f.suffix in CODE_SUFFIXES] if path.is_dir() else [path]
        for file in files:
            try:
                stamp[str(file)] = file.stat().st_mtime
            except OSError:
                continue
    return stamp


def start_chalice() -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "infra.local.chalice_local", "local", "--stage", "local", "--host", "127.0.0.1", "--port", str(API_PORT), "--no-autoreload"],
        cwd=ROOT,
    )


def start_poller() -> subprocess.Popen[bytes]:
    """The contacts and conversations streams' poller (infra/local/streams.py): Lambda's event
    source mappings, so the figures follow the contacts and conversations as they will in AWS."""
    return subprocess.Popen([sys.executable, "-m", "infra.local.streams"], cwd=ROOT)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_until_interrupted(poll_seconds: float = 1.0) -> int:
    server, poller = start_chalice(), start_poller()
    stamp = code_stamp()
    try:
        while True:
            code = server.poll()
            if code is not None:
                return code
            time.sleep(poll_seconds)
            current = code_stamp()
            if current != stamp:
                print("Code changed: restarting chalice local and the stream poller ...", flush=True)
                stamp = current
                stop(server)
                stop(poller)
                server, poller = start_chalice(), start_poller()
            elif poller.poll() is not None:
                print("The stream poller stopped: restarting it (replays change nothing) ...", flush=True)
                poller = start_poller()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(server)
        stop(poller)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # same clean shutdown as Ctrl-C


def main() -> int:
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    ensure_keys()
    env = local_stage_env()
    os.environ.update(env)
    db = DynamoDBLocal(port=DB_PORT, db_path=ROOT / ".data" / "dynamodb")
    print(f"Starting DynamoDB Local on {db.endpoint} (data in .data/dynamodb) ...", flush=True)
    db.start()
    oidc = LocalOIDCProvider(
        port=OIDC_PORT, keys_dir=ensure_keys(), audience=env.get("BEATLINE_STAFF_AUDIENCE", "beatline-api"),
        redirect_uris=[f"http://127.0.0.1:{API_PORT}/dashboard/", f"http://localhost:{API_PORT}/dashboard/",
                       f"http://127.0.0.1:{API_PORT}/team/", f"http://localhost:{API_PORT}/team/"],
        client_id=env.get("BEATLINE_DASHBOARD_CLIENT_ID", "beatline-dashboard"),
    )
    ses = SesLocal(port=SES_PORT)
    try:
        oidc.start()
        print(f"Local staff OIDC provider (dev only, no passwords) on {oidc.issuer}", flush=True)
        ses.start()
        print(f"Local SES v2 server: sent email at {ses.endpoint}/ (API: {ses.endpoint}/store)", flush=True)
        from chalicelib.store.tables import ensure_tables

        created = ensure_tables()
        print(f"Tables created: {', '.join(created)}" if created else "Tables: all present.", flush=True)
        from infra.local.idp import main as idp_main

        print("\nDev token (officer pc-101, team north), valid 8 hours:", flush=True)
        idp_main(["token", "--role", "officer", "--sub", "pc-101", "--team", "north"])
        print(
            "\nOther roles:  make token ROLE=supervisor SUB=sgt-7 TEAM=north   (officer|supervisor|analyst|admin)\n"
            f"Try:          curl -H \"Authorization: Bearer $(make -s token)\" http://127.0.0.1:{API_PORT}/v1/contacts\n"
            f"API docs:     http://127.0.0.1:{API_PORT}/docs/   (document: /v1/openapi.json)\n"
            f"Dashboard:    http://127.0.0.1:{API_PORT}/dashboard/   (sign in at the local provider)\n",
            flush=True,
        )
        return serve_until_interrupted()
    finally:
        print("Stopping the local SES server, the OIDC provider and DynamoDB Local ...", flush=True)
        ses.stop()
        oidc.stop()
        db.stop()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # interrupted while starting up; everything started is stopped
        sys.exit(130)
