"""MD4 (RFC 1320), for verifying imported ``md4`` password hashes only.

Auth0's bulk import takes ``custom_password_hash`` with ``algorithm: md4`` (old Windows and LDAP
systems stored NT hashes, which are MD4). OpenSSL 3 moved MD4 to its "legacy" provider, which
most distributions leave off, so ``hashlib.new("md4")`` fails there; this is the algorithm as
RFC 1320 section 3 specifies it, with hashlib's interface (``update``, ``digest``, ``copy``,
``digest_size``, ``block_size``) so ``hmac`` can use it too. It runs once per sign-in of an
imported user, who is then rehashed to argon2id: speed does not matter, correctness does (the
RFC's test suite, appendix A.5, is in tests/jobs/test_legacy_hashes.py).
"""

from __future__ import annotations

import struct

_MASK = 0xFFFFFFFF
_INIT = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)
# RFC 1320 section 3.4: each round's word order and rotations, and its added constant.
_ROUNDS = (
    (tuple(range(16)), (3, 7, 11, 19), 0),
    ((0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), (3, 5, 9, 13), 0x5A827999),
    ((0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15), (3, 9, 11, 15), 0x6ED9EBA1),
)


def _f(x: int, y: int, z: int) -> int:
    return (x & y) | (~x & z)


def _g(x: int, y: int, z: int) -> int:
    return (x & y) | (x & z) | (y & z)


def _h(x: int, y: int, z: int) -> int:
    return x ^ y ^ z


_FUNCTIONS = (_f, _g, _h)


def _rotl(value: int, bits: int) -> int:
    value &= _MASK
    return ((value << bits) | (value >> (32 - bits))) & _MASK


def _compress(state: tuple[int, int, int, int], block: bytes) -> tuple[int, int, int, int]:
    words = struct.unpack("<16I", block)
    regs = list(state)
    for function, (order, shifts, constant) in zip(_FUNCTIONS, _ROUNDS, strict=True):
        for step, k in enumerate(order):
            # the registers rotate roles each step: [abcd], [dabc], [cdab], [bcda]
            a, b, c, d = (-step) % 4, (1 - step) % 4, (2 - step) % 4, (3 - step) % 4
            total = regs[a] + function(regs[b], regs[c], regs[d]) + words[k] + constant
            regs[a] = _rotl(total, shifts[step % 4])
    return (
        (state[0] + regs[0]) & _MASK,
        (state[1] + regs[1]) & _MASK,
        (state[2] + regs[2]) & _MASK,
        (state[3] + regs[3]) & _MASK,
    )


class MD4:
    """hashlib-style MD4: ``MD4(data).hexdigest()``, or ``hmac.new(key, msg, MD4)``."""

    name = "md4"
    digest_size = 16
    block_size = 64

    def __init__(self, data: bytes = b"") -> None:
        self._state = _INIT
        self._pending = b""
        self._length = 0
        self.update(data)

    def update(self, data: bytes) -> None:
        self._length += len(data)
        pending = self._pending + bytes(data)
        whole = len(pending) - len(pending) % 64
        state = self._state
        for start in range(0, whole, 64):
            state = _compress(state, pending[start : start + 64])
        self._state, self._pending = state, pending[whole:]

    def copy(self) -> MD4:
        other = MD4()
        other._state, other._pending, other._length = self._state, self._pending, self._length
        return other

    def digest(self) -> bytes:
        # RFC 1320 3.1-3.2: a 1 bit, zeros to 56 bytes mod 64, then the bit length (little end)
        tail = b"\x80" + b"\x00" * ((55 - self._length) % 64)
        tail += struct.pack("<Q", (self._length * 8) & 0xFFFFFFFFFFFFFFFF)
        state = self._state
        data = self._pending + tail
        for start in range(0, len(data), 64):
            state = _compress(state, data[start : start + 64])
        return struct.pack("<4I", *state)

    def hexdigest(self) -> str:
        return self.digest().hex()
