"""Envelope encryption and blind indexes: what opens, what does not, what is revealed."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from app.core.crypto import (
    CryptoError,
    load_master_key,
    mask_id_number,
    mask_phone,
    new_tenant_keys,
    unwrap,
    wrap,
)


def test_seal_opens_only_for_its_tenant_and_field() -> None:
    keys = new_tenant_keys("acme")
    sealed = keys.seal("phone", "13812345678")
    assert b"13812345678" not in sealed
    assert keys.open("phone", sealed) == "13812345678"
    with pytest.raises(CryptoError):
        keys.open("id_number", sealed)  # copied to another column
    other = new_tenant_keys("beta")
    with pytest.raises(CryptoError):
        other.open("phone", sealed)  # copied to another tenant
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(CryptoError):
        keys.open("phone", tampered)
    # A fresh nonce each time: equal plaintexts do not give equal ciphertexts.
    assert keys.seal("phone", "13812345678") != sealed


def test_blind_index_is_exact_and_tenant_specific() -> None:
    a, b = new_tenant_keys("acme"), new_tenant_keys("beta")
    assert a.blind_index("phone", "13812345678") == a.blind_index("phone", "13812345678")
    assert a.blind_index("phone", "13812345678") != a.blind_index("phone", "13812345679")
    assert a.blind_index("phone", "13812345678") != b.blind_index("phone", "13812345678")
    assert a.blind_index("phone", "x") != a.blind_index("id_number", "x")


def test_wrapped_keys_open_only_with_the_master_key_and_label(tmp_path: Path) -> None:
    master = load_master_key(tmp_path, None)
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600
    assert load_master_key(tmp_path, None) == master  # kept, not regenerated
    wrapped = wrap(master, b"k" * 32, "acme:data")
    assert unwrap(master, wrapped, "acme:data") == b"k" * 32
    with pytest.raises(CryptoError):
        unwrap(master, wrapped, "beta:data")
    with pytest.raises(CryptoError):
        unwrap(load_master_key(tmp_path / "other", None), wrapped, "acme:data")
    configured = base64.b64encode(b"m" * 32).decode()
    assert load_master_key(tmp_path, configured) == b"m" * 32
    with pytest.raises(ValueError):
        load_master_key(tmp_path, base64.b64encode(b"short").decode())


def test_masks() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_id_number("11010519491231002X") == "110105********002X"
