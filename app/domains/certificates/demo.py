"""The certificates domain's records in the demo tenant: an agency selected by the demo manager
(who is given the general manager's and finance's roles to decide), its agreement, the demo
owner's certificate case (issued, awaiting delivery), the guarantee on their loan (the mortgage
registered: releasable), and their overdue loan from finance's feed, referred by the rule."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.domains.access.authz import trusted
from app.domains.access.services import grant_by_code
from app.domains.approvals import services as approvals
from app.domains.certificates import agencies, cases, collections, guarantees
from app.domains.certificates.schemas import (
    AgencyCreate,
    AgreementCreate,
    CaseAccept,
    CaseCreate,
    CaseIssue,
    CaseSubmit,
    DocumentCollected,
    FeedIn,
    GuaranteeCreate,
    Registration,
    ReminderIn,
)
from app.domains.customers.models import Customer, CustomerUnit
from app.domains.org.models import NodeKind, OrgNode
from app.tenants.bound import today


async def seed_demo(session: AsyncSession, people: Any) -> None:
    system = trusted()
    root = await session.scalar(select(OrgNode).where(OrgNode.kind == NodeKind.group))
    branch = await session.scalar(select(OrgNode).where(OrgNode.code == "SZ"))
    assert root is not None and branch is not None
    await grant_by_code(session, account_id=people.staff_id, role_code="general_manager", node=root)
    await grant_by_code(session, account_id=people.staff_id, role_code="finance", node=branch)

    async def as_manager(request_id: Any) -> None:
        acting = session.info["actor"]
        session.info["actor"] = Actor(kind="user", id=str(people.staff_id))
        try:
            await approvals.decide(session, request_id, approve=True, comment="同意 Approved")
        finally:
            session.info["actor"] = acting

    agency = await agencies.create_agency(session, system, AgencyCreate(
        node_id=branch.id, name="深圳安居产权代理有限公司 Anju Title Agency", contact_name="陈经理",
        contact_phone="0755-8888 1234", licence_number="91440300MA5DEMO9X1",
        reputation="深圳本地办证十年，平均45天出证 Ten years of certificates in Shenzhen"))
    assert agency.approval_request_id is not None
    await as_manager(agency.approval_request_id)
    on = await today(session)
    agreement = await agencies.create_agreement(session, system, agency, branch.path, AgreementCreate(
        number="DL-SZ-2026-001", scope="小产权证代办：资料收集、递件、领证、送达 Documents, filing, issue, delivery",
        fee_per_case="800.00", days_to_issue=45, days_to_deliver=7, signed_on=on - timedelta(days=120),
        valid_from=on - timedelta(days=120), valid_until=on + timedelta(days=600)))

    owner, unit_id, project_path = (await session.execute(
        select(Customer, CustomerUnit.unit_id, OrgNode.path)
        .join(CustomerUnit, CustomerUnit.customer_id == Customer.id).join(OrgNode, OrgNode.id == Customer.node_id)
        .where(Customer.account_id == people.owner_id))).tuples().one()
    # The demo's staff member follows the case (told when the agency is urged).
    case = await cases.create_case(session, system, CaseCreate(unit_id=unit_id, customer_id=owner.id,
                                                               agreement_id=agreement.id,
                                                               opened_on=on - timedelta(days=70),
                                                               responsible_account_id=people.staff_id))
    for code in ("id_card", "purchase_contract", "deed_tax", "marital_status", "power_of_attorney"):
        case = await cases.collect_document(session, system, case, project_path,
                                            DocumentCollected(code=code, collected_on=on - timedelta(days=65)))
    case = await cases.submit_case(session, system, case, project_path,
                                   CaseSubmit(submitted_on=on - timedelta(days=60)))
    case = await cases.accept_case(session, system, case, project_path,
                                   CaseAccept(accepted_on=on - timedelta(days=55)))
    await cases.issue_case(session, system, case, project_path, CaseIssue(
        issued_on=on - timedelta(days=10), certificate_number="粤(2026)深圳市不动产权第0601601号"))

    account = "6227000012345601"
    guarantee = await guarantees.create_guarantee(session, system, GuaranteeCreate(
        unit_id=unit_id, customer_id=owner.id, bank="中国建设银行深圳分行 CCB Shenzhen", loan_account=account,
        loan_amount="2296000.00", starts_on=date(2024, 3, 20)))
    await guarantees.register_mortgage(session, system, guarantee, project_path, Registration(
        registered_on=on - timedelta(days=5), registration_number="粤(2026)深圳市不动产证明第0601601号"))

    unit_number = "601"
    feed = msgspec.convert({"rows": [{
        "buildingCode": "SZ01-B1", "unitNumber": unit_number, "bank": "中国建设银行深圳分行 CCB Shenzhen",
        "loanAccount": account, "overdueSince": (on - timedelta(days=215)).isoformat(), "overdueAmount": "18600.00",
        "bankRecommendsLitigation": False}]}, FeedIn)
    result = await collections.import_json(session, system, feed)
    collection, path = await collections.get_case(session, system, result.case_ids[0], lock=True)
    await collections.remind(session, system, collection, path, ReminderIn(
        channel="phone", outcome="no_answer", note="电话未接通 No answer"))
    await collections.scan(session)  # overdue more than six months: referred
