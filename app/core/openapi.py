"""OpenAPI helpers: documented problem responses and the security scheme."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar._openapi.plugin import OpenAPIPlugin
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.config.app import AppConfig
from litestar.enums import ParamType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OAuthFlow,
    OAuthFlows,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
    SecurityScheme,
)
from litestar.plugins import InitPluginProtocol
from litestar.routes import HTTPRoute

from app.core.idempotency import KEY_PATTERN, accepts_key
from app.core.problems import CATALOGUE, PROBLEM_JSON, TYPE_PREFIX, Problem

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

# Every authenticated operation may answer these.
COMMON_ERRORS = (400, 401, 403, 422, 429)

_DESCRIPTIONS = {status: title for status, title in CATALOGUE.values()}
_DESCRIPTIONS.update({400: "The request body could not be parsed", 401: "Authentication is required",
                      403: "Forbidden: missing scope, permission, or inactive tenant",
                      422: "The request is not valid (per-field errors)"})


def problem_responses(codes: Iterable[int]) -> dict[int, ResponseSpec]:
    return {
        code: ResponseSpec(data_container=Problem, media_type=PROBLEM_JSON,
                           description=_DESCRIPTIONS.get(code, "Error"), generate_examples=False)
        for code in sorted(set(codes))
    }


def security_components(token_url: str, authorization_url: str, scopes: dict[str, str]) -> Components:
    return Components(
        security_schemes={
            "oauth2": SecurityScheme(
                type="oauth2",
                description="OAuth 2.1 access tokens (RFC 9068 JWTs).",
                flows=OAuthFlows(
                    client_credentials=OAuthFlow(token_url=token_url, scopes=scopes),
                    authorization_code=OAuthFlow(
                        authorization_url=authorization_url, token_url=token_url, scopes=scopes
                    ),
                ),
            )
        }
    )


# A route's opt key saying it reads If-Match (set by ``requires(..., errors=[412, 428])``);
# check_if_match refuses to run on a route without it, so the document cannot omit it.
IF_MATCH_OPT = "if_match"

IF_MATCH = Parameter(
    name="If-Match", param_in=ParamType.HEADER, required=True,
    schema=Schema(type=OpenAPIType.STRING, min_length=1),
    description="The resource's ETag as last read: 428 without it, 412 when the resource changed since.",
)


@dataclass
class IfMatchOperation(Operation):
    """An operation that reads If-Match: the header is documented among its parameters."""

    def __post_init__(self) -> None:
        self.parameters = [*(self.parameters or []), IF_MATCH]


class ClosedStructSchemaPlugin(StructSchemaPlugin):
    """Every body is a msgspec Struct: request bodies refuse unknown fields
    (``forbid_unknown_fields``) and responses carry exactly the declared ones. The document
    says so with ``additionalProperties: false``, which Litestar's own struct plugin leaves
    out; a response field missing from the document is then a contract break the fuzzer sees."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


# --- Headers and conflicts, written once for every operation ----------------------------
#
# The document Litestar builds knows the bodies, parameters and problem answers each route
# declares; the headers the shared mechanisms read and write (app/core: request ids, the
# audit's Change-Reason, idempotency, ETags, Retry-After) it cannot see. ``complete`` adds
# them from the same rules those mechanisms follow, so a new route is documented the day it
# is written, and generated clients can send and read them.

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STRING = Schema(type=OpenAPIType.STRING)

REQUEST_HEADERS = {
    "X-Request-Id": Parameter(
        name="X-Request-Id", param_in=ParamType.HEADER, required=False,
        schema=Schema(type=OpenAPIType.STRING),
        description="The caller's id for this request, kept in the logs and the audit trail and answered back "
                    "when it is 1-100 visible ASCII characters; otherwise (or when absent) a new one is made.",
    ),
    "Change-Reason": Parameter(
        name="Change-Reason", param_in=ParamType.HEADER, required=False,
        schema=Schema(type=OpenAPIType.STRING),
        description="Why the change is made, in words; its first 2000 characters are kept with the change in the "
                    "audit trail.",
    ),
    "Idempotency-Key": Parameter(
        name="Idempotency-Key", param_in=ParamType.HEADER, required=False,
        schema=Schema(type=OpenAPIType.STRING, pattern=KEY_PATTERN),
        description="A key of the caller's choosing (1-200 visible ASCII characters or spaces): a retry with "
                    "the same key and body gets the first answer back (with `Idempotent-Replayed: true`) instead "
                    "of acting twice; "
                    "the same key with another body is refused (422 `idempotency-key-reused`).",
    ),
}
RESPONSE_HEADERS = {
    "X-Request-Id": OpenAPIHeader(schema=_STRING, description="The request's id (the caller's, or one made for it)."),
    "ETag": OpenAPIHeader(schema=_STRING, description="The record's version: send it back in `If-Match` to change "
                                                      "it."),
    "Location": OpenAPIHeader(schema=_STRING, description="Where the new record (or the job doing the work) lives."),
    "Idempotent-Replayed": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING, enum=["true"]),
        description="Present when this is the stored answer to an earlier request with the same Idempotency-Key."),
    "Retry-After": OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
                                 description="Seconds to wait before trying again."),
}


def _problem_list(slugs: Iterable[tuple[str, str]]) -> str:
    return "\n".join(f"* `{TYPE_PREFIX}{slug}`: {meaning}" for slug, meaning in slugs)


CONFLICTS = (
    ("conflict", "the record is not in a state this action needs (`detail` names the states it needs); "
                 "retrying will not help until the record moves on"),
    ("duplicate", "a record with the same identity already exists"),
    ("consent-required", "the person has not consented to this use of their data"),
    ("concurrent-request", "another request changed the same records at the same moment; retry it"),
)
IDEMPOTENCY_CONFLICT = ("idempotency-in-progress", "a request with the same Idempotency-Key is still running; "
                                                   "retry it later for its answer")
PRECONDITION_FAILED = (f"The record changed since it was read: `If-Match` is not its current ETag "
                       f"(`{TYPE_PREFIX}precondition-failed`). Read it again, then decide whether to repeat the "
                       f"change.")


def conflict_description(*, idempotent: bool) -> str:
    slugs = [*CONFLICTS, IDEMPOTENCY_CONFLICT] if idempotent else list(CONFLICTS)
    return "Conflict; the problem's `type` says which:\n" + _problem_list(slugs)


def _ref(kind: str, name: str) -> Reference:
    return Reference(ref=f"#/components/{kind}/{name}")


def _add_parameter(operation: Operation, name: str) -> None:
    parameters = operation.parameters = list(operation.parameters or [])
    if not any(isinstance(p, Parameter) and p.name.lower() == name.lower() for p in parameters):
        parameters.append(_ref("parameters", name))


def _add_header(response: OpenAPIResponse | Reference, name: str) -> None:
    if isinstance(response, OpenAPIResponse):
        response.headers = {**(response.headers or {}), name: _ref("headers", name)}


def complete(document: OpenAPI, routes: Iterable[HTTPRoute]) -> None:
    """Declare, on each operation of ``document``, the headers the shared mechanisms read and
    write, and say what its 409 and 412 answers mean."""
    components = document.components
    _unique_titles(components)
    components.parameters = {**(components.parameters or {}), **REQUEST_HEADERS}
    components.headers = {**(components.headers or {}), **RESPONSE_HEADERS}
    for route in routes:
        item = (document.paths or {}).get(route.path_format or "/")
        if item is None:
            continue
        handlers = {m: h for h in route.route_handlers for m in h.http_methods if h.include_in_schema}
        # A GET of a record that is changed under If-Match shows its ETag.
        versioned = any(h.opt.get(IF_MATCH_OPT) for h in handlers.values())
        for method, handler in handlers.items():
            operation = getattr(item, method.lower(), None)
            if operation is None:
                continue
            _complete_operation(operation, method, handler.status_code or 0, handler.opt,
                                shows_etag=versioned and method == "GET")


# Litestar's key for a generic over a struct: ``Page_app.domains.forums.schemas.ActionOut_``.
_GENERIC_KEY = re.compile(r"(?P<outer>[^_.]+)_(?P<module>[\w.]+)\.(?P<inner>\w+)_")


def _unique_titles(components: Components) -> None:
    """Two schemas named alike in two domains (``AnswerIn``) get keys of their own from
    Litestar but keep the same title, which generators name their classes by: one of them would
    be lost. Each takes its domain's name in front (``InquiriesAnswerIn``); a page of them takes
    it inside (``Page[ForumsActionOut]``, as the item's own title reads)."""
    schemas = components.schemas or {}
    titles = Counter(s.title for s in schemas.values() if s.title)
    for key, schema in schemas.items():
        if not (schema.title and titles[schema.title] > 1):
            continue
        if generic := _GENERIC_KEY.fullmatch(key):
            domain = generic["module"].removeprefix("app.").removeprefix("domains.").split(".")[0].title()
            schema.title = schema.title.replace(f"[{generic['inner']}]", f"[{domain}{generic['inner']}]")
        elif "_" in key:
            schema.title = key.split("_", 1)[0].title() + schema.title


def _complete_operation(operation: Operation, method: str, status: int, opt: dict[str, Any], *,
                        shows_etag: bool) -> None:
    responses = operation.responses or {}
    idempotent = accepts_key(method, status, opt)
    _add_parameter(operation, "X-Request-Id")
    if method in WRITE_METHODS and not opt.get("public"):
        _add_parameter(operation, "Change-Reason")
    if idempotent:
        _add_parameter(operation, "Idempotency-Key")
    for code, response in responses.items():
        _add_header(response, "X-Request-Id")
        success = code.startswith("2")
        if success and idempotent:
            _add_header(response, "Idempotent-Replayed")
        if code in ("201", "202"):
            _add_header(response, "Location")
        if code in ("200", "201") and (shows_etag or opt.get(IF_MATCH_OPT) or (code == "201" and idempotent)):
            _add_header(response, "ETag")
        if code in ("429", "503"):
            _add_header(response, "Retry-After")
        if isinstance(response, OpenAPIResponse):
            if code == "409":
                response.description = conflict_description(idempotent=idempotent)
            elif code == "412":
                response.description = PRECONDITION_FAILED


_LITESTAR_BUILD = OpenAPIPlugin._build_openapi


def _build_and_complete(self: OpenAPIPlugin) -> OpenAPI:
    document = _LITESTAR_BUILD(self)
    if any(isinstance(p, DocumentedHeaders) for p in self.app.plugins):
        complete(document, self.included_routes.values())
    return document


class DocumentedHeaders(InitPluginProtocol):
    """Registers ``complete`` on the app (``create_app``'s plugins). Litestar adds its own
    document builder to every app, looks it up by its exact class and offers no hook after it;
    its build step is wrapped instead (once per process, and only apps with this plugin are
    completed), so the document is complete however it is asked for (``app.openapi_schema``,
    /schema/openapi.json) and still built only when first asked for."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        OpenAPIPlugin._build_openapi = _build_and_complete  # type: ignore[method-assign]
        return app_config
