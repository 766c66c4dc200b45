"""The word index: which records hold a resident's own words (see models.WordModel).

Written in the same transaction as the record holding the words (store.contacts.create), read
and emptied by erasure with Query + BatchWriteItem on the resident's `owner` partition: the cost
of an erasure grows with what the resident wrote, never with a table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from chalicelib.ports import WordHolder
from chalicelib.store.errors import translate_store_errors
from chalicelib.store.models import WordModel

CONTACTS = "contacts"  # ref prefix of a reply contact (its `notes` are the resident's words)


def holder_model(holder: WordHolder) -> WordModel:
    return WordModel(owner=holder.owner, ref=holder.ref, expires_at=holder.expires_at)


def split_ref(ref: str) -> tuple[str, str]:
    table, _, record_id = ref.partition("#")
    return table, record_id


@translate_store_errors
def refs(owner: str) -> Iterator[str]:
    """Every ref under `owner` (paginated Query, consistent)."""
    for model in WordModel.query(owner, consistent_read=True, attributes_to_get=["owner", "ref"]):
        yield model.ref


@translate_store_errors
def forget(owner: str, done: Iterable[str]) -> None:
    with WordModel.batch_write() as batch:
        for ref in done:
            batch.delete(WordModel(owner=owner, ref=ref))
