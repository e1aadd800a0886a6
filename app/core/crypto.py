"""Envelope encryption of personal data, and keyed blind indexes to search it.

- The **master key** (KEK) comes from ``CORNERSTONE_MASTER_KEY`` (32 bytes, base64); the
  embedded default keeps one in ``<data dir>/master.key`` (mode 0600), made on first use.
- Each tenant has its own random **data key** (DEK) and **index key**, stored only wrapped
  (AES-GCM) by the master key. A dump of the database therefore shows neither plaintext
  nor usable keys.
- A field is sealed with AES-256-GCM under the tenant's data key, a fresh 96-bit nonce,
  and associated data naming the tenant and the field, so a ciphertext copied to another
  tenant or another column does not open.
- A **blind index** is HMAC-SHA256 of the normalised value under the tenant's index key:
  equal values give equal digests (exact search), nothing else is revealed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = b"\x01"  # the sealed-value format, so the scheme can change without ambiguity
NONCE_BYTES = 12


class CryptoError(Exception):
    """A sealed value does not open (wrong key, tenant or field, or tampered)."""


def load_master_key(data_dir: Path, configured: str | None) -> bytes:
    if configured:
        key = base64.b64decode(configured)
        if len(key) != 32:
            raise ValueError("CORNERSTONE_MASTER_KEY must be 32 bytes, base64-encoded")
        return key
    path = data_dir / "master.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together cannot both write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.b64encode(secrets.token_bytes(32)))
    key = base64.b64decode(path.read_bytes().strip())
    if len(key) != 32:
        raise ValueError(f"{path} does not hold a 32-byte key")
    return key


def wrap(master: bytes, key: bytes, label: str) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return FORMAT + nonce + AESGCM(master).encrypt(nonce, key, label.encode())


def unwrap(master: bytes, wrapped: bytes, label: str) -> bytes:
    return _open(master, wrapped, label.encode())


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if not sealed or sealed[:1] != FORMAT or len(sealed) < 1 + NONCE_BYTES + 16:
        raise CryptoError("not a sealed value")
    nonce, body = sealed[1:1 + NONCE_BYTES], sealed[1 + NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except Exception as exc:  # cryptography raises InvalidTag; never leak details
        raise CryptoError("the value does not open with this key") from exc


@dataclass(frozen=True)
class TenantKeys:
    """One tenant's unwrapped keys, held in memory by the process that needs them."""

    tenant: str
    data_key: bytes  # seals: the newest
    index_key: bytes
    # Earlier data keys, while a rotation seals their values again with ``data_key``: they open, never seal.
    older: tuple[bytes, ...] = ()

    def _aad(self, field: str) -> bytes:
        return f"{self.tenant}:{field}".encode()

    def seal(self, field: str, value: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return FORMAT + nonce + AESGCM(self.data_key).encrypt(nonce, value.encode(), self._aad(field))

    def open(self, field: str, sealed: bytes) -> str:
        try:
            return _open(self.data_key, sealed, self._aad(field)).decode()
        except CryptoError:
            if not self.older:
                raise
        return self.open_older(field, sealed)

    def open_older(self, field: str, sealed: bytes) -> str:
        """A value sealed with an earlier key (the tag tells which key sealed it)."""
        for key in reversed(self.older):
            try:
                return _open(key, sealed, self._aad(field)).decode()
            except CryptoError:
                continue
        raise CryptoError("the value does not open with this tenant's keys")

    def is_current(self, field: str, sealed: bytes) -> bool:
        """Sealed with the newest key (a rotation's work is done for it)."""
        try:
            _open(self.data_key, sealed, self._aad(field))
        except CryptoError:
            return False
        return True

    def blind_index(self, field: str, normalised: str) -> str:
        digest = hmac.new(self.index_key, f"{field}:{normalised}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest[:20]).decode().rstrip("=").lower()


def new_tenant_keys(tenant: str) -> TenantKeys:
    return TenantKeys(tenant=tenant, data_key=secrets.token_bytes(32), index_key=secrets.token_bytes(32))


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678`` (the form staff are used to)."""
    digits = phone.removeprefix("+86")
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(number: str) -> str:
    """A resident ID keeps its region (6) and last 4 characters."""
    if len(number) < 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_text(text: str, keep: int = 6) -> str:
    """An address keeps its first characters (province, city) only."""
    return text[:keep] + "****" if len(text) > keep else "****"


def mask_email(email: str) -> str:
    """``wang.li@example.com`` → ``w***@example.com``: the domain says where mail goes, not who."""
    local, at, domain = email.partition("@")
    return (local[:1] + "***" + at + domain) if at else "***"


def mask_account(number: str, keep: int = 4) -> str:
    """A bank account or tax number keeps its last ``keep`` characters (how staff confirm one)."""
    return "****" + number[-keep:] if len(number) > keep + 2 else "****"
