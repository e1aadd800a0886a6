"""Token endpoint throughput, and what verifying a token costs a tenant request.

    .venv/bin/python bench/tokens.py [--duration 10] [--warmup 2] [--connections 16] [--chains 16]
                                     [--get-connections 50]

In a scratch database of its own (DATABASE_URL's server, else the embedded one) it
provisions a tenant with a confidential client, a public client and an owner account,
serves the app with uvicorn (2 workers) on loopback and loads it with `wrk`, one run at a
time:

1. POST /oauth/token, client credentials, client_secret_basic (the partner back end);
2. POST /oauth/token, refresh_token grant: ``--chains`` independent chains in parallel,
   each request spending the refresh token the previous response of its chain returned
   (rotation with reuse detection: a chain that sent a spent token would be revoked, so
   the run also checks that no family was revoked). The first token of each chain is
   written to the database the way the server stores one (the sign-in flow is not what
   is measured here);
3. GET /api/v1/org/branches/{id} on two servers built through app.asgi.create_app that
   differ only in the authentication middleware, swapped inside this benchmark for one
   that hands every request the same principal (same route, scope check, reader, SQL and
   response): without a token; with one token reused (the
   verified-token cache answers); with a new token on every request (a full ES256
   signature and claims check each time). Alternated in ``--get-rounds`` rounds; reported
   as throughput ratios and as server CPU per request (the token's cost: verification
   plus the tenant status check).

It prints every figure and drops the scratch database at the end. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SERVER_WORKERS = 2
BRANCH_PATH = "/api/v1/org/branches/"
FORM = "application/x-www-form-urlencoded"

# Each wrk thread has one connection and carries one chain: response() keeps the refresh
# token the server just returned, request() spends it. wrk sends a connection's next
# request only after response() has run for the previous one.
REFRESH_LUA = r"""
local seeds = {%(seeds)s}
local made = 0
local threads = {}
setup = function(thread)
  made = made + 1
  thread:set("current", seeds[made])
  table.insert(threads, thread)
end
init = function(args) rotated = 0; broken = 0 end
request = function()
  return wrk.format("POST", nil, {["Content-Type"] = "%(form)s"},
                    "grant_type=refresh_token&client_id=%(client)s&refresh_token=" .. current)
end
response = function(status, headers, body)
  local token = status == 200 and body:match('"refresh_token"%%s*:%%s*"([^"]+)"')
  if token then current = token; rotated = rotated + 1 else broken = broken + 1 end
end
bench_extra = function()
  local rotated, broken = 0, 0
  for _, t in ipairs(threads) do rotated = rotated + t:get("rotated"); broken = broken + t:get("broken") end
  io.write(string.format("BENCH_EXTRA {\"rotated\":%%d,\"broken\":%%d}\n", rotated, broken))
end
"""

# Thread k of T sends tokens k, k+T, k+2T, ... from the file: no token is sent twice while
# the run has fewer requests than the file has tokens.
FRESH_LUA = r"""
local made = 0
setup = function(thread) thread:set("position", made); made = made + 1 end
init = function(args)
  tokens = {}
  for line in io.lines("%(path)s") do tokens[#tokens + 1] = line end
  step = %(threads)d
end
request = function()
  local token = tokens[(position %% #tokens) + 1]
  position = position + step
  return wrk.format(nil, nil, {["Authorization"] = "Bearer " .. token})
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per measured run (10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before each measured run (2)")
    parser.add_argument("--connections", type=int, default=16, help="connections for client credentials (16)")
    parser.add_argument("--chains", type=int, default=16, help="refresh-token chains in parallel (16)")
    parser.add_argument("--get-connections", type=int, default=50, help="connections for the GET runs (50)")
    parser.add_argument("--get-rounds", type=int, default=2, help="alternations no-auth → auth for the GET (2)")
    parser.add_argument("--fresh-tokens", type=int, default=30000,
                        help="distinct tokens minted for the new-token-per-request run (30000)")
    args = parser.parse_args()
    if not (1 <= args.duration <= 120 and 0 <= args.warmup <= 30 and 1 <= args.connections <= 500
            and 1 <= args.chains <= 64 and 1 <= args.get_rounds <= 5 and 1 <= args.get_connections <= 1000
            and 1000 <= args.fresh_tokens <= 200000):
        parser.error("--duration 1..120, --warmup 0..30, --connections 1..500, --chains 1..64, "
                     "--get-connections 1..1000, --fresh-tokens 1000..200000")

    from _common import (
        SHARED_CORES_NOTE,
        Measured,
        combine,
        console,
        free_port,
        load_key_ring,
        machine_load_note,
        measured_run,
        provision_tenant,
        run_wrk,
        scratch_database,
        server_env,
        stop_cleanly_on_signals,
        uvicorn_server,
        wrk_path,
    )

    from app.config import load_settings
    from app.core.db import Database

    stop_cleanly_on_signals()
    wrk_path()  # fail before anything is created when the load generator is missing
    console.print(machine_load_note())
    slug = "bench"
    with scratch_database() as url:
        settings = load_settings({"DATABASE_URL": url})

        async def prepare() -> tuple[Any, Any, list[str]]:
            db = Database(url, pool_size=2)
            try:
                tenant = await provision_tenant(db, slug, token_ttl=settings.access_token_ttl)
                ring = await load_key_ring(db, issuer=settings.issuer, audience=settings.audience,
                                           token_ttl=settings.access_token_ttl)
                # Chains for the warm-up and for the measured run: a chain's last token may be
                # spent by a request wrk abandons when its time is up, so no chain is reused.
                seeds = await seed_refresh_tokens(db, tenant, 2 * args.chains)
                return tenant, ring, seeds
            finally:
                await db.dispose()

        tenant, ring, seeds = asyncio.run(prepare())
        micro = verify_microbench(ring, slug)
        console.print(f"in-process KeyRing (this process, no HTTP): mint {micro['mint']:.0f} µs, verify a new token "
                      f"{micro['verify']:.0f} µs, verify a cached token {micro['cached']:.1f} µs")
        console.print(f"[yellow]note[/yellow]: {SHARED_CORES_NOTE}")

        port = free_port()
        ring.issuer = f"http://127.0.0.1:{port}"  # the server's CORNERSTONE_ISSUER (see server_env)
        basic = base64.b64encode(f"{tenant.partner_id}:{tenant.partner_secret}".encode()).decode()
        token_url = f"http://127.0.0.1:{port}/oauth/token"
        record_path = BRANCH_PATH + str(tenant.branch_ids[0])
        results: dict[str, Any] = {}
        # All the load comes from one address (127.0.0.1): lift the per-address limit on the
        # OAuth endpoints, or the bench would measure 429s. The limiter itself still runs.
        app_env = server_env(url, port, CORNERSTONE_AUTH_RATE_LIMIT="1000000")
        with uvicorn_server("app.asgi:app_factory", port=port, env=app_env, workers=SERVER_WORKERS,
                            ready_path="/health/live", name="app") as server:
            # 1. Client credentials, client_secret_basic.
            cc_headers = {"Authorization": f"Basic {basic}", "Content-Type": FORM}
            cc_script = 'wrk.method = "POST"\nwrk.body = "grant_type=client_credentials&scope=org%3Aread"\n'
            access = _check_token_endpoint(token_url, cc_headers, "grant_type=client_credentials&scope=org%3Aread")
            _check_get(server.url + record_path, access)  # the issued token opens the tenant endpoint
            if args.warmup:
                run_wrk(token_url, connections=args.connections, duration=args.warmup, headers=cc_headers,
                        script=cc_script)
            m = measured_run(server, url, token_url, connections=args.connections, duration=args.duration,
                             headers=cc_headers, script=cc_script)
            results["client credentials"] = m
            console.print(f"client credentials ({args.connections} conns)   {m.line()}")

            # 2. Refresh chains: one wrk thread (one connection) per chain.
            def refresh_script(chain_seeds: list[str]) -> str:
                return REFRESH_LUA % {"seeds": ", ".join(f'"{s}"' for s in chain_seeds), "form": FORM,
                                      "client": tenant.mobile_id}

            if args.warmup:
                run_wrk(token_url, connections=args.chains, threads=args.chains, duration=args.warmup,
                        script=refresh_script(seeds[:args.chains]))
            m = measured_run(server, url, token_url, connections=args.chains, threads=args.chains,
                             duration=args.duration, script=refresh_script(seeds[args.chains:]))
            results["refresh"] = m
            revoked = asyncio.run(_revoked_refresh_tokens(url))
            console.print(f"refresh, {args.chains} chains            {m.line()}  "
                          f"rotated {m.load.extra.get('rotated')}, broken {m.load.extra.get('broken')}, "
                          f"families revoked for reuse: {revoked}")
            if m.load.extra.get("broken") or revoked:
                console.print("[red]a chain broke: the refresh figure is not valid[/red]")

        # 3. The tenant GET, on two servers that differ only in their authentication
        # middleware, both built by _common.app_variant_factory. Alternated in rounds.
        record_path = BRANCH_PATH + str(tenant.branch_ids[0])
        tokens_file = Path(tempfile.mkdtemp(prefix="bench-tokens-")) / "tokens.txt"
        get_runs: dict[str, list[Any]] = {"GET, no auth": [], "GET, token reused": [], "GET, new token each": []}
        try:
            for _ in range(args.get_rounds):
                port = free_port()
                env = server_env(url, port, bench_modules=True, CS_BENCH_NO_AUTH="1",
                                 CS_BENCH_TENANT=slug)
                with uvicorn_server("_common:app_variant_factory", port=port, env=env, workers=SERVER_WORKERS,
                                    ready_path="/health/live", name="app-noauth") as server:
                    get_url = server.url + record_path
                    _check_get(get_url, None)
                    if args.warmup:
                        run_wrk(get_url, connections=args.get_connections, duration=args.warmup)
                    get_runs["GET, no auth"].append(measured_run(
                        server, url, get_url, connections=args.get_connections, duration=args.duration))

                port = free_port()
                ring.issuer = f"http://127.0.0.1:{port}"
                env = server_env(url, port, bench_modules=True)
                with uvicorn_server("_common:app_variant_factory", port=port, env=env, workers=SERVER_WORKERS,
                                    ready_path="/health/live", name="app-auth") as server:
                    get_url = server.url + record_path
                    # One token, reused: after its first request the verified-token cache answers.
                    token = ring.mint(subject=tenant.partner_id, client_id=tenant.partner_id, scopes=["org:read"],
                                      tenant=slug)
                    _check_get(get_url, token)
                    headers = {"Authorization": f"Bearer {token}"}
                    if args.warmup:
                        run_wrk(get_url, connections=args.get_connections, duration=args.warmup, headers=headers)
                    get_runs["GET, token reused"].append(measured_run(
                        server, url, get_url, connections=args.get_connections, duration=args.duration,
                        headers=headers))
                    # A new token on every request: a full signature and claims check each time.
                    # Minted for this server's issuer (each server has its own port).
                    started = time.perf_counter()
                    tokens_file.write_text("\n".join(
                        ring.mint(subject=tenant.partner_id, client_id=tenant.partner_id, scopes=["org:read"],
                                  tenant=slug) for _ in range(args.fresh_tokens)) + "\n")
                    console.print(f"  minted {args.fresh_tokens} distinct tokens in "
                                  f"{time.perf_counter() - started:.1f} s")
                    m = measured_run(server, url, get_url, connections=args.get_connections, duration=args.duration,
                                     script=FRESH_LUA % {"path": tokens_file, "threads": 2})
                    get_runs["GET, new token each"].append(m)
                    if m.load.requests > args.fresh_tokens:
                        console.print(f"[yellow]{m.load.requests} requests for {args.fresh_tokens} tokens: some "
                                      "were sent twice and may have hit the cache; raise --fresh-tokens[/yellow]")
        finally:
            shutil.rmtree(tokens_file.parent, ignore_errors=True)
        for name, runs in get_runs.items():
            loads = [r.load for r in runs]
            results[name] = Measured(load=combine(loads), cpu_us=sum(r.cpu_us for r in runs) / len(runs),
                                     new_connections=sum(r.new_connections for r in runs))

        console.print(f"[bold]GET {BRANCH_PATH}{{id}}[/bold], {args.get_connections} connections:")
        base = results["GET, no auth"]
        for name in ("GET, no auth", "GET, token reused", "GET, new token each"):
            m = results[name]
            ratio = m.load.rps / base.load.rps if base.load.rps else 0.0
            extra = "" if name == "GET, no auth" else (
                f"  → {ratio:.2f}× the no-auth throughput, {m.cpu_us - base.cpu_us:+.0f} µs server CPU per request")
            console.print(f"  {name:20} {m.line()}{extra}")
        console.print(f"  ({args.get_rounds} alternating rounds; both servers: app.asgi.create_app, "
                      "differing only in the authentication middleware. CPU per request is the "
                      "steadier figure when other work shares the machine)")
        if any(m.load.failed for m in results.values()):
            console.print("[red]some requests failed: the figures above are not valid[/red]")
            sys.exit(1)


async def seed_refresh_tokens(db: Any, tenant: Any, count: int) -> list[str]:
    """Refresh tokens for the owner through the public client, stored as save_token stores
    them (sha256 digest, one family each)."""
    from datetime import timedelta

    from app.auth.models import RefreshToken
    from app.auth.server import REFRESH_TTL, digest, new_secret
    from app.core.clock import utcnow
    from app.core.ids import new_id

    secrets_: list[str] = []
    now = utcnow()
    async with db.platform_transaction() as session:
        for _ in range(count):
            secret = new_secret()
            secrets_.append(secret)
            session.add(RefreshToken(token_hash=digest(secret), family_id=new_id(), parent_id=None,
                                     client_id=tenant.mobile_id, account_id=tenant.owner_id,
                                     tenant_id=tenant.tenant_id, scope="org:read owner:self", issued_at=now,
                                     expires_at=now + min(REFRESH_TTL, timedelta(days=1))))
    return secrets_


async def _revoked_refresh_tokens(url: str) -> int:
    from sqlalchemy import func, select

    from app.auth.models import RefreshToken
    from app.core.db import Database

    db = Database(url, pool_size=1)
    try:
        async with db.platform_session() as session:
            return int(await session.scalar(select(func.count()).select_from(RefreshToken)
                                            .where(RefreshToken.revoked_at.is_not(None))) or 0)
    finally:
        await db.dispose()


def verify_microbench(ring: Any, slug: str, n: int = 2000) -> dict[str, float]:
    """µs per mint and per verify in this process: the floor under the HTTP figures."""
    started = time.perf_counter()
    tokens = [ring.mint(subject="bench", client_id="bench", scopes=["org:read"], tenant=slug) for _ in range(n)]
    minted = time.perf_counter()
    for token in tokens:
        ring.verify(token)
    verified = time.perf_counter()
    for token in tokens:
        ring.verify(token)
    cached = time.perf_counter()
    return {"mint": (minted - started) / n * 1e6, "verify": (verified - minted) / n * 1e6,
            "cached": (cached - verified) / n * 1e6}


def _check_token_endpoint(url: str, headers: dict[str, str], body: str) -> str:
    import httpx

    response = httpx.post(url, headers=headers, content=body, timeout=10)
    if response.status_code != 200 or "access_token" not in response.json():
        raise RuntimeError(f"POST {url} answered {response.status_code}: {response.text[:500]}")
    return str(response.json()["access_token"])


def _check_get(url: str, token: str | None) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(url, headers=headers, timeout=10)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text[:500]}")


if __name__ == "__main__":
    main()
