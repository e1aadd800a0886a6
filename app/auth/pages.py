"""The sign-in pages of the authorization endpoint: phone-first, Chinese and English.

Plain server-rendered HTML with no script: it works in any system browser a mobile app
opens, and every value shown is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

TEXT = {
    "zh": {
        "title": "登录", "username": "用户名", "password": "密码", "sign_in": "登录",
        "totp_title": "两步验证", "totp_hint": "请输入身份验证器应用中的 6 位验证码，或一个恢复码。",
        "code": "验证码", "verify": "验证",
        "enrol_title": "设置两步验证",
        "enrol_hint": "您的机构要求员工使用两步验证。请在身份验证器应用中添加以下密钥，然后输入显示的验证码。",
        "secret": "密钥",
        "consent_title": "授权", "consent_hint": "以下应用请求访问您的账户：", "allow": "允许", "deny": "拒绝",
        "error_title": "无法继续", "signing_in_to": "登录到", "lang_switch": "English",
    },
    "en": {
        "title": "Sign in", "username": "Username", "password": "Password", "sign_in": "Sign in",
        "totp_title": "Two-step verification",
        "totp_hint": "Enter the 6-digit code from your authenticator app, or a recovery code.",
        "code": "Code", "verify": "Verify",
        "enrol_title": "Set up two-step verification",
        "enrol_hint": "Your organisation requires two-step verification for staff. Add this key to your "
                      "authenticator app, then enter the code it shows.",
        "secret": "Key",
        "consent_title": "Authorise", "consent_hint": "This application asks to access your account:",
        "allow": "Allow", "deny": "Deny",
        "error_title": "Cannot continue", "signing_in_to": "Signing in to", "lang_switch": "中文",
    },
}

MESSAGES = {
    "bad_credentials": {"zh": "用户名或密码不正确。", "en": "The username or password is incorrect."},
    "locked": {"zh": "尝试次数过多，账户已暂时锁定，请稍后再试。",
               "en": "Too many attempts: the account is locked for a while. Try again later."},
    "throttled": {"zh": "尝试次数过多，请稍后再试。", "en": "Too many attempts: please wait a moment and try again."},
    "bad_code": {"zh": "验证码不正确。", "en": "The code is not correct."},
    "expired": {"zh": "登录已超时，请重新开始。", "en": "The sign-in took too long; please start again."},
    "csrf": {"zh": "页面已过期，请重新提交。", "en": "The page expired; please submit again."},
}

STYLE = """
*{box-sizing:border-box}body{margin:0;font:16px/1.5 -apple-system,"PingFang SC","Noto Sans CJK SC",
"Microsoft YaHei",system-ui,sans-serif;background:#f2f4f7;color:#1d2939}
main{max-width:420px;margin:0 auto;padding:32px 20px}
.card{background:#fff;border-radius:16px;padding:28px 22px;box-shadow:0 4px 24px rgba(16,24,40,.08)}
h1{font-size:24px;margin:0 0 4px}.sub{color:#667085;margin:0 0 20px;font-size:14px}
label{display:block;font-weight:600;margin:14px 0 6px}
input[type=text],input[type=password]{width:100%;padding:14px;font-size:17px;border:1px solid #d0d5dd;
border-radius:10px}input:focus{outline:2px solid #2e90fa;border-color:#2e90fa}
button{width:100%;margin-top:22px;padding:14px;font-size:17px;font-weight:600;border:0;border-radius:10px;
background:#1570ef;color:#fff}button.secondary{background:#eaecf0;color:#344054;margin-top:10px}
.error{background:#fef3f2;color:#b42318;padding:12px;border-radius:10px;margin:0 0 12px}
.brand{font-weight:700;color:#1570ef;margin-bottom:18px}.lang{display:block;text-align:center;margin-top:18px;
color:#667085}code{display:block;word-break:break-all;background:#f2f4f7;padding:10px;border-radius:8px}
ul{padding-left:20px}
"""


def lang_of(ui_locales: str | None, accept_language: str | None) -> str:
    for source in (ui_locales or "", accept_language or ""):
        for tag in source.replace(",", " ").split():
            tag = tag.split(";")[0].lower()
            if tag.startswith("zh"):
                return "zh"
            if tag.startswith("en"):
                return "en"
    return "zh"


def _hidden(fields: Iterable[tuple[str, str]]) -> str:
    return "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields)


def _page(lang: str, title: str, body: str) -> str:
    return (f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
            f'<body><main><div class="brand">Cornerstone</div><div class="card">{body}</div></main></body></html>')


def _error(lang: str, message: str | None) -> str:
    return f'<p class="error" role="alert">{escape(MESSAGES[message][lang])}</p>' if message else ""


def sign_in_page(lang: str, *, client_name: str, fields: list[tuple[str, str]], switch_href: str,
                 message: str | None = None, username: str = "") -> str:
    t = TEXT[lang]
    body = (f"<h1>{t['title']}</h1><p class=\"sub\">{t['signing_in_to']} {escape(client_name)}</p>"
            f"{_error(lang, message)}<form method=\"post\" action=\"/oauth/authorize\">{_hidden(fields)}"
            f'<input type="hidden" name="step" value="password">'
            f'<label for="username">{t["username"]}</label><input id="username" name="username" type="text" '
            f'autocomplete="username" autocapitalize="none" required value="{escape(username)}">'
            f'<label for="password">{t["password"]}</label><input id="password" name="password" type="password" '
            f'autocomplete="current-password" required>'
            f'<button type="submit" id="submit">{t["sign_in"]}</button></form>'
            f'<a class="lang" href="{escape(switch_href)}">{t["lang_switch"]}</a>')
    return _page(lang, t["title"], body)


def totp_page(lang: str, *, fields: list[tuple[str, str]], message: str | None = None) -> str:
    t = TEXT[lang]
    body = (f"<h1>{t['totp_title']}</h1><p class=\"sub\">{t['totp_hint']}</p>{_error(lang, message)}"
            f'<form method="post" action="/oauth/authorize">{_hidden(fields)}'
            f'<input type="hidden" name="step" value="totp">'
            f'<label for="code">{t["code"]}</label><input id="code" name="code" type="text" '
            f'inputmode="numeric" autocomplete="one-time-code" required>'
            f'<button type="submit" id="submit">{t["verify"]}</button></form>')
    return _page(lang, t["totp_title"], body)


def enrol_page(lang: str, *, fields: list[tuple[str, str]], secret: str, uri: str,
               message: str | None = None) -> str:
    t = TEXT[lang]
    body = (f"<h1>{t['enrol_title']}</h1><p class=\"sub\">{t['enrol_hint']}</p>{_error(lang, message)}"
            f'<label>{t["secret"]}</label><code id="secret">{escape(secret)}</code>'
            f'<p class="sub"><a href="{escape(uri)}">otpauth://</a></p>'
            f'<form method="post" action="/oauth/authorize">{_hidden(fields)}'
            f'<input type="hidden" name="step" value="enrol">'
            f'<label for="code">{t["code"]}</label><input id="code" name="code" type="text" '
            f'inputmode="numeric" autocomplete="one-time-code" required>'
            f'<button type="submit" id="submit">{t["verify"]}</button></form>')
    return _page(lang, t["enrol_title"], body)


def consent_page(lang: str, *, client_name: str, scopes: list[tuple[str, str]],
                 fields: list[tuple[str, str]]) -> str:
    t = TEXT[lang]
    items = "".join(f"<li><b>{escape(s)}</b>: {escape(d)}</li>" for s, d in scopes)
    body = (f"<h1>{t['consent_title']}</h1><p class=\"sub\">{t['consent_hint']}</p>"
            f"<p><b>{escape(client_name)}</b></p><ul>{items}</ul>"
            f'<form method="post" action="/oauth/authorize">{_hidden(fields)}'
            f'<input type="hidden" name="step" value="consent">'
            f'<button type="submit" name="decision" value="allow" id="allow">{t["allow"]}</button>'
            f'<button type="submit" name="decision" value="deny" class="secondary" id="deny">{t["deny"]}</button>'
            f"</form>")
    return _page(lang, t["consent_title"], body)


def error_page(lang: str, error: str | None, description: str | None) -> str:
    t = TEXT[lang]
    body = (f"<h1>{t['error_title']}</h1><p class=\"error\">{escape(error or '')}</p>"
            f"<p>{escape(description or '')}</p>")
    return _page(lang, t["error_title"], body)
