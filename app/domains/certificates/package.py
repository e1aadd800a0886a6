"""The referral package of a collection case (seed 004 §4.6.4: "整理資料提供公司綜合管理部"): one
ZIP file for the general management department, compiled by a background job with progress —
``summary.pdf`` (the case, the amounts, the reasons, the reminders, the timeline, one page of
plain text) and ``materials.json`` (the same, complete, with the owner's names and every
character). Only the package's requester may download it.

The PDF is written directly (PDF 1.4, the standard Helvetica font): a summary needs no layout
engine. Helvetica has no Chinese glyphs, so the PDF shows what it can in ASCII (numbers, dates,
amounts, codes) and ``materials.json`` carries the Chinese text.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.jobs import JobStatus, Progress, get_job
from app.core.problems import ProblemError
from app.domains.certificates import collections
from app.domains.certificates.models import CollectionCase, CollectionStage

KIND = "collections.package"


def _ascii(text: str) -> str:
    shown = text.encode("ascii", "replace").decode().replace("?", "")
    return shown.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def summary_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines`` in 10-point Helvetica (ASCII only, at most 60 lines)."""
    text = ["BT", "/F1 10 Tf", "12 TL", "50 800 Td"] + [f"({_ascii(line)}) '" for line in lines[:60]] + ["ET"]
    stream = "\n".join(text).encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
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
    lines = [f"Litigation referral - collection case {case['number']}", "",
             f"Bank: {case['bank']}   Loan account: {case['loanAccount']}",
             f"Overdue since {case['overdueSince']} ({case['overdueMonths']} months), amount {case['overdueAmount']} "
             "yuan", f"Bank recommends litigation: {'yes' if case['bankRecommends'] else 'no'}",
             f"Referred at {case['referredAt']}: {', '.join(case['referralReasons'])}", "",
             f"Reminders ({len(case['reminders'])}):"]
    lines += [f"  {r['at'][:16]}  {r['channel']:<14} {r['outcome']:<10} "
              f"{'promised ' + r['promisedOn'] if r['promisedOn'] else ''}" for r in case["reminders"]]
    lines += ["", "Timeline:"] + [f"  {t['at'][:16]}  {t['action']}" for t in materials["timeline"]]
    return lines


async def build(session: AsyncSession, progress: Progress, case_id: uuid.UUID) -> dict[str, Any]:
    """The job's work: the materials, their summary, the ZIP (kept base64 in the job's result)."""
    await progress.report(0, 3)
    case = await session.get(CollectionCase, case_id)
    if case is None:
        raise ProblemError("not-found", f"No collection case with id {case_id}.")
    materials: dict[str, Any] = msgspec.to_builtins(await collections.materials(session, case))
    await progress.report(1)
    pdf = summary_pdf(_lines(materials))
    await progress.report(2)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("summary.pdf", pdf)
        archive.writestr("materials.json", json.dumps(materials, ensure_ascii=False, indent=2))
    await progress.report(3)
    return {"caseId": str(case.id), "number": case.number, "files": ["summary.pdf", "materials.json"],
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
