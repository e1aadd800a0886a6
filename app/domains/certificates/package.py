"""The referral of a collection case (seed 004 §4.6.4: "整理資料提供公司綜合管理部"): its compiled
materials (the case, amounts, reasons and reminders, the owner and the unit, the documents of
the loan's guarantee, the timeline), and one ZIP file of them for the general management
department, compiled by a background job with progress — ``summary.pdf`` (the materials as
text, Chinese included), ``materials.json`` (the same, complete) and ``documents/`` (the
guarantee's stored documents, the verified versions). Only the package's requester may
download it.

The PDF is written directly (PDF 1.4): a summary needs no layout engine. Its font is
STSong-Light, a standard Chinese font of PDF readers (nothing embedded), so the owner's name,
the bank and the notes show as written.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
import zlib
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.jobs import JobStatus, Progress, get_job
from app.core.problems import ProblemError
from app.domains.certificates import collections, documents
from app.domains.certificates.models import (
    CollectionCase,
    CollectionStage,
    DocumentStatus,
    Guarantee,
    GuaranteeDocument,
)
from app.domains.certificates.schemas import Materials, TimelineEntry
from app.domains.customers.models import Customer
from app.domains.org.models import OrgNode, Unit
from app.storage import get_store
from app.storage.uploads import safe_name

KIND = "collections.package"


LINES_PER_PAGE = 60
# The documents a package carries, at most (the ZIP is kept in the job's result); the summary
# and materials.json list every stored document, the ones left out included.
MAX_DOCUMENT_BYTES = 40 * 1024 * 1024
# STSong-Light is one of the standard CJK fonts every PDF reader provides (PDF 1.7 §9.7.5.2,
# Adobe-GB1): nothing is embedded, and it holds simplified Chinese and ASCII alike. Text is
# written in UCS-2 (the UniGB-UCS2-H encoding), and a ToUnicode map lets a reader copy or
# extract it as the characters it is.
FONT = (b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [4 0 R] /ToUnicode 5 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor 6 0 R "
        b"/DW 1000 /W [1 95 500] >>")
DESCRIPTOR = (b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
              b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>")


def _shown(text: str) -> str:
    """The characters a UCS-2 font can show: those beyond the Basic Multilingual Plane (rare
    ideographs, emoji) and control characters become a question mark."""
    return "".join(c if ord(c) <= 0xFFFF and (c.isprintable() or c == " ") and not 0xD800 <= ord(c) <= 0xDFFF
                   else "?" for c in text)


def _to_unicode(chars: set[str]) -> bytes:
    """The ToUnicode CMap of the codes used: each UCS-2 code is its own character."""
    codes = sorted(f"{ord(c):04X}" for c in chars)
    blocks = [codes[i:i + 100] for i in range(0, len(codes), 100)]
    body = "".join(f"{len(b)} beginbfchar\n" + "".join(f"<{c}> <{c}>\n" for c in b) + "endbfchar\n" for b in blocks)
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + body +
            "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n").encode("ascii")


def _stream(data: bytes) -> bytes:
    packed = zlib.compress(data)
    return b"<< /Length " + str(len(packed)).encode() + b" /Filter /FlateDecode >>\nstream\n" + packed + \
        b"\nendstream"


def summary_pdf(lines: list[str]) -> bytes:
    """An A4 PDF showing ``lines`` in 10-point STSong-Light, Chinese and Latin alike, 60 lines
    a page."""
    shown = [_shown(line) for line in lines] or [""]
    pages = [shown[i:i + LINES_PER_PAGE] for i in range(0, len(shown), LINES_PER_PAGE)]
    first_page = 7  # 1 catalog, 2 pages, 3-6 the font; then per page its object and its content
    kids = " ".join(f"{first_page + 2 * n} 0 R" for n in range(len(pages)))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
               FONT[0], FONT[1], _stream(_to_unicode(set("".join(shown)))), DESCRIPTOR]
    for n, page in enumerate(pages):
        text = ["BT", "/F1 10 Tf", "12 TL", "50 800 Td"] + [f"<{line.encode('utf-16-be').hex()}> '" for line in page]
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {first_page + 2 * n + 1} 0 R "
                       "/Resources << /Font << /F1 3 0 R >> >> >>".encode())
        objects.append(_stream("\n".join(text + ["ET"]).encode("ascii")))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def _lines(materials: dict[str, Any]) -> list[str]:
    case = materials["case"]
    lines = [f"诉讼移交 Litigation referral - collection case {case['number']}", "",
             f"业主 Owner: {materials['ownerName']}", f"房号 Unit: {materials['unit']}",
             f"Bank: {case['bank']}   Loan account: {case['loanAccount']}",
             f"Overdue since {case['overdueSince']} ({case['overdueMonths']} months), amount {case['overdueAmount']} "
             "yuan", f"Bank recommends litigation: {'yes' if case['bankRecommends'] else 'no'}",
             f"Referred at {case['referredAt']}: {', '.join(case['referralReasons'])}", "",
             f"Reminders ({len(case['reminders'])}):"]
    lines += [f"  {r['at'][:16]}  {r['channel']:<14} {r['outcome']:<10} "
              f"{'promised ' + r['promisedOn'] if r['promisedOn'] else ''} {r['note'] or ''}"
              for r in case["reminders"]]
    lines += ["", f"Documents ({len(materials['documents'])}):"]
    lines += [f"  {d['kind']:<22} {d['filename']}  sha256 {d['sha256'][:16]}" for d in materials["documents"]]
    lines += ["", "Timeline:"]
    lines += [f"  {t['at'][:16]}  {t['action']}  {t['reason'] or ''}" for t in materials["timeline"]]
    return lines


async def _guarantee_documents(session: AsyncSession, c: CollectionCase) -> list[GuaranteeDocument]:
    """The stored documents of the guarantee on the same loan (one loan, one blind index)."""
    return list((await session.scalars(
        select(GuaranteeDocument).join(Guarantee, Guarantee.id == GuaranteeDocument.guarantee_id)
        .where(Guarantee.loan_account_index == c.loan_account_index, GuaranteeDocument.status == DocumentStatus.stored)
        .order_by(GuaranteeDocument.created_at, GuaranteeDocument.id))).all())


async def materials(session: AsyncSession, c: CollectionCase) -> Materials:
    """What the general management department receives: the case, its amounts, its reminders,
    the owner and the unit, the guarantee's documents and the timeline (the case's audit trail)."""
    out = await collections.collection_out(session, c)
    building = OrgNode.__table__.alias("building")
    owner, project, block, unit = (await session.execute(
        select(Customer.name, OrgNode.name, building.c.name, Unit.number).select_from(Unit)
        .join(OrgNode, OrgNode.id == Unit.project_id).join(building, building.c.id == Unit.building_id)
        .join(Customer, Customer.id == c.customer_id).where(Unit.id == c.unit_id))).one()
    trail = (await session.execute(select(audit.tenant_audit.c.occurred_at, audit.tenant_audit.c.action,
                                          audit.tenant_audit.c.reason)
                                   .where(audit.tenant_audit.c.entity_id == str(c.id))
                                   .order_by(audit.tenant_audit.c.occurred_at))).all()
    return Materials(case=out, owner_name=owner, unit=f"{project} {block} {unit}",
                     documents=[documents.document_out(d) for d in await _guarantee_documents(session, c)],
                     timeline=[TimelineEntry(at=t.occurred_at, action=t.action, reason=t.reason) for t in trail])


def _slug(session: AsyncSession) -> str:
    return str(session.info["tenant_schema"]).removeprefix("t_")


async def build(session: AsyncSession, progress: Progress, case_id: uuid.UUID) -> dict[str, Any]:
    """The job's work: the materials, their summary, the documents, the ZIP (kept base64 in
    the job's result)."""
    case = await session.get(CollectionCase, case_id)
    if case is None:
        raise ProblemError("not-found", f"No collection case with id {case_id}.")
    stored, budget = [], MAX_DOCUMENT_BYTES
    for d in await _guarantee_documents(session, case):
        if d.size <= budget:  # the package is kept in the job's result: documents up to a bound
            stored.append(d)
            budget -= d.size
    await progress.report(0, 3 + len(stored))
    compiled: dict[str, Any] = msgspec.to_builtins(await materials(session, case))
    await progress.report(1)
    pdf = summary_pdf(_lines(compiled))
    await progress.report(2)
    buffer, files = io.BytesIO(), ["summary.pdf", "materials.json"]
    store = get_store()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("summary.pdf", pdf)
        archive.writestr("materials.json", json.dumps(compiled, ensure_ascii=False, indent=2))
        for n, d in enumerate(stored, 1):
            name = f"documents/{n:02d}-{d.kind.value}-{safe_name(d.filename, d.content_type)}"
            archive.writestr(name, b"".join([chunk async for chunk in documents.content(store, _slug(session), d)]))
            files.append(name)
            await progress.report(2 + n)
    await progress.report(3 + len(stored))
    return {"caseId": str(case.id), "number": case.number, "files": files,
            "zip": base64.b64encode(buffer.getvalue()).decode()}


def check_referred(case: CollectionCase) -> None:
    if case.stage not in (CollectionStage.referred, CollectionStage.litigated):
        raise ProblemError("conflict", f"Collection case {case.number} is {case.stage.value}: the package is for a "
                                       "case referred to the general management department.")


async def download(session: AsyncSession, job_id: uuid.UUID, requester: str) -> tuple[bytes, str]:
    job = await get_job(session, job_id, requester)
    if job.kind != KIND:
        raise ProblemError("not-found", f"No referral package with id {job_id}.")
    if job.status is not JobStatus.succeeded:
        raise ProblemError("conflict", f"The package is {job.status.value}; its file exists once it succeeded.")
    return base64.b64decode(job.result["zip"]), f"referral-{job.result['number']}.zip"
