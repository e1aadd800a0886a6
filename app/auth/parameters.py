"""OAuth requests screened before authlib reads them: each parameter's syntax (RFC 6749
Appendix A), and one client authentication method per request (RFC 6749 §2.3).

authlib echoes some values (``redirect_uri``, ``response_type``) into error descriptions, and
its error constructor raises ``ValueError`` for a character an error description may not
carry (RFC 6749 §4.1.2.1): a ``"``, a backslash or a line break in either was a 500 and a
traceback per request. A value outside its parameter's syntax is refused here with
``invalid_request`` naming the parameter and never echoing the value; on the authorization
endpoint that is the 400 error page (the redirect URI is not verified yet).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.util import extract_basic_authorization

_VSCHAR = r"[\x20-\x7e]"  # printable ASCII
_NQCHAR = r"[\x21\x23-\x5b\x5d-\x7e]"  # printable ASCII but space, " and \
_NAME = r"[A-Za-z0-9_]"
# RFC 3986: unreserved, reserved and percent signs; no space, quote, backslash or control.
_URI = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"

SYNTAX: dict[str, re.Pattern[str]] = {name: re.compile(pattern) for name, pattern in {
    "response_type": rf"(?:{_NAME}+(?: {_NAME}+)*)?",
    "grant_type": r"[A-Za-z0-9\-._:/]*",  # a name or an absolute URI
    "scope": rf"(?:{_NQCHAR}+(?: {_NQCHAR}+)*)?",
    "redirect_uri": rf"{_URI}*",
    "client_id": rf"{_VSCHAR}*",
    "client_secret": rf"{_VSCHAR}*",
    "state": rf"{_VSCHAR}*",
    "code": rf"{_VSCHAR}*",
    "refresh_token": rf"{_VSCHAR}*",
    "code_challenge": rf"{_VSCHAR}*",
    "code_challenge_method": rf"{_VSCHAR}*",
    "code_verifier": rf"{_VSCHAR}*",
    "token": rf"{_VSCHAR}*",
    "token_type_hint": rf"{_VSCHAR}*",
    "ui_locales": rf"{_VSCHAR}*",
}.items()}


def malformed(pairs: Iterable[tuple[str, str]],
              authorization: str | None = None) -> InvalidRequestError | None:
    """``invalid_request`` for the first parameter whose value breaks its syntax, or for a
    request authenticating its client twice: HTTP Basic (``authorization``, the header)
    together with a ``client_secret`` or another ``client_id`` in the body. authlib would
    take the first method that succeeds."""
    pairs = list(pairs)
    for name, value in pairs:
        syntax = SYNTAX.get(name)
        if syntax is not None and not syntax.fullmatch(value):
            return InvalidRequestError(f"The '{name}' parameter is malformed (RFC 6749 Appendix A).")
    basic_id, _ = extract_basic_authorization({"Authorization": authorization} if authorization else {})
    if basic_id is not None:
        body = dict(pairs)
        if "client_secret" in body or body.get("client_id", basic_id) != basic_id:
            return InvalidRequestError("Use one client authentication method per request (RFC 6749 section 2.3).")
    return None
