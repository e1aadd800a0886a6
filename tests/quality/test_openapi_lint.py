"""OpenAPI lint: the document is a product, and every operation meets the same bar.

Every operation has its own operationId (unique), a summary and a tag, written on the
handler (Litestar would otherwise invent them); a security requirement, unless the handler
is declared public and lives under PUBLIC_PREFIXES; its 4xx answers documented as
application/problem+json: 401, 403 and 422 when authenticated, 404 when the path has a
parameter, 412 and 428 (and the If-Match header) when it reads If-Match. No request or
response body schema is left untyped. Every operation has a description (what it does, who
may, what state it needs, what it answers): generated clients carry it as the docstring.

Which operations read If-Match: ``check_if_match`` refuses to run on a route whose
``requires(..., errors=[412, 428])`` did not mark it (``opt["if_match"]``), so the marker
cannot be missing where If-Match is read, and this lint can trust it. (Reading the handler's
source would miss the reads made in helpers, such as the tenant lifecycle's _transition.)
"""

from __future__ import annotations

import inspect
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from litestar.routes import HTTPRoute

from app.auth.scopes import OPT_KEY, SECURITY_SCHEME
from tests.routes import document_path, handlers, is_framework_options, reads_if_match, routes

PUBLIC_PREFIXES = ("/health/",)  # the only operations the document may show without a token
# ... and these: whoever forgot their password has no token to ask for a reset with.
PUBLIC_OPERATIONS = {"POST /oauth/password-reset", "POST /oauth/password-reset/confirm"}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_JSON = "application/problem+json"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
COMPOSITION = ("$ref", "oneOf", "anyOf", "allOf")


def _documented_operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method.upper(), operation


def _handlers_by_operation(app: Any) -> dict[tuple[str, str], tuple[HTTPRoute, Any]]:
    return {(document_path(r.path), m): (r, h)
            for r in app.routes if isinstance(r, HTTPRoute) for m, h in handlers(r)}


async def _document(client: Any) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    return response.json()


async def test_every_api_operation_is_in_the_document(client: Any, app: Any) -> None:
    # A route left out of the document would escape this lint and the fuzzer.
    document = await _document(client)
    hidden = [f"{m} {r.path}" for r in routes(app) for m, h in handlers(r)
              if not is_framework_options(m, h) and m.lower() not in document["paths"].get(document_path(r.path), {})]
    assert not hidden, f"operations missing from the OpenAPI document (include_in_schema=False?): {hidden}"


async def test_every_operation_is_documented(client: Any, app: Any) -> None:
    document = await _document(client)
    served = _handlers_by_operation(app)
    problems: list[str] = []
    ids = Counter(op.get("operationId") for _, _, op in _documented_operations(document))

    for path, method, op in _documented_operations(document):
        where = f"{method} {path}"
        route, handler = served[(path, method)]
        # Explicit on the handler: Litestar fills in a generated id and summary otherwise.
        if not isinstance(handler.operation_id, str) or op.get("operationId") != handler.operation_id:
            problems.append(f"{where}: no operation_id=... on the handler")
        elif ids[handler.operation_id] > 1:
            problems.append(f"{where}: operationId {handler.operation_id} is not unique")
        if not handler.summary or op.get("summary") != handler.summary:
            problems.append(f"{where}: no summary=... on the handler")
        if not op.get("tags"):
            problems.append(f"{where}: no tag")

        responses = op.get("responses", {})
        if handler.opt.get("public"):
            if not path.startswith(PUBLIC_PREFIXES) and where not in PUBLIC_OPERATIONS:
                problems.append(f"{where} is public outside {PUBLIC_PREFIXES}")
            if op.get("security"):
                problems.append(f"{where} is public but documents {op['security']}")
            expected: set[int] = set()
        else:
            scopes = list(handler.opt.get(OPT_KEY) or ())
            if not scopes or op.get("security") != [{SECURITY_SCHEME: scopes}]:
                problems.append(f"{where}: security {op.get('security')} is not the handler's scopes {scopes}")
            expected = {401, 403, 422}
        if route.path_parameters:
            expected.add(404)
        if reads_if_match(handler):
            expected |= {412, 428}
            header = [p for p in op.get("parameters", []) if p.get("in") == "header" and p.get("name") == "If-Match"]
            if not header or not header[0].get("required"):
                problems.append(f"{where} reads If-Match but does not document the header as required")
        for code in sorted(expected):
            if str(code) not in responses:
                problems.append(f"{where} does not document {code}")
        for code, response in responses.items():
            schema = (response.get("content") or {}).get(PROBLEM_JSON, {}).get("schema")
            if code.startswith("4") and schema != PROBLEM_REF:
                problems.append(f"{where}: {code} is not documented as {PROBLEM_JSON} (Problem)")
    assert not problems, "OpenAPI lint:\n" + "\n".join(problems)


PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


def _module_of(handler: Any) -> str:
    """The file of the handler's function, relative to the project."""
    return Path(os.path.relpath(inspect.getsourcefile(handler.fn) or "?", PROJECT_ROOT)).as_posix()


async def test_every_operation_has_a_description(client: Any, app: Any) -> None:
    document = await _document(client)
    served = _handlers_by_operation(app)
    lacking: dict[str, list[str]] = {}
    for path, method, op in _documented_operations(document):
        if not (op.get("description") or "").strip():
            lacking.setdefault(_module_of(served[(path, method)][1]), []).append(f"{method} {path}")
    problems = [f"{module}: {len(ops)} operations without a description=...: {sorted(ops)}"
                for module, ops in sorted(lacking.items())]
    assert not problems, "\n".join(problems)


def _untyped(node: Any, where: str) -> Iterator[str]:
    """Places under ``node`` holding a schema with neither a type nor a composition."""
    if not isinstance(node, dict):
        return
    if not any(key in node for key in ("type", *COMPOSITION)):
        yield where or "/"
    for key in ("properties", "patternProperties", "$defs"):
        for name, child in (node.get(key) or {}).items():
            yield from _untyped(child, f"{where}/{key}/{name}")
    for key in ("items", "additionalProperties", "contains", "propertyNames"):
        yield from _untyped(node.get(key), f"{where}/{key}")
    for key in ("oneOf", "anyOf", "allOf", "prefixItems"):
        for i, child in enumerate(node.get(key) or []):
            yield from _untyped(child, f"{where}/{key}/{i}")


async def test_no_untyped_schemas(client: Any) -> None:
    document = await _document(client)
    found = [p for name, schema in document.get("components", {}).get("schemas", {}).items()
             for p in _untyped(schema, f"components/schemas/{name}")]
    for path, method, op in _documented_operations(document):
        bodies = [("requestBody", op.get("requestBody") or {})]
        bodies += [(f"responses/{code}", r) for code, r in (op.get("responses") or {}).items()]
        for label, body in bodies:
            for media, content in (body.get("content") or {}).items():
                found += _untyped(content.get("schema", {}), f"{method} {path} {label} {media}")
    assert not found, f"untyped schemas ({{}} or no type): give them a type: {found}"
