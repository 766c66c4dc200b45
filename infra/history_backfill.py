"""One-off operations tool: give contacts written before the history indexes existed their
history index attributes (`hsk`, `hrow`, `hb_*`, `hk_*`, `hx_*`).

Not a request path: it Scans the contacts table (segment by segment) and updates each item that
lacks `hsk`, on the condition that its `version` is unchanged (a concurrent amendment already
rewrote the item with its attributes). The stored `area_id` is kept (tags are fixed at write time).

    BEATLINE_STAGE=dev .venv/bin/python -m infra.history_backfill [--dry-run]
"""

from __future__ import annotations

import argparse
import sys

from pynamodb.exceptions import UpdateError


def backfill(dry_run: bool = False) -> tuple[int, int]:
    """Returns (items seen, items updated)."""
    from chalicelib.domain.history import index_attributes
    from chalicelib.settings import SETTINGS
    from chalicelib.store.contacts import from_model
    from chalicelib.store.models import ContactModel, bind_models

    bind_models(SETTINGS)

    seen = updated = 0
    for model in ContactModel.scan(filter_condition=ContactModel.hsk.does_not_exist()):
        seen += 1
        if dry_run:
            continue
        attributes = index_attributes(from_model(model))
        actions = [getattr(ContactModel, name).set(value) for name, value in attributes.items() if value is not None]
        try:
            model.update(actions=actions, condition=ContactModel.version == model.version)
            updated += 1
        except UpdateError:
            continue  # amended meanwhile: the amendment wrote the attributes
    return seen, updated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="count the items that lack history attributes")
    args = parser.parse_args()
    seen, updated = backfill(dry_run=args.dry_run)
    print(f"contacts without history attributes: {seen}; updated: {updated}", file=sys.stderr)


if __name__ == "__main__":
    main()
