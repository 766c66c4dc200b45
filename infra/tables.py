"""DynamoDB tables for CloudFormation, generated from the PynamoDB models (never written by hand).

`chalicelib.store.models.ALL_MODELS` is the one source of truth: keys, GSIs/LSIs, projections,
TTL and streams come from each model's `_get_schema()`, attributes and `Meta`, so a table added
to ALL_MODELS appears in the template, and a changed key changes the template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

# Item-level actions the app role gets on an ordinary table. (DynamoDB transactions are
# authorised per item action: TransactWriteItems needs PutItem/UpdateItem/ConditionCheckItem.)
READ_WRITE_ACTIONS: tuple[str, ...] = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
# Append-only tables: new items and reads only. No UpdateItem/DeleteItem, and no BatchWriteItem
# either (a batch write can carry DeleteRequests).
APPEND_ONLY_ACTIONS: tuple[str, ...] = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
)
INDEX_ACTIONS: tuple[str, ...] = ("dynamodb:Query",)

# Short table names whose items are never changed once written (see chalicelib/store/access_log.py).
APPEND_ONLY_TABLES: frozenset[str] = frozenset({"access-log"})


@dataclass(frozen=True)
class TableSpec:
    """One model's table as the template needs it."""

    model: type[Model]
    short_name: str  # "contacts", "access-log"
    logical_id: str  # "ContactsTable"
    index_names: tuple[str, ...]
    ttl_attribute: str | None

    @property
    def append_only(self) -> bool:
        return self.short_name in APPEND_ONLY_TABLES

    @property
    def actions(self) -> tuple[str, ...]:
        return APPEND_ONLY_ACTIONS if self.append_only else READ_WRITE_ACTIONS


def short_name(model: type[Model], table_prefix: str) -> str:
    """The model's table name without the stage prefix it was imported with."""
    name: str = model.Meta.table_name
    if not name.startswith(table_prefix):
        raise ValueError(f"{model.__name__}: table {name!r} does not start with prefix {table_prefix!r}")
    return name[len(table_prefix):]


def logical_id(short: str) -> str:
    """`access-log` -> `AccessLogTable` (CloudFormation logical ids are alphanumeric)."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", short) if part) + "Table"


def ttl_attribute(model: type[Model]) -> str | None:
    for attribute in model.get_attributes().values():
        if isinstance(attribute, TTLAttribute):
            return attribute.attr_name
    return None


def table_spec(model: type[Model], table_prefix: str) -> TableSpec:
    short = short_name(model, table_prefix)
    schema = model._get_schema()
    indexes = [i["index_name"] for i in schema["global_secondary_indexes"]]
    indexes += [i["index_name"] for i in schema["local_secondary_indexes"]]
    return TableSpec(
        model=model,
        short_name=short,
        logical_id=logical_id(short),
        index_names=tuple(indexes),
        ttl_attribute=ttl_attribute(model),
    )


def _key_schema(keys: list[dict[str, str]]) -> list[dict[str, str]]:
    """HASH first, then RANGE: CloudFormation (and DynamoDB) require this order."""
    ordered = sorted(keys, key=lambda k: 0 if k["KeyType"] == "HASH" else 1)
    return [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in ordered]


def _projection(projection: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"ProjectionType": projection["ProjectionType"]}
    if projection.get("NonKeyAttributes"):
        result["NonKeyAttributes"] = list(projection["NonKeyAttributes"])
    return result


def _attribute_definitions(schema: dict[str, Any]) -> dict[str, str]:
    """Every key attribute of the table and its indexes, with its type."""
    definitions = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    for index in schema["global_secondary_indexes"] + schema["local_secondary_indexes"]:
        for definition in index.get("attribute_definitions", []):
            definitions[definition["AttributeName"]] = definition["AttributeType"]
    return definitions


def table_resource(spec: TableSpec, table_name: str, *, retain: bool) -> dict[str, Any]:
    """An AWS::DynamoDB::Table: on-demand, SSE, point-in-time recovery, TTL from the model."""
    schema = spec.model._get_schema()
    definitions = _attribute_definitions(schema)
    properties: dict[str, Any] = {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in sorted(definitions.items())
        ],
        "KeySchema": _key_schema(schema["key_schema"]),
        "SSESpecification": {"SSEEnabled": True},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "DeletionProtectionEnabled": retain,
        "Tags": [{"Key": "beatline:model", "Value": spec.model.__name__}],
    }
    gsis = schema["global_secondary_indexes"]
    if gsis:
        properties["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index["index_name"],
                "KeySchema": _key_schema(index["key_schema"]),
                "Projection": _projection(index["projection"]),
            }
            for index in gsis
        ]
    lsis = schema["local_secondary_indexes"]
    if lsis:
        properties["LocalSecondaryIndexes"] = [
            {
                "IndexName": index["index_name"],
                "KeySchema": _key_schema(index["key_schema"]),
                "Projection": _projection(index["projection"]),
            }
            for index in lsis
        ]
    if spec.ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
    stream_view_type = getattr(spec.model.Meta, "stream_view_type", None)
    if stream_view_type:
        properties["StreamSpecification"] = {"StreamViewType": stream_view_type}
    policy = "Retain" if retain else "Delete"
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": properties,
    }
