"""Test session: generated keys and settings in the environment *before* the app is imported; its
own DynamoDB Local (in memory, free port), started only when the first test that may touch storage
runs. Modules marked `pytestmark = pytest.mark.no_database` (pure rules: shapes, CAP, cursors, ...)
never start one, so running only those pays no JVM start.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local.dynamodb_local import DynamoDBLocal
from infra.local.idp import PSEUDONYM_KEY, STAFF_JWKS, STAFF_PRIVATE, ensure_keys, issue_token
from tests.push_dns import TEST_PUSH_RESOLVER

ROOT = Path(__file__).resolve().parents[1]
STAFF_ISSUER = "https://idp.test.beatline"
STAFF_AUDIENCE = "beatline-test-api"

_state: dict[str, Any] = {}
UNSTARTED_ENDPOINT = "http://127.0.0.1:9"  # the discard port: refused


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "no_database: the module's tests never touch storage (no DynamoDB Local)")
    keys_dir = Path(tempfile.mkdtemp(prefix="beatline-test-keys-"))
    ensure_keys(keys_dir)
    _state.update(keys_dir=keys_dir)
    os.environ.update({
        "BEATLINE_STAGE": "test",
        "BEATLINE_TABLE_PREFIX": "test-",
        # Nothing listens here: a storage call before the database is started fails loudly.
        "AWS_ENDPOINT_URL_DYNAMODB": UNSTARTED_ENDPOINT,
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "BEATLINE_STAFF_ISSUER": STAFF_ISSUER,
        "BEATLINE_STAFF_AUDIENCE": STAFF_AUDIENCE,
        "BEATLINE_STAFF_JWKS_FILE": str(keys_dir / STAFF_JWKS),
        "BEATLINE_PSEUDONYM_KEY_FILE": str(keys_dir / PSEUDONYM_KEY),
        "BEATLINE_RESIDENT_KEY_FILE": str(keys_dir / "resident-es256.pem"),
        "BEATLINE_VAPID_PRIVATE_KEY_FILE": str(keys_dir / "vapid-es256.pem"),
        "BEATLINE_LOG_LEVEL": "WARNING",
        "BEATLINE_EXPORT_DIR": str(keys_dir / "exports"),  # bulk exports' local folder: never the repository's
        "BEATLINE_SUBSCRIBER_RATE_PER_MINUTE": "100000",  # the rate-limit test installs its own limit
        "BEATLINE_RESIDENT_WRITE_RATE_PER_MINUTE": "100000",  # so do tests/test_rate_limits.py's
        "BEATLINE_RESIDENT_WRITE_RATE_PER_HOUR": "100000",
        "BEATLINE_RESIDENT_REPLY_RATE_PER_MINUTE": "100000",
        "BEATLINE_RESIDENT_REPLY_RATE_PER_HOUR": "100000",
        # Every other limit too (tests/test_rate_limits.py checks none is left at its default).
        **{f"BEATLINE_{name}": "100000" for name in (
            "SUBSCRIBER_RATE_PER_HOUR", "SUBSCRIBER_RATE_PER_DAY", "RESIDENT_READ_RATE_PER_MINUTE",
            "RESIDENT_READ_RATE_PER_HOUR", "RESIDENT_ERASE_RATE_PER_MINUTE", "CONVERSATION_RATE_PER_ADDRESS_PER_MINUTE",
            "CONVERSATION_RATE_PER_ADDRESS_PER_HOUR", "CONVERSATION_RATE_PER_ADDRESS_PER_DAY",
            "PUBLIC_LOOKUP_RATE_PER_MINUTE", "PUBLIC_LOOKUP_RATE_PER_HOUR", "EXPORT_RATE_PER_HOUR",
            "EXPORT_RATE_PER_DAY")},
    })
    # The session's services resolve push endpoints with a table, never with DNS.
    from chalicelib import services as services_module
    from chalicelib.settings import SETTINGS

    services_module.use_services(services_module.build_services(SETTINGS, push_resolver=TEST_PUSH_RESOLVER))


def start_database() -> str:
    """DynamoDB Local for this session, started (and its tables made) on first need."""
    if "db" not in _state:
        from chalicelib.settings import SETTINGS
        from chalicelib.store.tables import ensure_tables

        db = _start_dynamodb_local()
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = db.endpoint
        try:
            ensure_tables(settings=SETTINGS)
        except Exception:
            db.stop()
            raise
        _state["db"] = db
    return str(_state["db"].endpoint)


def _start_dynamodb_local(attempts: int = 3) -> DynamoDBLocal:
    """Under pytest-xdist each worker starts its own on a free port; another worker's server can take
    that port between the pick and the JVM's bind (the JVM then exits): pick again."""
    for attempt in range(attempts):
        try:
            return DynamoDBLocal().start()
        except RuntimeError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`: `-n auto --dist loadfile --no-loadscope-reorder`) a module
    is one unit of work, handed out in this order: the modules that set up something for more than
    one test (a module- or class-scoped fixture, or a session fixture of their own: a live server,
    a browser, a package build) go first, since they are the long ones; the single tests of the
    other modules then fill in around them on the other worker. The order within a module is kept.
    A serial run keeps the collection order."""
    _check_no_database_marks_are_spelled_out(items)
    if not getattr(config.option, "numprocesses", None):
        return
    heavy = {_module_of(item) for item in items if _shares_a_fixture(item)}
    items.sort(key=lambda item: _module_of(item) not in heavy)  # stable: module order and test order kept


def _check_no_database_marks_are_spelled_out(items: list[pytest.Item]) -> None:
    """`make unit` collects only the modules whose text says `no_database` (importing all of them
    costs seconds): a test marked some other way would silently drop out of it."""
    texts: dict[Path, bool] = {}
    for item in items:
        if item.get_closest_marker("no_database") is not None and item.path not in texts:
            texts[item.path] = "no_database" in item.path.read_text(encoding="utf-8")
    hidden = sorted(str(path) for path, spelled in texts.items() if not spelled)
    if hidden:
        raise pytest.UsageError(f"mark no_database tests with the literal `pytest.mark.no_database` in: {hidden}")


def _module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _shares_a_fixture(item: pytest.Item) -> bool:
    # pytest has no public view of a test's fixture definitions at collection time; if this one
    # goes away the order is just the collection order (still correct, less balanced).
    info = getattr(item, "_fixtureinfo", None)
    for definitions in getattr(info, "name2fixturedefs", {}).values():
        scope, defined_in = definitions[-1].scope, str(definitions[-1].baseid)
        if scope in ("module", "class", "package") or (scope == "session" and defined_in.endswith(".py")):
            return True
    return False


UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """pytest-xdist runs only if every worker collects the same test ids: a fresh uuid4 in a
    parameter (an unknown id, a wrong proposal) is shown as `uuid` instead of its random value."""
    if isinstance(val, str) and UUID_TEXT.search(val):
        return UUID_TEXT.sub("uuid", val)
    return None


def settle_streams() -> int:
    """Apply every pending record of the contacts, conversations and neighbourhoods streams through
    app.py's `contact_counter`, `conversation_counter` and `rating_counter`, as Lambda's event source mappings would
    (infra/local/streams.py): figures read afterwards are settled, deterministically and without
    sleeps. The number of records applied. Each stream is settled inside
    `_state["settle_around"](handler name)` when a test installed one (the IAM drift test records
    each handler's calls as its own function's)."""
    if "db" not in _state:
        return 0
    return _settle()


def _stream_function(name: str) -> Callable[[dict[str, Any], Any], Any]:
    """app.py's stream handler `name` as its own Lambda runs it: with the stage's Services, not
    the ones a test installed for the API (a fault-injecting store, another clock)."""

    def run(event: dict[str, Any], context: Any) -> Any:
        import app
        from chalicelib import services as services_module
        from chalicelib.settings import SETTINGS

        if "stream_services" not in _state:
            _state["stream_services"] = services_module.build_services(SETTINGS, push_resolver=TEST_PUSH_RESOLVER)
        previous = services_module._current
        services_module.use_services(_state["stream_services"])
        try:
            return getattr(app, name)(event, context)
        finally:
            services_module.use_services(previous)

    return run


STREAM_HANDLERS = (("contacts", "contact_counter"), ("conversations", "conversation_counter"),
                   ("neighbourhoods", "rating_counter"))


def _pollers() -> list[Any]:
    """The session's pollers (contacts, conversations, neighbourhoods: STREAM_HANDLERS' order), made on first need."""
    if "pollers" not in _state:
        from chalicelib.settings import SETTINGS
        from infra.local.streams import StreamPoller

        _state["pollers"] = [StreamPoller(endpoint=_state["db"].endpoint, table_name=SETTINGS.table_name(table),
                                          handler=_stream_function(handler), region=SETTINGS.region or "eu-west-2",
                                          max_attempts=10**9)  # a failing batch fails the test, never skipped
                             for table, handler in STREAM_HANDLERS]
        _state["poller"] = _state["pollers"][0]
    return list(_state["pollers"])


def _settle() -> int:
    around = _state.get("settle_around")
    total = 0
    for (_, handler), poller in zip(STREAM_HANDLERS, _pollers(), strict=True):
        if around is None:
            total += int(poller.settle())
            continue
        with around(handler):
            total += int(poller.settle())
    return total


# GETs that read counters derived from the streams: the test client settles them first.
SETTLED_READS = ("/v1/history/", "/v1/staff/", "/v1/teams/")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("no_database") is None:
        start_database()


def pytest_unconfigure(config: pytest.Config) -> None:
    db = _state.pop("db", None)
    if db:
        db.stop()
    ses = _state.pop("ses", None)
    if ses:
        ses.stop()
    keys_dir = _state.pop("keys_dir", None)
    if keys_dir:
        shutil.rmtree(keys_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def ses_local() -> Any:
    """The local SES v2 server (aws-ses-v2-local) for this session, on a free port, started on
    first need like DynamoDB Local; boto3's `sesv2` clients reach it through AWS_ENDPOINT_URL_SESV2."""
    if "ses" not in _state:
        from infra.local.ses_local import SesLocal

        _state["ses"] = SesLocal().start()
        os.environ["AWS_ENDPOINT_URL_SESV2"] = _state["ses"].endpoint
    return _state["ses"]


@pytest.fixture(scope="session")
def keys_dir() -> Path:
    return _state["keys_dir"]


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> str:
    return start_database()


@pytest.fixture(scope="session")
def app():
    from app import app as chalice_app

    return chalice_app


@pytest.fixture(scope="session")
def client(app):
    """chalice.test.Client whose figure reads (SETTLED_READS) first settle the streams."""
    from chalice.test import Client, TestHTTPClient

    class SettlingHTTPClient(TestHTTPClient):
        def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Any:
            if method.upper() == "GET" and path.startswith(SETTLED_READS):
                settle_streams()
            return super().request(method, path, headers=headers, body=body)

    with Client(app, stage_name="test", project_dir=str(ROOT)) as test_client:
        test_client._http_client = SettlingHTTPClient(app, test_client._chalice_config)
        yield test_client


@pytest.fixture
def settle() -> Callable[[], int]:
    """settle() applies the pending records of every counter stream (see settle_streams)."""
    return settle_streams


def _settled_poller(table: str) -> Any:
    """The session's poller of `table`'s stream (STREAM_HANDLERS), every stream settled first."""
    start_database()
    settle_streams()
    return _pollers()[[name for name, _ in STREAM_HANDLERS].index(table)]


@pytest.fixture
def stream_poller() -> Any:
    """The session's contacts-stream poller, settled (its `positions` are the checkpoints)."""
    return _settled_poller("contacts")


@pytest.fixture
def conversation_poller() -> Any:
    """The session's conversations-stream poller, settled (its `positions` are the checkpoints)."""
    return _settled_poller("conversations")


@pytest.fixture
def rating_poller() -> Any:
    """The session's neighbourhoods-stream (ratings) poller, settled."""
    return _settled_poller("neighbourhoods")


TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def staff_token(keys_dir: Path) -> TokenFactory:
    """staff_token('officer', sub='pc-1', team='north', **claim_overrides) -> bearer token."""
    pem = (keys_dir / STAFF_PRIVATE).read_bytes()

    def make(role: str | list[str], sub: str | None = None, team: str | None = "north", **overrides: Any) -> str:
        roles = [role] if isinstance(role, str) else role
        return issue_token(
            private_pem=pem, issuer=STAFF_ISSUER, audience=STAFF_AUDIENCE,
            sub=sub or f"{roles[0]}-{uuid.uuid4().hex[:8]}", roles=roles, team=team,
            force="test-force", extra=overrides or None,
        )

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


@pytest.fixture
def team() -> str:
    """A fresh team per test, so counters and team lists are isolated without resetting tables."""
    return f"team-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def services_override() -> Iterator[Callable[..., Any]]:
    """Install Services built with overrides (clock, keys; `settings=` a changed Settings) for one
    test; restore afterwards."""
    from chalicelib import services as services_module
    from chalicelib.settings import SETTINGS

    previous = services_module._current

    def install(settings: Any = None, **overrides: Any) -> Any:
        overrides.setdefault("push_resolver", TEST_PUSH_RESOLVER)  # no DNS traffic from tests
        built = services_module.build_services(settings or SETTINGS, **overrides)
        services_module.use_services(built)
        return built

    yield install
    services_module.use_services(previous)
