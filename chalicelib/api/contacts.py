"""Contacts (engagement log) routes: parse, call one use case, reply."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.framework import Reply, operation
from chalicelib.api.responses import std
from chalicelib.context import RequestContext
from chalicelib.domain.contact_schemas import (
    AmendmentList,
    BatchIn,
    BatchInDoc,
    BatchOut,
    ContactIn,
    ContactListQuery,
    ContactOut,
    ContactPage,
    ContactPatch,
)
from chalicelib.services import Services
from chalicelib.usecases import contacts as usecase

bp = Blueprint(__name__)
TAG = "contacts"


def _batch_limit(svc: Services) -> int:
    return svc.settings.max_batch_body_bytes


@operation(bp, "POST", "/v1/contacts", action="contacts:create", tag=TAG, request=ContactIn,
           summary="Log one street or online contact (idempotent on `id`)",
           responses={201: ("Created.", ContactOut), 200: ("Identical retry; nothing written.", ContactOut),
                      **std(400, 401, 403, 409, 413, 503)})
def create_contact(svc: Services, ctx: RequestContext, body: ContactIn) -> Reply:
    return Reply.saved(usecase.create_contact(svc, ctx, body))


@operation(bp, "POST", "/v1/contacts/batch", action="contacts:create", tag=TAG, request=BatchIn,
           request_doc=BatchInDoc, body_limit=_batch_limit,
           summary="Offline sync: up to 100 contacts, one result per item",
           responses={200: ("One result per item, in order.", BatchOut), **std(400, 401, 403, 413, 503)})
def sync_batch(svc: Services, ctx: RequestContext, body: BatchIn) -> Reply:
    return Reply(200, usecase.sync_batch(svc, ctx, body.contacts))


@operation(bp, "GET", "/v1/contacts", action="contacts:list", tag=TAG, query=ContactListQuery,
           summary="Own contacts, newest first (`team=mine`: a supervisor's team)",
           responses={200: ("A page.", ContactPage), **std(400, 401, 403, 503)})
def list_contacts(svc: Services, ctx: RequestContext, query: ContactListQuery) -> Reply:
    return Reply(200, usecase.list_contacts(svc, ctx, query))


@operation(bp, "GET", "/v1/contacts/{id}", action="contacts:read", tag=TAG,
           summary="One contact (author or the author's team supervisor)",
           responses={200: ("The contact.", ContactOut), **std(401, 403, 404, 503)})
def get_contact(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, usecase.get_contact(svc, ctx, id))


@operation(bp, "PATCH", "/v1/contacts/{id}", action="contacts:amend", tag=TAG, request=ContactPatch,
           summary="Amend a contact (optimistic concurrency on `version`)",
           responses={200: ("The amended contact.", ContactOut), **std(400, 401, 403, 404, 409, 413, 503)})
def amend_contact(svc: Services, ctx: RequestContext, id: str, body: ContactPatch) -> Reply:
    return Reply(200, usecase.amend_contact(svc, ctx, id, body))


@operation(bp, "GET", "/v1/contacts/{id}/amendments", action="contacts:read", tag=TAG,
           summary="Every amendment of a contact: who, when, what changed",
           responses={200: ("Oldest first.", AmendmentList), **std(401, 403, 404, 503)})
def list_amendments(svc: Services, ctx: RequestContext, id: str) -> Reply:
    return Reply(200, usecase.list_amendments(svc, ctx, id))
