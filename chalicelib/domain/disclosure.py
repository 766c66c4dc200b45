"""Small-number figures that are safe to publish: the 95% Wilson score interval of a share, and
suppression of counts of fewer than `MIN_ANSWERS` answers that no difference of published
figures can undo. Pure: no I/O.

Wilson: the score interval of Wilson (1927), as statsmodels' `proportion_confint(count, nobs,
alpha=0.05, method="wilson")` computes it (tests/test_trust_rules.py checks against its numbers).

Suppression: a figure of fewer than `MIN_ANSWERS` answers is withheld. Publishing a total next
to its parts would give a withheld part away by subtraction (total minus the published parts), so
wherever a published total has parts (`Constraint`), the withheld parts together (with any part
that is never published on its own, `remainder`) must hold either no answers or at least
`MIN_ANSWERS`; otherwise the smallest published part is withheld too ("complementary
suppression"), until that holds. Each suppression is decided on the whole family of figures the
read knows, never on what a caller filtered, so every call withholds the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MIN_ANSWERS = 10
Z_95 = 1.959963984540054  # the standard normal quantile at 0.975 (scipy.stats.norm.ppf(0.975))


def wilson(count: int, total: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of `count` successes in `total` trials (total > 0)."""
    if total <= 0 or count < 0 or count > total:
        raise ValueError("need 0 <= count <= total and total > 0")
    p = count / total
    z2 = z * z
    denominator = 1 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Constraint:
    """A published total (`parent`) and its parts: `children` (figures that may be published) and
    `remainder` (answers counted in the total but in no published part, e.g. outside every area)."""

    parent: str
    children: tuple[str, ...]
    remainder: int = 0


def _withheld_sum(constraint: Constraint, sizes: Mapping[str, int], withheld: set[str]) -> int:
    return constraint.remainder + sum(sizes.get(c, 0) for c in constraint.children if c in withheld)


def _next_to_withhold(constraint: Constraint, sizes: Mapping[str, int], withheld: set[str]) -> str:
    """The smallest published part (ties by name), or the total itself when none is left."""
    published = [c for c in constraint.children if c not in withheld and sizes.get(c, 0) > 0]
    if not published:
        return constraint.parent
    return min(published, key=lambda c: (sizes.get(c, 0), c))


def withheld(sizes: Mapping[str, int], constraints: Iterable[Constraint], minimum: int = MIN_ANSWERS) -> set[str]:
    """The figures to withhold: those of fewer than `minimum` answers, and then, until no
    constraint is broken, the smallest published part of any published total whose withheld
    parts hold between 1 and `minimum - 1` answers (or the total, when no part is left)."""
    out = {name for name, size in sizes.items() if size < minimum}
    rules = list(constraints)
    changed = True
    while changed:
        changed = False
        for rule in rules:
            if rule.parent in out:
                continue
            hidden = _withheld_sum(rule, sizes, out)
            if 0 < hidden < minimum:
                out.add(_next_to_withhold(rule, sizes, out))
                changed = True
    return out
