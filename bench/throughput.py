"""Throughput of one authenticated, tenant-bound, permission-checked GET against a bare ceiling.

    .venv/bin/python bench/throughput.py [--duration 15] [--warmup 3] [--connections 50]
                                         [--rounds 1] [--explain] [--profile]

In a scratch database of its own (DATABASE_URL's server, else the embedded one) it
provisions a tenant with three branches, then serves, with uvicorn and 2 workers each:

* the app (`uvicorn --factory app.asgi:app_factory`): GET /api/v1/org/branches/{id} with a
  Bearer token minted from the database's signing key (verified in-process, tenant status
  and the route's scopes checked, the caller's grants, the record read by the tenant-bound
  reader of app/core/reads.py, msgspec response);
* the bare handler (``bare_app_factory`` below): a raw ASGI callable, no framework, that
  runs the same SELECT of the same row (schema-qualified) on an asyncpg pool and encodes
  the same JSON with msgspec: the practical ceiling of Python + PostgreSQL on this machine.

`wrk` (Debian's package) loads one target at a time, alternately, on loopback: a warm-up,
then ``--duration`` seconds per round. It prints req/s, p50 and p99 of both, their ratio,
and whether the targets are met; the scratch database is dropped at the end. With
``--profile`` it also samples one app worker with py-spy during an extra run and prints
where its CPU time goes. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TARGET_RATIO = 0.6
TARGET_P99_MS = 50.0
SERVER_WORKERS = 2
BRANCH_PATH = "/api/v1/org/branches/"


# ------------------------------------------------------------------- the bare handler


def _bare_parts() -> tuple[str, Any, int]:
    """What the bare targets share: the app's SELECT of one branch (every column,
    schema-qualified), the answer's shape (the app's OrgNodeOut fields), the pool size."""
    import msgspec

    from app.domains.org.models import OrgNode

    schema = os.environ["CS_BENCH_SCHEMA"]
    if not re.fullmatch(r"t_[a-z][a-z0-9_]{1,40}", schema):
        raise ValueError(f"not a tenant schema: {schema!r}")
    # Every column of the table, as SQLAlchemy's select(OrgNode) asks for.
    columns = [c.name for c in OrgNode.__table__.columns]
    sql = (f"SELECT {', '.join(columns)} FROM {schema}.org_nodes "
           "WHERE org_nodes.id = $1 AND org_nodes.kind = $2")
    pool_size = int(os.environ.get("CS_BENCH_POOL", "20"))  # the app's pool size per worker

    class Out(msgspec.Struct, rename="camel", kw_only=True):  # the app's OrgNodeOut fields
        id: uuid.UUID
        kind: str
        parent_id: uuid.UUID | None
        code: str
        name: str
        description: str | None
        version: int
        created_at: Any
        updated_at: Any

    return sql, Out, pool_size


def _out(shape: Any, row: Any) -> Any:
    return shape(id=row["id"], kind=row["kind"], parent_id=row["parent_id"], code=row["code"], name=row["name"],
                 description=row["description"], version=row["version"], created_at=row["created_at"],
                 updated_at=row["updated_at"])


def bare_app_factory() -> Any:
    """A raw ASGI app: the same SELECT on an asyncpg pool, msgspec JSON, nothing else.

    Imports stay inside so that uvicorn's workers load only what this needs.
    """
    import asyncpg
    import msgspec

    from app.core.db import libpq_url

    sql, Out, pool_size = _bare_parts()
    encode = msgspec.json.Encoder().encode
    state: dict[str, Any] = {}
    json_headers = [(b"content-type", b"application/json")]

    async def send_simple(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    state["pool"] = await asyncpg.create_pool(libpq_url(os.environ["DATABASE_URL"]),
                                                              min_size=2, max_size=pool_size)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await state["pool"].close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path: str = scope["path"]
        if path == "/health/live":
            await send_simple(send, 200, b'{"status":"ok","checks":[]}', json_headers)
            return
        if not path.startswith(BRANCH_PATH):
            await send_simple(send, 404, b"{}", json_headers)
            return
        try:
            node_id = uuid.UUID(path[len(BRANCH_PATH):])
        except ValueError:
            await send_simple(send, 404, b"{}", json_headers)
            return
        row = await state["pool"].fetchrow(sql, node_id, "branch")
        if row is None:
            await send_simple(send, 404, b"{}", json_headers)
            return
        body = encode(_out(Out, row))
        await send_simple(send, 200, body, [*json_headers, (b"etag", f'"{row["version"]}"'.encode())])

    return app


def litestar_app_factory() -> Any:
    """The bare handler's work inside Litestar (``--explain``): routing, path parsing, the
    handler call and the response, and nothing of the app (no authentication, scope check,
    reader, grants or problem handlers). What the framework alone costs against the raw ASGI app."""
    import asyncpg
    from litestar import Litestar, Response, get

    from app.core.db import libpq_url

    sql, Out, pool_size = _bare_parts()
    state: dict[str, Any] = {}

    async def open_pool(_: Any) -> None:
        state["pool"] = await asyncpg.create_pool(libpq_url(os.environ["DATABASE_URL"]), min_size=2,
                                                  max_size=pool_size)

    async def close_pool(_: Any) -> None:
        await state["pool"].close()

    @get("/health/live")
    async def live() -> dict[str, Any]:
        return {"status": "ok", "checks": []}

    @get(BRANCH_PATH + "{branch_id:uuid}")
    async def get_branch(branch_id: uuid.UUID) -> Response[Any]:
        row = await state["pool"].fetchrow(sql, branch_id, "branch")
        if row is None:
            return Response({}, status_code=404)
        return Response(_out(Out, row), headers={"etag": f'"{row["version"]}"'})

    return Litestar([live, get_branch], on_startup=[open_pool], on_shutdown=[close_pool], openapi_config=None,
                    signature_namespace={"Response": Response})


# ---------------------------------------------------------------------- the benchmark


def _profile(pyspy: str, pid: int, seconds: float, out: Path) -> subprocess.Popen[Any]:
    """py-spy on one worker for the measured run's length (bounded by -d). --nonblocking
    samples without pausing the worker; --gil keeps only samples of a thread holding the
    GIL, i.e. Python running, not threads or an event loop waiting."""
    return subprocess.Popen([pyspy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "250",
                             "--nonblocking", "--gil", "-f", "raw", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# Where a sample's time belongs: the first marker found walking from the root of its stack.
STEPS = [
    ("authentication middleware (token, tenant status, scopes)", "authenticate_request"),
    ("grants (authz dependency)", "provide_authz"),
    ("handler: read_node (checkout, SELECT on the driver, row)", "read_node"),
    ("response: OrgNodeOut, msgspec, headers", "_one"),
    ("response: uvicorn writing it", "send"),
    ("request: uvicorn reading it", "data_received"),
]


def summarise_profile(raw: Path, top: int = 15) -> list[str]:
    """Self time by package and by function, and time by request step, from py-spy's
    collapsed stacks (``frame;frame;... count``)."""
    by_package: collections.Counter[str] = collections.Counter()
    by_function: collections.Counter[str] = collections.Counter()
    by_step: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        leaf = frames[-1]
        by_function[leaf] += n
        by_package[_package(leaf)] += n
        step = "other (Litestar routing and DI, event loop)"
        for frame in frames:
            function = frame.split(" (", 1)[0].rsplit(".", 1)[-1]  # "Class.method (file:line)"
            names = [label for label, marker in STEPS if function == marker]
            if names:
                step = names[0]
                break
        by_step[step] += n
    if not total:
        return ["py-spy recorded no samples"]
    lines = [f"{total} samples of one worker's CPU; by request step (inclusive):"]
    lines += [f"  {n / total:6.1%}  {label}" for label, n in by_step.most_common()]
    lines.append("self time by package:")
    lines += [f"  {n / total:6.1%}  {label}" for label, n in by_package.most_common(8)]
    lines.append("self time by function:")
    lines += [f"  {n / total:6.1%}  {label}" for label, n in by_function.most_common(top)]
    return lines


def _package(frame: str) -> str:
    """py-spy names files relative to their sys.path entry: the first folder is the package."""
    match = re.search(r"\((.*?):\d+\)$", frame)
    parts = (match.group(1) if match else frame).split("/")
    if parts[0] == "app" and len(parts) > 2:
        return "app." + parts[1]
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


@dataclass
class Target:
    name: str
    factory: str
    env: dict[str, str] = field(default_factory=dict)


def measure(target: Target, *, url: str, ring: Any, slug: str, branch: uuid.UUID, args: argparse.Namespace,
            reference: dict[str, Any], profile_to: Path | None = None) -> Any:
    """Start the target alone, check its answer, warm it up, load it, stop it."""
    from _common import free_port, measured_run, run_wrk, server_env, uvicorn_server

    port = free_port()
    ring.issuer = f"http://127.0.0.1:{port}"  # the server's CORNERSTONE_ISSUER (see server_env)
    # A partner back end's token: tenant-bound, org:read only. The bare handler gets it too
    # (and ignores it) so that both parse the same request bytes.
    token = ring.mint(subject="bench-partner", client_id="bench-partner", scopes=["org:read"], tenant=slug)
    headers = {"Authorization": f"Bearer {token}"}
    env = server_env(url, port, bench_modules=True, CS_BENCH_SCHEMA=f"t_{slug}", CS_BENCH_TENANT=slug,
                     **target.env)
    with uvicorn_server(target.factory, port=port, env=env, workers=SERVER_WORKERS, ready_path="/health/live",
                        name=target.name) as server:
        record = server.url + BRANCH_PATH + str(branch)
        _check_answer(target.name, record, headers, reference)
        if args.warmup:
            run_wrk(record, connections=args.connections, duration=args.warmup, headers=headers)
        recorder = _profile(args.py_spy, server.workers()[0], args.duration, profile_to) if profile_to else None
        try:
            measured = measured_run(server, url, record, connections=args.connections, duration=args.duration,
                                    headers=headers)
            if recorder is not None:
                recorder.wait(timeout=args.duration + 60)
        finally:
            if recorder is not None and recorder.poll() is None:
                recorder.kill()
    return measured


def _check_answer(name: str, record: str, headers: dict[str, str], reference: dict[str, Any]) -> None:
    """Every target must answer the same record with the same JSON, or the comparison is void."""
    import httpx

    response = httpx.get(record, headers=headers, timeout=10)
    if response.status_code != 200:
        raise RuntimeError(f"{name}: GET {record} answered {response.status_code}: {response.text[:500]}")
    body = response.json()
    if not reference:
        reference.update(body)
    elif body != reference:
        raise RuntimeError(f"{name} answers differently:\n {body}\n {reference}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=15, help="seconds of load per target and round (15)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before each measured run (3)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent keep-alive connections (50)")
    parser.add_argument("--rounds", type=int, default=1, help="alternations app → bare (1)")
    parser.add_argument("--explain", action="store_true",
                        help="also measure Litestar with the bare SQL, and the app without its token check, "
                             "to find the costs")
    parser.add_argument("--profile", action="store_true",
                        help="sample one app worker with py-spy during one more run (py-spy on PATH or --py-spy)")
    parser.add_argument("--py-spy", default=shutil.which("py-spy"), help="path of py-spy")
    args = parser.parse_args()
    if not (1 <= args.duration <= 120 and 0 <= args.warmup <= 30 and 1 <= args.rounds <= 5
            and 1 <= args.connections <= 1000):
        parser.error("--duration 1..120, --warmup 0..30, --rounds 1..5, --connections 1..1000")
    if args.profile and not args.py_spy:
        parser.error("--profile needs py-spy (pip install py-spy, then put it on PATH or pass --py-spy)")

    from _common import (
        SHARED_CORES_NOTE,
        combine,
        console,
        load_key_ring,
        machine_load_note,
        provision_tenant,
        scratch_database,
        settle,
        stop_cleanly_on_signals,
        verdict,
        wrk_path,
    )

    from app.config import load_settings
    from app.core.db import Database

    stop_cleanly_on_signals()
    wrk_path()  # fail before anything is created when the load generator is missing
    console.print(machine_load_note())
    slug = "bench"
    targets = [Target("app", "app.asgi:app_factory"), Target("bare", "throughput:bare_app_factory")]
    if args.explain:
        targets.append(Target("Litestar + bare SQL", "throughput:litestar_app_factory"))
        targets.append(Target("app, no token check", "_common:app_variant_factory", {"CS_BENCH_NO_AUTH": "1"}))

    with scratch_database() as url:
        settings = load_settings({"DATABASE_URL": url})

        async def prepare() -> tuple[Any, Any]:
            db = Database(url, pool_size=2)
            try:
                tenant = await provision_tenant(db, slug, token_ttl=settings.access_token_ttl)
                ring = await load_key_ring(db, issuer=settings.issuer, audience=settings.audience,
                                           token_ttl=settings.access_token_ttl)
                return tenant, ring
            finally:
                await db.dispose()

        tenant, ring = asyncio.run(prepare())
        settle(url)
        branch = tenant.branch_ids[0]
        reference: dict[str, Any] = {}
        console.print(f"GET {BRANCH_PATH}{{id}}: uvicorn with {SERVER_WORKERS} workers per target, wrk "
                      f"{args.connections} connections, {args.warmup:g} s warm-up + {args.duration:g} s per run; "
                      "one target served and loaded at a time")
        console.print(f"[yellow]note[/yellow]: {SHARED_CORES_NOTE}")
        results: dict[str, list[Any]] = {t.name: [] for t in targets}
        for round_no in range(1, args.rounds + 1):
            for target in targets:
                m = measure(target, url=url, ring=ring, slug=slug, branch=branch, args=args, reference=reference)
                results[target.name].append(m)
                console.print(f"  round {round_no} {target.name:19} {m.line()}")

        summary = {name: combine([m.load for m in ms]) for name, ms in results.items()}
        cpu = {name: sum(m.cpu_us for m in ms) / len(ms) for name, ms in results.items()}
        app_r, bare_r = summary["app"], summary["bare"]
        ratio = app_r.rps / bare_r.rps if bare_r.rps else 0.0
        console.print(f"[bold]results[/bold] over {args.rounds} round(s): total requests / total time, "
                      "median p50, worst p99")
        for name, r in summary.items():
            console.print(f"  {name:19} {r.line()}  server CPU {cpu[name]:4.0f} µs/req")
        console.print(f"throughput ratio app/bare: {ratio:.2f} (target ≥ {TARGET_RATIO}) "
                      f"{verdict(ratio >= TARGET_RATIO)}")
        console.print(f"app p99 {app_r.p99_ms:.1f} ms at {args.connections} connections "
                      f"(target ≤ {TARGET_P99_MS:g} ms) {verdict(app_r.p99_ms <= TARGET_P99_MS)}")
        console.print(f"server CPU per request app/bare: {cpu['app'] / cpu['bare']:.1f}× "
                      f"({cpu['app']:.0f} vs {cpu['bare']:.0f} µs; PostgreSQL's own CPU not included)")

        if args.profile:
            with tempfile.TemporaryDirectory() as tmp:
                raw = Path(tmp) / "app.txt"
                m = measure(targets[0], url=url, ring=ring, slug=slug, branch=branch, args=args,
                            reference=reference, profile_to=raw)
                console.print(f"profiled run of the app (py-spy samples one worker and shares the cores): "
                              f"{m.load.line()}")
                for line in summarise_profile(raw):
                    console.print(line, markup=False, highlight=False)
        if any(r.failed for r in summary.values()):
            console.print("[red]some requests failed: the figures above are not valid[/red]")
            sys.exit(1)


if __name__ == "__main__":
    main()
