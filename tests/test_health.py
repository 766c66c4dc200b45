"""GET /v1/health: 200 with the store up; 503 + Retry-After with the store unreachable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

from infra.local.dynamodb_local import free_port
from tests.conftest import ROOT
from tests.support import street


def test_health_is_200_with_the_store_up(client):
    response = client.http.get("/v1/health")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok", "store": "ok"}


PROBE = textwrap.dedent(
    """
    import json, sys
    from chalice.test import Client
    from app import app
    with Client(app, stage_name="test", project_dir=sys.argv[1]) as client:
        for method, path, body in (("GET", "/v1/health", None), ("POST", "/v1/contacts", sys.argv[3])):
            headers = {"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"}
            response = client.http.request(method, path, headers=headers, body=body)
            print("RESULT " + json.dumps({"status": response.status_code, "headers": dict(response.headers),
                                          "body": response.json_body}), flush=True)
    """
)


def test_health_and_writes_are_503_when_the_store_is_unreachable(staff_token, team):
    """A real fault: the same app in another process, pointed at a port nobody listens on."""
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{free_port()}"}
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", PROBE, str(ROOT), staff_token("officer", team=team), json.dumps(street())], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    result, create = [json.loads(line[7:]) for line in lines if line.startswith("RESULT ")]
    assert create["status"] == 503, create
    assert create["headers"]["Content-Type"] == "application/problem+json"
    assert int(create["headers"]["Retry-After"]) > 0
    assert result["status"] == 503
    assert int(result["headers"]["Retry-After"]) > 0
    assert result["body"] == {"status": "unavailable", "store": "unreachable"}
    assert elapsed < 20, f"health took {elapsed:.1f}s to give up"
    # ...and the request logger wrote its one JSON line for it to stdout
    request_lines = [json.loads(line) for line in lines if line.startswith('{"msg": "request"')]
    assert [(r["route"], r["status"]) for r in request_lines] == [("/v1/health", 503), ("/v1/contacts", 503)]
