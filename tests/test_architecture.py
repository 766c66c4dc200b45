"""The layering stays true: walks every module's imports (module level and inside functions) with
ast. No import circle among chalicelib modules; use cases import no adapter (store/, notify/),
boto3 or botocore; store/ reads no settings; domain/ imports no I/O layer."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_database  # pure rules: no DynamoDB Local for these

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "chalicelib"
ADAPTERS = ("chalicelib.store", "chalicelib.notify", "boto3", "botocore", "pynamodb")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def parsed(path: Path) -> ast.Module:
    """The module's syntax tree, parsed once per run (several checks walk every module)."""
    return ast.parse(path.read_text(), filename=str(path))


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it (TYPE_CHECKING blocks included)."""
    found: set[str] = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py") if "vendor" not in p.parts}
    return {name: {i for i in imports_of(path) if i in modules and i != name} for name, path in modules.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path, or None (depth-first search, colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Module edges where a package's `__init__` is left out (it only re-exports its own modules)."""
    return {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in edges.items()}


def test_no_import_circle_in_chalicelib():
    assert find_cycle(package_edges(graph())) is None


def test_the_cycle_finder_finds_a_planted_circle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_use_cases_import_no_adapter():
    offenders = {
        str(path.relative_to(ROOT)): sorted(i for i in imports_of(path) if i.startswith(ADAPTERS))
        for path in (PACKAGE / "usecases").glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_use_cases_refuse_in_domain_terms():
    """Refusals are domain errors; HTTP problem details are made in one place (errors.as_problem)."""
    paths = [*(PACKAGE / "usecases").glob("*.py"), PACKAGE / "context.py", PACKAGE / "auth" / "permissions.py"]
    offenders = {str(p.relative_to(ROOT)): [i for i in imports_of(p) if i.startswith("chalicelib.errors")] for p in paths}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_domain_is_pure():
    layers = (*ADAPTERS, "chalicelib.usecases", "chalicelib.api", "chalicelib.services", "chalicelib.settings",
              "chalicelib.errors")  # the domain raises its own errors (chalicelib/domain/errors.py)
    offenders = {
        str(path.relative_to(ROOT)): sorted(i for i in imports_of(path) if i.startswith(layers))
        for path in (PACKAGE / "domain").glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_store_and_notify_read_no_settings_at_import():
    """Adapters are bound by the bootstrap (bind_store, build_services), never from SETTINGS."""
    offenders = []
    for folder in ("store", "notify"):
        for path in (PACKAGE / folder).rglob("*.py"):
            text = path.read_text()
            if "SETTINGS" in text.replace("BEATLINE_", "") and "import SETTINGS" in text:
                offenders.append(str(path.relative_to(ROOT)))
    # store/tables.py (a local tool's entry point) reads them on call, not at import
    assert offenders == ["chalicelib/store/tables.py"]


def test_the_walker_sees_function_level_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from chalicelib.store import contacts\n    import boto3\n")
    assert {"chalicelib.store", "chalicelib.store.contacts", "boto3"} <= imports_of(source)


def test_handlers_reach_storage_only_through_services():
    """API modules parse, call one use case and reply: no adapter import (health included)."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(i for i in imports_of(path) if i.startswith(ADAPTERS))
        for path in (PACKAGE / "api").glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# PynamoDB internals the store reaches, each in one place (store/transact.py is the one transaction
# runner; models/__init__.py binds a stage's tables): each entry names the module and the expression,
# so anything new fails.
PRIVATE_READS_ALLOWED = {
    ("chalicelib/store/transact.py", "model._get_connection"),
    ("chalicelib/store/models/__init__.py", "model._connection"),
}


def private_reads(path: Path) -> set[str]:
    """`obj._x` (and `getattr(obj, "_x")`) where obj is not `self`/`cls`/`super()`: another object's private part."""
    found: set[str] = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Attribute):
            owner, name = node.value, node.attr
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr")
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            owner, name = node.args[0], node.args[1].value
        else:
            continue
        private = name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
        own = (isinstance(owner, ast.Name) and owner.id in ("self", "cls")) or (
            isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super")
        if private and not own:  # a subclass extending its base's hook (super()._x) is its own
            found.add(f"{ast.unparse(owner)}.{name}")
    return found


def test_no_module_reads_another_objects_private_attributes():
    """A use case that needs what another holds gets it injected (e.g. the PushSender), never by
    reaching into `worker._store`."""
    paths = [*(p for p in PACKAGE.rglob("*.py") if "vendor" not in p.parts), ROOT / "app.py"]
    found = {(str(p.relative_to(ROOT)), expr) for p in paths for expr in private_reads(p)}
    assert found - PRIVATE_READS_ALLOWED == set()
    assert PRIVATE_READS_ALLOWED - found == set(), "gone: drop them from PRIVATE_READS_ALLOWED"


def test_the_private_read_check_sees_a_planted_one(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("class A:\n    def f(self, worker):\n        self._ok = 1\n        return worker._store, getattr(worker, '_clock')\n")
    assert private_reads(source) == {"worker._store", "worker._clock"}


def test_use_cases_import_services_for_typing_only():
    """Use cases get a Services object; importing the bootstrap at run time would tie them to it."""
    offenders = []
    for path in (PACKAGE / "usecases").glob("*.py"):
        tree = parsed(path)
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and ast.unparse(block.test) == "TYPE_CHECKING" for n in ast.walk(block)}
        offenders += [str(path.relative_to(ROOT)) for node in ast.walk(tree)
                      if isinstance(node, ast.ImportFrom) and node.module == "chalicelib.services"
                      and id(node) not in typing_only]
    assert offenders == []
