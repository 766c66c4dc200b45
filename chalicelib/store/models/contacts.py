"""The engagement log: contacts (with the history GSIs), amendments and the stats counters."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import ListAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.constants import STREAM_NEW_AND_OLD_IMAGE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.store.models.base import UnboundMeta as _Meta


class ContactsByAuthor(GlobalSecondaryIndex["ContactModel"]):
    class Meta:
        index_name = "by_author"
        projection = AllProjection()

    author = UnicodeAttribute(hash_key=True)
    occurred_at = UnicodeAttribute(range_key=True)


class ContactsByTeam(GlobalSecondaryIndex["ContactModel"]):
    class Meta:
        index_name = "by_team"
        projection = AllProjection()

    team = UnicodeAttribute(hash_key=True)
    occurred_at = UnicodeAttribute(range_key=True)


def _history_index(name: str) -> GlobalSecondaryIndex[Any]:
    """A sparse, month-sharded history GSI (see domain.history): projects only the
    pseudonymisable row (`hrow`), never notes, handles or thread refs."""
    attrs = {
        "Meta": type("Meta", (), {"index_name": name, "projection": IncludeProjection(["hrow"])}),
        name: UnicodeAttribute(hash_key=True),
        "hsk": UnicodeAttribute(range_key=True),
    }
    index: GlobalSecondaryIndex[Any] = type(f"History_{name}", (GlobalSecondaryIndex,), attrs)()
    return index


class ContactModel(Model):
    class Meta(_Meta):
        short_name = "contacts"
        # Every counter and engagement item is derived from this stream (domain/stream_counts.py).
        stream_view_type = STREAM_NEW_AND_OLD_IMAGE

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    topic = UnicodeAttribute()
    outcome = UnicodeAttribute()
    tags = ListAttribute[str](of=UnicodeAttribute, default=list)  # type: ignore[arg-type]  # of= takes the attribute class
    notes = UnicodeAttribute(null=True)
    author = UnicodeAttribute()
    team = UnicodeAttribute()
    version = NumberAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    content_digest = UnicodeAttribute()
    lat = NumberAttribute(null=True)
    lon = NumberAttribute(null=True)
    cell = UnicodeAttribute(null=True)
    setting = UnicodeAttribute(null=True)
    platform = UnicodeAttribute(null=True)
    direction = UnicodeAttribute(null=True)
    thread_ref = UnicodeAttribute(null=True)
    handle_pseudonym = UnicodeAttribute(null=True)
    area_id = UnicodeAttribute(null=True)
    author_role = UnicodeAttribute(null=True)  # officer|supervisor: the engagement counters' role
    author_rank = UnicodeAttribute(null=True)  # the author's rank at the time (domain/ranks.py)
    conversation_id = UnicodeAttribute(null=True)  # a conversation message's contact: its conversation
    alert_id = UnicodeAttribute(null=True)  # ... and the alert that conversation answers, if any
    expires_at = TTLAttribute()

    by_author = ContactsByAuthor()
    by_team = ContactsByTeam()

    # History (analysts): sparse month-sharded GSIs, see chalicelib/domain/history.py.
    hsk = UnicodeAttribute(null=True)
    hrow = UnicodeAttribute(null=True)
    hb_all = UnicodeAttribute(null=True)
    hb_t = UnicodeAttribute(null=True)
    hb_p = UnicodeAttribute(null=True)
    hb_tp = UnicodeAttribute(null=True)
    hk_all = UnicodeAttribute(null=True)
    hk_t = UnicodeAttribute(null=True)
    hk_p = UnicodeAttribute(null=True)
    hk_tp = UnicodeAttribute(null=True)
    hx_all = UnicodeAttribute(null=True)
    hx_t = UnicodeAttribute(null=True)
    hx_p = UnicodeAttribute(null=True)
    hx_tp = UnicodeAttribute(null=True)
    by_hb_all = _history_index("hb_all")
    by_hb_t = _history_index("hb_t")
    by_hb_p = _history_index("hb_p")
    by_hb_tp = _history_index("hb_tp")
    by_hk_all = _history_index("hk_all")
    by_hk_t = _history_index("hk_t")
    by_hk_p = _history_index("hk_p")
    by_hk_tp = _history_index("hk_tp")
    by_hx_all = _history_index("hx_all")
    by_hx_t = _history_index("hx_t")
    by_hx_p = _history_index("hx_p")
    by_hx_tp = _history_index("hx_tp")


class AmendmentModel(Model):
    """One item per amendment: who, when, what changed (old -> new)."""

    class Meta(_Meta):
        short_name = "amendments"

    contact_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)
    at = UnicodeAttribute()
    by = UnicodeAttribute()
    by_role = UnicodeAttribute()
    changes = UnicodeAttribute()  # JSON list of {field, old, new}
    expires_at = TTLAttribute()


class StatCounterModel(Model):
    """(scope|dimension, day|value) -> number of contacts. See domain.stats_keys.

    The same table holds the engagement items (counters `<scope>|engagement|<grain>` and member
    items `team:<id>|engmember|<grain>`, see domain.engagement): their attributes are dynamic (not
    declared here) and they carry `expires_at`, because member items hold staff pseudonyms (the
    counters expire with them); plain counters never expire."""

    class Meta(_Meta):
        short_name = "stats"

    key = UnicodeAttribute(hash_key=True)
    bucket = UnicodeAttribute(range_key=True)
    contacts = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)
