"""The deployable stack: `make package`'s template, checked against the models and least privilege.

Packaging runs once per session, ~3 s when chalice's dependency layer is cached under
.chalice/deployments; a cold build downloads manylinux wheels with pip and slims the layer
(~15 s CPU; ~60 s wall measured on the shared 2-core machine). No AWS account is involved.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pynamodb.attributes import TTLAttribute

from infra.template import (
    QUEUE_CONSUME_ACTIONS,
    WORKER_ROLE,
    StageConfig,
    TemplateError,
    iam_statements,
    merge_template,
)
from tests.conftest import ROOT

STAGE = "dev"
# A stand-in worker, appended to a scratch copy of app.py when the app has none yet.
THROWAWAY_WORKER = '''

from chalicelib.settings import SETTINGS as _SETTINGS


@app.on_sqs_message(queue=_SETTINGS.fanout_queue_name, batch_size=10, name="fanout_worker")
def fanout_worker(event):
    return {"batchItemFailures": []}


@app.schedule("rate(1 hour)", name="housekeeping")
def housekeeping(event):
    return None
'''


def _clean_env() -> dict[str, str]:
    """The test session's env minus its Beatline/endpoint settings: packaging needs none of them."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("BEATLINE_", "AWS_"))}


def _build(project_dir: Path, out_dir: Path) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "infra.build_template", "--stage", STAGE, "--out", str(out_dir)],
        cwd=project_dir, env=_clean_env(), capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads((out_dir / "sam.json").read_text())


def _lint_errors(template: dict[str, Any]) -> list[str]:
    from cfnlint.api import lint

    matches = lint(json.dumps(template), regions=["eu-west-2"])
    return [f"{m.rule.id} {m.message} at {m.path}" for m in matches if m.rule.id.startswith("E")]


@pytest.fixture(scope="session")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package") / STAGE
    _build(ROOT, out)
    return out


@pytest.fixture(scope="session")
def template(package_dir: Path) -> dict[str, Any]:
    return json.loads((package_dir / "sam.json").read_text())


@pytest.fixture(scope="session")
def worker_template(package_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The app packaged with a fan-out worker (a throwaway one in a scratch copy if app.py has none)."""
    project = tmp_path_factory.mktemp("worker-app") / "project"
    shutil.copytree(
        ROOT, project,
        ignore=shutil.ignore_patterns(".venv", ".git", "build", "node_modules", ".data", ".local", "__pycache__",
                                      "appcode-*.zip"),
    )
    app_py = project / "app.py"
    if "on_sqs_message" not in app_py.read_text():
        app_py.write_text(app_py.read_text() + THROWAWAY_WORKER)
    return _build(project, project / "build" / STAGE)


def _stage_settings():
    from chalicelib.settings import load_settings
    from infra.build_template import stage_environment

    return load_settings(stage_environment(ROOT, STAGE))


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _names(value: Any) -> str:
    """The logical ids a policy Resource entry refers to, as text (for membership checks)."""
    return json.dumps(value)


def test_package_writes_template_and_zips(package_dir: Path, template: dict[str, Any]) -> None:
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert (package_dir / "deployment.zip").stat().st_size > 0
    assert (package_dir / "layer-deployment.zip").stat().st_size > 0
    assert (package_dir / "merge-template.json").exists()


def test_cfn_lint_reports_no_errors(template: dict[str, Any]) -> None:
    """One lint run that proves both: the template has no errors, and the linter really looks
    (without aws-sam-translator, cfn-lint passes SAM templates silently): a planted error is the
    only thing reported."""
    broken = json.loads(json.dumps(template))
    planted = next(iter(_resources(broken, "AWS::DynamoDB::Table")))
    broken["Resources"][planted]["Properties"]["BillingMode"] = "BOGUS"
    errors = _lint_errors(broken)
    assert any("BOGUS" in error for error in errors), errors
    assert all(f"'Resources', '{planted}', 'Properties'" in error for error in errors), errors


def test_every_model_has_its_table(template: dict[str, Any]) -> None:
    from chalicelib.settings import SETTINGS
    from chalicelib.store.models import ALL_MODELS

    stage_prefix = _stage_settings().table_prefix
    tables = {t["Properties"]["TableName"]: t for t in _resources(template, "AWS::DynamoDB::Table").values()}
    expected_names = set()
    for model in ALL_MODELS:
        name = stage_prefix + model.Meta.table_name.removeprefix(SETTINGS.table_prefix)
        expected_names.add(name)
        assert name in tables, f"{model.__name__}: no table {name}"
        props = tables[name]["Properties"]
        keys = [{"AttributeName": model._hash_key_attribute().attr_name, "KeyType": "HASH"}]
        if model._range_key_attribute():
            keys.append({"AttributeName": model._range_key_attribute().attr_name, "KeyType": "RANGE"})
        assert props["KeySchema"] == keys
        definitions = {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]}
        expected_indexes = {}
        for index in model._indexes.values():
            index_keys = sorted(
                ((a.attr_name, "HASH" if a.is_hash_key else "RANGE") for a in index.Meta.attributes.values()),
                key=lambda k: k[1],
            )
            expected_indexes[index.Meta.index_name] = (index_keys, index.Meta.projection.projection_type)
            for attribute in index.Meta.attributes.values():
                assert definitions[attribute.attr_name] == attribute.attr_type
        for attribute in (model._hash_key_attribute(), model._range_key_attribute()):
            if attribute:
                assert definitions[attribute.attr_name] == attribute.attr_type
        actual_indexes = {
            i["IndexName"]: ([(k["AttributeName"], k["KeyType"]) for k in i["KeySchema"]],
                             i["Projection"]["ProjectionType"])
            for i in props.get("GlobalSecondaryIndexes", []) + props.get("LocalSecondaryIndexes", [])
        }
        assert actual_indexes == expected_indexes
        ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
        if ttl:
            assert props["TimeToLiveSpecification"] == {"AttributeName": ttl[0], "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in props
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
    assert set(tables) == expected_names, "a table in the template has no model"


def test_no_wildcard_actions_or_resources(template: dict[str, Any], worker_template: dict[str, Any]) -> None:
    for tpl in (template, worker_template):
        statements = iam_statements(tpl)
        assert statements
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                assert "*" not in action, statement
            resources = statement.get("Resource")
            if resources is None:  # trust policies carry a Principal, not resources
                assert statement["Action"] == "sts:AssumeRole"
                continue
            if statement.get("Sid") == "SmsToPhoneNumbers":  # IAM has no ARN for a phone number
                assert set(actions) <= {"sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"} and resources == ["*"]
                continue
            if statement["Effect"] == "Deny":  # a deny narrows: wildcards there are the point
                continue
            for resource in resources if isinstance(resources, list) else [resources]:
                # The patterns: SNS endpoints (created at run time under a named platform app), the
                # archive's objects under its prefix, the access log's, the contacts', the
                # conversations' and the neighbourhoods' streams (ListStreams), the stored email
                # replies under their prefix.
                text = json.dumps(resource)
                assert "*" not in text or any(p in text for p in (
                    ":endpoint/${Platform}/${Name}/*", "${AuditArchiveBucket.Arn}/access-log/*",
                    "${AccessLogTable.Arn}/stream/*", "${ContactsTable.Arn}/stream/*",
                    "${ConversationsTable.Arn}/stream/*", "${NeighbourhoodsTable.Arn}/stream/*",
                    "${ExportBucket.Arn}/exports/*", "${EmailInboundBucket.Arn}/inbound/*")), statement


def test_access_log_table_gets_no_update_or_delete(template: dict[str, Any]) -> None:
    touching = [s for s in iam_statements(template) if "AccessLogTable" in _names(s.get("Resource"))]
    assert touching, "the access log must be writable"
    stream_reads = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
    for statement in touching:
        if set(statement["Action"]) <= stream_reads:  # the archiver reads the stream, nothing else
            assert "stream" in _names(statement["Resource"]).lower(), statement
            continue
        assert "dynamodb:PutItem" in statement["Action"] or statement["Action"] == ["dynamodb:Query"]
        for forbidden in ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"):
            assert forbidden not in statement["Action"]


def test_role_names_each_table_and_index(template: dict[str, Any]) -> None:
    text = _names(iam_statements(template))
    for logical, table in _resources(template, "AWS::DynamoDB::Table").items():
        assert f'["{logical}", "Arn"]' in text
        for index in table["Properties"].get("GlobalSecondaryIndexes", []):
            assert f"${{{logical}.Arn}}/index/{index['IndexName']}" in text


def test_queue_dlq_and_secrets(template: dict[str, Any]) -> None:
    queues = {q["Properties"]["QueueName"]: q["Properties"] for q in _resources(template, "AWS::SQS::Queue").values()}
    queue_name = _stage_settings().fanout_queue_name
    assert queue_name == "beatline-dev-fanout"
    assert queues[queue_name]["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["FanoutDeadLetterQueue", "Arn"]}
    assert f"{queue_name}-dlq" in queues
    secrets = _resources(template, "AWS::SecretsManager::Secret")
    assert set(secrets) == {"PseudonymKeySecret", "ResidentKeySecret", "VapidKeySecret"}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["BEATLINE_PSEUDONYM_KEY_SECRET_ARN"] == {"Ref": "PseudonymKeySecret"}
    assert variables["BEATLINE_FANOUT_QUEUE_URL"] == {"Ref": "FanoutQueue"}
    for function in _resources(template, "AWS::Serverless::Function").values():
        # A function-level variable would shadow the stack's value from Globals.
        assert not set(function["Properties"]["Environment"]["Variables"]) & set(variables)


def test_alarms(template: dict[str, Any]) -> None:
    metrics = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"])
               for a in _resources(template, "AWS::CloudWatch::Alarm").values()}
    assert metrics >= {("AWS/SQS", "ApproximateNumberOfMessagesVisible"), ("AWS/Lambda", "Errors"),
                       ("AWS/Lambda", "Throttles"), ("AWS/ApiGateway", "5XXError")}


def test_worker_gets_partial_batch_responses_and_its_own_role(worker_template: dict[str, Any]) -> None:
    assert _lint_errors(worker_template) == []
    functions = _resources(worker_template, "AWS::Serverless::Function")
    workers = {k: f for k, f in functions.items() if k not in ("ExportWorker", "SmsSender", "PulseWorker")
               and any(e["Type"] == "SQS" for e in (f["Properties"].get("Events") or {}).values())}
    assert workers
    queue = worker_template["Resources"]["FanoutQueue"]["Properties"]
    for worker in workers.values():
        for event in worker["Properties"]["Events"].values():
            assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert worker["Properties"]["Role"] == {"Fn::GetAtt": [WORKER_ROLE, "Arn"]}
        assert queue["VisibilityTimeout"] >= 6 * worker["Properties"]["Timeout"]
    consume = set(QUEUE_CONSUME_ACTIONS)
    api_role = worker_template["Resources"]["DefaultRole"]["Properties"]["Policies"]
    api_actions = {a for p in api_role for s in p["PolicyDocument"]["Statement"] if "Action" in s for a in s["Action"]}
    assert not api_actions & consume, "only the worker may receive and delete fan-out messages"
    worker_role = worker_template["Resources"][WORKER_ROLE]["Properties"]["Policies"]
    worker_actions = {a for p in worker_role for s in p["PolicyDocument"]["Statement"] if "Action" in s
                      for a in s["Action"]}
    assert consume <= worker_actions


def test_sqs_handler_on_an_unknown_queue_is_refused() -> None:
    base = {"Resources": {"Other": {"Type": "AWS::Serverless::Function", "Properties": {
        "Role": {"Fn::GetAtt": ["DefaultRole", "Arn"]},
        "Events": {"OtherSqsEventSource": {"Type": "SQS", "Properties": {
            "Queue": {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:elsewhere"}}}},
    }}, "DefaultRole": {"Type": "AWS::IAM::Role", "Properties": {}}}}
    stage = StageConfig(stage="dev", table_prefix="beatline-dev-", queue_name="beatline-dev-fanout", retain_data=False)
    with pytest.raises(TemplateError, match="elsewhere"):
        merge_template(base, stage, [])


def _unpack(package_dir: Path, into: Path) -> tuple[Path, Path]:
    import zipfile

    code, layer = into / "task", into / "opt"
    zipfile.ZipFile(package_dir / "deployment.zip").extractall(code)
    zipfile.ZipFile(package_dir / "layer-deployment.zip").extractall(layer)
    return code, layer / "python" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def test_packaged_app_imports_from_the_zips_alone(package_dir: Path, tmp_path: Path) -> None:
    """What Lambda does on a cold start: import app from the code zip + layer, nothing else
    (no site-packages, no key files, no AWS credentials), then make each kept AWS client."""
    from infra.slim import KEEP_SERVICES

    code, site = _unpack(package_dir, tmp_path)
    assert list(code.glob("chalicelib/__pycache__/*.pyc")), "bytecode is shipped"
    assert not (site / "botocore" / "data" / "ec2").exists(), "unused API models are pruned"
    script = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import app, boto3\n"
        "assert app.app.app_name == 'beatline'\n"
        "for name in sys.argv[3:]: boto3.client(name)\n"
        "assert 'h3' not in sys.modules and 'pywebpush' not in sys.modules, 'heavy libraries load lazily'\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "eu-west-2",
           **json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][STAGE]["environment_variables"]}
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-S", "-c", script, str(code), str(site), *sorted(KEEP_SERVICES)],
        cwd=code, env=env, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr


def test_every_aws_client_in_the_code_is_kept_in_the_layer() -> None:
    import re

    from infra.slim import KEEP_SERVICES

    named = set()
    for path in [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]:
        named |= set(re.findall(r"""\bclient\(\s*["']([a-z0-9-]+)["']""", path.read_text()))
    assert named, "the scan finds clients (secretsmanager at least)"
    assert named <= KEEP_SERVICES, f"add to infra.slim.KEEP_SERVICES: {sorted(named - KEEP_SERVICES)}"


def test_prod_keeps_its_data_and_dev_does_not(template: dict[str, Any]) -> None:
    """Same app, prod stage: tables and secrets survive stack deletion; tables are protected."""
    from chalicelib.settings import SETTINGS
    from chalicelib.store.models import ALL_MODELS
    from infra.tables import table_spec

    specs = [table_spec(model, SETTINGS.table_prefix) for model in ALL_MODELS]
    # What `chalice package --stage prod` gives: the worker consumes the prod queue.
    prod_base = json.loads(json.dumps(template).replace("beatline-dev-fanout", "beatline-prod-fanout")
                           .replace("beatline-dev-sms-inbound", "beatline-prod-sms-inbound")
                           .replace("beatline-dev-sms", "beatline-prod-sms")
                           .replace("beatline-dev-exports", "beatline-prod-exports")
                           .replace("beatline-dev-pulses", "beatline-prod-pulses")
                           .replace("beatline-dev-email-", "beatline-prod-email-"))
    prod = merge_template(prod_base, StageConfig("prod", "beatline-prod-", "beatline-prod-fanout", True), specs)
    for spec in specs:
        table = prod["Resources"][spec.logical_id]
        assert table["Properties"]["TableName"] == f"beatline-prod-{spec.short_name}"
        assert (table["DeletionPolicy"], table["Properties"]["DeletionProtectionEnabled"]) == ("Retain", True)
        dev_table = template["Resources"][spec.logical_id]
        assert (dev_table["DeletionPolicy"], dev_table["Properties"]["DeletionProtectionEnabled"]) == ("Delete", False)
    for secret in ("PseudonymKeySecret", "ResidentKeySecret", "VapidKeySecret"):
        assert prod["Resources"][secret]["DeletionPolicy"] == "Retain"
    assert prod["Resources"]["FanoutQueue"]["Properties"]["QueueName"] == "beatline-prod-fanout"
    assert prod["Resources"]["SmsInboundTopic"]["Properties"]["TopicName"] == "beatline-prod-sms-inbound"
    assert prod["Resources"]["ExportQueue"]["Properties"]["QueueName"] == "beatline-prod-exports"
    assert prod["Resources"]["SmsQueue"]["Properties"]["QueueName"] == "beatline-prod-sms"
    assert prod["Resources"]["PulseQueue"]["Properties"]["QueueName"] == "beatline-prod-pulses"
    assert prod["Resources"]["ExportBucket"]["DeletionPolicy"] == "Retain"


def test_stack_environment_names_settings_that_exist(template: dict[str, Any]) -> None:
    """Each variable the stack sets is one chalicelib/settings.py reads (a typo would be ignored
    silently in AWS), and the deploy-time ones are all there."""
    settings_source = (ROOT / "chalicelib" / "settings.py").read_text()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    for name in variables:
        assert f'"{name}"' in settings_source, f"settings.py does not read {name}"
    assert {"BEATLINE_STAFF_ISSUER", "BEATLINE_STAFF_AUDIENCE", "BEATLINE_STAFF_JWKS_URL", "BEATLINE_STAFF_ALGORITHMS",
            "BEATLINE_RESIDENT_KEY_SECRET_ARN", "BEATLINE_VAPID_KEY_SECRET_ARN", "BEATLINE_DASHBOARD_CLIENT_ID",
            "BEATLINE_DASHBOARD_SCOPE"} <= set(variables)
    # The dashboard's OIDC client: its own parameter, or the staff audience (Cognito: one app client).
    assert variables["BEATLINE_DASHBOARD_CLIENT_ID"] == {
        "Fn::If": ["HasDashboardClientId", {"Ref": "DashboardClientId"}, {"Ref": "StaffAudience"}]}


def _function_statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    role = template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    found: list[dict[str, Any]] = []
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            found += statement["Fn::If"][1:2] if "Fn::If" in statement else [statement]
    return found


def test_each_function_has_its_own_role_rendered_from_its_grants(template: dict[str, Any]) -> None:
    """Template <-> infra/permissions.py (tests/test_iam_drift.py checks permissions <-> code)."""
    from chalicelib.settings import SETTINGS
    from chalicelib.store.models import ALL_MODELS
    from infra.permissions import CODE_GRANTS
    from infra.roles import function_grants, resources_of
    from infra.tables import table_spec

    functions = _resources(template, "AWS::Serverless::Function")
    assert set(functions) == set(CODE_GRANTS)
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()]
    assert len(set(roles)) == len(roles), "no two functions share a role"
    tables = {spec.short_name: spec for spec in (table_spec(m, SETTINGS.table_prefix) for m in ALL_MODELS)}
    for function in functions:
        granted = {(action, json.dumps(resource, sort_keys=True))
                   for s in _function_statements(template, function) if s["Sid"] != "WriteOwnLogs"
                   for action in s["Action"] for resource in s["Resource"]}
        expected = set()
        for action, resource in function_grants(function):
            if resource in ("sns/endpoints", "sms/phone-numbers"):
                continue  # conditional per platform app; covered below (SMS: the wildcard test)
            expected |= {(action, json.dumps(r, sort_keys=True)) for r in resources_of(resource, tables)}
        sns = {(a, r) for a, r in granted if a.startswith("sns:")}
        assert granted - sns == expected, function
        assert {a for a, _ in sns} == {a for a, r in function_grants(function) if r in ("sns/endpoints", "sms/phone-numbers")}


def test_worker_role_holds_nothing_on_personal_records(template: dict[str, Any]) -> None:
    for function in ("FanoutWorker", "Housekeeping", "AccessLogArchiver"):
        text = _names(_function_statements(template, function))
        for table in ("ContactsTable", "AmendmentsTable", "StatsTable", "AreasTable"):
            assert table not in text, (function, table)
        assert ("AccessLogTable" in text) == (function == "AccessLogArchiver")
    assert "PseudonymKeySecret" not in _names(_function_statements(template, "AccessLogArchiver"))


def test_append_only_rule_refuses_a_wider_grant() -> None:
    from infra.roles import GrantError, check_append_only

    for action in ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"):
        with pytest.raises(GrantError, match="append-only"):
            check_append_only([("dynamodb:PutItem", "table/access-log"), (action, "table/access-log")])
    check_append_only([("dynamodb:UpdateItem", "table/contacts")])


def test_access_log_archive_no_role_can_alter(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    table = resources["AccessLogTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    bucket = resources["AuditArchiveBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    props = bucket["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"] == {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {
        "Mode": "COMPLIANCE", "Days": {"Ref": "AccessLogRetentionDays"}}}}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert template["Parameters"]["AccessLogRetentionDays"]["Default"] == 2190
    policy = resources["AuditArchiveBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    denied = {a for s in policy if s["Effect"] == "Deny" for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                                   else s["Action"])}
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:BypassGovernanceRetention",
            "s3:PutObjectLegalHold", "s3:*"} <= denied
    assert any(s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)
    # The archiver: PutObject on the archive prefix only, its stream, its failure queue, its logs.
    archiver = _function_statements(template, "AccessLogArchiver")
    s3 = [s for s in archiver if any(a.startswith("s3:") for a in s["Action"])]
    assert [s["Action"] for s in s3] == [["s3:PutObject"]]
    # Every role in the stack: no S3 action on the archive but the archiver's PutObject; the other
    # S3 grants name only the export bucket or the stored email replies (Get/Delete).
    s3_statements = [s for s in iam_statements(template)
                     if any(a.startswith("s3:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))]
    on_archive = [s for s in s3_statements if "AuditArchiveBucket" in _names(s.get("Resource"))]
    assert {a for s in on_archive for a in s["Action"]} == {"s3:PutObject"}
    replies = [s for s in s3_statements if "EmailInboundBucket" in _names(s.get("Resource"))]
    assert {a for s in replies for a in s["Action"]} == {"s3:GetObject", "s3:DeleteObject"}
    others = [s for s in s3_statements if s not in on_archive and s not in replies]
    assert others and all("ExportBucket" in _names(s["Resource"]) for s in others)


def test_archiver_reads_the_stream_with_partial_failures_and_a_failure_queue(template: dict[str, Any]) -> None:
    function = template["Resources"]["AccessLogArchiver"]["Properties"]
    assert function["Environment"]["Variables"].get("BEATLINE_AUDIT_ARCHIVE_BUCKET") is None  # from Globals
    assert template["Globals"]["Function"]["Environment"]["Variables"]["BEATLINE_AUDIT_ARCHIVE_BUCKET"] == {
        "Ref": "AuditArchiveBucket"}
    [event] = function["Events"].values()
    assert event["Type"] == "DynamoDB"
    props = event["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["AccessLogTable", "StreamArn"]}
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["ArchiveFailureQueue", "Arn"]}
    metrics = [a["Properties"]["Dimensions"] for a in _resources(template, "AWS::CloudWatch::Alarm").values()]
    assert [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["ArchiveFailureQueue", "QueueName"]}}] in metrics


def _counter_mapping(template: dict[str, Any], function: str, table: str) -> dict[str, Any]:
    """A counter stream's mapping (issue 23): `table` streams both images; `function`'s mapping
    bisects a failing batch and gives up after a bounded number of retries into the counters'
    failure queue (alarmed); its role reads that stream and writes the stats table only. The
    mapping's properties."""
    resources = template["Resources"]
    assert resources[table]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    [event] = resources[function]["Properties"]["Events"].values()
    props: dict[str, Any] = event["Properties"]
    assert event["Type"] == "DynamoDB" and props["Stream"] == {"Fn::GetAtt": [table, "StreamArn"]}
    assert props["BisectBatchOnFunctionError"] is True and props["MaximumRetryAttempts"] == 10
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["CounterFailureQueue", "Arn"]}
    metrics = [a["Properties"]["Dimensions"] for a in _resources(template, "AWS::CloudWatch::Alarm").values()]
    assert [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["CounterFailureQueue", "QueueName"]}}] in metrics
    statements = _function_statements(template, function)
    tables = {name for s in statements for name in re.findall(r"(\w+Table)\b", json.dumps(s["Resource"]))}
    assert tables == {"StatsTable", table}, tables
    reads = [s for s in statements if table in json.dumps(s["Resource"])]
    assert {a for s in reads for a in s["Action"]} == {
        "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
    return props


def test_contact_counter_reads_the_contacts_stream_bisecting_with_a_failure_queue(template: dict[str, Any]) -> None:
    """Issue 23: every contact change reaches the aggregator (an amendment moves counts)."""
    assert "FilterCriteria" not in _counter_mapping(template, "ContactCounter", "ContactsTable")


def test_conversation_counter_reads_the_conversations_stream_filtered(template: dict[str, Any]) -> None:
    """Issue 23: the conversations stream's aggregator is handed inserts and modifications only
    (a TTL deletion counts nothing)."""
    props = _counter_mapping(template, "ConversationCounter", "ConversationsTable")
    assert props["FilterCriteria"] == {"Filters": [{"Pattern": '{"eventName": ["INSERT", "MODIFY"]}'}]}


def test_rating_counter_reads_the_neighbourhoods_stream_filtered_to_rating_inserts(template: dict[str, Any]) -> None:
    """Issue 23: the rating counts' aggregator is handed rating items inserted, nothing else of the
    neighbourhoods table (pulses, priorities, meetings; deletions keep the counts), on its own role."""
    props = _counter_mapping(template, "RatingCounter", "NeighbourhoodsTable")
    [rule] = props["FilterCriteria"]["Filters"]
    assert json.loads(rule["Pattern"]) == {"eventName": ["INSERT"],
                                           "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "rating#"}]}}}}


def test_public_methods_have_their_own_smaller_budget(template: dict[str, Any]) -> None:
    """Issue 17 item 9: anonymous callers do not draw on the signed-in routes' throttle. Every
    public operation of the registry and every web page is a method setting of its own, naming a
    resource and method the API really has."""
    from infra.hardening import public_methods

    api = template["Resources"]["RestAPI"]["Properties"]
    public = api["MethodSettings"][1:]
    expected = public_methods()
    assert {("GET", "/v1/health"), ("POST", "/v1/subscribers"), ("GET", "/v1/public/feed.atom"),
            ("GET", "/v1/areas/{id}"), ("GET", "/app"), ("GET", "/assets/{name}")} <= set(expected)
    assert [(s["HttpMethod"], s["ResourcePath"]) for s in public] == [
        (method, "/" + path.replace("/", "~1")) for method, path in expected]
    for setting in public:
        assert setting["ThrottlingRateLimit"] == {"Ref": "ApiPublicThrottlingRateLimit"}
        assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiPublicThrottlingBurstLimit"}
    paths = api["DefinitionBody"]["paths"]
    for method, path in expected:
        assert method.lower() in paths[path], (method, path)  # a real resource and method of the API
    parameters = template["Parameters"]
    assert parameters["ApiPublicThrottlingRateLimit"]["Default"] < parameters["ApiThrottlingRateLimit"]["Default"]
    assert parameters["ApiPublicThrottlingBurstLimit"]["Default"] < parameters["ApiThrottlingBurstLimit"]["Default"]


def test_api_stage_is_throttled_and_access_logged(template: dict[str, Any]) -> None:
    api = template["Resources"]["RestAPI"]
    settings = api["Properties"]["MethodSettings"]
    assert settings[0] == {"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
                           "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
                           "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"}}
    access = api["Properties"]["AccessLogSetting"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert "$context.requestId" in access["Format"] and "$context.path" not in access["Format"]
    assert template["Resources"]["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert "ApiGatewayAccount" in api["DependsOn"]
    for group in _resources(template, "AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    worker = template["Resources"]["FanoutWorker"]["Properties"]
    assert worker["ReservedConcurrentExecutions"] == {"Ref": "WorkerReservedConcurrency"}


def test_sms_topic_takes_only_the_sms_service_and_the_api_texts_only_phone_numbers(template: dict[str, Any]) -> None:
    """The inbound SMS topic exists before the function reading it, only End User Messaging SMS
    (this account) may publish to it; the API may Publish to phone numbers but no topic or endpoint."""
    resources = template["Resources"]
    assert resources["SmsInboundTopic"]["Properties"]["TopicName"] == "beatline-dev-sms-inbound"
    assert "SmsInboundTopic" in resources["SmsInbound"]["DependsOn"]
    (event,) = resources["SmsInbound"]["Properties"]["Events"].values()
    assert event["Type"] == "SNS" and event["Properties"]["Topic"]["Fn::Sub"].endswith(":beatline-dev-sms-inbound")
    (statement,) = resources["SmsInboundTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sms-voice.amazonaws.com"} and statement["Action"] == "sns:Publish"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    api = {s["Sid"]: s for s in _function_statements(template, "APIHandler")}
    assert api["SmsToPhoneNumbers"]["Resource"] == ["*"]
    assert api["NoPublishToTopicsOrEndpoints"]["Effect"] == "Deny"
    assert api["NoPublishToTopicsOrEndpoints"]["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}]
    inbound = _names(_function_statements(template, "SmsInbound"))
    assert "SmsTable" in inbound and "sns:" not in inbound and "PseudonymKeySecret" in inbound
def test_export_worker_bucket_and_queue(template: dict[str, Any]) -> None:
    """Bulk exports: their own queue (DLQ, visibility over the worker's timeout, partial batch
    responses), their own role, and a bucket that is encrypted, never public, TLS only and expires
    what it holds."""
    resources = template["Resources"]
    worker = resources["ExportWorker"]["Properties"]
    [event] = worker["Events"].values()
    assert event["Type"] == "SQS" and event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert worker["Role"] == {"Fn::GetAtt": ["ExportWorkerRole", "Arn"]}
    queue = resources["ExportQueue"]["Properties"]
    assert queue["QueueName"] == _stage_settings().export_queue_name == "beatline-dev-exports"
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ExportDeadLetterQueue", "Arn"]}
    bucket = resources["ExportBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == {"Ref": "ExportRetentionDays"}
    policy = resources["ExportBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [s["Condition"] for s in policy] == [{"Bool": {"aws:SecureTransport": "false"}}]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["BEATLINE_EXPORT_BUCKET"] == {"Ref": "ExportBucket"}
    assert variables["BEATLINE_EXPORT_QUEUE_URL"] == {"Ref": "ExportQueue"}
    exporter = _names(_function_statements(template, "ExportWorker"))
    for table in ("AmendmentsTable", "StatsTable", "AreasTable", "AccessLogTable", "SubscribersTable",
                  "ConversationsTable"):
        assert table not in exporter
    assert "FanoutQueue" not in exporter and "ResidentKeySecret" not in exporter


def _role_statements(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """role logical id -> its policy statements (both branches of an Fn::If)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for logical, role in _resources(template, "AWS::IAM::Role").items():
        statements = found.setdefault(logical, [])
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                branches = statement["Fn::If"][1:] if "Fn::If" in statement else [statement]
                statements += [b for b in branches if "Effect" in b]  # not AWS::NoValue
    return found


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_only_the_sms_sender_and_the_api_may_publish_on_star_each_denied_every_topic(template: dict[str, Any]) -> None:
    """sns:Publish on "*" (IAM has no ARN for a phone number) reaches any topic or endpoint in the
    account unless denied. Only the SMS sender (alert texts) and the API (confirmation codes) hold
    it, each with the Deny of Publish on every SNS ARN; the fan-out worker, which must publish to
    push endpoints and so could not carry that Deny, queues its texts instead (docs/channels.md)."""
    resources = template["Resources"]
    role_of = {f: resources[f]["Properties"]["Role"]["Fn::GetAtt"][0] for f in _resources(template, "AWS::Serverless::Function")}
    holders = set()
    for role, statements in _role_statements(template).items():
        star = [s for s in statements if s["Effect"] == "Allow" and "sns:Publish" in _listed(s["Action"])
                and "*" in _listed(s.get("Resource", []))]
        if not star:
            continue
        holders.add(role)
        denied = [s for s in statements if s["Effect"] == "Deny" and "sns:Publish" in _listed(s["Action"])]
        assert [s["Resource"] for s in denied] == [[{"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}]], role
    assert holders == {role_of["SmsSender"], role_of["APIHandler"]}
    worker = _function_statements(template, "FanoutWorker")
    publish = [s for s in worker if "sns:Publish" in _listed(s["Action"])]
    assert publish and all(":endpoint/${Platform}/${Name}/*" in _names(s["Resource"]) for s in publish)
    assert any(s["Action"] == ["sqs:SendMessage"] and s["Resource"] == [{"Fn::GetAtt": ["SmsQueue", "Arn"]}]
               for s in worker)


def test_a_role_that_texts_and_publishes_to_endpoints_is_refused() -> None:
    from infra.roles import GrantError, _sms_statements

    with pytest.raises(GrantError, match="every topic"):
        _sms_statements(["sns:Publish"], endpoints=True)
    assert _sms_statements(["sns:CheckIfPhoneNumberIsOptedOut"], endpoints=True)[0]["Effect"] == "Allow"


def test_sms_sender_queue_dlq_alarm_and_its_own_role(template: dict[str, Any]) -> None:
    """The SMS sender: its own queue (encrypted, DLQ after 5 receives, alarmed, visibility over
    six times its timeout), partial batch responses, bounded concurrency, and exactly the tables
    its rules need (never the contacts, the access log or the STOP index's reads)."""
    resources = template["Resources"]
    sender = resources["SmsSender"]["Properties"]
    [event] = sender["Events"].values()
    assert event["Type"] == "SQS" and event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["Queue"]["Fn::Sub"].endswith(":" + _stage_settings().sms_queue_name)
    assert sender["Role"] == {"Fn::GetAtt": ["SmsSenderRole", "Arn"]}
    assert sender["ReservedConcurrentExecutions"] == {"Ref": "SmsSenderReservedConcurrency"}
    queue = resources["SmsQueue"]["Properties"]
    assert queue["QueueName"] == "beatline-dev-sms" and queue["SqsManagedSseEnabled"] is True
    assert queue["VisibilityTimeout"] >= 6 * sender["Timeout"]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["SmsDeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": 5}
    assert resources["SmsDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    alarm = resources["SmsDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["SmsDeadLetterQueue", "QueueName"]}}]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["BEATLINE_SMS_QUEUE_URL"] == {"Ref": "SmsQueue"}
    text = _names(_function_statements(template, "SmsSender"))
    for table in ("ContactsTable", "AccessLogTable", "ConversationsTable", "InboxTable"):
        assert table not in text
    assert "VapidKeySecret" not in text and "PseudonymKeySecret" not in text and "FanoutQueue" not in text


def test_pulse_worker_queue_and_role(template: dict[str, Any]) -> None:
    """The confidence pulse's delivery: its own queue (DLQ and its alarm, visibility over the
    worker's timeout, partial batch responses) and its own role, which reaches followers and
    inboxes but no contacts, statistics, access log or conversations."""
    resources = template["Resources"]
    worker = resources["PulseWorker"]["Properties"]
    [event] = worker["Events"].values()
    assert event["Type"] == "SQS" and event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "beatline-dev-pulses" in json.dumps(event["Properties"]["Queue"])
    assert worker["Role"] == {"Fn::GetAtt": ["PulseWorkerRole", "Arn"]}
    queue = resources["PulseQueue"]["Properties"]
    assert queue["QueueName"] == _stage_settings().pulse_queue_name == "beatline-dev-pulses"
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["PulseDeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": 5}
    alarm = resources["PulseDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["PulseDeadLetterQueue", "QueueName"]}}]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["BEATLINE_PULSE_QUEUE_URL"] == {"Ref": "PulseQueue"}
    assert "PulseQueueUrl" in template["Outputs"]
    pulses = _names(_function_statements(template, "PulseWorker"))
    for held in ("NeighbourhoodsTable", "SubscriptionsTable", "SubscribersTable", "InboxTable", "PulseQueue",
                 "FanoutQueue", "PseudonymKeySecret"):
        assert held in pulses
    for table in ("ContactsTable", "StatsTable", "AccessLogTable", "ConversationsTable", "MessagesTable"):
        assert table not in pulses
    assert "sqs:ReceiveMessage" in pulses and "ResidentKeySecret" not in pulses
