"""Route-catalogue entries of the certificates routes (see tests/catalogue/__init__.py), and the
helpers that build agencies, agreements and certificate cases through the API (the domain's
tests use them too)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.routes import Ctx, Factory, Made, _new_customer, _staff_account, _token_of, _unique

BASE = "/api/v1/certificates"
AGENCIES, AGREEMENTS, CASES, MINE = f"{BASE}/agencies", f"{BASE}/agreements", f"{BASE}/cases", f"{BASE}/mine"
A, C = AGENCIES + "/{agency_id:uuid}", CASES + "/{case_id:uuid}"

# The stages a catalogue case goes through, with the date of each (fixed: in the past, in order).
STEPS: list[tuple[str, str, dict[str, Any]]] = [
    ("documents", "collecting", {"code": "id_card", "collectedOn": "2026-01-06"}),
    ("submit", "submitted", {"submittedOn": "2026-01-10"}),
    ("accept", "accepted", {"acceptedOn": "2026-01-12"}),
    ("issue", "issued", {"issuedOn": "2026-02-01", "certificateNumber": "粤(2026)深圳市不动产权第0012345号"}),
    ("deliver", "delivered", {"deliveredOn": "2026-02-05"}),
]
CHECKLIST = [{"code": "id_card", "name": "身份证复印件"}]
# Accounts, not tokens: a token minted once would expire during a long run (make fuzz).
_DECIDERS: dict[str, str] = {}  # tenant -> a general manager at the group


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: " \
                                           f"{response.status_code} {response.text}"
    return response.json() if response.content else None


async def general_manager(ctx: Ctx) -> dict[str, str]:
    """A general manager at the group (the agency_selection chain's decider)."""
    if ctx.tenant not in _DECIDERS:
        from app.core.audit import Actor
        from app.domains.access.services import grant_by_code
        from app.domains.org.models import NodeKind, OrgNode

        account = await _staff_account(ctx)
        async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = Actor(kind="operator", id="operator@test")
            root = await session.scalar(select(OrgNode).where(OrgNode.kind == NodeKind.group))
            await grant_by_code(session, account_id=uuid.UUID(account), role_code="general_manager", node=root)
        _DECIDERS[ctx.tenant] = account
    return await _token_of(ctx, _DECIDERS[ctx.tenant], ["approvals:read", "approvals:write"])


async def agency_body(ctx: Ctx, **extra: Any) -> dict[str, Any]:
    await general_manager(ctx)  # the selection chain's decider must exist when it is proposed
    group = await ok(await ctx.client.get("/api/v1/org/group", headers=ctx.auth))
    return {"nodeId": group["id"], "name": f"A-only agency {ctx.mark} {_unique()}", "contactName": "陈经理",
            "contactPhone": "0755-8888 1234", "licenceNumber": f"L{_unique()}", "reputation": "十年办证经验", **extra}


async def new_agency(ctx: Ctx, *, selected: bool = True) -> tuple[dict[str, Any], str]:
    created = await ctx.client.post(AGENCIES, headers=ctx.auth, json=await agency_body(ctx, submit=selected))
    agency = await ok(created, 201)
    if selected:
        await ok(await ctx.client.post(f"/api/v1/approvals/requests/{agency['approvalRequestId']}/approve",
                                       headers=await general_manager(ctx), json={}))
        agency = await ok(await ctx.client.get(created.headers["location"], headers=ctx.auth))
        assert agency["status"] == "approved", agency
    return agency, created.headers["location"]


def agreement_body(**extra: Any) -> dict[str, Any]:
    return {"number": f"DL-{_unique()}", "scope": "小产权证代办：资料收集、递件、领证、送达", "feePerCase": "800.00",
            "daysToIssue": 30, "daysToDeliver": 7, "signedOn": "2025-12-20", "validFrom": "2026-01-01",
            "validUntil": "2030-12-31", **extra}


async def new_agreement(ctx: Ctx) -> dict[str, Any]:
    agency, _ = await new_agency(ctx)
    return await ok(await ctx.client.post(f"{AGENCIES}/{agency['id']}/agreements", headers=ctx.auth,
                                          json=agreement_body()), 201)  # type: ignore[no-any-return]


async def case_in(ctx: Ctx, stage: str = "collecting", *, customer: dict[str, Any] | None = None,
                  agreement: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    """A case of a fresh owner (or ``customer``) for their unit, taken to ``stage``."""
    customer = customer or (await _new_customer(ctx))[0]
    agreement = agreement or await new_agreement(ctx)
    created = await ctx.client.post(CASES, headers=ctx.auth, json={
        "unitId": customer["units"][0]["unitId"], "customerId": customer["id"], "agreementId": agreement["id"],
        "openedOn": "2026-01-05", "checklist": CHECKLIST})
    case, url = await ok(created, 201), created.headers["location"]
    etag = created.headers["etag"]
    order = ["ready", *(reached for _, reached, _ in STEPS[1:])]  # ready: collecting, documents in hand
    for tail, _, body in STEPS[:order.index(stage) + 1] if stage != "collecting" else []:
        moved = await ctx.client.post(f"{url}/{tail}", headers={**ctx.auth, "If-Match": etag}, json=body)
        case, etag = await ok(moved), moved.headers["etag"]
    assert case["status"] == {"ready": "collecting"}.get(stage, stage), case
    return case, url


# ----------------------------------------------------------------------------- guarantees

GUARANTEES = "/api/v1/guarantees"
G = GUARANTEES + "/{guarantee_id:uuid}"
_FINANCE: dict[tuple[str, str], str] = {}  # (tenant, branch) -> finance at the branch
GUARANTEE_STATES = ["active", "registered", "releasable", "pending", "approved", "released"]


async def finance(ctx: Ctx, branch_id: str) -> dict[str, str]:
    """A finance officer at the branch (the guarantee_release chain's decider)."""
    if (ctx.tenant, branch_id) not in _FINANCE:
        from app.core.audit import Actor
        from app.domains.access.services import grant_by_code
        from app.domains.org.models import OrgNode

        account = await _staff_account(ctx)
        async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = Actor(kind="operator", id="operator@test")
            branch = await session.get(OrgNode, uuid.UUID(branch_id))
            await grant_by_code(session, account_id=uuid.UUID(account), role_code="finance", node=branch)
        _FINANCE[(ctx.tenant, branch_id)] = account
    return await _token_of(ctx, _FINANCE[(ctx.tenant, branch_id)], ["approvals:read", "approvals:write"])


def loan_account() -> str:
    return f"6222{uuid.uuid4().int % 10**15:015d}"


def guarantee_body(customer: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"unitId": customer["units"][0]["unitId"], "customerId": customer["id"], "bank": "中国建设银行深圳分行",
            "loanAccount": loan_account(), "loanAmount": "650000.00", "kind": "phased", "startsOn": "2025-06-01",
            **extra}


def pdf_document(kind: str = "release_confirmation") -> tuple[bytes, dict[str, Any]]:
    """A small PDF (its magic bytes are what completion checks) and its declaration."""
    import hashlib

    data = b"%PDF-1.4\n% " + f"{kind} {_unique()}".encode() + b"\n%%EOF\n"
    return data, {"kind": kind, "filename": f"{kind}.pdf", "contentType": "application/pdf", "size": len(data),
                  "sha256": hashlib.sha256(data).hexdigest()}


async def guarantee_document(ctx: Ctx, guarantee_id: str, kind: str = "release_confirmation",
                             stage: str = "stored", data: bytes | None = None) -> dict[str, Any]:
    """A document of a guarantee: started (``pending``), its bytes PUT (``uploaded``), or ``stored``."""
    import hashlib

    from tests.catalogue.complaints import put_bytes

    content, body = pdf_document(kind)
    if data is not None:
        content = data
        body.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    started = await ok(await ctx.client.post(f"{GUARANTEES}/{guarantee_id}/documents", headers=ctx.auth,
                                             json=body), 201)
    if stage == "pending":
        return started["document"]  # type: ignore[no-any-return]
    put = await put_bytes(ctx.client, started["upload"], content)
    assert put.status_code == 200, put.text
    if stage == "uploaded":
        return started["document"]  # type: ignore[no-any-return]
    return await ok(await ctx.client.post(  # type: ignore[no-any-return]
        f"{GUARANTEES}/documents/{started['document']['id']}/complete", headers=ctx.auth))


async def guarantee_in(ctx: Ctx, state: str = "active", *, customer: dict[str, Any] | None = None,
                       **extra: Any) -> tuple[dict[str, Any], str]:
    """A guarantee of a fresh owner (or ``customer``), taken to ``state``: registered (the
    mortgage only), releasable (and the certificate issued), pending (release requested),
    approved (by finance), released."""
    customer = customer or (await _new_customer(ctx))[0]
    created = await ctx.client.post(GUARANTEES, headers=ctx.auth, json=guarantee_body(customer, **extra))
    g, url, etag = await ok(created, 201), created.headers["location"], created.headers["etag"]
    reach = GUARANTEE_STATES.index(state)
    if reach >= 2:  # finance must be there to decide a release request
        project = await ok(await ctx.client.get(f"/api/v1/org/projects/{g['nodeId']}", headers=ctx.auth))
        decider = await finance(ctx, project["parentId"])
    if reach >= 1:
        moved = await ctx.client.post(f"{url}/registration", headers={**ctx.auth, "If-Match": etag}, json={
            "registeredOn": "2026-02-20", "registrationNumber": f"粤(2026)深圳市不动产证明第{_unique()}号"})
        g, etag = await ok(moved), moved.headers["etag"]
    if reach >= 2:
        await case_in(ctx, "issued", customer=customer)
        g = await ok(await ctx.client.get(url, headers=ctx.auth))
        assert g["releasable"] is True, g
    if reach >= 3:
        g = await ok(await ctx.client.post(f"{url}/release-request", json={"note": "证已办妥，抵押已登记"},
                                           headers={**ctx.auth, "If-Match": f'"{g["version"]}"'}))
    if reach >= 4:
        await ok(await ctx.client.post(f"/api/v1/approvals/requests/{g['approvalRequestId']}/approve",
                                       headers=decider, json={}))
        g = await ok(await ctx.client.get(url, headers=ctx.auth))
    if reach >= 4:  # the bank's confirmation, uploaded and verified, before the release is recorded
        await guarantee_document(ctx, g["id"])
        g = await ok(await ctx.client.get(url, headers=ctx.auth))
    if reach >= 5:
        g = await ok(await ctx.client.post(f"{url}/release", headers={**ctx.auth, "If-Match": f'"{g["version"]}"'},
                                           json={"releasedOn": "2026-03-05", "bankConfirmation": "JC-2026-0305"}))
    assert g["status"] == {"registered": "active", "releasable": "active"}.get(state, state), g
    return g, url


# ----------------------------------------------------------------------- overdue collection

COLLECTIONS = "/api/v1/collections"
K = COLLECTIONS + "/cases/{case_id:uuid}"


async def feed_row(ctx: Ctx, customer: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A feed row (JSON names) for the customer's unit: overdue 20 days, 5,000 yuan."""
    from datetime import date, timedelta

    unit = await ok(await ctx.client.get(f"/api/v1/org/units/{customer['units'][0]['unitId']}", headers=ctx.auth))
    building = await ok(await ctx.client.get(f"/api/v1/org/buildings/{unit['buildingId']}", headers=ctx.auth))
    return {"buildingCode": building["code"], "unitNumber": unit["number"], "bank": "中国建设银行",
            "loanAccount": loan_account(), "overdueSince": (date.today() - timedelta(days=20)).isoformat(),
            "overdueAmount": "5000.00", "bankRecommendsLitigation": False, **extra}


def feed_csv(rows: list[dict[str, Any]]) -> bytes:
    lines = ["building_code,unit_number,bank,loan_account,overdue_since,overdue_amount,bank_recommends_litigation"]
    lines += [",".join([r["buildingCode"], r["unitNumber"], r["bank"], r["loanAccount"], r["overdueSince"],
                        r["overdueAmount"], "是" if r.get("bankRecommendsLitigation") else "否"]) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


async def collection_in(ctx: Ctx, state: str = "open", *, customer: dict[str, Any] | None = None,
                        **extra: Any) -> tuple[dict[str, Any], str]:
    """A collection case of a fresh owner (or ``customer``) from a one-row feed; ``referred``:
    the bank recommends litigation and the rule has run."""
    customer = customer or (await _new_customer(ctx))[0]
    row = await feed_row(ctx, customer, **({"bankRecommendsLitigation": True} if state == "referred" else {}), **extra)
    result = await ok(await ctx.client.post(f"{COLLECTIONS}/feed/rows", headers=ctx.auth, json={"rows": [row]}))
    url = f"{COLLECTIONS}/cases/{result['caseIds'][0]}"
    if state == "referred":
        from app.core.audit import SYSTEM
        from app.domains.certificates import collections

        async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = SYSTEM
            await collections.scan(session)
    case = await ok(await ctx.client.get(url, headers=ctx.auth))
    assert case["status"] == state, case
    return case, url


# ------------------------------------------------------------------------------ factories

NOTE = {"note": "catalogue"}


async def _agencies(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": await agency_body(ctx)})


def _agency(selected: bool, bodies: dict[str, Any]) -> Factory:
    async def make(ctx: Ctx) -> Made:
        agency, url = await new_agency(ctx, selected=selected)
        return Made(params={"agency_id": agency["id"]}, values=[agency["id"], agency["name"]], url=url,
                    bodies=dict(bodies))

    return make


async def _agreement(ctx: Ctx) -> Made:
    g = await new_agreement(ctx)
    return Made(params={"agreement_id": g["id"]}, values=[g["id"], g["number"]], url=f"{AGREEMENTS}/{g['id']}")


async def _cases(ctx: Ctx) -> Made:
    customer, _, _ = await _new_customer(ctx)
    g = await new_agreement(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "unitId": customer["units"][0]["unitId"], "customerId": customer["id"], "agreementId": g["id"],
        "openedOn": "2026-01-05"}})


def _case(stage: str, bodies: dict[str, Any] | None = None, **params: str) -> Factory:
    async def make(ctx: Ctx) -> Made:
        case, url = await case_in(ctx, stage)
        return Made(params={"case_id": case["id"], **params}, values=[case["id"], case["number"]], url=url,
                    bodies=dict(bodies or {}))

    return make


async def _handed_case(ctx: Ctx) -> Made:
    """A submitted case, and a body handing its follow-up to another staff member."""
    case, url = await case_in(ctx, "submitted")
    return Made(params={"case_id": case["id"]}, values=[case["id"], case["number"]], url=url,
                bodies={"PATCH": {"reason": "办证专员调岗", "responsibleAccountId": await _staff_account(ctx)}})


async def _statistics(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)


async def _mine(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)


async def _my_case(ctx: Ctx) -> Made:
    from tests.catalogue.complaints import owner  # here: that module and this one load while routes does

    auth, customer, _ = await owner(ctx)
    case, _ = await case_in(ctx, "submitted", customer=customer)
    return Made(params={"case_id": case["id"]}, values=[case["id"], case["number"]], url=f"{MINE}/{case['id']}",
                auth=None if auth is ctx.auth else auth)


async def _guarantees(ctx: Ctx) -> Made:
    customer, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": guarantee_body(customer)})


def _document_at(stage: str) -> Factory:
    """A release confirmation of an active guarantee: started (``pending``), uploaded, or stored."""
    async def make(ctx: Ctx) -> Made:
        g, _ = await guarantee_in(ctx, "active")
        d = await guarantee_document(ctx, g["id"], stage=stage)
        return Made(params={"document_id": d["id"]}, values=[d["id"], d["filename"]],
                    url=f"{GUARANTEES}/documents/{d['id']}", bodies={"POST": {}})

    return make


def _guarantee(state: str, bodies: dict[str, Any] | None = None) -> Factory:
    async def make(ctx: Ctx) -> Made:
        g, url = await guarantee_in(ctx, state)
        return Made(params={"guarantee_id": g["id"]}, values=[g["id"], g["number"]], url=url,
                    bodies=dict(bodies or {}))

    return make


async def _feed(ctx: Ctx) -> Made:
    customer, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, content_type="text/csv",
                bodies={"POST": feed_csv([await feed_row(ctx, customer)])})


async def _feed_rows(ctx: Ctx) -> Made:
    customer, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {"rows": [await feed_row(ctx, customer)]}})


def _collection(state: str, bodies: dict[str, Any] | None = None) -> Factory:
    async def make(ctx: Ctx) -> Made:
        case, url = await collection_in(ctx, state)
        return Made(params={"case_id": case["id"]}, values=[case["id"], case["number"]], url=url,
                    bodies=dict(bodies or {}))

    return make


async def package_of(ctx: Ctx, case_id: str) -> str:
    """A referral package job of the case, requested as the ctx's caller and run in-process (a
    worker taking a task sent here could race it); its id."""
    from app.core.audit import SYSTEM, Actor
    from app.core.jobs import create_job, run_job
    from app.domains.certificates import package
    from tests.conftest import subject_of

    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = Actor(kind="user", id=subject_of(ctx.auth), client_id="test-client")
        job = await create_job(session, package.KIND)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = SYSTEM
        assert await run_job(session, job.id, package.KIND,
                             lambda progress: package.build(session, progress, uuid.UUID(case_id)))
    return str(job.id)


async def _package(ctx: Ctx) -> Made:
    case, _ = await collection_in(ctx, "referred")
    job = await package_of(ctx, case["id"])
    return Made(params={"job_id": job}, values=[job], url=f"/api/v1/jobs/{job}")


FACTORIES: dict[str, Factory] = {
    f"{COLLECTIONS}/feed": _feed,
    K + "/package": _collection("referred", {"POST": {}}),
    f"{COLLECTIONS}/packages/{{job_id:uuid}}/zip": _package,
    f"{COLLECTIONS}/feed/rows": _feed_rows,
    f"{COLLECTIONS}/cases": _statistics,
    f"{COLLECTIONS}/rule": _statistics,
    K: _collection("open"),
    K + "/materials": _collection("referred"),
    K + "/reminders": _collection("open", {"POST": {"channel": "phone", "outcome": "reached", "note": "已提醒"}}),
    K + "/outcome": _collection("referred", {"POST": {"outcome": "settled", "decidedOn": "2026-06-30"}}),
    GUARANTEES: _guarantees,
    GUARANTEES + "/liability": _statistics,
    G: _guarantee("active", {"PATCH": {"reason": "按借款合同更正", "loanAmount": "640000.00"}}),
    G + "/documents": _guarantee("active", {"POST": pdf_document("loan_contract")[1]}),
    GUARANTEES + "/documents/{document_id:uuid}": _document_at("pending"),
    GUARANTEES + "/documents/{document_id:uuid}/complete": _document_at("uploaded"),
    GUARANTEES + "/documents/{document_id:uuid}/download": _document_at("stored"),
    G + "/registration": _guarantee("active", {"POST": {"registeredOn": "2026-02-20", "registrationNumber": "R1"}}),
    G + "/release-request": _guarantee("releasable", {"POST": {"note": "请财务解除担保"}}),
    G + "/release": _guarantee("approved", {"POST": {"releasedOn": "2026-03-05", "bankConfirmation": "JC-1"}}),
    AGENCIES: _agencies,
    A: _agency(False, {"PATCH": {"contactName": "林经理"}}),
    A + "/submit": _agency(False, {"POST": NOTE}),
    A + "/suspend": _agency(True, {"POST": NOTE}),
    A + "/agreements": _agency(True, {"POST": agreement_body()}),
    A + "/performance": _agency(True, {}),
    AGREEMENTS + "/{agreement_id:uuid}": _agreement,
    CASES: _cases,
    C: _handed_case,
    C + "/documents": _case("collecting", {"POST": {"code": "id_card", "collectedOn": "2026-01-06"}}),
    C + "/submit": _case("ready", {"POST": {"submittedOn": "2026-01-10"}}),
    C + "/accept": _case("submitted", {"POST": {"acceptedOn": "2026-01-12"}}),
    C + "/issue": _case("accepted", {"POST": {"issuedOn": "2026-02-01", "certificateNumber": "粤(2026)第1号"}}),
    C + "/deliver": _case("issued", {"POST": {"deliveredOn": "2026-02-05"}}),
    C + "/cancel": _case("submitted", {"POST": {"reason": "业主撤回委托"}}),
    C + "/follow-ups": _case("submitted", {"POST": {"note": "电话催办", "urge": True}}),
    f"{BASE}/statistics": _statistics,
    MINE: _mine,
    MINE + "/{case_id:uuid}": _my_case,
}


# ---------------------------------------------------------------------- the subtree matrix


def _agencies_truth() -> Any:
    from app.domains.certificates.models import Agency
    from app.domains.org.models import OrgNode

    return select(Agency.id, OrgNode.path, Agency.name, Agency.version).join(OrgNode, OrgNode.id == Agency.node_id)


def _agreements_truth() -> Any:
    from app.domains.certificates.models import Agreement
    from app.domains.org.models import OrgNode

    return (select(Agreement.id, OrgNode.path, Agreement.number, Agreement.version)
            .join(OrgNode, OrgNode.id == Agreement.node_id))


def _guarantees_truth() -> Any:
    from app.domains.certificates.models import Guarantee
    from app.domains.org.models import OrgNode

    return (select(Guarantee.id, OrgNode.path, Guarantee.number, Guarantee.version)
            .join(OrgNode, OrgNode.id == Guarantee.node_id))


def _documents_truth() -> Any:
    from app.domains.certificates.models import GuaranteeDocument
    from app.domains.org.models import OrgNode

    return (select(GuaranteeDocument.id, OrgNode.path, GuaranteeDocument.filename, GuaranteeDocument.version)
            .join(OrgNode, OrgNode.id == GuaranteeDocument.node_id))


def _collections_truth() -> Any:
    from app.domains.certificates.models import CollectionCase
    from app.domains.org.models import OrgNode

    return (select(CollectionCase.id, OrgNode.path, CollectionCase.number, CollectionCase.version)
            .join(OrgNode, OrgNode.id == CollectionCase.node_id))


def _cases_truth() -> Any:
    from app.domains.certificates.models import CertificateCase
    from app.domains.org.models import OrgNode

    return (select(CertificateCase.id, OrgNode.path, CertificateCase.number, CertificateCase.version)
            .join(OrgNode, OrgNode.id == CertificateCase.node_id))


async def _populate(seed: WorldSeed) -> None:
    """An agency per branch with its agreement, and a case for the owner of each project's
    first unit (submitted)."""
    ctx = Ctx(client=seed.client, db=seed.db, tenant=seed.slug, subject="subtree-admin", auth=seed.admin,
              mark="subtree")
    for code in ("SZ", "GZ"):
        agency = await ok(await ctx.client.post(AGENCIES, headers=ctx.auth, json=await agency_body(
            ctx, nodeId=seed.nodes[code]["id"], name=f"{seed.nodes[code]['name']}办证代理")), 201)
        await ok(await ctx.client.post(f"/api/v1/approvals/requests/{agency['approvalRequestId']}/approve",
                                       headers=await general_manager(ctx), json={}))
        agreement = await ok(await ctx.client.post(f"{AGENCIES}/{agency['id']}/agreements", headers=ctx.auth,
                                                   json=agreement_body()), 201)
        for project in seed.projects:
            if project["parentId"] != seed.nodes[code]["id"]:
                continue
            owners = await ok(await ctx.client.get("/api/v1/customers", headers=ctx.auth,
                                                   params={"nodeId": project["id"]}))
            customer = await ok(await ctx.client.get(f"/api/v1/customers/{owners['items'][0]['id']}",
                                                     headers=ctx.auth))
            await case_in(ctx, "submitted", customer=customer, agreement=agreement)
            g = await ok(await ctx.client.post(GUARANTEES, headers=ctx.auth, json=guarantee_body(customer)), 201)
            await guarantee_document(ctx, g["id"], "loan_contract")
            await ok(await ctx.client.post(f"{COLLECTIONS}/feed/rows", headers=ctx.auth,
                                           json={"rows": [await feed_row(ctx, customer)]}))


_FEED = ("rows name units by building code and number; a unit outside the caller's collections.write subtrees is "
         "reported like an unknown one and nothing is imported (tests/domains/test_collections.py)")
_STATS = ("aggregates of the cases the caller may read: Authorizer.visible on certificates.read "
          "(tests/domains/test_certificates.py)")
_OWNERS = "an owner's own certificate cases (owner:self): the customer's account link decides, not a node " \
          "(tests/domains/test_certificates.py)"

SUBTREE = SubtreeSpec(
    kinds={"cert_agency": Kind("certificates.read", _agencies_truth),
           "cert_agreement": Kind("certificates.read", _agreements_truth),
           "cert_case": Kind("certificates.read", _cases_truth),
           "guarantee": Kind("guarantees.read", _guarantees_truth),
           "guarantee_document": Kind("guarantees.read", _documents_truth),
           "collection_case": Kind("collections.read", _collections_truth)},
    lists={AGENCIES: "cert_agency", CASES: "cert_case", GUARANTEES: "guarantee",
           f"{COLLECTIONS}/cases": "collection_case"},
    details={
        **{A + tail: "cert_agency" for tail in ("", "/submit", "/suspend", "/agreements", "/performance")},
        AGREEMENTS + "/{agreement_id:uuid}": "cert_agreement",
        **{G + tail: "guarantee" for tail in ("", "/registration", "/release-request", "/release", "/documents")},
        **{GUARANTEES + "/documents/{document_id:uuid}" + tail: "guarantee_document"
           for tail in ("", "/complete", "/download")},
        **{K + tail: "collection_case" for tail in ("", "/materials", "/reminders", "/outcome", "/package")},
        **{C + tail: "cert_case" for tail in ("", "/documents", "/submit", "/accept", "/issue", "/deliver",
                                              "/cancel", "/follow-ups")},
    },
    read_urls={"cert_agency": AGENCIES + "/{}", "cert_agreement": AGREEMENTS + "/{}", "cert_case": CASES + "/{}",
               "guarantee": GUARANTEES + "/{}", "guarantee_document": GUARANTEES + "/documents/{}",
               "collection_case": COLLECTIONS + "/cases/{}"},
    no_node={f"{BASE}/statistics": _STATS, MINE: _OWNERS, MINE + "/{case_id:uuid}": _OWNERS,
             GUARANTEES + "/liability": "sums of the guarantees the caller may read: Authorizer.visible on "
                                        "guarantees.read (tests/domains/test_guarantees.py)",
             f"{COLLECTIONS}/feed": _FEED, f"{COLLECTIONS}/feed/rows": _FEED,
             f"{COLLECTIONS}/rule": "the tenant's litigation thresholds: tenant-wide configuration",
             f"{COLLECTIONS}/packages/{{job_id:uuid}}/zip": "a package is a job of its requester"},
    write_bodies={
        (A, "PATCH"): lambda w, u: {"contactName": "林经理"},
        (A + "/submit", "POST"): lambda w, u: NOTE,
        (A + "/suspend", "POST"): lambda w, u: NOTE,
        (A + "/agreements", "POST"): lambda w, u: agreement_body(),
        (C + "/documents", "POST"): lambda w, u: {"code": "id_card", "collectedOn": "2026-01-06"},
        (C + "/submit", "POST"): lambda w, u: {"submittedOn": "2026-01-10"},
        (C + "/accept", "POST"): lambda w, u: {"acceptedOn": "2026-01-12"},
        (C + "/issue", "POST"): lambda w, u: {"issuedOn": "2026-02-01", "certificateNumber": "x"},
        (C + "/deliver", "POST"): lambda w, u: {"deliveredOn": "2026-02-05"},
        (C + "/cancel", "POST"): lambda w, u: {"reason": "x"},
        (C + "/follow-ups", "POST"): lambda w, u: {"note": "x"},
        (K + "/reminders", "POST"): lambda w, u: {"channel": "sms", "outcome": "no_answer"},
        (K + "/outcome", "POST"): lambda w, u: {"outcome": "won", "decidedOn": "2026-06-30"},
        (K + "/package", "POST"): lambda w, u: {},
        (G + "/registration", "POST"): lambda w, u: {"registeredOn": "2026-02-20", "registrationNumber": "x"},
        (G + "/release-request", "POST"): lambda w, u: {"note": "x"},
        (G + "/release", "POST"): lambda w, u: {"releasedOn": "2026-03-05", "bankConfirmation": "x"},
        (G, "PATCH"): lambda w, u: {"reason": "x", "bank": "x"},
        (C, "PATCH"): lambda w, u: {"reason": "x"},
        (G + "/documents", "POST"): lambda w, u: pdf_document("other")[1],
        (GUARANTEES + "/documents/{document_id:uuid}/complete", "POST"): lambda w, u: {},
    },
    creates={AGENCIES: ("branch", lambda parent: {"nodeId": str(parent), "name": "x", "contactName": "x",
                                                  "contactPhone": "0755-1"}, "certificates.write")},
    populate=_populate,
)
