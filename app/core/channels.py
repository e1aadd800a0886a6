"""The outbox's channels beyond mail and the in-app inbox: SMS to a phone number, app push to
an owner account's devices, and WeChat template messages to an owner's openid. Domains reach
them through the one interface, ``app.core.notify.queue_messages(channel=SMS | PUSH | WECHAT)``;
the outbox's delivery task hands each message to its channel's adapter here:

- a gateway configured (``CORNERSTONE_SMS_GATEWAY_URL``, ``CORNERSTONE_PUSH_GATEWAY_URL``): a
  JSON ``POST`` of ``{"id", "channel", "to", "subject", "body"}`` with the message id as
  ``Idempotency-Key`` (a resend is the same message); a 2xx answer is delivery, anything else
  a failed attempt the outbox retries;
- WeChat (``CORNERSTONE_WECHAT_URL``, ``https://APPID:SECRET@api.weixin.qq.com?birthday=…``):
  the official account's template-message API. An access token is fetched with the app id and
  secret (``GET /cgi-bin/token``) and cached until shortly before it expires; the message goes
  as ``POST /cgi-bin/message/template/send?access_token=…`` with ``{touser, template_id,
  data: {key: {value}}}``, the template chosen by the message's kind (its ``data["wechat"]``,
  :func:`wechat_data`). WeChat answers HTTP 200 with an ``errcode``: 0 is delivery; an expired
  or invalid token drops the cached one and the attempt fails (retried with a new token); an
  openid that unfollowed or refused, or a wrong template, can never succeed: the message is
  :class:`Undeliverable` and recorded failed at once; any other code is a failed attempt the
  outbox retries. A message WeChat answered with an error was not sent, so a retry never
  sends it twice; one it accepted is marked sent in the same transaction, so never resent;
- none (development, tests): the adapter logs that the message was not sent — its id, channel
  and length only, never the recipient (a phone number, an account, an openid) nor the text
  (which names the customer).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

log = logging.getLogger(__name__)

SMS = "sms"  # to a phone number (E.164 or a mainland mobile number)
PUSH = "push"  # to an owner account id: the app's devices signed in to it
WECHAT = "wechat"  # a WeChat template message to an openid of the official account
GATEWAY_TIMEOUT = 15.0
TOKEN_MARGIN = 300  # seconds before its expiry a cached access token is fetched anew
# errcodes of the template-message API (WeChat's documentation of /cgi-bin/message/template/send).
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid or expired access token: fetch another
UNDELIVERABLE = frozenset({40003, 40037, 43004, 43101})  # bad openid, bad template, unfollowed, refused


class Outgoing(Protocol):
    """What an adapter reads of an outbox message."""

    @property
    def id(self) -> object: ...
    @property
    def recipient(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


class GatewayRefused(Exception):
    """The gateway answered, but not with a 2xx (or, WeChat, with an error code): the attempt failed."""


class Undeliverable(Exception):
    """The gateway refused the message for good (retrying cannot help): it is recorded failed."""


async def send(channel: str, message: Outgoing, gateways: Mapping[str, str | None]) -> None:
    """Deliver ``message`` on ``channel`` (SMS, PUSH or WECHAT) through its gateway, or log it."""
    url = gateways.get(channel)
    if not url:
        log.info("outbox %s: %s message of %d characters not sent: no %s gateway configured",
                 message.id, channel, len(message.body), channel)
        return
    if channel == WECHAT:
        await _send_wechat(message, wechat_account(url))
        return
    payload = {"id": str(message.id), "channel": channel, "to": message.recipient, "subject": message.subject,
               "body": message.body}
    async with httpx.AsyncClient(timeout=GATEWAY_TIMEOUT) as client:
        response = await client.post(url, json=payload, headers={"Idempotency-Key": str(message.id)})
    if not response.is_success:
        raise GatewayRefused(f"the {channel} gateway answered {response.status_code}")



# --------------------------------------------------------------------------------- WeChat


@dataclass(frozen=True)
class WechatAccount:
    """The official account the template messages go out through (``CORNERSTONE_WECHAT_URL``)."""

    api: str  # scheme://host[:port] of the API
    app_id: str
    secret: str
    templates: Mapping[str, str]  # message kind (a care occasion: birthday, holiday, ...) -> template id


def wechat_account(url: str) -> WechatAccount:
    parts = urlsplit(url)
    if not parts.username or not parts.password or not parts.hostname:
        raise ValueError("a WeChat URL names the app id and secret: https://APPID:SECRET@host?kind=template")
    port = f":{parts.port}" if parts.port else ""
    return WechatAccount(api=f"{parts.scheme}://{parts.hostname}{port}", app_id=unquote(parts.username),
                         secret=unquote(parts.password), templates=dict(parse_qsl(parts.query)))


def wechat_data(kind: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """What a WeChat message carries in its outbox ``data``: its kind (which template) and the
    template's fields by key."""
    return {"kind": kind, "fields": dict(fields)}


# (api, app id) -> (access token, monotonic time it is good until). Per process: a second
# worker fetching its own token is harmless, the previous one stays valid a few minutes.
_tokens: dict[tuple[str, str], tuple[str, float]] = {}


def _answer(response: httpx.Response, what: str) -> dict[str, Any]:
    if not response.is_success:
        raise GatewayRefused(f"WeChat {what} answered HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise GatewayRefused(f"WeChat {what} answered no JSON") from None
    if not isinstance(body, dict):
        raise GatewayRefused(f"WeChat {what} answered no JSON object")
    return body


async def _access_token(client: httpx.AsyncClient, account: WechatAccount) -> str:
    key = (account.api, account.app_id)
    cached = _tokens.get(key)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    body = _answer(await client.get(f"{account.api}/cgi-bin/token", params={
        "grant_type": "client_credential", "appid": account.app_id, "secret": account.secret}), "token")
    token, expires_in = body.get("access_token"), body.get("expires_in")
    if not isinstance(token, str) or not isinstance(expires_in, int):
        raise GatewayRefused(f"WeChat token: errcode {body.get('errcode')} {body.get('errmsg', '')}".strip())
    _tokens[key] = (token, time.monotonic() + max(expires_in - TOKEN_MARGIN, 0))
    return token


async def _send_wechat(message: Outgoing, account: WechatAccount) -> None:
    wechat = message.data.get("wechat")
    if not isinstance(wechat, dict):
        raise Undeliverable("the message carries no WeChat template fields")
    template = account.templates.get(str(wechat.get("kind")))
    if template is None:
        raise Undeliverable(f"no WeChat template configured for {wechat.get('kind')!r} messages")
    payload = {"touser": message.recipient, "template_id": template,
               "data": {key: {"value": value} for key, value in dict(wechat.get("fields") or {}).items()}}
    async with httpx.AsyncClient(timeout=GATEWAY_TIMEOUT) as client:
        token = await _access_token(client, account)
        body = _answer(await client.post(f"{account.api}/cgi-bin/message/template/send",
                                         params={"access_token": token}, json=payload), "template send")
    code = body.get("errcode", 0)
    if code == 0:
        return
    error = f"WeChat errcode {code} {body.get('errmsg', '')}".strip()
    if code in TOKEN_ERRORS:
        _tokens.pop((account.api, account.app_id), None)
        raise GatewayRefused(error)
    if code in UNDELIVERABLE:
        raise Undeliverable(error)
    raise GatewayRefused(error)
