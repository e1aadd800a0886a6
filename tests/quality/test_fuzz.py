"""Schemathesis against the live server: every operation of the OpenAPI document, every check.

The document is the app's own (built at collection, so each operation is a test item of its
own); the requests go to a real uvicorn process (``live_server``) over loopback. A failure
is a bug to fix in the app (a 500, an answer the document does not describe, an invalid
request accepted, a valid one refused): document the response, tighten the schema, or fix
the handler. The only deviations from Schemathesis's defaults are in CONFIG below, each with
its reason; add one only for a true false positive.

Positive cases on a route with a path parameter act on a fresh resource made by the route
catalogue (tests/routes.py), with the resource's real ETag in If-Match where the operation
reads it (and the catalogue's value in a body field that must echo the path), so that
updates, lifecycle moves and deletes really run. /api is fuzzed as one
tenant of its own with a partner token holding every tenant scope; /platform with an
operator token, whose lifecycle moves only ever reach tenants the catalogue made for them.

``make test`` runs at most 25 generated cases per operation (CORNERSTONE_FUZZ_EXAMPLES,
default 25) with a fixed seed; ``make fuzz`` runs 500 and adds the coverage phase.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from litestar.routes import HTTPRoute
from schemathesis.core.parameters import ParameterLocation

from tests.conftest import bearer
from tests.routes import (
    CLIENT,
    FACTORIES,
    Ctx,
    Made,
    document_path,
    handlers,
    missing_factory,
    reads_if_match,
)

EXAMPLES = int(os.environ.get("CORNERSTONE_FUZZ_EXAMPLES", "25"))
# The coverage phase (boundary values, every enum member, every missing field) is not bounded
# by max-examples (a 600-zone enum alone makes ~650 cases): only deeper runs add it.
DEEP = EXAMPLES > 25
# Fixed, so that a failure mostly reproduces; Hypothesis also draws values from the string
# constants of the modules loaded so far, so the cases vary a little with what else the run
# imported (a failure's report carries its curl command to replay it).
SEED = 20261123
TOKEN_REUSE_SECONDS = 60.0
# Below the access tokens' shortest lifetime (900 s) that a kept resource's own token has.
RESOURCE_REUSE_SECONDS = 600.0

# Schemathesis's default expected statuses, extended below where the API is right to differ.
_MISSING_HEADER_DEFAULT = ["400", "401", "403", "406", "415", "422"]
_POSITIVE_DEFAULT = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]

CONFIG: dict[str, Any] = {
    "seed": SEED,
    "generation": {
        "max-examples": EXAMPLES,
        "database": "none",  # no example database: runs do not depend on earlier runs
        # PostgreSQL cannot store NUL in text; the API answers 422 for it wherever it appears
        # (app.core.problems), which JSON Schema cannot say field by field.
        "allow-x00": False,
    },
    "phases": {"coverage": {"enabled": DEEP}},
    "checks": {
        # A missing If-Match is answered 428 Precondition Required (RFC 6585 §3), the status
        # made for it; Schemathesis only expects the generic 4xx codes.
        "missing_required_header": {"expected-statuses": [*_MISSING_HEADER_DEFAULT, "428"]},
    },
    "operations": [
        # JSON Schema cannot relate two parameters or fields: the audit search and export refuse
        # a `from` at or after `to` with 422 naming `from`, the grading rules bands that do not
        # fall from A to E with 422 naming `bands`, which schema-valid values can be.
        {"include-operation-id": ["searchAudit", "exportAudit", "putGradingRules"],
         "checks": {"positive_data_acceptance": {"expected-statuses": [*_POSITIVE_DEFAULT, "422"]}}},
        # A gift plan needs a line: its `items` or its `customers` (seed 000 §19), one of two
        # fields, which may each be empty: 422 naming `items` when both are.
        {"include-operation-id": ["createGiftPlan", "updateGiftPlan"],
         "checks": {"positive_data_acceptance": {"expected-statuses": [*_POSITIVE_DEFAULT, "422"]}}},
        # An upload's file name must have the extension of its declared content type (another
        # field), or none: `x.html` declared `image/png` is refused with 422 naming the name.
        {"include-operation-id": ["startComplaintAttachmentUpload", "startDisputeAttachmentUpload",
                                  "startMyComplaintAttachmentUpload", "uploadArchivePages", "correctArchivePage",
                                  "startGuaranteeDocumentUpload", "startClubActivityPhotoUpload"],
         "checks": {"positive_data_acceptance": {"expected-statuses": [*_POSITIVE_DEFAULT, "422"]}}},
        # Property management: rules relating two fields, or a field and the record or today: a
        # contract or term ending after it starts, a handover inspection or supervision scoring
        # every item of its checklist (a defect with a note), a finding's deadline after its
        # inspection, a record dated no later than today, a category the warranty periods know, the
        # customer owning the unit, a repair's source matching its kind, the cadence's early days at
        # most its later days, a scorecard period's end after its start, distinct checklist codes,
        # and a photo's file name with its type's extension: 422 naming the field.
        {"include-operation-id": [
            "createPropertyContract", "endPropertyContract", "addCommitteeMember", "inspectHandover",
            "recordSupervisionInspection", "recordCoordination", "recordPartnerCoordination", "createRepairOrder",
            "requestMyRepair", "createHandover", "updatePropertyProject", "getPropertyScorecard",
            "updatePropertyChecklist", "startPropertyPhotoUpload", "assignRepairOrder", "createWarrantyPeriod",
            "forwardPartnerComplaint", "createPropertyCompany", "bindPropertyCompanyClient"],
         "checks": {"positive_data_acceptance": {"expected-statuses": [*_POSITIVE_DEFAULT, "422"]}}},
        # Across fields and records: a club's tiers must make a ladder from 0 points (distinct codes
        # and thresholds); an activity ends after it starts and names tiers of its club and existing
        # projects; a check-in token is one the API made for this activity; a thematic forum names
        # its theme, attendance is of those invited, an action is due today or later; a holiday
        # rule names a day of its month; budget or cost lines add up to what a Numeric(14, 2) holds.
        # Each is refused with 422 naming the field.
        # The overdue feed as an XLSX workbook: a ZIP of XML parts with the feed's header in its
        # first sheet, which JSON Schema cannot describe (its CSV form has a pattern); other bytes
        # are refused with 422 naming the file.
        {"include-operation-id": ["importOverdueFeed"],
         "checks": {"positive_data_acceptance": {"expected-statuses": [*_POSITIVE_DEFAULT, "422"]}}},
        {"include-operation-id": ["planClub", "reviseClub", "planClubActivity", "reviseClubActivity",
                                  "recordClubActivity",
                                  "checkInClubMember", "planForum", "reviseForum", "recordForumMinutes",
                                  "addForumFinding", "createCareRule", "updateCareRule"],
         "checks": {"positive_data_acceptance": {"expected-statuses": [*_POSITIVE_DEFAULT, "422"]}}},
        # A privacy request names the consents it withdraws when, and only when, its kind is a
        # withdrawal: 422 naming `consents`.
        {"include-operation-id": ["filePrivacyRequest", "fileMyPrivacyRequest"],
         "checks": {"positive_data_acceptance": {"expected-statuses": [*_POSITIVE_DEFAULT, "422"]}}},
        # Visit planning: an area sits at a branch or project and its route stops are customers at
        # its node or below; a regional plan's period ends on or after its start, within 366
        # days: 422 naming the field.
        {"include-operation-id": ["createVisitArea", "updateVisitArea", "createRegionalVisitPlan",
                                  "updateRegionalVisitPlan"],
         "checks": {"positive_data_acceptance": {"expected-statuses": [*_POSITIVE_DEFAULT, "422"]}}},
        # In-sale orders and call quality: an order received no later than now, departments and
        # scorecard criteria with distinct codes, every criterion of the scorecard marked once, a
        # performance period ending after it starts: 422 naming the field.
        {"include-operation-id": ["receiveOrder", "putOrderSettings", "putCallScorecard", "evaluateCall",
                                  "getAgentPerformance"],
         "checks": {"positive_data_acceptance": {"expected-statuses": [*_POSITIVE_DEFAULT, "422"]}}},
    ],
}


def _resident_ids() -> Any:
    """Resident ID numbers (format ``cn-resident-id``): region, birth date and check character
    valid, as the format says and the pattern alone cannot."""
    from datetime import date

    from hypothesis import strategies as st

    from app.core.pii import id_check_character

    def make(region: str, born: date, seq: int) -> str:
        first17 = f"{region}{born:%Y%m%d}{seq:03d}"
        return first17 + id_check_character(first17)

    return st.builds(make, st.sampled_from(["110105", "310104", "440305", "510107"]),
                     st.dates(date(1920, 1, 1), date(2020, 12, 31)), st.integers(0, 999))


schemathesis.openapi.format("cn-resident-id", _resident_ids())


def _time_zones() -> Any:
    """Time zones (format ``iana-time-zone``): names the IANA database holds, which the
    pattern alone cannot tell from made-up ones (the service refuses those with 422)."""
    from hypothesis import strategies as st

    from app.tenants.schemas import TIME_ZONES

    return st.sampled_from(sorted(TIME_ZONES))


schemathesis.openapi.format("iana-time-zone", _time_zones())


def _document() -> dict[str, Any]:
    from app.asgi import create_app

    return create_app().openapi_schema.to_schema()


DOCUMENT = _document()

# Each test fuzzes one part of the document with the token of that part: /api as a tenant,
# /platform as the operator, the rest with none. The parts are cut from the document before
# loading, not selected with include(): Schemathesis 4 ORs include filters with the selection
# its `operations` block (in CONFIG) makes, which matches every operation, so include() would
# fuzz the whole document in each test, with the wrong token outside its part.
TENANT_PREFIX, PLATFORM_PREFIX = "/api/", "/platform/"
PARTS: dict[str, Callable[[str], bool]] = {
    "tenant": lambda path: path.startswith(TENANT_PREFIX),
    "platform": lambda path: path.startswith(PLATFORM_PREFIX),
    "public": lambda path: not path.startswith((TENANT_PREFIX, PLATFORM_PREFIX)),
}


def _part(name: str) -> Any:
    paths = {path: item for path, item in DOCUMENT["paths"].items() if PARTS[name](path)}
    return schemathesis.openapi.from_dict({**DOCUMENT, "paths": paths}, config=schemathesis.Config.from_dict(CONFIG))


SCHEMAS = {name: _part(name) for name in PARTS}


def in_part(name: str, case: Any) -> None:
    """Fail a case generated outside the test's part: it would carry the wrong kind of token."""
    assert PARTS[name](case.path), f"{case.method} {case.path} is outside the {name} part of the document"


# Extra headers Hypothesis may add to a case (it draws names from string constants of the code
# under test: "content-length" is one) that describe the message rather than the request:
# framing headers belong to the HTTP server, and uvicorn answers a malformed one itself (400
# text/plain "Invalid HTTP request received.") before the app runs; Content-Type is set by
# Schemathesis from the body it sends, and a generated one would contradict it. Neither tests
# the API.
MESSAGE_HEADERS = frozenset({"content-length", "transfer-encoding", "host", "connection", "expect", "te",
                             "upgrade", "trailer", "keep-alive", "proxy-connection", "content-type"})


def _without_message_headers(case: Any) -> None:
    if case.headers:
        case.headers = {k: v for k, v in case.headers.items() if k.lower() not in MESSAGE_HEADERS}


@dataclass
class Fuzz:
    """What the fuzz tests need: the server, fresh tokens, and the route catalogue."""

    base: str
    loop: asyncio.AbstractEventLoop  # the session's loop, where the app's pool and the catalogue live
    ctx: Ctx
    mint: Callable[..., str]
    operations: dict[tuple[str, str], tuple[Any, Any]]  # (document path, METHOD) -> (route, handler)
    # Kept resources with when they were made: a resource acting with a token of its own (an
    # owner's) is made again before that token could expire in a long run (make fuzz).
    read_only: dict[str, tuple[float, Made]] = field(default_factory=dict)
    # Resources a write case left as able to take the next case of its route as they were made
    # (see ``_still_fit``): that case acts on one of them instead of a fresh one, which saves the
    # factory's walk through a workflow (most of the fuzz run's time was spent there).
    reusable: dict[tuple[str, str], tuple[float, Made]] = field(default_factory=dict)
    made_for: tuple[tuple[str, str], float, Made] | None = None  # the current case's write resource
    # The lifecycle state (``status``) each write resource was last seen in, by its URL.
    status_of: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, tuple[float, dict[str, str]]] = field(default_factory=dict)

    def _token(self, kind: str, **claims: Any) -> dict[str, str]:
        # Minted again after a minute: a deep run outlasts a token's lifetime, and signing one
        # per case cost more than the checks it served.
        minted = self.tokens.get(kind)
        if minted is None or time.monotonic() - minted[0] > TOKEN_REUSE_SECONDS:
            minted = (time.monotonic(), bearer(self.mint(**claims)))
            self.tokens[kind] = minted
        return minted[1]

    def tenant_auth(self) -> dict[str, str]:
        return self._token("tenant", tenant=self.ctx.tenant, subject=CLIENT)

    def operator_auth(self) -> dict[str, str]:
        return self._token("operator")

    def _auth_for(self, made: Made, route_path: str) -> dict[str, str]:
        return made.auth or (self.ctx.operator if route_path.startswith("/platform/") else self.ctx.auth)

    def _read(self, made: Made, route_path: str) -> Any:
        assert made.url is not None
        return self.loop.run_until_complete(self.ctx.client.get(made.url, headers=self._auth_for(made, route_path)))

    def _still_fit(self, key: tuple[str, str], made: Made, status: int) -> bool:
        """Whether the resource of a case answered ``status`` can take the next case of its
        route as a fresh one would: a refused request (4xx) changes nothing; an accepted
        update or addition (a note, a follow-up, a changed field) that left the resource in
        the lifecycle state it was in leaves it as fit as before. A delete, a move to
        another state, work accepted to run in the background (202: a job will change the
        resource under the next case), or a resource whose state cannot be read back, is not
        reused."""
        if 400 <= status < 500:
            return True
        route_path, method = key
        if status not in (200, 201, 204) or method == "DELETE" or made.url is None:
            return False
        current = self._read(made, route_path)
        if current.status_code != 200:
            return False
        body = current.json()
        now = body.get("status") if isinstance(body, dict) else None
        if now is None:  # no lifecycle to leave: an update keeps it updatable, nothing else is known
            return method in ("PATCH", "PUT")
        before = self.status_of.get(made.url)
        self.status_of[made.url] = now
        return bool(now == before)

    def prepare(self, case: Any) -> None:
        """Point a case at a fresh resource where its path (and If-Match) are valid values."""
        self.made_for = None
        _without_message_headers(case)
        meta = case.meta
        if (meta is None or not meta.is_negative_at(ParameterLocation.HEADER)) and "Idempotency-Key" in (
                case.headers or {}):
            # Generated keys repeat across cases with other bodies: a key reused for another
            # request, which the API rightly refuses (422). Each case has a key of its own, as
            # a client's requests do.
            case.headers = {**case.headers, "Idempotency-Key": uuid.uuid4().hex}
        found = self.operations.get((case.path, case.method.upper()))
        if found is None:
            return  # a method the path does not serve (Schemathesis probes for 405)
        route, handler = found
        if not route.path_parameters and not reads_if_match(handler):
            return
        path_ok = meta is None or not meta.is_negative_at(ParameterLocation.PATH)
        header_ok = meta is None or not meta.is_negative_at(ParameterLocation.HEADER)
        if not path_ok:
            return  # an invalid path parameter stays as generated
        assert route.path in FACTORIES, missing_factory([route.path])
        self.ctx.auth, self.ctx.operator = self.tenant_auth(), self.operator_auth()
        reading = case.method.upper() == "GET"
        key = (route.path, case.method.upper())
        kept = self.read_only.get(route.path) if reading else self.reusable.pop(key, None)
        if kept is not None and time.monotonic() - kept[0] < RESOURCE_REUSE_SECONDS:
            born, made = kept
        else:  # a write gets a fresh resource; reads share one per route
            born, made = time.monotonic(), self.loop.run_until_complete(FACTORIES[route.path](self.ctx))
            if reading:
                self.read_only[route.path] = (born, made)
            elif made.url is not None:  # the state it starts in, to tell whether a case moved it
                made_now = self._read(made, route.path)
                assert made_now.status_code == 200, made_now.text
                body = made_now.json()
                self.status_of[made.url] = body.get("status") if isinstance(body, dict) else None
        if not reading:
            self.made_for = (key, born, made)
        case.path_parameters = {**(case.path_parameters or {}), **made.params}
        # A body field that must echo the path (purge's `confirm`: the slug typed again) is a
        # rule across path and body that JSON Schema cannot state: take the catalogue's value.
        body_ok = meta is None or not meta.is_negative_at(ParameterLocation.BODY)
        echoes = {k: v for k, v in made.bodies.get(case.method.upper(), {}).items() if v in made.params.values()}
        if echoes and body_ok and isinstance(case.body, dict):
            case.body = {**case.body, **echoes}
        if reads_if_match(handler) and header_ok and "If-Match" in (case.headers or {}):
            current = self._read(made, route.path)
            assert current.status_code == 200, current.text
            case.headers = {**case.headers, "If-Match": current.headers["etag"]}

    def call_and_validate(self, case: Any, headers: dict[str, str]) -> None:
        """Send the case and check the answer; keep its resource for the next case of the
        route where it is still fit for one (``_still_fit``)."""
        response = case.call(base_url=self.base, headers=headers)
        if self.made_for is not None:
            key, born, made = self.made_for
            if self._still_fit(key, made, response.status_code):
                self.reusable[key] = (born, made)
        case.validate_response(response, headers=headers, transport_kwargs={"base_url": self.base,
                                                                            "headers": headers})


@pytest.fixture(scope="session")
async def fuzz(app: Any, db: Any, new_tenant: Any, mint: Any, live_server: str) -> AsyncIterator[Fuzz]:
    tenant = await new_tenant("fz_api")
    ops = {(document_path(r.path), m): (r, h)
           for r in app.routes if isinstance(r, HTTPRoute) for m, h in handlers(r)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        ctx = Ctx(client=client, db=db, tenant=tenant, subject=CLIENT, auth={}, mark=uuid.uuid4().hex[:8],
                  shared={})
        yield Fuzz(base=live_server, loop=asyncio.get_running_loop(), ctx=ctx, mint=mint, operations=ops)


def _differences(a: Any, b: Any, at: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str)
                for d in (_differences(a[k], b[k], f"{at}/{k}") if k in a and k in b else [f"{at}/{k}"])]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{at}/{i}")]
    return [] if a == b else [at]


def test_the_fuzzed_document_is_the_served_one(live_server: str) -> None:
    # The fuzzer generates from the document built in this process; the server must agree.
    served = httpx.get(f"{live_server}/schema/openapi.json", timeout=10.0)
    assert served.status_code == 200, served.text
    differences = _differences(json.loads(json.dumps(DOCUMENT)), served.json())
    assert not differences, f"the live server serves another document; it differs at {differences[:10]}"


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def test_each_operation_is_fuzzed_in_one_part_with_its_statuses() -> None:
    documented = sorted(f"{method.upper()} {path}" for path, item in DOCUMENT["paths"].items()
                        for method, operation in item.items() if isinstance(operation, dict))
    parts = {name: [op.label for op in _operations(schema)] for name, schema in SCHEMAS.items()}
    assert sorted(label for labels in parts.values() for label in labels) == documented
    for name, labels in parts.items():
        outside = [label for label in labels if not PARTS[name](label.split(" ", 1)[1])]
        assert labels and not outside, f"the {name} part holds {outside or 'no operation'}"
    # The operations blocks of CONFIG still reach the operations they name, and only those.
    named = {op_id for block in CONFIG["operations"] for op_id in block["include-operation-id"]}
    extended = {op.definition.raw["operationId"] for schema in SCHEMAS.values() for op in _operations(schema)
                if "422" in (schema.config.checks_config_for(operation=op)
                             .positive_data_acceptance.expected_statuses or [])}
    assert extended == named


@SCHEMAS["tenant"].parametrize()
def test_fuzz_tenant_api(case: Any, fuzz: Fuzz) -> None:
    in_part("tenant", case)
    fuzz.prepare(case)
    fuzz.call_and_validate(case, fuzz.tenant_auth())


@SCHEMAS["platform"].parametrize()
def test_fuzz_platform_api(case: Any, fuzz: Fuzz) -> None:
    in_part("platform", case)
    fuzz.prepare(case)
    fuzz.call_and_validate(case, fuzz.operator_auth())


# Everything else in the document is public (/health, the sign-in side of OAuth): no token.
@SCHEMAS["public"].parametrize()
def test_fuzz_public(case: Any, fuzz: Fuzz) -> None:
    in_part("public", case)
    _without_message_headers(case)
    case.call_and_validate(base_url=fuzz.base)
