"""OpenAPI helpers: documented problem responses and the security scheme."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.enums import ParamType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OAuthFlow,
    OAuthFlows,
    OpenAPIType,
    Operation,
    Parameter,
    Schema,
    SecurityScheme,
)

from app.core.problems import CATALOGUE, PROBLEM_JSON, Problem

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
