"""Care campaigns' channels and quiet hours: the group sets its quiet hours (its time zone),
messages due inside them are held until they end (past midnight too), never dropped; SMS and
app push go through the outbox's one interface, with adapters that log without the number or
the text where no gateway is configured; a customer's channel preference is honoured. And the
hourly scan as the beat runs it, through the real worker."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.routes import _create, _new_customer  # first: it loads the catalogue modules

# isort: split
from app.auth import outbox
from app.auth.models import OutboxMessage
from app.auth.outbox import deliver_message
from app.core import clock
from app.core.audit import SYSTEM
from app.domains.care.services import scan
from app.fanout.models import FanoutRun
from tests.catalogue.care import BASE, rule_body
from tests.catalogue.club import new_club, ok
from tests.catalogue.complaints import owner, tenant_ctx
from tests.worker.conftest import Worker, wait_for

SH = ZoneInfo("Asia/Shanghai")
MARKETING = {"kind": "marketing", "purpose": "节日及生日关怀", "channel": "app"}


async def _consenting(ctx: Any, *, account: bool) -> dict[str, Any]:
    customer = (await owner(ctx))[1] if account else (await _new_customer(ctx))[0]
    await ok(await ctx.client.post(f"/api/v1/customers/{customer['id']}/consents", headers=ctx.auth,
                                   json=MARKETING), 201)
    return dict(customer)


async def _messages(db: Any, customers: list[dict[str, Any]]) -> list[OutboxMessage]:
    ids = {c["id"] for c in customers}
    async with db.platform_session() as session:
        rows = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.data["event"].astext == "care.message").order_by(OutboxMessage.created_at))).all()
    return [m for m in rows if m.data["customerId"] in ids]


@contextmanager
def gateway(status: int) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP gateway answering ``status``: its URL and what it received."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the handler's protocol
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/send", received
    finally:
        server.shutdown()
        server.server_close()


async def test_quiet_hours_hold_channels_and_preferences(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                         monkeypatch: Any, caplog: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "carech")
    # This test delivers the scan's messages itself, through each adapter: the deliveries the
    # scan enqueues are recorded, not sent, or the run's worker (no gateway configured) would
    # take them first whenever an earlier test of this process has started it.
    enqueued: list[str] = []
    monkeypatch.setattr(outbox.deliver_after_commit, "apply_async",
                        lambda kwargs: enqueued.append(kwargs["message_id"]))
    a = await _consenting(ctx, account=True)  # prefers SMS, then the app
    e = await _consenting(ctx, account=True)  # no preference: the rule's order, push first
    c = await _consenting(ctx, account=False)  # a phone only
    url = f"{BASE}/preferences/{a['id']}"
    shown = await ctx.client.get(url, headers=ctx.auth)
    assert (await ok(shown))["channels"] == [] and shown.headers["etag"] == '"0"'
    bad = await ctx.client.put(url, headers={**ctx.auth, "If-Match": '"0"'}, json={"channels": ["fax"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("channels")
    await ok(await ctx.client.put(url, headers={**ctx.auth, "If-Match": '"0"'}, json={"channels": ["sms", "app"]}))
    assert (await ctx.client.put(url, headers={**ctx.auth, "If-Match": '"0"'},
                                 json={"channels": ["app"]})).status_code == 412
    for day in (1, 2):
        await _create(ctx, f"{BASE}/rules", rule_body(name=f"节日 10-0{day}", day=day,
                                                      channels=["push", "sms", "email"]))

    quiet = await ctx.client.get(f"{BASE}/quiet-hours", headers=ctx.auth)
    assert await ok(quiet) == {"start": "21:00:00", "end": "08:00:00", "timeZone": "Asia/Shanghai"}
    assert quiet.headers["etag"] == '"0"'
    await ok(await ctx.client.put(f"{BASE}/quiet-hours", headers={**ctx.auth, "If-Match": '"0"'},
                                  json={"start": "20:00:00", "end": "09:00:00"}))
    stale = await ctx.client.put(f"{BASE}/quiet-hours", headers={**ctx.auth, "If-Match": '"0"'},
                                 json={"start": "20:00:00", "end": "09:00:00"})
    assert stale.status_code == 412

    def at(moment: str) -> None:
        instant = datetime.fromisoformat(moment).replace(tzinfo=SH)
        monkeypatch.setattr(clock, "utcnow", lambda: instant.astimezone(ZoneInfo("UTC")))

    async def run() -> dict[str, int]:
        async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = SYSTEM
            return await scan(session)

    at("2027-10-01T08:30:00")  # inside the group's own quiet hours now (until 09:00)
    assert (await run())["quiet"] == 1
    at("2027-10-01T09:10:00")  # they ended: what was held goes out
    assert await run() == {"rules": 1, "sent": 3, "unreachable": 0, "held": 0, "quiet": 0}
    sent = await _messages(db, [a, e, c])
    assert sorted((m.data["customerId"], m.channel) for m in sent) == sorted(
        [(a["id"], "sms"), (e["id"], "push"), (c["id"], "sms")])
    assert all(re.fullmatch(r"1\d{10}", m.recipient) for m in sent if m.channel == "sms")
    # 2 October passes inside quiet hours and a scan that did not run: held, sent the next morning, once.
    at("2027-10-02T08:50:00")
    assert (await run())["quiet"] == 1
    at("2027-10-03T09:30:00")
    assert await run() == {"rules": 0, "sent": 3, "unreachable": 0, "held": 0, "quiet": 0}
    at("2027-10-03T10:30:00")
    assert (await run())["sent"] == 0
    held = [m for m in await _messages(db, [a, e, c]) if m.data["occasion"] == "holiday:2027-10-02"]
    assert len(held) == 3

    # The adapters: no gateway, a log line without the number or the text; a gateway, a POST.
    sms = next(m for m in sent if m.channel == "sms")
    assert {str(m.id) for m in sent} <= set(enqueued)
    with caplog.at_level(logging.INFO, logger="app.core.channels"):
        assert await deliver_message(db, sms.id, None, {}) == "sent"
    assert str(sms.id) in caplog.text and sms.recipient not in caplog.text and a["name"] not in caplog.text
    push = next(m for m in sent if m.channel == "push")
    with gateway(503) as (refusing, _):
        assert await deliver_message(db, push.id, None, {"push": refusing}) == "pending"
    with gateway(202) as (accepting, received):
        assert await deliver_message(db, push.id, None, {"push": accepting}) == "sent"
    assert [(r["id"], r["channel"], r["to"]) for r in received] == [(str(push.id), "push", push.recipient)]


async def test_the_care_scan_through_the_worker(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                worker: Worker) -> None:
    """The beat's task, run by the real worker with the real clock: held in quiet hours, then
    sent to those who consented, once."""
    from app.domains.care.tasks import care_scan

    ctx = await tenant_ctx(client, db, new_tenant, mint, "carewk")
    club, _ = await new_club(ctx)
    yes = await _consenting(ctx, account=True)
    no = (await owner(ctx))[1]  # no consent
    local = datetime.now(SH)
    for who in (yes, no):
        await _create(ctx, "/api/v1/club/members", {"clubId": club["id"], "customerId": who["id"],
                                                    "birthDate": f"1980-{local:%m-%d}"})
    await _create(ctx, f"{BASE}/rules", rule_body(name="生日祝福", occasion="birthday", month=None, day=None,
                                                  channels=["app"], subject="{name}，生日快乐"))

    async def set_quiet(start: int, end: int, version: int) -> None:
        await ok(await ctx.client.put(f"{BASE}/quiet-hours", headers={**ctx.auth, "If-Match": f'"{version}"'},
                                      json={"start": f"{(local.hour + start) % 24:02}:00:00",
                                            "end": f"{(local.hour + end) % 24:02}:00:00"}))

    async def run_once() -> None:
        task = care_scan.apply_async()

        async def finished() -> Any:
            async with db.platform_session() as session:
                run = await session.get(FanoutRun, task.id)
                return run is not None and run.finished_at is not None

        assert await wait_for(worker, finished, "the care scan's run")

    await set_quiet(0, 2, 0)  # now is inside them
    await run_once()
    held = await _messages(db, [yes, no])
    await set_quiet(2, 3, 1)  # now is outside them
    await run_once()
    sent = await _messages(db, [yes, no])
    assert held == []  # inside the quiet hours: held
    assert [(m.data["customerId"], m.channel) for m in sent] == [(yes["id"], "inbox")]  # consent only
    await run_once()
    assert [m.id for m in await _messages(db, [yes, no])] == [sent[0].id]  # once
