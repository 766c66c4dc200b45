"""The team's app in headless Chromium on a phone viewport (its own DynamoDB Local, OIDC provider and
`chalice local`): time to a usable log form on a warm cache (online and offline reloads), and how
long an offline outbox of N contacts (100 by default) takes to sync once the network is back.

    .venv/bin/python -m bench.team_app [--contacts 100] [--reloads 5]

The outbox is filled through the app's own storage module (the same `Outbox.add` the form calls),
offline; "synced" is the moment the page shows "All synced" (every contact stored, one
`POST /v1/contacts/batch` per 100). Not a test: numbers depend on the machine. Prints a table.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

AUDIENCE = "beatline-bench"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def environment(keys: Path, issuer: str) -> None:
    os.environ.update({
        "BEATLINE_STAGE": "bench", "BEATLINE_TABLE_PREFIX": "bench-", "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "BEATLINE_LOG_LEVEL": "WARNING",
        "BEATLINE_STAFF_ISSUER": issuer, "BEATLINE_STAFF_AUDIENCE": AUDIENCE,
        "BEATLINE_STAFF_JWKS_FILE": str(keys / "staff-jwks.json"),
        "BEATLINE_PSEUDONYM_KEY_FILE": str(keys / "pseudonym.key"),
        "BEATLINE_RESIDENT_KEY_FILE": str(keys / "resident-es256.pem"),
        "BEATLINE_VAPID_PRIVATE_KEY_FILE": str(keys / "vapid-es256.pem"),
    })


def sign_in(page: object, base: str, sub: str) -> None:
    page.goto(f"{base}/team/")  # type: ignore[attr-defined]
    page.get_by_role("button", name=re.compile("Sign in")).click()  # type: ignore[attr-defined]
    page.wait_for_url("**/interaction/**")  # type: ignore[attr-defined]
    page.get_by_label("Subject").fill(sub)  # type: ignore[attr-defined]
    page.get_by_label("Role").select_option("officer")  # type: ignore[attr-defined]
    page.get_by_label("Team").fill("bench-team")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_function("() => document.body.dataset.ready === '1' && !document.getElementById('nav').hidden")  # type: ignore[attr-defined]
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30000)  # type: ignore[attr-defined]


def reload_ms(page: object) -> float:
    started = time.perf_counter()
    page.reload()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log contact").wait_for()  # type: ignore[attr-defined]
    page.wait_for_function("() => document.body.dataset.ready === '1'")  # type: ignore[attr-defined]
    return (time.perf_counter() - started) * 1000


FILL = """async ([n, sub]) => {
  const { keyValue, Outbox } = await import("/assets/storage.js");
  const outbox = new Outbox(keyValue("beatline-team"), "outbox", sub);
  const at = new Date().toISOString().replace(/\\.\\d{3}Z$/, "Z");
  for (let i = 0; i < n; i += 1) {
    await outbox.add({ id: crypto.randomUUID(), kind: "street", occurred_at: at, topic: "reassurance",
      outcome: "advice_given", tags: [], location: { lat: 51.5, lon: -0.12 }, setting: "patrol" });
  }
}"""


def run(contacts: int, reloads: int) -> dict[str, float]:
    from infra.local.dynamodb_local import DynamoDBLocal, free_port
    from infra.local.idp import ensure_keys
    from infra.local.oidc_provider import LocalOIDCProvider
    from infra.local.server import LiveServer
    from tests.browser import launch_chromium

    keys = Path(tempfile.mkdtemp(prefix="beatline-bench-keys-"))
    ensure_keys(keys)
    oidc_port = free_port()
    environment(keys, f"http://127.0.0.1:{oidc_port}")
    db = DynamoDBLocal().start()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = db.endpoint
    from chalicelib.settings import load_settings
    from chalicelib.store.tables import ensure_tables

    ensure_tables(settings=load_settings(os.environ))
    server = LiveServer()
    oidc = LocalOIDCProvider(port=oidc_port, keys_dir=keys, audience=AUDIENCE, redirect_uris=[f"{server.url}/team/"])
    figures: dict[str, float] = {}
    try:
        oidc.start()
        server.start()
        with launch_chromium() as chromium:
            context = chromium.new_context(**PHONE)
            page = context.new_page()
            page.set_default_timeout(60000)
            sub = f"pc-bench-{uuid.uuid4().hex[:6]}"
            sign_in(page, server.url, sub)
            figures["warm reload, online: log form ready (ms, median)"] = statistics.median(reload_ms(page) for _ in range(reloads))
            context.set_offline(True)
            figures["warm reload, offline: log form ready (ms, median)"] = statistics.median(reload_ms(page) for _ in range(reloads))
            page.evaluate(FILL, [contacts, sub])
            reload_ms(page)  # offline: the page counts what the outbox holds
            page.get_by_text(f"{contacts} waiting to sync").wait_for()
            started = time.perf_counter()
            context.set_offline(False)
            page.get_by_text("All synced").wait_for(timeout=120000)
            figures[f"outbox of {contacts} contacts: back online to all synced (ms)"] = (time.perf_counter() - started) * 1000
            context.close()
    finally:
        server.stop()
        oidc.stop()
        db.stop()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=100)
    parser.add_argument("--reloads", type=int, default=5)
    args = parser.parse_args()
    figures = run(args.contacts, args.reloads)
    print(f"{'figure':64} {'value':>8}")
    for name, value in figures.items():
        print(f"{name:64} {value:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
