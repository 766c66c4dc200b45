"""Table schemas come from the PynamoDB models: keys, GSIs and TTL as documented."""

from __future__ import annotations

import pytest


def _describe(model):
    client = model._get_connection().connection.client
    table = client.describe_table(TableName=model.Meta.table_name)["Table"]
    ttl = client.describe_time_to_live(TableName=model.Meta.table_name)["TimeToLiveDescription"]
    return table, ttl


def _keys(schema):
    return {k["AttributeName"]: k["KeyType"] for k in schema}


def test_contacts_table_keys_indexes_and_ttl():
    from chalicelib.store.models import ContactModel

    table, ttl = _describe(ContactModel)
    assert _keys(table["KeySchema"]) == {"id": "HASH"}
    indexes = {i["IndexName"]: _keys(i["KeySchema"]) for i in table["GlobalSecondaryIndexes"]}
    assert indexes.pop("by_author") == {"author": "HASH", "occurred_at": "RANGE"}
    assert indexes.pop("by_team") == {"team": "HASH", "occurred_at": "RANGE"}
    # The rest are the analysts' sparse history indexes (docs/history.md): <key>/hsk.
    assert len(indexes) == 12
    assert all(keys == {name: "HASH", "hsk": "RANGE"} for name, keys in indexes.items()), indexes
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


@pytest.mark.parametrize(
    ("model_name", "keys", "ttl_attribute"),
    [
        ("AmendmentModel", {"contact_id": "HASH", "version": "RANGE"}, "expires_at"),
        # TTL for the engagement items (staff pseudonyms); plain counters carry no expires_at.
        ("StatCounterModel", {"key": "HASH", "bucket": "RANGE"}, "expires_at"),
        ("AccessLogModel", {"day": "HASH", "at_id": "RANGE"}, "expires_at"),
    ],
)
def test_other_tables(model_name, keys, ttl_attribute):
    from chalicelib.store import models

    table, ttl = _describe(getattr(models, model_name))
    assert _keys(table["KeySchema"]) == keys
    if ttl_attribute:
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": ttl_attribute}
    else:
        assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_access_log_model_keeps_query_as_its_attribute_name():
    """The Python name is `filters` (a `query` attribute shadowed Model.query); stored as `query`."""
    from chalicelib.store.models import AccessLogModel

    assert AccessLogModel.filters.attr_name == "query"
    assert callable(AccessLogModel.query)


def test_access_log_streams_new_images_for_the_archive():
    from chalicelib.store.models import AccessLogModel

    table, _ = _describe(AccessLogModel)
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
