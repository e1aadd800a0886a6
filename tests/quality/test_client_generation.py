"""The document generates a clean client: openapi-python-client, with its default
configuration, reads the served document and warns about nothing the document could fix.

What it does warn about is listed below with its reason: media types the generator has no
reader for (a CSV request body, an XLSX download). Everything else (an enum it cannot name,
two schemas with one title, a header or body it cannot type) fails here, naming the warning.
The generated client must also carry the operations and headers partners need, and it drives
a partner's scenario against the served app: read the organisation, create a customer, take a
complaint through its loop (If-Match on every step, Idempotency-Key on the creating POSTs, the
proposal approved by an approver with their own token) and upload an archive page through its
signed URL.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
import typing
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import httpx

# Warnings about the generator's own limits, not about the document: these media types are
# what the API really takes and gives.
GENERATOR_LIMITS = (
    "Unsupported content type text/csv",
    "Unsupported content_type application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "Unsupported content_type application/zip",
)
LIMITED_OPERATIONS = ("POST /api/v1/customers/imports", "GET /api/v1/complaints/statistics/exports/{job_id}/xlsx",
                      "POST /api/v1/collections/feed",  # a CSV body, as the customers' import
                      "GET /api/v1/collections/packages/{job_id}/zip")


def _warnings(output: str) -> list[str]:
    """The generator's warning blocks: a headline ("WARNING parsing ...") and the details up to
    the next blank line after them."""
    blocks = re.split(r"\n\s*\n", output)
    return [b.strip() for b in blocks if re.search(r"WARNING|Unable|Cannot|Unsupported|Invalid", b)]


async def test_openapi_python_client_generates_a_clean_client(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                              live_server: str, tmp_path: Path) -> None:
    document = (await client.get("/schema/openapi.json")).content
    _generate_and_check(document, tmp_path)
    # One generation (it takes most of this test's time) serves the scenario as well.
    package = tmp_path / "partner_client"
    shutil.move(tmp_path / "client", package)
    sys.path.insert(0, str(tmp_path))
    try:
        await _partner_scenario(client, db, new_tenant, mint, live_server)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "partner_client" or m.startswith("partner_client.")]:
            del sys.modules[name]


def _generate_and_check(document: bytes, tmp_path: Path) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_bytes(document)
    bin_dir = Path(sys.executable).parent
    generated = subprocess.run(
        [str(bin_dir / "openapi-python-client"), "generate", "--path", str(spec), "--meta", "none",
         "--output-path", str(tmp_path / "client")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    unexpected = [w for w in _warnings(output)
                  if not any(limit in w for limit in GENERATOR_LIMITS)
                  and not any(op in w for op in LIMITED_OPERATIONS)
                  and not w.startswith(("Warning(s) encountered", "If you believe"))]
    assert not unexpected, "the generator warns about the document:\n\n" + "\n\n".join(unexpected)

    api = tmp_path / "client" / "api"
    sources = {p.relative_to(api).as_posix(): p.read_text() for p in api.rglob("*.py")}
    # The operation that two `AnswerIn` schemas used to push out of generated clients.
    assert "return_visits/record_survey_result.py" in sources
    created = sources["complaints/create_complaint.py"]
    assert '"Idempotency-Key"' in created and '"X-Request-Id"' in created and '"Change-Reason"' in created
    assert '"If-Match"' in sources["customers/update_customer.py"]


# ------------------------------------------------------------------ the partner's scenario


def _op(tag: str, operation: str) -> ModuleType:
    return importlib.import_module(f"partner_client.api.{tag}.{operation}")


async def _call(api: Any, tag: str, operation: str, *args: Any, body: dict[str, Any] | None = None,
                status: int = 200, model: str | None = None, **headers: Any) -> Any:
    """An operation of the generated client, its body built by the generated model (``model``
    names it where the body is one of several) from the JSON a partner would write; the
    response when it has ``status``."""
    module = _op(tag, operation)
    kwargs: dict[str, Any] = dict(headers)
    if body is not None:
        models = typing.get_args(hint := typing.get_type_hints(module.asyncio_detailed)["body"]) or (hint,)
        kwargs["body"] = next(m for m in models if model in (None, m.__name__)).from_dict(body)
    response = await module.asyncio_detailed(*args, client=api, **kwargs)
    assert response.status_code == status, f"{tag}.{operation}: {response.status_code} {response.content!r}"
    return response


async def _partner_scenario(client: Any, db: Any, new_tenant: Any, mint: Any, base_url: str) -> None:
    from tests.routes import _new_project, _person, _token_of

    # Imported after tests.routes, which the catalogue's modules import (a cycle otherwise).
    complaints = importlib.import_module("tests.catalogue.complaints")
    APPROVER_SCOPES, approver, category, tenant_ctx = (  # noqa: N806 - the module's own names
        complaints.APPROVER_SCOPES, complaints.approver, complaints.category, complaints.tenant_ctx)

    # What the tenant's staff would have set up: a project under a branch, an approver there.
    ctx = await tenant_ctx(client, db, new_tenant, mint, "partner")
    project, _ = await _new_project(ctx)
    approver_id = await approver(ctx, project["parentId"])
    category_id = await category(ctx)

    from partner_client import AuthenticatedClient  # type: ignore[import-not-found]

    partner = AuthenticatedClient(base_url=base_url, token=mint(tenant=ctx.tenant), raise_on_unexpected_status=True)
    decider = AuthenticatedClient(base_url=base_url, raise_on_unexpected_status=True,
                                  token=(await _token_of(ctx, approver_id, APPROVER_SCOPES))["Authorization"]
                                  .removeprefix("Bearer "))
    async with partner, decider:
        group = (await _call(partner, "organisation", "get_group")).parsed
        assert group.id is not None and group.name

        customer = (await _call(partner, "customers", "create_customer", body=_person(ctx), status=201,
                                model="PersonCreate", idempotency_key=str(uuid.uuid4()))).parsed

        # The complaint: created once (a replay of its key answers the same record), then each
        # step sent with the ETag of the one before.
        key = str(uuid.uuid4())
        body = {"channel": "hotline", "projectId": project["id"], "categoryId": category_id,
                "customerId": str(customer.id), "subject": "Water through the balcony door",
                "description": "After the storm, water came in under the balcony door.",
                "contactNote": "Call after 6 pm."}
        created = await _call(partner, "complaints", "create_complaint", body=body, status=201, idempotency_key=key)
        replayed = await _call(partner, "complaints", "create_complaint", body=body, status=201, idempotency_key=key)
        complaint = created.parsed
        assert replayed.parsed.id == complaint.id and replayed.headers.get("idempotent-replayed") == "true"
        etag = created.headers["etag"]
        steps = [("investigate_complaint", {"reply": "We are looking into it."}),
                 ("record_complaint_findings", {"cause": "A failed door seal", "responsibleParty": "contractor"}),
                 ("propose_complaint_resolution", {"kind": "apology", "description": "A written apology."}),
                 ("approve", {}),
                 ("record_complaint_negotiation", {"customerResponse": "Accepted.", "agreed": True}),
                 ("record_complaint_handling", {"result": "Apologised in person.", "check": "Confirmed by phone."}),
                 ("record_complaint_feedback", {"opinion": "Fine.", "satisfaction": 4})]
        for operation, step in steps:
            if operation == "approve":
                request_id = complaint.proposals[-1].approval_request_id
                await _call(decider, "approvals", "approve_approval_request", request_id, body={"comment": "reviewed"},
                            idempotency_key=str(uuid.uuid4()))
                fetched = await _call(partner, "complaints", "get_complaint", complaint.id)
                complaint, etag = fetched.parsed, fetched.headers["etag"]
                continue
            stale = etag
            moved = await _call(partner, "complaints", operation, complaint.id, body=step, if_match=etag)
            complaint, etag = moved.parsed, moved.headers["etag"]
            if operation == "investigate_complaint":  # a step sent with an old ETag is refused
                await _call(partner, "complaints", "record_complaint_findings", complaint.id, status=412,
                            body=steps[1][1], if_match=stale)
        assert str(complaint.status) == "closed"

        # An archive page: declared, PUT to the signed URL as the scanning station does, completed.
        volume = (await _call(partner, "archives", "create_archive_volume", status=201,
                              idempotency_key=str(uuid.uuid4()),
                              body={"customerId": str(customer.id), "title": "购房档案 partner",
                                    "responsibleParty": "客户事务部", "retention": "30_years"})).parsed
        data = b"%PDF-1.7\n" + os.urandom(600)
        issued = (await _call(partner, "archives", "upload_archive_pages", volume.id, status=201, body={"pages": [
            {"size": len(data), "contentType": "application/pdf", "sha256": hashlib.sha256(data).hexdigest(),
             "fileName": "scan-0001.pdf"}]})).parsed
        upload = issued.items[0].upload
        # The local store signs URLs on the deployment's public address (the tests' issuer);
        # this server listens on another port, so the signed path and query go to it.
        signed = urlsplit(upload.url)
        async with httpx.AsyncClient(base_url=base_url) as station:
            put = await station.request(str(upload.method), f"{signed.path}?{signed.query}", content=data,
                                        headers=upload.headers.to_dict())
        assert put.status_code == 200, put.text
        done = (await _call(partner, "archives", "complete_archive_pages", volume.id,
                            body={"pageIds": [str(issued.items[0].page.id)]})).parsed
        assert [str(p.status) for p in done.items] == ["stored"], done.to_dict()
