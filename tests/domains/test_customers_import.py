"""CSV imports of customers and unit ownership on the real worker: a 10,000-row file runs as a
job with progress and a rejection report; all-or-nothing and valid-rows modes; GBK files
detected; a wrong header or encoding refused before any job starts."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.jobs import Job
from app.domains.customers.imports import IMPORT_KIND
from app.domains.customers.models import Customer, CustomerImport, CustomerUnit
from tests.domains.customers_helpers import API, PROBLEM, World, create, id_number, make_world, ok, person, phone

HEADER = ["kind", "name", "gender", "phone", "id_number", "address", "tax_id", "source", "purpose", "building_code",
          "unit_number", "owner_role", "stage", "payment_method", "amount"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超"]
FINISH_WITHIN = 120.0  # seconds an import job may take before the test fails with the worker's log


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await make_world(c, db, new_tenant, mint, units=40, prefix="ci")


def _csv(rows: list[list[str]], header: list[str] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _row(i: int, **values: str) -> list[str]:
    base = {"kind": "person", "name": SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)], "gender": "female",
            "phone": phone(), "id_number": id_number(), "address": f"广东省深圳市福田区莲花路{i}号",
            "source": "2025年秋季房展会", "purpose": "购房咨询与回访"}
    base.update(values)
    return [base.get(h, "") for h in HEADER]


async def _upload(client: Any, world: World, body: bytes, mode: str, status: int = 202) -> dict[str, Any]:
    answer = await client.post(f"{API}/imports", params={"mode": mode}, content=body,
                               headers={**world.admin, "Content-Type": "text/csv"})
    assert answer.status_code == status, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def _finish(client: Any, world: World, worker: Any, job: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """Poll the job over the API until it ends; the progress values seen on the way."""
    seen: list[int] = []
    deadline = time.monotonic() + FINISH_WITHIN
    while True:
        current = await ok(await client.get(f"/api/v1/jobs/{job['id']}", headers=world.admin), 200)
        seen.append(current["progress"])
        if current["status"] in ("succeeded", "failed"):
            return current, seen
        worker.alive()
        assert time.monotonic() < deadline, f"the import did not finish in {FINISH_WITHIN}s:\n{worker.tail()}"
        await asyncio.sleep(0.05)


async def test_ten_thousand_rows_run_as_a_job_with_progress_and_rejections(client: Any, db: Any, worker: Any,
                                                                           world: World) -> None:
    building = world.building["code"]
    owned_before = await create(client, world, person(units=[{"unitId": world.units[0]["id"]}]))
    duplicate_phone = phone()
    rows = [_row(i) for i in range(10_000)]
    # 30 owners of units 2..31, paid by mortgage.
    for j in range(30):
        unit = world.units[1 + j]
        rows[100 + j] = _row(100 + j, building_code=building, unit_number=unit["number"], stage="contract",
                             payment_method="mortgage", amount="1980000.00")
    wrong = id_number()
    expected = {  # line (header = 1) -> rejected field
        500: ("phone", _row(498, phone="23800138000")),
        1001: ("id_number", _row(999, id_number=wrong[:17] + ("0" if wrong[17] != "0" else "1"))),
        2001: ("phone", _row(1999, phone=duplicate_phone)),  # the same as line 2000's
        3001: ("unit_number", _row(2999, building_code=building, unit_number=world.units[0]["number"])),
        4001: ("unit_number", _row(3999, building_code="NO-SUCH", unit_number="101")),
        5001: ("tax_id", _row(4999, tax_id="91440300MA5ABCDE1X")),  # a person with an enterprise field
        6001: ("amount", _row(5999, building_code=building, unit_number=world.units[35]["number"],
                              amount="12.345")),
    }
    rows[1998] = _row(1998, phone=duplicate_phone)
    for line, (_, row) in expected.items():
        rows[line - 2] = row
    body = _csv(rows).encode()

    started = await _upload(client, world, body, "valid_rows")
    assert started["kind"] == IMPORT_KIND and started["status"] == "queued"
    job, seen = await _finish(client, world, worker, started)
    assert job["status"] == "succeeded", job["error"]
    assert any(0 < p < 100 for p in seen), f"no progress seen between start and end: {sorted(set(seen))}"
    assert job["progress"] == 100 and job["done"] == job["total"] == 20_000

    result = job["result"]
    assert (result["rows"], result["rejected"], result["imported"]) == (10_000, 7, 9_993)
    assert result["units"] == 30 and result["encoding"] == "utf-8" and result["mode"] == "valid_rows"
    got = {r["row"]: r["field"] for r in result["rejections"]}
    assert got == {line: field for line, (field, _) in expected.items()}, result["rejections"]
    reasons = {r["row"]: r["message"] for r in result["rejections"]}
    assert "check character" in reasons[1001] and "row 2000" in reasons[2001]
    assert owned_before["id"] in reasons[3001]

    async with db.tenant_session(f"t_{world.slug}") as session:
        imported = await session.scalar(select(func.count()).select_from(Customer)
                                        .where(Customer.source == "2025年秋季房展会"))
        owners = await session.scalar(select(func.count()).select_from(CustomerUnit)
                                      .where(CustomerUnit.payment_method == "mortgage"))
        staged = await session.scalar(select(CustomerImport).where(CustomerImport.job_id == uuid.UUID(job["id"])))
        numbers = (await session.scalars(select(Customer.number).where(Customer.source == "2025年秋季房展会"))).all()
    assert imported == 9_993 and owners == 30
    assert staged is not None and staged.content_sealed is None  # the file is not kept
    assert len(set(numbers)) == len(numbers)
    # Imported rows are found like any other customer, by phone through the blind index.
    probe = rows[7000][HEADER.index("phone")]
    found = await ok(await client.post(f"{API}/search", headers=world.admin, json={"phone": probe}), 200)
    assert found["total"] == 1 and found["items"][0]["name"] == rows[7000][1]


async def test_all_or_nothing_imports_nothing_unless_every_row_is_valid(client: Any, db: Any, worker: Any,
                                                                        world: World) -> None:
    source = f"来源{uuid.uuid4().hex[:6]}"
    rows = [_row(i, source=source) for i in range(20)]
    rows[7] = _row(7, source=source, phone="999")
    job, _ = await _finish(client, world, worker, await _upload(client, world, _csv(rows).encode(),
                                                                "all_or_nothing"))
    assert job["status"] == "succeeded"
    assert (job["result"]["imported"], job["result"]["rejected"]) == (0, 1)
    assert job["result"]["rejections"] == [{"row": 9, "field": "phone", "message": job["result"]["rejections"][0][
        "message"]}]
    rows[7] = _row(7, source=source)
    job, _ = await _finish(client, world, worker, await _upload(client, world, _csv(rows).encode(),
                                                                "all_or_nothing"))
    assert (job["result"]["imported"], job["result"]["rejected"]) == (20, 0)
    async with db.tenant_session(f"t_{world.slug}") as session:
        assert await session.scalar(select(func.count()).select_from(Customer).where(Customer.source == source)) == 20


async def test_gbk_files_are_detected(client: Any, worker: Any, world: World) -> None:
    source = "老客户推荐（GBK）"
    rows = [_row(i, source=source, address=f"广州市天河区珠江新城花城大道{i}号") for i in range(30)]
    body = _csv(rows).encode("gbk")
    body.decode("gbk")
    try:
        body.decode("utf-8")
        raise AssertionError("the test file must not be valid UTF-8")
    except UnicodeDecodeError:
        pass
    job, _ = await _finish(client, world, worker, await _upload(client, world, body, "valid_rows"))
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["encoding"] == "gb18030" and job["result"]["imported"] == 30
    listed = await ok(await client.get(API, headers=world.admin, params={"q": rows[3][1], "limit": 200}), 200)
    assert rows[3][1] in {c["name"] for c in listed["items"]}


async def test_a_wrong_header_or_encoding_is_refused_before_any_job(client: Any, db: Any, world: World) -> None:
    async with db.tenant_session(f"t_{world.slug}") as session:
        before = await session.scalar(select(func.count()).select_from(Job).where(Job.kind == IMPORT_KIND))
    wrong = _csv([["person", "王五", "13800138000"]], header=["kind", "nmae", "phone"]).encode()
    problem = await _upload(client, world, wrong, "valid_rows", 422)
    assert problem["type"] == PROBLEM + "validation"
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert "nmae" in fields["header.2"] and fields["header.name"] == "required column missing"
    assert "header.source" in fields and "header.purpose" in fields

    repeated = await _upload(client, world, _csv([], header=HEADER + ["phone"]).encode(), "valid_rows", 422)
    assert any("repeated" in e["message"] for e in repeated["errors"])
    empty = await _upload(client, world, _csv([]).encode(), "valid_rows", 422)
    assert empty["errors"][0]["message"] == "no rows"
    latin = _csv([_row(1)]).encode("utf-16")
    undetectable = await _upload(client, world, latin, "valid_rows", 422)
    assert "UTF-8" in undetectable["detail"]
    mode = await client.post(f"{API}/imports", params={"mode": "sometimes"}, content=_csv([_row(1)]).encode(),
                             headers={**world.admin, "Content-Type": "text/csv"})
    assert mode.status_code == 422
    async with db.tenant_session(f"t_{world.slug}") as session:
        assert await session.scalar(select(func.count()).select_from(Job).where(Job.kind == IMPORT_KIND)) == before
