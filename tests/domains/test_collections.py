"""Overdue collection over the API: finance's feed imported (GBK CSV and JSON rows) idempotently —
a re-import writes nothing, a corrected row updates its case, bad rows are reported by line and
nothing is half-imported; reminders with promises to pay; each trigger of the litigation rule
with a fixed clock (and the tenant's own thresholds), the referral's materials, the outcome;
the rule through the real worker."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import datetime
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, text

from app.core import clock
from app.core import tenant_settings as settings
from app.core.audit import SYSTEM, Actor, tenant_audit
from app.core.spreadsheets import XLSX_MEDIA_TYPE
from app.domains.certificates import collections as services
from app.domains.certificates import tasks
from app.domains.certificates.models import CollectionCase, CollectionStage
from tests.routes import Ctx, _new_customer  # first: it loads the route catalogue

# isort: split
from tests.catalogue.certificates import (
    COLLECTIONS,
    GUARANTEES,
    collection_in,
    feed_csv,
    feed_row,
    guarantee_body,
    guarantee_document,
    ok,
    package_of,
)
from tests.catalogue.complaints import tenant_ctx
from tests.worker.conftest import Worker, wait_for

FEED, ROWS, CASES = f"{COLLECTIONS}/feed", f"{COLLECTIONS}/feed/rows", f"{COLLECTIONS}/cases"


@pytest.fixture(scope="module")
async def ctx(app: Any, db: Any, new_tenant: Any, mint: Any) -> Ctx:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await tenant_ctx(c, db, new_tenant, mint, "coll", subject="collections-test")


def with_client(ctx: Ctx, client: Any) -> Ctx:
    return Ctx(client=client, db=ctx.db, tenant=ctx.tenant, subject=ctx.subject, auth=ctx.auth, mark=ctx.mark)


def fix_clock(monkeypatch: Any, day: str) -> None:
    monkeypatch.setattr(clock, "utcnow", lambda: datetime.fromisoformat(f"{day}T04:00:00+00:00"))


async def audit_count(db: Any, slug: str) -> int:
    async with db.tenant_session(f"t_{slug}") as session:
        return int(await session.scalar(select(func.count()).select_from(tenant_audit)
                                         .where(tenant_audit.c.entity_type == "collection_case")) or 0)


async def _csv(client: Any, auth: dict[str, str], content: bytes, **params: str) -> Any:
    return await client.post(FEED, headers={**auth, "Content-Type": "text/csv"}, content=content, params=params)


async def test_the_feed_is_imported_idempotently(client: Any, ctx: Ctx) -> None:
    c = with_client(ctx, client)
    first, second = (await _new_customer(c))[0], (await _new_customer(c))[0]
    rows = [await feed_row(c, first, overdueAmount="8300.50"), await feed_row(c, second, bank="中国农业银行")]
    gbk = feed_csv(rows).decode().encode("gbk")
    imported = await ok(await _csv(client, ctx.auth, gbk, asOf="2026-03-31"))
    assert (imported["rows"], imported["created"], imported["updated"], imported["unchanged"]) == (2, 2, 0, 0)
    case = await ok(await client.get(f"{CASES}/{imported['caseIds'][0]}", headers=ctx.auth))
    assert case["customerId"] == first["id"] and case["unitId"] == first["units"][0]["unitId"]
    assert case["overdueAmount"] == "8300.50" and case["status"] == "open" and case["fedOn"] == "2026-03-31"
    assert case["loanAccount"] == "****" + rows[0]["loanAccount"][-4:] and case["number"].startswith("CJ-")
    written = await audit_count(ctx.db, ctx.tenant)

    # The same file again: nothing changes, nothing is written.
    again = await ok(await _csv(client, ctx.auth, gbk, asOf="2026-04-30"))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2) and again["caseIds"] == \
        imported["caseIds"]
    assert await audit_count(ctx.db, ctx.tenant) == written
    # A corrected row updates its case; the same rows as JSON from finance's system.
    rows[1]["overdueAmount"] = "12000.00"
    corrected = await ok(await client.post(ROWS, headers=ctx.auth, json={"rows": rows, "asOf": "2026-04-30"}))
    assert (corrected["updated"], corrected["unchanged"]) == (1, 1)
    assert (await ok(await client.get(f"{CASES}/{imported['caseIds'][1]}", headers=ctx.auth)))["overdueAmount"] == \
        "12000.00"
    # Repaid: an amount of 0 closes the case.
    rows[0]["overdueAmount"] = "0"
    closed = await ok(await client.post(ROWS, headers=ctx.auth, json={"rows": rows[:1]}))
    assert closed["closed"] == 1
    assert (await ok(await client.get(f"{CASES}/{imported['caseIds'][0]}", headers=ctx.auth)))["status"] == "closed"

    # Bad rows: reported by line, and nothing of the file is imported (the good new row neither).
    third = (await _new_customer(c))[0]
    good = await feed_row(c, third)
    unknown = {**rows[1], "unitNumber": "NO-SUCH", "loanAccount": "6222999999999999"}
    content = feed_csv([good, unknown, rows[1]]).decode() + "B1,101,银行,1234567,2026-13-01,abc,否\r\n"
    refused = await _csv(client, ctx.auth, content.encode("gbk"))
    assert refused.status_code == 409, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["lines.5.overdueSince"]  # cells first
    refused = await _csv(client, ctx.auth, feed_csv([good, unknown, rows[1], rows[1]]))
    assert refused.status_code == 409 and [e["field"] for e in refused.json()["errors"]] == [
        "lines.3.unitNumber", "lines.5.loanAccount"]
    assert "NO-SUCH" in refused.json()["errors"][0]["message"]
    assert (await ok(await client.get(CASES, headers=ctx.auth, params={"unitId": third["units"][0]["unitId"]})))[
        "total"] == 0
    header = await _csv(client, ctx.auth, b"unit,amount\r\n1,2\r\n")
    assert header.status_code == 422 and header.json()["errors"][0]["field"] == "header"
    latin = await _csv(client, ctx.auth, b"building_code,unit_number\r\n" + "é".encode("latin-1") * 50)
    assert latin.status_code == 422


def feed_xlsx(rows: list[dict[str, Any]], *, dates: bool = True) -> bytes:
    """The feed as finance's Excel saves it: Chinese text, real date cells, numbers as numbers."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet, day = book.add_worksheet("逾期清单"), book.add_format({"num_format": 31})  # 2026年3月1日
    sheet.write_row(0, 0, services.COLUMNS)
    for n, r in enumerate(rows, 1):
        sheet.write_string(n, 0, r["buildingCode"])
        sheet.write_string(n, 1, r["unitNumber"])
        sheet.write_string(n, 2, r["bank"])
        sheet.write_string(n, 3, r["loanAccount"])
        if dates:
            sheet.write_datetime(n, 4, datetime.fromisoformat(r["overdueSince"]), day)
        else:
            sheet.write_string(n, 4, r["overdueSince"])
        sheet.write_number(n, 5, float(r["overdueAmount"]))
        sheet.write_string(n, 6, "是" if r.get("bankRecommendsLitigation") else "否")
    book.close()
    return out.getvalue()


async def test_the_feed_as_an_xlsx_workbook(client: Any, ctx: Ctx) -> None:
    c = with_client(ctx, client)
    first, second = (await _new_customer(c))[0], (await _new_customer(c))[0]
    rows = [await feed_row(c, first, overdueAmount="8300.50", overdueSince="2026-02-27"),
            await feed_row(c, second, bank="中国农业银行", overdueAmount="20000")]
    xlsx = {**ctx.auth, "Content-Type": XLSX_MEDIA_TYPE}
    imported = await ok(await client.post(FEED, headers=xlsx, content=feed_xlsx(rows), params={"asOf": "2026-03-31"}))
    assert (imported["rows"], imported["created"]) == (2, 2)
    case = await ok(await client.get(f"{CASES}/{imported['caseIds'][0]}", headers=ctx.auth))
    assert (case["overdueSince"], case["overdueAmount"], case["customerId"]) == ("2026-02-27", "8300.50", first["id"])
    assert (await ok(await client.get(f"{CASES}/{imported['caseIds'][1]}", headers=ctx.auth)))["bank"] == "中国农业银行"
    written = await audit_count(ctx.db, ctx.tenant)
    # The same workbook again changes nothing; one with a corrected amount updates that case.
    again = await ok(await client.post(FEED, headers=xlsx, content=feed_xlsx(rows)))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert await audit_count(ctx.db, ctx.tenant) == written
    rows[1]["overdueAmount"] = "21000.00"
    corrected = await ok(await client.post(FEED, headers=xlsx, content=feed_xlsx(rows)))
    assert (corrected["updated"], corrected["unchanged"]) == (1, 1)
    # Bad rows by the sheet's row number (the header is row 1), nothing of the workbook imported.
    third = (await _new_customer(c))[0]
    bad = [await feed_row(c, third), {**rows[0], "unitNumber": "NO-SUCH", "loanAccount": "6222888888888888"},
           {**rows[0], "overdueSince": "2026-02-30"}]
    refused = await client.post(FEED, headers=xlsx, content=feed_xlsx(bad, dates=False))
    assert refused.status_code == 409 and [e["field"] for e in refused.json()["errors"]] == ["lines.4.overdueSince"]
    refused = await client.post(FEED, headers=xlsx, content=feed_xlsx(bad[:2]))
    assert refused.status_code == 409 and [e["field"] for e in refused.json()["errors"]] == ["lines.3.unitNumber"]
    assert (await ok(await client.get(CASES, headers=ctx.auth, params={"unitId": third["units"][0]["unitId"]})))[
        "total"] == 0
    # A ZIP that is no workbook is refused, naming the file.
    junk = io.BytesIO()
    with zipfile.ZipFile(junk, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    broken = await client.post(FEED, headers=xlsx, content=junk.getvalue())
    assert broken.status_code == 422 and broken.json()["errors"][0]["field"] == "file"


async def test_reminders_and_promises(client: Any, ctx: Ctx) -> None:
    case, url = await collection_in(with_client(ctx, client))
    got = await client.get(url, headers=ctx.auth)
    past = await client.post(f"{url}/reminders", headers={**ctx.auth, "If-Match": got.headers["etag"]},
                             json={"channel": "phone", "outcome": "promised", "promisedOn": "2020-01-01"})
    assert past.status_code == 409 and past.json()["errors"][0]["field"] == "promisedOn"
    reminded = await client.post(f"{url}/reminders", headers={**ctx.auth, "If-Match": got.headers["etag"]},
                                 json={"channel": "phone", "outcome": "promised", "promisedOn": "2099-05-10",
                                       "note": "业主承诺月底前还款"})
    body = await ok(reminded)
    assert body["nextPromise"] == "2099-05-10" and body["reminders"][0]["channel"] == "phone"
    letter = await ok(await client.post(f"{url}/reminders", headers={**ctx.auth, "If-Match": reminded.headers["etag"]},
                                        json={"channel": "lawyer_letter", "outcome": "delivered"}))
    assert [r["channel"] for r in letter["reminders"]] == ["phone", "lawyer_letter"]
    early = await client.post(f"{url}/outcome", headers={**ctx.auth, "If-Match": f'"{letter["version"]}"'},
                              json={"outcome": "won", "decidedOn": "2026-06-30"})
    assert early.status_code == 409 and "referred" in early.json()["detail"]


async def test_each_trigger_of_the_litigation_rule(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                   monkeypatch: Any) -> None:
    c = await tenant_ctx(client, db, new_tenant, mint, "colrule", subject="collections-test")
    rule = await ok(await client.get(f"{COLLECTIONS}/rule", headers=c.auth))
    assert rule == {"months": 6, "amount": "20000.00"}
    fix_clock(monkeypatch, "2026-08-01")
    made, owners = {}, {}
    for name, extra in {
        "bank": {"bankRecommendsLitigation": True, "overdueSince": "2026-07-01"},
        "months": {"overdueSince": "2026-01-31"},  # six months end on 2026-07-31: more than six on 08-01
        "amount": {"overdueSince": "2026-07-01", "overdueAmount": "20000.01"},
        "six_exactly": {"overdueSince": "2026-02-01"},
        "amount_exactly": {"overdueSince": "2026-07-01", "overdueAmount": "20000.00"},
    }.items():
        customer = (await _new_customer(c))[0]
        owners[name] = customer, await feed_row(c, customer, **extra)
        result = await ok(await client.post(ROWS, headers=c.auth, json={"rows": [owners[name][1]]}))
        made[name] = result["caseIds"][0]
    async with db.tenant_transaction(f"t_{c.tenant}") as session:
        session.info["actor"] = SYSTEM
        assert await services.scan(session) == {"checked": 3, "referred": 3}
    states = {name: await ok(await client.get(f"{CASES}/{i}", headers=c.auth)) for name, i in made.items()}
    assert {n: s["status"] for n, s in states.items()} == {
        "bank": "referred", "months": "referred", "amount": "referred", "six_exactly": "open",
        "amount_exactly": "open"}
    assert states["bank"]["referralReasons"] == ["bank_recommends"]
    assert states["months"]["referralReasons"] == ["overdue_more_than_6_months"]
    assert states["months"]["overdueMonths"] == 6
    assert states["amount"]["referralReasons"] == ["amount_over_20000"]

    # The tenant's own thresholds: three months.
    async with db.tenant_transaction(f"t_{c.tenant}") as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        await settings.put(session, services.RULE, {"months": 3, "amount": "20000.00"})
    async with db.tenant_transaction(f"t_{c.tenant}") as session:
        session.info["actor"] = SYSTEM
        assert (await services.scan(session))["referred"] == 1
    assert (await ok(await client.get(f"{CASES}/{made['six_exactly']}", headers=c.auth)))["referralReasons"] == [
        "overdue_more_than_3_months"]

    # The materials for the general management department, then the outcome.
    url = f"{CASES}/{made['bank']}"
    got = await client.get(url, headers=c.auth)
    await ok(await client.post(f"{url}/reminders", headers={**c.auth, "If-Match": got.headers["etag"]},
                               json={"channel": "email", "outcome": "no_answer"}))
    materials = await ok(await client.get(f"{url}/materials", headers=c.auth))
    assert materials["case"]["status"] == "referred" and materials["case"]["reminders"][0]["channel"] == "email"
    assert [t["action"] for t in materials["timeline"]] == ["collections.case.create", "collections.case.refer",
                                                            "collections.case.remind"]
    assert materials["timeline"][1]["reason"] == "litigation rule: bank_recommends"
    # The company's guarantee on the same loan, with its contracts uploaded: they join the materials.
    customer, row = owners["bank"]
    g = await ok(await client.post(GUARANTEES, headers=c.auth, json=guarantee_body(
        customer, loanAccount=row["loanAccount"])), 201)
    contract_bytes = b"%PDF-1.4\n% loan contract\n%%EOF\n"
    contract = await guarantee_document(c, g["id"], "loan_contract", data=contract_bytes)
    await guarantee_document(c, g["id"], "other", stage="pending")  # never completed: left out
    materials = await ok(await client.get(f"{url}/materials", headers=c.auth))
    assert [d["id"] for d in materials["documents"]] == [contract["id"]]
    assert materials["ownerName"] == customer["name"] and materials["unit"].endswith(customer["units"][0]["unitNumber"])
    # The referral package: a job with progress, then the ZIP with the PDF summary, the materials
    # and the documents.
    not_referred = await client.post(f"{CASES}/{made['amount_exactly']}/package", headers=c.auth)
    assert not_referred.status_code == 409
    started = await client.post(f"{url}/package", headers=c.auth)
    assert started.status_code == 202 and started.headers["location"].startswith("/api/v1/jobs/")
    job = await package_of(c, made["bank"])
    download = await client.get(f"{COLLECTIONS}/packages/{job}/zip", headers=c.auth)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert sorted(archive.namelist()) == ["documents/01-loan_contract-loan_contract.pdf", "materials.json",
                                              "summary.pdf"]
        pdf = archive.read("summary.pdf")
        packed = json.loads(archive.read("materials.json"))
        assert archive.read("documents/01-loan_contract-loan_contract.pdf") == contract_bytes
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    # The summary read back by a PDF reader: the Chinese names as written, the figures, the reasons.
    shown = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert f"业主 Owner: {customer['name']}" in shown and materials["unit"] in shown
    assert "诉讼移交" in shown and row["bank"] in shown and states["bank"]["number"] in shown
    assert "bank_recommends" in shown and "email" in shown and "loan_contract.pdf" in shown
    assert packed["case"]["id"] == made["bank"] and packed["case"]["reminders"][0]["channel"] == "email"
    job_view = await ok(await client.get(f"/api/v1/jobs/{job}", headers=c.auth))
    assert job_view["status"] == "succeeded" and job_view["progress"] == 100
    got = await client.get(url, headers=c.auth)
    done = await ok(await client.post(f"{url}/outcome", headers={**c.auth, "If-Match": got.headers["etag"]},
                                      json={"outcome": "settled", "decidedOn": "2026-10-15", "note": "庭外和解"}))
    assert done["status"] == "litigated" and done["outcome"] == "settled"
    referred = await ok(await client.get(CASES, headers=c.auth, params={"status": "referred"}))
    assert referred["total"] == 3


async def test_the_rule_runs_through_the_worker(client: Any, worker: Worker, ctx: Ctx, db: Any) -> None:
    customer = (await _new_customer(with_client(ctx, client)))[0]
    row = await feed_row(with_client(ctx, client), customer, overdueAmount="25000.00")
    result = await ok(await client.post(ROWS, headers=ctx.auth, json={"rows": [row]}))
    tasks.litigation_rule.apply_async()

    async def referred() -> bool:
        async with db.tenant_session(f"t_{ctx.tenant}") as session:
            found = await session.get(CollectionCase, uuid.UUID(result["caseIds"][0]))
            return found is not None and found.stage is CollectionStage.referred

    assert await wait_for(worker, referred, "the litigation rule")


async def test_the_loan_account_is_sealed(client: Any, ctx: Ctx) -> None:
    customer = (await _new_customer(with_client(ctx, client)))[0]
    row = await feed_row(with_client(ctx, client), customer)
    result = await ok(await client.post(ROWS, headers=ctx.auth, json={"rows": [row]}))
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        raw = (await session.execute(text(f"SELECT * FROM t_{ctx.tenant}.collection_cases WHERE id = :id"),
                                     {"id": result["caseIds"][0]})).mappings().one()
    assert row["loanAccount"] not in str(dict(raw))
