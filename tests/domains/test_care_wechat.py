"""WeChat template messages for care campaigns, as the owner's app and the group's staff use them:
an owner binds their WeChat (the openid sealed, one owner's only, never shown back) and chooses
their channels and their own quiet hours in the app; staff see whether an owner is bound; the
care scan reaches a bound owner by WeChat, passes over an unbound one with the reason recorded,
and holds an owner's message in their own quiet hours. And the adapter, against a local HTTP
server standing in for the official account's API: the access token fetched once and cached,
a stale token fetched anew, errcode answers retried or recorded failed, never sent twice."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import select

from tests.routes import _create  # first: it loads the catalogue modules

# isort: split
from app.auth import outbox
from app.auth.models import OutboxMessage
from app.auth.outbox import deliver_message
from app.config import get_settings
from app.core import channels, clock
from app.core.audit import SYSTEM, tenant_audit
from app.domains.care import services
from app.domains.care.models import WechatBinding
from app.domains.care.services import scan
from tests.catalogue.care import BASE, MINE, bind, openid, rule_body
from tests.catalogue.club import ok
from tests.catalogue.complaints import owner, tenant_ctx

SH = ZoneInfo("Asia/Shanghai")
MARKETING = {"kind": "marketing", "purpose": "节日及生日关怀", "channel": "app"}


async def _owner(ctx: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """A home owner in the app who consented to care messages: their headers and customer."""
    auth, customer, _ = await owner(ctx)
    await ok(await ctx.client.post(f"/api/v1/customers/{customer['id']}/consents", headers=ctx.auth,
                                   json=MARKETING), 201)
    return auth, dict(customer)


async def _outbox(db: Any, customer: dict[str, Any]) -> list[OutboxMessage]:
    async with db.platform_session() as session:
        rows = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.data["event"].astext == "care.message",
            OutboxMessage.data["customerId"].astext == customer["id"]).order_by(OutboxMessage.created_at))).all()
    return list(rows)


def _clock(monkeypatch: Any) -> Any:
    def at(moment: str) -> None:
        instant = datetime.fromisoformat(moment).replace(tzinfo=SH)
        monkeypatch.setattr(clock, "utcnow", lambda: instant.astimezone(ZoneInfo("UTC")))

    return at


def _scanner(db: Any, ctx: Any) -> Any:
    async def run() -> dict[str, int]:
        async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = SYSTEM  # as the worker binds it
            return await scan(session)

    return run


def _record_deliveries(monkeypatch: Any) -> list[str]:
    # The test delivers the scan's messages itself, through the adapter: the deliveries the scan
    # enqueues are recorded, not sent, or a worker started by an earlier test would take them.
    enqueued: list[str] = []
    monkeypatch.setattr(outbox.deliver_after_commit, "apply_async",
                        lambda kwargs: enqueued.append(kwargs["message_id"]))
    return enqueued


async def test_an_owner_binds_wechat_and_chooses_channels_in_the_app(client: Any, db: Any, new_tenant: Any,
                                                                     mint: Any, monkeypatch: Any,
                                                                     caplog: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "carewx")
    _record_deliveries(monkeypatch)
    app_a, a = await _owner(ctx)  # binds WeChat, prefers it, and keeps quiet until 10:00
    app_b, b = await _owner(ctx)  # never binds: passed over for WeChat, reached in the app

    # The owner's app: defaults first.
    prefs = await ctx.client.get(f"{MINE}/preferences", headers=app_a)
    assert await ok(prefs) == {"channels": [], "quietHours": None, "updatedAt": None, "version": 0,
                               "wechat": {"bound": False, "boundAt": None, "version": 0}}
    assert prefs.headers["etag"] == '"0"'
    # Binding: bad input is a 422 naming the field; one openid is one owner's.
    bad = await bind(ctx, app_a, "not an openid!")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "openid"
    mine = openid()
    bound = await bind(ctx, app_a, mine)
    assert bound.status_code == 201 and bound.headers["location"] == f"{MINE}/wechat"
    assert bound.json()["bound"] is True and mine not in bound.text
    taken = await bind(ctx, app_b, mine)
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "openid"
    # Sealed at rest, and out of the audit trail.
    async with db.tenant_session(f"t_{ctx.tenant}") as session:
        stored = (await session.execute(select(WechatBinding.openid_sealed, WechatBinding.openid_index))).one()
        trail = (await session.scalars(select(tenant_audit.c.after).where(
            tenant_audit.c.action == "care.wechat.bind"))).all()
    assert mine.encode() not in stored[0] and mine not in stored[1]
    assert trail and all(mine not in json.dumps(t) for t in trail)
    # Staff see whether an owner is bound, never the openid.
    seen_a = await ok(await ctx.client.get(f"{BASE}/preferences/{a['id']}", headers=ctx.auth))
    seen_b = await ok(await ctx.client.get(f"{BASE}/preferences/{b['id']}", headers=ctx.auth))
    assert (seen_a["wechatBound"], seen_b["wechatBound"]) == (True, False) and mine not in json.dumps(seen_a)
    # A person's copy of their data (PIPL art. 45) does show them their openid.
    from app.domains.care.personal import PERSONAL

    async with db.tenant_session(f"t_{ctx.tenant}") as session:
        copy = await next(h for h in PERSONAL.holdings if h.kind == "care.wechat").collect(session, a["id"])
    assert [c["openid"] for c in copy] == [mine]

    # Channels and quiet hours from the app: If-Match, 412 when stale, 422 for bad input.
    url = f"{MINE}/preferences"
    body = {"channels": ["wechat", "app"], "quietHours": {"start": "22:00:00", "end": "10:00:00"}}
    assert (await ctx.client.put(url, headers=app_a, json=body)).status_code == 428
    bad = await ctx.client.put(url, headers={**app_a, "If-Match": '"0"'}, json={"channels": ["fax"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("channels")
    bad = await ctx.client.put(url, headers={**app_a, "If-Match": '"0"'},
                               json={"channels": [], "quietHours": {"start": "25:00:00", "end": "08:00:00"}})
    assert bad.status_code == 422
    chosen = await ctx.client.put(url, headers={**app_a, "If-Match": '"0"'}, json=body)
    assert (await ok(chosen))["channels"] == ["wechat", "app"] and chosen.headers["etag"] == '"1"'
    assert chosen.json()["quietHours"] == {"start": "22:00:00", "end": "10:00:00", "timeZone": "Asia/Shanghai"}
    assert chosen.json()["wechat"]["bound"] is True
    assert (await ctx.client.put(url, headers={**app_a, "If-Match": '"0"'}, json=body)).status_code == 412
    staff_view = await ok(await ctx.client.get(f"{BASE}/preferences/{a['id']}", headers=ctx.auth))
    assert staff_view["channels"] == ["wechat", "app"] and staff_view["quietHours"]["end"] == "10:00:00"
    # A staff token is no owner's: it has no preferences of its own to set.
    assert (await ctx.client.put(url, headers={**ctx.auth, "If-Match": '"0"'}, json=body)).status_code in (403, 404)

    # The campaign: WeChat first, then the app.
    await _create(ctx, f"{BASE}/rules", rule_body(name="国庆 WeChat", channels=["wechat", "app"]))
    at, run = _clock(monkeypatch), _scanner(db, ctx)
    at("2027-10-01T09:30:00")  # the group's quiet hours ended; A's own last until 10:00
    counts = await run()
    assert (counts["sent"], counts["held"]) == (1, 1)
    [to_b] = await _outbox(db, b)
    assert to_b.channel == "inbox" and await _outbox(db, a) == []
    shown = await ok(await ctx.client.get(f"{BASE}/messages", headers=ctx.auth, params={"customerId": b["id"]}))
    assert [(m["channel"], m["skipped"]) for m in shown["items"]] == [
        ("inbox", [{"channel": "wechat", "reason": "no WeChat binding"}])]
    at("2027-10-01T10:30:00")
    assert (await run())["sent"] == 1
    [to_a] = await _outbox(db, a)
    assert (to_a.channel, to_a.recipient) == ("wechat", mine)
    assert to_a.data["wechat"] == {"kind": "holiday", "fields": {
        "first": f"{a['name']}，国庆快乐", "keyword1": a["name"], "keyword2": "2027-10-01",
        "remark": f"{a['name']}您好，祝您国庆快乐！"}}
    at("2027-10-01T15:00:00")
    assert (await run())["sent"] == 0  # once
    # No official account configured: the adapter logs, without the openid or the text.
    with caplog.at_level(logging.INFO, logger="app.core.channels"):
        assert await deliver_message(db, to_a.id, None, {}) == "sent"
    assert str(to_a.id) in caplog.text and mine not in caplog.text and a["name"] not in caplog.text

    # A deployment whose account has no template for birthdays: WeChat passed over, said why.
    configured = msgspec.structs.replace(get_settings(), wechat_url="https://wx:secret@127.0.0.1:9?holiday=T1")
    monkeypatch.setattr(services, "get_settings", lambda: configured)
    from tests.catalogue.club import new_club

    club, _ = await new_club(ctx)
    await _create(ctx, "/api/v1/club/members", {"clubId": club["id"], "customerId": a["id"],
                                                "birthDate": "1980-10-02"})
    await _create(ctx, f"{BASE}/rules", rule_body(name="生日 WeChat", occasion="birthday", month=None, day=None,
                                                  channels=["wechat", "app"]))
    at("2027-10-02T10:30:00")
    assert (await run())["sent"] == 1
    birthday = await ok(await ctx.client.get(f"{BASE}/messages", headers=ctx.auth, params={"customerId": a["id"]}))
    assert [(m["channel"], m["skipped"]) for m in birthday["items"] if m["occasion"] == "birthday:2027"] == [
        ("inbox", [{"channel": "wechat", "reason": "no WeChat template for birthday"}])]

    # Unbinding: If-Match; then staff see it unbound, and the openid is free for another owner.
    wx = await ctx.client.get(f"{MINE}/wechat", headers=app_a)
    assert (await ok(wx))["bound"] is True
    assert (await ctx.client.delete(f"{MINE}/wechat", headers=app_a)).status_code == 428
    assert (await ctx.client.delete(f"{MINE}/wechat", headers={**app_a, "If-Match": '"9"'})).status_code == 412
    gone = await ctx.client.delete(f"{MINE}/wechat", headers={**app_a, "If-Match": wx.headers["etag"]})
    assert gone.status_code == 204
    assert (await ctx.client.delete(f"{MINE}/wechat", headers={**app_a, "If-Match": '"0"'})).status_code == 404
    assert (await ok(await ctx.client.get(f"{MINE}/wechat", headers=app_a)))["bound"] is False
    assert (await ok(await ctx.client.get(f"{BASE}/preferences/{a['id']}", headers=ctx.auth)))["wechatBound"] is False
    assert (await bind(ctx, app_b, mine)).status_code == 201


# ------------------------------------------------------------------ the official account's API


@dataclass
class OfficialAccount:
    """What the local stand-in for api.weixin.qq.com received, and what it answers next."""

    url: str
    tokens: list[dict[str, list[str]]] = field(default_factory=list)  # the token requests' queries
    sends: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (access_token, body)
    answers: list[dict[str, Any]] = field(default_factory=list)  # the next sends' answers, in order
    issued: int = 0


@contextmanager
def official_account() -> Iterator[OfficialAccount]:
    account = OfficialAccount(url="")

    class Handler(BaseHTTPRequestHandler):
        def _json(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)  # WeChat answers 200 and says what happened in errcode
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - the handler's protocol
            parts = urlsplit(self.path)
            assert parts.path == "/cgi-bin/token"
            account.tokens.append(parse_qs(parts.query))
            account.issued += 1
            self._json({"access_token": f"TOKEN-{account.issued}", "expires_in": 7200})

        def do_POST(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            assert parts.path == "/cgi-bin/message/template/send"
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            account.sends.append((parse_qs(parts.query)["access_token"][0], body))
            self._json(account.answers.pop(0) if account.answers else {"errcode": 0, "errmsg": "ok", "msgid": 1})

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    account.url = f"http://wx-app-id:wx-secret@127.0.0.1:{server.server_address[1]}?holiday=TPL-HOLIDAY"
    try:
        yield account
    finally:
        server.shutdown()
        server.server_close()


async def test_the_wechat_adapter_against_a_local_official_account(client: Any, db: Any, new_tenant: Any,
                                                                    mint: Any, monkeypatch: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "carewxgw")
    enqueued = _record_deliveries(monkeypatch)
    owners = [await _owner(ctx) for _ in range(3)]
    ids = [openid() for _ in owners]
    for (app, _), value in zip(owners, ids, strict=True):
        assert (await bind(ctx, app, value)).status_code == 201
    await _create(ctx, f"{BASE}/rules", rule_body(name="国庆 WeChat", channels=["wechat"]))
    at, run = _clock(monkeypatch), _scanner(db, ctx)
    at("2027-10-01T09:30:00")
    assert (await run())["sent"] == 3
    [stale, busy, unfollowed] = [(await _outbox(db, c))[0] for _, c in owners]
    assert {str(m.id) for m in (stale, busy, unfollowed)} <= set(enqueued)
    channels._tokens.clear()  # a fresh process: no token cached

    with official_account() as wx:
        gateways = {"wechat": wx.url}
        # A token WeChat no longer honours: dropped, the attempt fails; the next fetches another.
        wx.answers = [{"errcode": 40001, "errmsg": "invalid credential"}]
        assert await deliver_message(db, stale.id, None, gateways) == "pending"
        assert await deliver_message(db, stale.id, None, gateways) == "sent"
        # WeChat busy: retried; then sent with the cached token.
        wx.answers = [{"errcode": -1, "errmsg": "system error"}]
        assert await deliver_message(db, busy.id, None, gateways) == "pending"
        assert await deliver_message(db, busy.id, None, gateways) == "sent"
        # An owner who unfollowed the account: never deliverable, recorded failed at once.
        wx.answers = [{"errcode": 43004, "errmsg": "require subscribe"}]
        assert await deliver_message(db, unfollowed.id, None, gateways) == "failed"
        # Redelivered tasks (a resend, a duplicate): nothing goes to WeChat again.
        for m in (stale, busy, unfollowed):
            assert await deliver_message(db, m.id, None, gateways) in ("sent", "failed")

    assert [q["appid"] + q["secret"] + q["grant_type"] for q in wx.tokens] == \
        [["wx-app-id", "wx-secret", "client_credential"]] * 2  # once, and once more after the stale token
    assert [(token, body["touser"]) for token, body in wx.sends] == [
        ("TOKEN-1", ids[0]), ("TOKEN-2", ids[0]), ("TOKEN-2", ids[1]), ("TOKEN-2", ids[1]), ("TOKEN-2", ids[2])]
    name = owners[0][1]["name"]
    assert wx.sends[0][1] == {"touser": ids[0], "template_id": "TPL-HOLIDAY", "data": {
        "first": {"value": f"{name}，国庆快乐"}, "keyword1": {"value": name}, "keyword2": {"value": "2027-10-01"},
        "remark": {"value": f"{name}您好，祝您国庆快乐！"}}}
    async with db.platform_session() as session:
        after = {m.id: m for m in (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.id.in_([stale.id, busy.id, unfollowed.id])))).all()}
    assert [(after[m.id].status.value, after[m.id].attempts) for m in (stale, busy, unfollowed)] == [
        ("sent", 2), ("sent", 2), ("failed", 1)]
    assert "43004" in (after[unfollowed.id].last_error or "")
