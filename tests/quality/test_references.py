"""Every id in a request body must name a live entity of the caller's tenant that may play
that part: a gate over the route catalogue.

The write routes are read from the app; each gets a valid body from the route catalogue
(tests/routes.py). Every id-typed field of the body's type (a UUID, a list of them, inside
nested objects and lists too) is replaced in turn by

- a random UUID (nothing has it),
- the id the same field holds in a valid body made in *another* tenant,
- for a field naming an account: an account of the caller's tenant of another kind (an
  owner where staff is expected, staff where an owner is),

and each request must be refused with a 404, 409 or 422 problem whose ``errors`` name the
field: never a 2xx (an inquiry could be transferred to another tenant's staff, an owner
account or nobody), never a 500. A route whose body has an id field a valid body does not
fill gets the random UUID in it all the same.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import inspect as mi
from sqlalchemy import select

from app.auth.models import Account, AccountKind
from tests.conftest import bearer
from tests.routes import BODY_METHODS, CLIENT, FACTORIES, Ctx, missing_factory, operations, reads_if_match, url

REFUSED = {404, 409, 422}


@dataclass(frozen=True)
class IdField:
    path: tuple[str | int, ...]  # keys and list indexes from the body's root
    many: bool  # a list of ids (the mutation replaces its first element, or adds one)

    @property
    def name(self) -> str:
        return ".".join(str(p) for p in self.path)


def _unwrap(t: mi.Type) -> mi.Type:
    if isinstance(t, mi.UnionType):
        real = [a for a in t.types if not isinstance(a, mi.NoneType)]
        return real[0] if len(real) == 1 else t
    return t


def id_fields(t: mi.Type, body: Any, path: tuple[str | int, ...] = ()) -> list[IdField]:
    """The id fields of type ``t``, where the valid ``body`` goes (list items it holds)."""
    t = _unwrap(t)
    found: list[IdField] = []
    if isinstance(t, mi.StructType):
        for f in t.fields:
            value = body.get(f.encode_name) if isinstance(body, dict) else None
            found += id_fields(f.type, value, (*path, f.encode_name))
    elif isinstance(t, mi.UUIDType):
        found.append(IdField(path, many=False))
    elif isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType)):
        item = _unwrap(t.item_type)
        if isinstance(item, mi.UUIDType):
            found.append(IdField(path, many=True))
        elif isinstance(item, mi.StructType):
            for i, element in enumerate(body if isinstance(body, list) and body else [None]):
                found += id_fields(item, element, (*path, i))
    return found


def value_at(body: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(body, list) or len(body) <= step:
                return None
            body = body[step]
        else:
            if not isinstance(body, dict):
                return None
            body = body.get(step)
    return body


def with_value(body: dict[str, Any], field: IdField, new: str) -> dict[str, Any] | None:
    """A copy of ``body`` with the id at ``field`` replaced by ``new`` (None: no place for it,
    a list item the valid body does not have)."""
    changed = copy.deepcopy(body)
    holder: Any = changed
    for step in field.path[:-1]:
        if isinstance(step, int):
            if not isinstance(holder, list) or len(holder) <= step:
                return None
            holder = holder[step]
        else:
            holder = holder.setdefault(step, {}) if isinstance(holder, dict) else None
            if holder is None:
                return None
    last = field.path[-1]
    if not isinstance(holder, dict) or isinstance(last, int):
        return None
    if field.many:
        current = holder.get(last) or []
        holder[last] = [new, *current[1:]]
    else:
        holder[last] = new
    return changed


def _first_id(value: Any) -> str | None:
    if isinstance(value, list):
        return str(value[0]) if value else None
    return str(value) if value is not None else None


def _names(field: IdField) -> set[str]:
    """How a problem may name the field: its path, with the list index of a list of ids."""
    return {field.name, f"{field.name}.0"} if field.many else {field.name}


async def _account_kind(db: Any, value: str | None) -> tuple[AccountKind, Any] | None:
    try:
        account_id = uuid.UUID(str(value))
    except ValueError:
        return None
    async with db.platform_session() as session:
        row = (await session.execute(select(Account.kind, Account.tenant_id).where(Account.id == account_id))).first()
    return (row[0], row[1]) if row is not None else None


async def _account_of_kind(db: Any, tenant_id: Any, kind: AccountKind) -> str:
    from app.auth.services import create_account
    from app.core.audit import Actor

    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        account = await create_account(session, tenant_id=tenant_id, kind=kind, username=f"ref{uuid.uuid4().hex[:10]}",
                                       display_name="Reference gate", password=None,
                                       scopes=["owner:self"] if kind is AccountKind.owner else ["org:read"])
    return str(account.id)


def _body_type(handler: Any) -> Any:
    parameter = handler.parsed_fn_signature.parameters.get("data")
    return parameter.annotation if parameter is not None else None


async def test_every_id_in_a_body_names_a_live_entity_of_the_tenant(client: Any, app: Any, db: Any,
                                                                   new_tenant: Any, mint: Any) -> None:
    def context(slug: str) -> Ctx:
        return Ctx(client=client, db=db, tenant=slug, subject=CLIENT, mark=uuid.uuid4().hex[:8],
                   auth=bearer(mint(tenant=slug, subject=CLIENT)), operator=bearer(mint()))

    ours, theirs = context(await new_tenant("ref_a")), context(await new_tenant("ref_b"))
    routes = []
    for route, method, handler in operations(app, ("/api/",)):
        body_type = _body_type(handler)
        if method not in BODY_METHODS or body_type is None:
            continue
        try:
            info = mi.type_info(body_type)
        except (TypeError, ValueError):
            continue
        if isinstance(info, mi.StructType) and id_fields(info, None):
            routes.append((route, method, handler, info))
    assert routes, "expected write routes whose body names ids"
    missing = sorted({r.path for r, _, _, _ in routes if r.path not in FACTORIES})
    assert not missing, missing_factory(missing)

    failures: list[str] = []
    checked = 0
    for route, method, handler, info in routes:
        where = f"{method} {route.path}"
        made = await FACTORIES[route.path](ours)
        body = made.bodies.get(method)
        if not isinstance(body, dict):
            failures.append(f"{where}: the catalogue gives no JSON body")
            continue
        elsewhere = (await FACTORIES[route.path](theirs)).bodies.get(method) or {}
        headers = dict(made.auth or ours.auth)
        if reads_if_match(handler):
            assert made.url, f"{where} reads If-Match: its factory must give the URL that shows the ETag"

        for field in id_fields(info, body):
            mutations: list[tuple[str, str]] = [("a random id", str(uuid.uuid4()))]
            foreign = _first_id(value_at(elsewhere, field.path))
            if foreign is not None and foreign != _first_id(value_at(body, field.path)):
                mutations.append(("another tenant's id", foreign))
            account = await _account_kind(db, _first_id(value_at(body, field.path)))
            if account is not None:
                other_kind = AccountKind.owner if account[0] is not AccountKind.owner else AccountKind.staff
                other = await _account_of_kind(db, account[1], other_kind)
                mutations.append((f"an {other_kind.value} account", other))
            for label, value in mutations:
                changed = with_value(body, field, value)
                if changed is None:
                    continue
                if reads_if_match(handler):
                    current = await client.get(made.url, headers=headers)
                    headers["If-Match"] = current.headers.get("etag", "")
                answer = await client.request(method, url(route, made.params), headers=headers, json=changed)
                checked += 1
                problem = answer.json() if answer.headers.get("content-type", "").startswith(
                    "application/problem+json") else {}
                named = {e.get("field") for e in problem.get("errors") or []}
                if answer.status_code not in REFUSED or not named & _names(field):
                    failures.append(f"{where} with {label} in {field.name}: {answer.status_code} "
                                    f"{answer.text[:300]}")
    assert checked >= len(routes), f"only {checked} requests for {len(routes)} routes"
    assert not failures, "ids that name no live entity of the caller's tenant must be refused naming the " \
                         "field (404/409/422):\n" + "\n".join(failures)


class _Line(msgspec.Struct, rename="camel"):
    unit_id: uuid.UUID
    note: str


class _Body(msgspec.Struct, rename="camel"):
    owner_id: uuid.UUID
    node_id: uuid.UUID | None = None
    account_ids: list[uuid.UUID] = []
    lines: list[_Line] = []
    name: str = ""


def test_id_fields_are_found_in_nested_objects_and_lists() -> None:
    info = mi.type_info(_Body)
    body = {"ownerId": "x", "lines": [{"unitId": "a", "note": ""}, {"unitId": "b", "note": ""}]}
    assert [f.name for f in id_fields(info, body)] == ["ownerId", "nodeId", "accountIds", "lines.0.unitId",
                                                       "lines.1.unitId"]
    many = next(f for f in id_fields(info, body) if f.many)
    assert with_value(body, many, "n") == {**body, "accountIds": ["n"]}
    assert with_value(body, IdField(("lines", 1, "unitId"), False), "n")["lines"][1]["unitId"] == "n"
