"""domain/sealing.py: AES-256-GCM under a key derived per tenant from the master secret."""

from __future__ import annotations

import pytest

from tether.domain.sealing import Sealer, SealError

MASTER = b"m" * 32
SECRET = b"-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n"


def test_round_trip() -> None:
    sealer = Sealer(MASTER)
    sealed = sealer.seal("ten_a", SECRET)
    assert SECRET not in sealed
    assert sealer.open("ten_a", sealed) == SECRET


def test_empty_plaintext_round_trip() -> None:
    sealer = Sealer(MASTER)
    assert sealer.open("ten_a", sealer.seal("ten_a", b"")) == b""


def test_a_new_sealer_with_the_same_master_secret_opens_it() -> None:
    assert Sealer(MASTER).open("ten_a", Sealer(MASTER).seal("ten_a", SECRET)) == SECRET


def test_each_seal_uses_a_fresh_nonce() -> None:
    sealer = Sealer(MASTER)
    first, second = sealer.seal("ten_a", SECRET), sealer.seal("ten_a", SECRET)
    assert first != second
    assert first[1:13] != second[1:13]


def test_another_tenant_cannot_open_it() -> None:
    sealer = Sealer(MASTER)
    sealed = sealer.seal("ten_a", SECRET)
    with pytest.raises(SealError):
        sealer.open("ten_b", sealed)
    with pytest.raises(SealError):
        sealer.open("ten_a ", sealed)


def test_another_master_secret_cannot_open_it() -> None:
    sealed = Sealer(MASTER).seal("ten_a", SECRET)
    with pytest.raises(SealError) as info:
        Sealer(b"n" * 32).open("ten_a", sealed)
    assert "master secret" in info.value.message


def test_every_tampered_byte_is_detected() -> None:
    sealer = Sealer(MASTER)
    sealed = sealer.seal("ten_a", SECRET)
    for index in range(len(sealed)):
        tampered = bytearray(sealed)
        tampered[index] ^= 0x01
        with pytest.raises(SealError):
            sealer.open("ten_a", bytes(tampered))


@pytest.mark.parametrize("cut", [1, 16, 17])
def test_truncated_value_fails(cut: int) -> None:
    sealer = Sealer(MASTER)
    sealed = sealer.seal("ten_a", SECRET)
    with pytest.raises(SealError):
        sealer.open("ten_a", sealed[:-cut])


@pytest.mark.parametrize("value", [b"", b"\x01", b"\x02" + b"\x00" * 40, SECRET])
def test_unknown_format_fails(value: bytes) -> None:
    with pytest.raises(SealError) as info:
        Sealer(MASTER).open("ten_a", value)
    assert info.value.code == "seal_failed"


def test_short_master_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        Sealer(b"x" * 15)
    Sealer(b"x" * 16)
