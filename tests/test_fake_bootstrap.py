"""The bootstrap on fakes binds no PynamoDB model and imports no AWS SDK: a use case tested on
fakes runs without DynamoDB, boto3 or botocore (checked in a fresh interpreter, whose imports are
exactly what building and using the services needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_database

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pynamodb", "botocore", "boto3", "chalicelib.store.models", "chalicelib.store.bootstrap")

PROGRAM = """
import json, sys, uuid
from chalicelib.context import RequestContext
from chalicelib.domain.areas import AreaIn
from chalicelib.usecases import areas
from tests.fakes import NOW, fake_services
import msgspec

svc, fakes = fake_services()
svc.push_worker()
ring = [[-0.13, 51.49], [-0.11, 51.49], [-0.11, 51.51], [-0.13, 51.51], [-0.13, 51.49]]
body = msgspec.convert({"name": "Beat 7", "team": "north", "geometry": {"type": "Polygon", "coordinates": [ring]}}, AreaIn)
saved = areas.put_area(svc, RequestContext(request_id="r", now=NOW), str(uuid.uuid4()), body)
print(json.dumps({"status": type(saved).__name__, "areas": len(fakes.db.areas), "modules": sorted(sys.modules)}))
"""


def run(program: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=dict(os.environ), capture_output=True,  # noqa: S603 - our own program
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def heavy(modules: object) -> list[str]:
    assert isinstance(modules, list)
    return [m for m in modules if m.startswith(HEAVY)]


def test_services_on_fakes_import_no_pynamodb_nor_botocore() -> None:
    result = run(PROGRAM)
    assert (result["status"], result["areas"]) == ("Created", 1)  # the use case ran, on the fake store
    assert heavy(result["modules"]) == []


def test_the_default_bootstrap_does_bind_the_models() -> None:
    """The check above can fail: without fakes the same interpreter loads PynamoDB."""
    result = run("import json, sys\nfrom chalicelib.services import build_services\n"
                 "from chalicelib.settings import SETTINGS\nbuild_services(SETTINGS)\n"
                 "print(json.dumps({'modules': sorted(sys.modules)}))")
    assert "pynamodb" in heavy(result["modules"])
