"""Contract fuzzing with schemathesis against the served OpenAPI document and a running
`chalice local` (its own process, on the session's DynamoDB Local), once per role.

Checks (schemathesis defaults): no 5xx, responses conform to the documented schemas, statuses
and content types, invalid input is rejected. Anonymous calls to protected operations must get 401.
Excluded: `positive_data_acceptance`, because some schema-valid values are rejected by design with
a 400 (a random string is schema-valid as a cursor but not a signed cursor; an `occurred_at` in the
year 0460 fits the format but not the logging window; a polygon ring must be closed).
"""

from __future__ import annotations

import traceback

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from infra.local.server import LiveServer

EXAMPLES_PER_OPERATION = 15
ROLES = ["anonymous", "officer", "supervisor", "analyst", "admin"]


@pytest.fixture(scope="module")
def live_server():
    server = LiveServer().start()
    yield server
    server.stop()


def fuzz_operation(operation, base_url: str, headers: dict[str, str]) -> None:
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy())
    def run(case) -> None:
        response = case.call_and_validate(base_url=base_url, headers=headers, excluded_checks=[positive_data_acceptance])
        if not headers and operation.definition.raw.get("security") != []:
            assert response.status_code == 401, f"{case.method} {case.formatted_path} without a token gave {response.status_code}"

    run()


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_survives_fuzzing(live_server, staff_token, role):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/v1/openapi.json")
    headers = {} if role == "anonymous" else {"Authorization": f"Bearer {staff_token(role)}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        try:
            fuzz_operation(operation, live_server.url, headers)
        except BaseException as exc:  # schemathesis raises exception groups; report all together
            detail = "".join(traceback.format_exception(exc))[-3000:]
            failures.append(f"{role} {operation.method.upper()} {operation.path}: {detail}")
    if failures:
        server_errors = [line for line in live_server.output().splitlines() if '"msg": "request"' not in line and " HTTP/1.1\" " not in line]
        failures.append("server stderr:\n" + "\n".join(server_errors)[-4000:])
    assert not failures, "\n\n".join(failures)
