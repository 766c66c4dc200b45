"""The local stack's pieces agree with each other (ports, stage settings, IdP) and stay out of git."""

from __future__ import annotations

import json

from infra.local import stack
from infra.local.dynamodb_local import DynamoDBLocal
from infra.local.idp import local_stage_env
from tests.conftest import ROOT


def test_local_stage_points_at_the_stack_dynamodb_port():
    env = local_stage_env()
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == f"http://127.0.0.1:{stack.DB_PORT}"
    assert stack.DB_PORT != stack.API_PORT == 8000  # chalice local and DynamoDB Local both default to 8000
    assert env["BEATLINE_STAGE"] == "local"
    assert env["BEATLINE_STAFF_JWKS_FILE"].startswith(".local/")


def test_chalice_local_applies_the_stage_environment():
    """`chalice local --stage local` imports the app with the stage's variables set."""
    from chalice.cli.factory import CLIFactory

    config = CLIFactory(project_dir=str(ROOT)).create_config_obj(chalice_stage_name="local")
    assert config.environment_variables["AWS_ENDPOINT_URL_DYNAMODB"] == f"http://127.0.0.1:{stack.DB_PORT}"
    assert config.environment_variables["BEATLINE_TABLE_PREFIX"] == "beatline-local-"


def test_stages_exist_and_runtime_requirements_exclude_dev_tools():
    stages = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]
    assert {"local", "dev", "prod"} <= set(stages)
    runtime = (ROOT / "requirements.txt").read_text()
    for dev_tool in ("chalice", "pytest", "moto", "hypothesis", "cfn-lint"):
        assert f"\n{dev_tool}==" not in "\n" + runtime


def test_dynamodb_local_writes_nothing_into_the_checkout(dynamodb_endpoint):
    assert not (ROOT / "dynamodb-local-metadata.json").exists()
    command = DynamoDBLocal(port=1).command()
    assert "-disableTelemetry" in command and "-inMemory" in command


def test_code_watch_covers_app_code_but_not_data():
    stamp = stack.code_stamp()
    assert str(ROOT / "app.py") in stamp
    assert any("/chalicelib/api/framework.py" in path for path in stamp)
    assert not any("/.data/" in path or "/.venv/" in path for path in stamp)
