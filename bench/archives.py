"""Archives: issuing presigned upload URLs and completing pages, 1,000 of each.

    .venv/bin/python bench/archives.py [--pages 1000] [--page-kib 64] [--batch 100] [--store both|s3|local]

One run, in a scratch database of its own on DATABASE_URL's server (the embedded server when
unset), dropped at the end. S3 is moto's server on a loopback port, started and stopped by
the run; the local store writes under a temporary directory. For each store:

1. a tenant with a project, a unit and its owner, and two draft volumes, through the API (in
   process, as a partner back end's token);
2. ``--pages`` presigned PUT URLs issued through the API: in requests of ``--batch`` pages
   for the first volume, one page per request for the second (the API signs exactly each
   declared size, type and SHA-256; a storage health probe per request);
3. the files uploaded straight to storage with a plain HTTP client, 16 at a time (storage's
   work, not the API's: printed for scale);
4. the pages completed through the API, in requests of ``--batch`` and one by one: each
   object read back from storage (size, SHA-256, type, the format's first bytes) before the
   page is recorded as stored.

It prints each figure. The background re-verification that completion enqueues goes to an
in-memory broker here: it is a worker's work, not part of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
from _common import (
    console,
    load_key_ring,
    machine_load_note,
    provision_tenant,
    scratch_database,
    stop_cleanly_on_signals,
)
from moto.server import ThreadedMotoServer

from app.auth.scopes import TENANT_SCOPES
from app.config import Settings, get_settings
from app.core.db import Database
from app.core.pii import id_check_character

VOLUMES = "/api/v1/archives/volumes"
PARTNER = "bench-archivist"
UPLOAD_CONCURRENCY = 16


async def ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json()


def files(count: int, kib: int) -> list[bytes]:
    head = b"%PDF-1.7\n"
    return [head + os.urandom(kib * 1024 - len(head)) for _ in range(count)]


def declare(data: bytes) -> dict[str, Any]:
    return {"size": len(data), "contentType": "application/pdf", "sha256": hashlib.sha256(data).hexdigest()}


async def owner_and_unit(api: httpx.AsyncClient, auth: dict[str, str], branch: uuid.UUID) -> str:
    """A project, a building, a unit and its owner; the customer's id."""
    mark = uuid.uuid4().hex[:6]
    project = await ok(await api.post("/api/v1/org/projects", headers=auth, json={
        "branchId": str(branch), "code": f"P{mark}", "name": "阳光花园", "handoverDate": "2027-06-30"}), 201)
    building = await ok(await api.post("/api/v1/org/buildings", headers=auth, json={
        "projectId": project["id"], "code": f"B{mark}", "name": "1号楼"}), 201)
    unit = await ok(await api.post("/api/v1/org/units", headers=auth, json={
        "buildingId": building["id"], "number": "1-101", "floor": 1}), 201)
    first17 = f"44030519800101{int(mark, 16) % 1000:03d}"
    customer = await ok(await api.post("/api/v1/customers", headers=auth, json={
        "kind": "person", "name": "王业主", "source": "售楼处", "purpose": "购房服务",
        "phone": f"138{int(mark, 16) % 10**8:08d}", "idNumber": first17 + id_check_character(first17),
        "units": [{"unitId": unit["id"], "amount": "1500000.00"}]}), 201)
    return str(customer["id"])


async def volume(api: httpx.AsyncClient, auth: dict[str, str], customer: str, title: str) -> str:
    created = await ok(await api.post(VOLUMES, headers=auth, json={
        "customerId": customer, "title": title, "responsibleParty": "客户事务部", "retention": "30_years"}), 201)
    return str(created["id"])


async def timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await work()
    return time.perf_counter() - start, result


def figure(what: str, seconds: float, count: int, requests: int) -> None:
    console.print(f"  {what:<58} {seconds:7.2f} s  {seconds / count * 1000:6.2f} ms per page  "
                  f"{count / seconds:7.0f} pages/s  ({requests:,} requests)")


async def issue(api: httpx.AsyncClient, auth: dict[str, str], volume_id: str, data: list[bytes],
                batch: int) -> list[dict[str, Any]]:
    issued: list[dict[str, Any]] = []
    for start in range(0, len(data), batch):
        body = {"pages": [declare(d) for d in data[start:start + batch]]}
        issued += (await ok(await api.post(f"{VOLUMES}/{volume_id}/pages", headers=auth, json=body), 201))["items"]
    return issued


async def upload(uploader: httpx.AsyncClient, issued: list[dict[str, Any]], data: list[bytes]) -> None:
    semaphore = asyncio.Semaphore(UPLOAD_CONCURRENCY)

    async def one(item: dict[str, Any], body: bytes) -> None:
        async with semaphore:
            put = item["upload"]
            response = await uploader.request(put["method"], put["url"], content=body, headers=put["headers"])
            if response.status_code != 200:
                raise RuntimeError(f"upload refused: {response.status_code} {response.text[:300]}")

    await asyncio.gather(*(one(item, body) for item, body in zip(issued, data, strict=True)))


async def complete(api: httpx.AsyncClient, auth: dict[str, str], volume_id: str, issued: list[dict[str, Any]],
                   batch: int) -> None:
    ids = [item["page"]["id"] for item in issued]
    for start in range(0, len(ids), batch):
        done = await ok(await api.post(f"{VOLUMES}/{volume_id}/pages/complete", headers=auth,
                                       json={"pageIds": ids[start:start + batch]}))
        assert all(p["status"] == "stored" for p in done["items"])


async def run_store(name: str, settings: Settings, db: Database, slug: str, branch: uuid.UUID,
                    args: argparse.Namespace) -> None:
    from app.asgi import create_app

    app = create_app(settings, database=db)
    await app.state.store.ensure_bucket(slug)
    ring = await load_key_ring(db, issuer=settings.issuer, audience=settings.audience,
                               token_ttl=settings.access_token_ttl)
    auth = {"Authorization": "Bearer " + ring.mint(subject=PARTNER, client_id=PARTNER, scopes=sorted(TENANT_SCOPES),
                                                   tenant=slug, ttl=3600)}
    count, batch = args.pages, args.batch
    console.print(f"[bold]{name}[/bold]: {count:,} pages of {args.page_kib} KiB")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                 timeout=120) as api, httpx.AsyncClient(timeout=60) as plain:
        # The local store's URLs are the API's own: they go through the app, like any request.
        uploader = api if name.startswith("local") else plain
        customer = await owner_and_unit(api, auth, branch)
        batched = await volume(api, auth, customer, "业主档案（批量）")
        single = await volume(api, auth, customer, "业主档案（逐页）")
        data_a, data_b = files(count, args.page_kib), files(count, args.page_kib)

        seconds, issued_a = await timed(lambda: issue(api, auth, batched, data_a, batch))
        figure(f"issue {count:,} presigned PUT URLs, {batch} per request", seconds, count, -(-count // batch))
        seconds, issued_b = await timed(lambda: issue(api, auth, single, data_b, 1))
        figure(f"issue {count:,} presigned PUT URLs, one per request", seconds, count, count)

        seconds, _ = await timed(lambda: upload(uploader, issued_a, data_a))
        figure(f"(storage) upload {count:,} files, {UPLOAD_CONCURRENCY} at a time", seconds, count, count)
        await upload(uploader, issued_b, data_b)

        seconds, _ = await timed(lambda: complete(api, auth, batched, issued_a, batch))
        figure(f"complete {count:,} pages, {batch} per request (read back, checked)", seconds, count,
               -(-count // batch))
        seconds, _ = await timed(lambda: complete(api, auth, single, issued_b, 1))
        figure(f"complete {count:,} pages, one per request", seconds, count, count)
        for volume_id in (batched, single):
            got = await ok(await api.get(f"{VOLUMES}/{volume_id}", headers=auth))
            assert (got["pageCount"], got["pendingUploads"]) == (count, 0), got


async def main(args: argparse.Namespace) -> None:
    from app.worker import celery_app

    # Completion enqueues a background re-verification; no worker runs here: keep the
    # messages in memory instead of a broker shared with anything else.
    celery_app.conf.broker_url = "memory://localhost/"
    console.print(f"[bold]Archives bench[/bold]: {machine_load_note()}")
    base = get_settings()
    for noisy in ("httpx", "werkzeug"):  # no line per request (werkzeug: moto's server)
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with scratch_database("cs_bench_arch") as url, tempfile.TemporaryDirectory(prefix="cs-bench-objects-") as tmp:
        db = Database(url, pool_size=4)
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        try:
            tenant = await provision_tenant(db, f"bench_{uuid.uuid4().hex[:8]}", token_ttl=base.access_token_ttl)
            host, port = moto.get_host_and_port()
            stores = {
                "S3 (moto's server on loopback)": msgspec.structs.replace(
                    base, s3_endpoint=f"http://{host}:{port}", s3_access_key="bench", s3_secret_key="bench",
                    s3_region="us-east-1", s3_secure=False, s3_bucket_prefix=f"bn{uuid.uuid4().hex[:6]}-"),
                "local store (signed URLs served by the API)": msgspec.structs.replace(
                    base, s3_endpoint=None, data_dir=Path(tmp)),
            }
            for name, settings in stores.items():
                if args.store == "both" or name.lower().startswith(args.store):
                    await run_store(name, settings, db, tenant.slug, tenant.branch_ids[0], args)
        finally:
            moto.stop()
            await db.dispose()


if __name__ == "__main__":
    stop_cleanly_on_signals()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--page-kib", type=int, default=64)
    parser.add_argument("--batch", type=int, default=100, choices=range(1, 101), metavar="1..100")
    parser.add_argument("--store", choices=["both", "s3", "local"], default="both")
    asyncio.run(main(parser.parse_args()))
