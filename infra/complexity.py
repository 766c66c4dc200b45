"""The complexity gate (`make lint`, `make unit`, `make test`): every function of the shipped code
(chalicelib/, app.py, infra/) has a cyclomatic complexity of at most 10 as radon counts it, which,
unlike ruff's C901, counts each `and`/`or` (and comprehension condition) as a branch.

Tests and benchmarks are not gated: radon counts every `assert ... and ...` as a branch, and a test
that checks a whole journey in one function is clearer than one split to please the counter.
"""

from __future__ import annotations

import sys
from pathlib import Path

from radon.visitors import ComplexityVisitor, Function

ROOT = Path(__file__).resolve().parents[1]
GATED = ("chalicelib", "infra", "app.py")
LIMIT = 10


def _functions(code: str) -> list[Function]:
    """Every function, method and nested function (classes are not functions: not gated)."""
    visitor = ComplexityVisitor.from_code(code)
    pending = [*visitor.functions, *(m for c in visitor.classes for m in c.methods)]
    found: list[Function] = []
    while pending:
        function = pending.pop()
        found.append(function)
        pending.extend(function.closures)
    return found


def offenders(root: Path = ROOT) -> list[str]:
    found = []
    for target in GATED:
        path = root / target
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*.py") if "node_modules" not in p.parts)
        for file in files:
            for function in _functions(file.read_text()):
                if function.complexity > LIMIT:
                    found.append(f"{file.relative_to(root)}:{function.lineno} {function.fullname} {function.complexity}")
    return sorted(found)


def main() -> int:
    found = offenders()
    for line in found:
        print(f"complexity above {LIMIT}: {line}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
