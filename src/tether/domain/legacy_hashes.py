"""Password hashes made by other systems, as Auth0's bulk import takes them (``custom_password_hash``).

Auth0, "Bulk User Import Database Schema and Examples", section "Supported hash algorithms":
``argon2`` and ``bcrypt`` (their own string formats), ``pbkdf2`` (a PHC string
``$pbkdf2-<digest>$i=<rounds>,l=<keylen>$<salt>$<hash>``), ``ldap`` (RFC 2307 ``{SHA}``, ``{SSHA}``
and the SHA-2 / MD5 variants), ``md4``/``md5``/``sha1``/``sha256``/``sha512`` with an optional
salt before or after the password, ``hmac`` (a digest and a key) and ``scrypt``.

``encode`` checks a ``custom_password_hash`` object at import time and turns it into the string
stored as the credential's hash; ``verify`` checks a password against it. Pure: no I/O, no clock.
argon2 and bcrypt values are stored as they are (``passwords.PasswordHasher`` verifies them
natively); every other algorithm is stored as ``$legacy$`` + compact JSON of what verifying needs.
A verified legacy password is rehashed to argon2id by the caller, so these live only until the
person's first sign-in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from tether.domain.md4 import MD4

PREFIX = "$legacy$"
MAX_STORED = 512  # the credential column's width

SIMPLE_DIGESTS = ("md4", "md5", "sha1", "sha256", "sha512")
ALGORITHMS = ("argon2", "bcrypt", "hmac", "ldap", "pbkdf2", "scrypt", *SIMPLE_DIGESTS)
HMAC_DIGESTS = {
    "md4": "md4",
    "md5": "md5",
    "ripemd160": "ripemd160",
    "sha1": "sha1",
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "sha512-224": "sha512_224",
    "sha512-256": "sha512_256",
    "sha3-224": "sha3_224",
    "sha3-256": "sha3_256",
    "sha3-384": "sha3_384",
    "sha3-512": "sha3_512",
}
PASSWORD_ENCODINGS = {
    "ascii": "ascii",
    "utf8": "utf-8",
    "utf16le": "utf-16-le",
    "ucs2": "utf-16-le",
    "latin1": "latin-1",
    "binary": "latin-1",
}
# RFC 2307 schemes: name -> (hashlib name, digest size, salted)
LDAP_SCHEMES = {
    "SHA": ("sha1", 20, False),
    "SSHA": ("sha1", 20, True),
    "SHA256": ("sha256", 32, False),
    "SSHA256": ("sha256", 32, True),
    "SHA384": ("sha384", 48, False),
    "SSHA384": ("sha384", 48, True),
    "SHA512": ("sha512", 64, False),
    "SSHA512": ("sha512", 64, True),
    "MD5": ("md5", 16, False),
    "SMD5": ("md5", 16, True),
}
# Limits on work factors an import may set: a hostile file must not make one sign-in cost
# minutes of CPU or gigabytes of memory.
MAX_PBKDF2_ROUNDS = 10_000_000
MAX_SCRYPT_MEMORY = 256 * 1024 * 1024
MAX_KEYLEN = 1024
# A password longer than this (encoded) never verifies against an imported hash: MD4 runs in
# Python (md4.py, about 3 microseconds a byte, holding the GIL), and a request body may be 64 KB.
MAX_PASSWORD_BYTES = 8192
_PBKDF2 = re.compile(
    r"^\$pbkdf2(?:-([a-z0-9-]+))?\$i=(\d+)(?:,l=(\d+))?\$([A-Za-z0-9+/.=]*)\$([A-Za-z0-9+/.=]+)$"
)
_BCRYPT = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
_ARGON2 = re.compile(r"^\$argon2(id|i|d)\$")


@dataclass(frozen=True)
class LegacyHashError(Exception):
    """A ``custom_password_hash`` that cannot be verified; ``path`` names the bad field and
    ``code`` is the job error code Auth0 reports for it ("Bulk User Imports", "Retrieve failed
    entries": ``OBJECT_REQUIRED``, ``INVALID_TYPE``, ``ENUM_MISMATCH``, ``MIN_LENGTH``,
    ``MINIMUM``, ``MAXIMUM``, ``NOT_PASSED``, ``FORMAT``)."""

    path: str
    message: str
    code: str = "FORMAT"

    def __str__(self) -> str:
        return self.message


def _available(name: str) -> bool:
    return name in hashlib.algorithms_available or name == "md4"


def _digestmod(name: str) -> Any:
    """What hashlib and hmac take for ``name``: MD4 from md4.py where OpenSSL 3 left it out."""
    return MD4 if name == "md4" and "md4" not in hashlib.algorithms_available else name


def _hash(name: str, data: bytes) -> bytes:
    mod = _digestmod(name)
    return MD4(data).digest() if mod is MD4 else hashlib.new(name, data).digest()


def is_legacy(stored: str) -> bool:
    return stored.startswith(PREFIX)


def _decode(value: str, encoding: str, path: str) -> bytes:
    try:
        if encoding == "hex":
            return bytes.fromhex(value)
        if encoding == "base64":
            return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        if encoding == "utf8":
            return value.encode("utf-8")
    except (ValueError, binascii.Error) as exc:
        raise LegacyHashError(path, f"{path} is not valid {encoding}") from exc
    raise LegacyHashError(path, f"{path} must be one of base64, hex, utf8", "ENUM_MISMATCH")


def _obj(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        raise LegacyHashError(path, f"Missing required property: {path}", "OBJECT_REQUIRED")
    if not isinstance(value, dict):
        raise LegacyHashError(path, f"{path} must be an object", "INVALID_TYPE")
    return value


def _str(parent: dict[str, Any], key: str, path: str, default: str | None = None) -> str:
    value = parent.get(key, default)
    if value is None:
        raise LegacyHashError(
            f"{path}.{key}", f"Missing required property: {path}.{key}", "OBJECT_REQUIRED"
        )
    if not isinstance(value, str):
        raise LegacyHashError(f"{path}.{key}", f"{path}.{key} must be a string", "INVALID_TYPE")
    if not value and default is None:
        raise LegacyHashError(f"{path}.{key}", f"{path}.{key} must not be empty", "MIN_LENGTH")
    return value


def _int(
    parent: dict[str, Any], key: str, path: str, default: int | None, low: int, high: int
) -> int:
    value = parent.get(key, default)
    where = f"{path}.{key}"
    if value is None:
        raise LegacyHashError(where, f"Missing required property: {where}", "OBJECT_REQUIRED")
    if isinstance(value, bool) or not isinstance(value, int):
        raise LegacyHashError(where, f"{where} must be an integer", "INVALID_TYPE")
    if not low <= value <= high:
        code = "MINIMUM" if value < low else "MAXIMUM"
        raise LegacyHashError(where, f"{where} must be an integer from {low} to {high}", code)
    return value


def _pbkdf2_digest(name: str | None) -> str:
    digest = HMAC_DIGESTS.get(name or "sha1")
    if digest is None or digest not in hashlib.algorithms_available:
        raise LegacyHashError(
            "custom_password_hash.hash.value", "unsupported pbkdf2 digest", "ENUM_MISMATCH"
        )
    return digest


def _pbkdf2_parts(value: str) -> tuple[str, int, bytes, bytes]:
    match = _PBKDF2.match(value)
    if match is None:
        raise LegacyHashError(
            "custom_password_hash.hash.value",
            "pbkdf2 hash.value must be a PHC string $pbkdf2-<digest>$i=<rounds>,l=<keylen>$<salt>$<hash>",
        )
    digest = _pbkdf2_digest(match[1])
    rounds = int(match[2])
    if not 1 <= rounds <= MAX_PBKDF2_ROUNDS:
        raise LegacyHashError("custom_password_hash.hash.value", "pbkdf2 rounds out of range")
    # PHC strings use unpadded standard base64; passlib writes "." for "+" (its "ab64").
    salt = _decode(match[4].replace(".", "+"), "base64", "custom_password_hash.hash.value")
    expected = _decode(match[5].replace(".", "+"), "base64", "custom_password_hash.hash.value")
    if match[3] is not None and int(match[3]) != len(expected):
        raise LegacyHashError(
            "custom_password_hash.hash.value", "pbkdf2 l= does not match the hash"
        )
    return digest, rounds, salt, expected


def encode(custom: Any) -> str:
    """Check an Auth0 ``custom_password_hash`` object; return the string to store as the hash."""
    root = "custom_password_hash"
    spec = _obj(custom, root)
    algorithm = spec.get("algorithm")
    if algorithm not in ALGORITHMS:
        raise LegacyHashError(
            f"{root}.algorithm",
            f"{root}.algorithm must be one of {', '.join(ALGORITHMS)}",
            "OBJECT_REQUIRED" if algorithm is None else "ENUM_MISMATCH",
        )
    hash_ = _obj(spec.get("hash"), f"{root}.hash")
    value = _str(hash_, "value", f"{root}.hash")
    encoding = hash_.get(
        "encoding", "utf8" if algorithm in ("argon2", "bcrypt", "ldap", "pbkdf2") else "hex"
    )
    password_encoding = _obj(spec.get("password", {}), f"{root}.password").get("encoding", "utf8")
    if password_encoding not in PASSWORD_ENCODINGS:
        raise LegacyHashError(
            f"{root}.password.encoding", "unsupported password encoding", "ENUM_MISMATCH"
        )
    salt_spec = spec.get("salt")
    if algorithm in ("argon2", "bcrypt", "ldap", "pbkdf2"):
        if encoding != "utf8":
            raise LegacyHashError(
                f"{root}.hash.encoding", f"{algorithm} needs hash.encoding utf8", "ENUM_MISMATCH"
            )
        if salt_spec is not None:
            raise LegacyHashError(f"{root}.salt", f"{algorithm} takes no salt field", "NOT_PASSED")
        if algorithm == "argon2":
            if not _ARGON2.match(value):
                raise LegacyHashError(
                    f"{root}.hash.value", "argon2 hash.value must be a PHC string"
                )
            return value
        if algorithm == "bcrypt":
            if not _BCRYPT.match(value):
                raise LegacyHashError(f"{root}.hash.value", "bcrypt hash.value is malformed")
            return value
        if algorithm == "pbkdf2":
            _pbkdf2_parts(value)
        else:
            _ldap_parts(value)
        return _pack({"a": algorithm, "v": value, "p": password_encoding})
    if encoding not in ("hex", "base64"):
        raise LegacyHashError(
            f"{root}.hash.encoding",
            f"{algorithm} needs hash.encoding hex or base64",
            "ENUM_MISMATCH",
        )
    record: dict[str, Any] = {
        "a": algorithm,
        "v": _decode(value, encoding, f"{root}.hash.value").hex(),
        "p": password_encoding,
    }
    if salt_spec is not None:
        salt = _obj(salt_spec, f"{root}.salt")
        salt_value = _str(salt, "value", f"{root}.salt")
        record["s"] = _decode(salt_value, salt.get("encoding", "utf8"), f"{root}.salt.value").hex()
        position = salt.get("position", "prefix")
        if position not in ("prefix", "suffix"):
            raise LegacyHashError(
                f"{root}.salt.position", "salt.position must be prefix or suffix", "ENUM_MISMATCH"
            )
        record["sp"] = position
    if algorithm in SIMPLE_DIGESTS and not _available(algorithm):
        raise LegacyHashError(f"{root}.algorithm", f"{algorithm} is not available on this server")
    if algorithm == "hmac":
        digest = HMAC_DIGESTS.get(hash_.get("digest", ""))
        if digest is None or not _available(digest):
            raise LegacyHashError(
                f"{root}.hash.digest", "hmac needs a supported hash.digest", "ENUM_MISMATCH"
            )
        key = _obj(hash_.get("key"), f"{root}.hash.key")
        key_value = _str(key, "value", f"{root}.hash.key")
        record["d"] = digest
        record["k"] = _decode(
            key_value, key.get("encoding", "utf8"), f"{root}.hash.key.value"
        ).hex()
    if algorithm == "scrypt":
        if "s" not in record:
            raise LegacyHashError(f"{root}.salt", "scrypt needs a salt", "OBJECT_REQUIRED")
        record["n"] = _int(spec, "cost", root, 16384, 2, 1 << 22)
        record["r"] = _int(spec, "blockSize", root, 8, 1, 64)
        record["par"] = _int(spec, "parallelization", root, 1, 1, 16)
        record["l"] = _int(spec, "keylen", root, None, 1, MAX_KEYLEN)
        if record["n"] & (record["n"] - 1):
            raise LegacyHashError(f"{root}.cost", f"{root}.cost must be a power of two")
        if 128 * record["n"] * record["r"] * 2 > MAX_SCRYPT_MEMORY:
            raise LegacyHashError(
                f"{root}.cost", f"{root}.cost and blockSize need too much memory", "MAXIMUM"
            )
        if record["l"] != len(bytes.fromhex(record["v"])):
            raise LegacyHashError(f"{root}.keylen", f"{root}.keylen does not match the hash length")
    return _pack(record)


def _pack(record: dict[str, Any]) -> str:
    stored = PREFIX + json.dumps(record, separators=(",", ":"), sort_keys=True)
    if len(stored) > MAX_STORED:
        raise LegacyHashError("custom_password_hash", "custom_password_hash is too long")
    return stored


def _ldap_parts(value: str) -> tuple[str, bool, bytes, bytes]:
    match = re.match(r"^\{([A-Z0-9]+)\}(.+)$", value)
    scheme = LDAP_SCHEMES.get(match[1].upper()) if match else None
    if match is None or scheme is None:
        raise LegacyHashError(
            "custom_password_hash.hash.value",
            "ldap hash.value must be {SHA}, {SSHA}, {SHA256}, {SSHA256}, {SHA384}, {SSHA384}, "
            "{SHA512}, {SSHA512}, {MD5} or {SMD5} followed by base64",
        )
    digest, size, salted = scheme
    raw = _decode(match[2], "base64", "custom_password_hash.hash.value")
    if len(raw) < size or (not salted and len(raw) != size):
        raise LegacyHashError("custom_password_hash.hash.value", "ldap hash has the wrong length")
    return digest, salted, raw[:size], raw[size:]


def verify(stored: str, password: str) -> bool:
    """Check ``password`` against a ``$legacy$`` hash from ``encode``; constant-time compare."""
    try:
        record = json.loads(stored[len(PREFIX) :])
        secret = password.encode(PASSWORD_ENCODINGS[record["p"]])
    except (ValueError, KeyError, UnicodeEncodeError):
        return False
    if len(secret) > MAX_PASSWORD_BYTES:
        return False
    algorithm = record["a"]
    try:
        if algorithm == "pbkdf2":
            digest, rounds, salt, expected = _pbkdf2_parts(record["v"])
            actual = hashlib.pbkdf2_hmac(digest, secret, salt, rounds, len(expected))
            return hmac.compare_digest(actual, expected)
        if algorithm == "ldap":
            digest, _salted, expected, salt = _ldap_parts(record["v"])
            return hmac.compare_digest(_hash(digest, secret + salt), expected)
    except LegacyHashError:
        return False
    expected = bytes.fromhex(record["v"])
    salt = bytes.fromhex(record.get("s", ""))
    if algorithm == "scrypt":
        actual = hashlib.scrypt(
            secret,
            salt=salt,
            n=record["n"],
            r=record["r"],
            p=record["par"],
            dklen=record["l"],
            maxmem=MAX_SCRYPT_MEMORY,
        )
        return hmac.compare_digest(actual, expected)
    salted = salt + secret if record.get("sp", "prefix") == "prefix" else secret + salt
    if algorithm == "hmac":
        actual = hmac.new(bytes.fromhex(record["k"]), salted, _digestmod(record["d"])).digest()
    else:
        actual = _hash(algorithm, salted)
    return hmac.compare_digest(actual, expected)
