"""`make run`: DynamoDB Local (persisting under .data/) + missing tables + `chalice local`.

Ctrl-C stops both. A second run finds its data again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from infra.local.dynamodb_local import ROOT, DynamoDBLocal
from infra.local.idp import ensure_keys, local_stage_env

API_PORT = 8000
DB_PORT = 8001  # chalice local owns 8000 (see PITFALLS)


def main() -> int:
    ensure_keys()
    env = local_stage_env()
    os.environ.update(env)
    db = DynamoDBLocal(port=DB_PORT, db_path=ROOT / ".data" / "dynamodb")
    print(f"Starting DynamoDB Local on {db.endpoint} (data in .data/dynamodb) ...", flush=True)
    db.start()
    try:
        from chalicelib.store.tables import ensure_tables

        created = ensure_tables()
        print(f"Tables created: {', '.join(created)}" if created else "Tables: all present.", flush=True)
        from infra.local.idp import main as idp_main

        print("\nDev token (officer pc-101, team north), valid 8 hours:", flush=True)
        idp_main(["token", "--role", "officer", "--sub", "pc-101", "--team", "north"])
        print(
            "\nOther roles:  make token ROLE=supervisor SUB=sgt-7 TEAM=north   (officer|supervisor|analyst|admin)\n"
            f"Try:          curl -H \"Authorization: Bearer $(make -s token)\" http://127.0.0.1:{API_PORT}/v1/contacts\n"
            f"API docs:     http://127.0.0.1:{API_PORT}/v1/openapi.json\n",
            flush=True,
        )
        chalice = Path(sys.executable).with_name("chalice")
        server = subprocess.Popen(  # noqa: S603 - fixed argv
            [str(chalice), "local", "--stage", "local", "--host", "127.0.0.1", "--port", str(API_PORT)],
            cwd=ROOT,
        )
        try:
            return server.wait()
        except KeyboardInterrupt:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
            return 0
    finally:
        print("Stopping DynamoDB Local ...", flush=True)
        db.stop()


if __name__ == "__main__":
    sys.exit(main())
