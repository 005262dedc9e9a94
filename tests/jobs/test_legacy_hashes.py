"""domain/legacy_hashes.py: every ``custom_password_hash`` algorithm of Auth0's bulk import
(Auth0, "Bulk User Import Database Schema and Examples") verifies the original password, refuses a
wrong one, and the sign-in that verifies it rehashes it to argon2id.

The pinned vectors come from the algorithms' own specifications (RFC 6070 PBKDF2-HMAC-SHA1,
RFC 7914 scrypt, RFC 4231 HMAC-SHA256, RFC 2307 {SHA}, RFC 1320 MD4) or from the reference libraries
(bcrypt, argon2-cffi, hashlib), so a mistake in how Tether reads a field shows up as a failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import bcrypt
import pytest
from argon2 import PasswordHasher as Argon2
from argon2 import Type

from tests.conftest import World
from tether.domain import legacy_hashes
from tether.domain.connections import DEFAULT_DATABASE
from tether.domain.errors import InvalidCredentials
from tether.domain.legacy_hashes import LegacyHashError, encode, verify
from tether.domain.md4 import MD4
from tether.domain.passwords import PasswordHasher
from tether.domain.users import NewDatabaseUser

PASSWORD = "correct horse battery staple"
SALT = b"NaCl-salt-16byte"


def check(custom: dict[str, Any], password: str = PASSWORD) -> str:
    stored = encode(custom)
    assert verify(stored, password) if legacy_hashes.is_legacy(stored) else True
    if legacy_hashes.is_legacy(stored):
        assert not verify(stored, password + "x")
        assert not verify(stored, "")
    return stored


# -- pinned vectors from the specifications -------------------------------------------------------


def test_rfc6070_pbkdf2_sha1_vector() -> None:
    """RFC 6070 §2, c=4096: P="password", S="salt" -> 4b007901b765489abead49d926f721d065a429c1."""
    expected = bytes.fromhex("4b007901b765489abead49d926f721d065a429c1")
    salt = base64.b64encode(b"salt").decode().rstrip("=")
    value = f"$pbkdf2-sha1$i=4096,l=20${salt}${base64.b64encode(expected).decode().rstrip('=')}"
    stored = encode({"algorithm": "pbkdf2", "hash": {"value": value, "encoding": "utf8"}})
    assert verify(stored, "password")
    assert not verify(stored, "Password")


def test_rfc7914_scrypt_vector() -> None:
    """RFC 7914 §12: scrypt(P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64)."""
    expected = (
        "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
        "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
    )
    stored = encode(
        {
            "algorithm": "scrypt",
            "hash": {"value": expected, "encoding": "hex"},
            "salt": {"value": "NaCl", "encoding": "utf8"},
            "keylen": 64,
            "cost": 1024,
            "blockSize": 8,
            "parallelization": 16,
        }
    )
    assert verify(stored, "password")
    assert not verify(stored, "passwore")


def test_rfc4231_hmac_sha256_vector() -> None:
    """RFC 4231 §4.3 (test case 2): key "Jefe", data "what do ya want for nothing?"."""
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    stored = encode(
        {
            "algorithm": "hmac",
            "hash": {
                "value": expected,
                "encoding": "hex",
                "digest": "sha256",
                "key": {"value": "Jefe", "encoding": "utf8"},
            },
        }
    )
    assert verify(stored, "what do ya want for nothing?")
    assert not verify(stored, "what do ya want for nothing")


def test_well_known_unsalted_digests() -> None:
    """md5("password") and sha1("password"), the values every breach corpus lists."""
    md5 = encode({"algorithm": "md5", "hash": {"value": "5f4dcc3b5aa765d61d8327deb882cf99"}})
    sha1 = encode(
        {"algorithm": "sha1", "hash": {"value": "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"}}
    )
    assert verify(md5, "password") and verify(sha1, "password")
    assert not verify(md5, "password1") and not verify(sha1, "password1")


@pytest.mark.parametrize(
    ("message", "digest"),
    [  # RFC 1320, appendix A.5, the whole test suite
        ("", "31d6cfe0d16ae931b73c59d7e0c089c0"),
        ("a", "bde52cb31de33e46245e05fbdbd6fb24"),
        ("abc", "a448017aaf21d8525fc10ae87aa6729d"),
        ("message digest", "d9130a8164549fe818874806e1c7014b"),
        ("abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
        (
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            "043f8582f241db351ce627e153e7f0e4",
        ),
        ("1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
    ],
)
def test_rfc1320_md4_vectors(message: str, digest: str) -> None:
    assert MD4(message.encode()).hexdigest() == digest
    split = MD4(message[:5].encode())
    split.update(message[5:].encode())  # fed in pieces, across a block edge for the long ones
    assert split.copy().hexdigest() == digest


def test_md4_nt_hash_and_hmac_md4() -> None:
    """An NT hash is MD4 of the UTF-16LE password ("password" -> 8846f7ea...); HMAC-MD4's value
    is OpenSSL's (``openssl dgst -md4 -hmac key -provider legacy``)."""
    nt = encode(
        {
            "algorithm": "md4",
            "hash": {"value": "8846f7eaee8fb117ad06bdd830b7586c", "encoding": "hex"},
            "password": {"encoding": "utf16le"},
        }
    )
    assert verify(nt, "password") and not verify(nt, "Password")
    stored = encode(
        {
            "algorithm": "hmac",
            "hash": {
                "value": "1534b4a76797184e182c3dede8967a77",
                "digest": "md4",
                "key": {"value": "key"},
            },
        }
    )
    assert verify(stored, "msg") and not verify(stored, "msh")
    salted = MD4(b"NaCl" + PASSWORD.encode()).hexdigest()
    check({"algorithm": "md4", "hash": {"value": salted}, "salt": {"value": "NaCl"}})
    # a password past 8 KiB never verifies: pure-Python MD4 must not be a lever on the CPU
    huge = "p" * 9000
    stored = encode({"algorithm": "md4", "hash": {"value": MD4(huge.encode()).hexdigest()}})
    assert not verify(stored, huge)
    fits = "p" * 8000
    stored = encode({"algorithm": "md4", "hash": {"value": MD4(fits.encode()).hexdigest()}})
    assert verify(stored, fits)


def test_rfc2307_ldap_sha_vector() -> None:
    """{SHA} is base64 of SHA-1: "password" -> {SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=."""
    stored = encode({"algorithm": "ldap", "hash": {"value": "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="}})
    assert verify(stored, "password")
    assert not verify(stored, "passwort")


# -- every algorithm and option, with hashes made by the reference libraries ------------------------


def test_argon2_and_bcrypt_are_stored_as_they_are() -> None:
    for kind in (Type.I, Type.ID, Type.D):
        value = Argon2(time_cost=1, memory_cost=1024, type=kind).hash(PASSWORD)
        assert (
            encode({"algorithm": "argon2", "hash": {"value": value, "encoding": "utf8"}}) == value
        )
    value = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    assert encode({"algorithm": "bcrypt", "hash": {"value": value}}) == value


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_pbkdf2_phc_strings(digest: str) -> None:
    raw = hashlib.pbkdf2_hmac(digest, PASSWORD.encode(), SALT, 1000, 32)
    b64 = lambda b: base64.b64encode(b).decode().rstrip("=")  # noqa: E731
    check(
        {
            "algorithm": "pbkdf2",
            "hash": {"value": f"$pbkdf2-{digest}$i=1000,l=32${b64(SALT)}${b64(raw)}"},
        }
    )
    # passlib's "ab64" writes "." for "+"; without l= the hash's own length counts
    dotted = f"$pbkdf2-{digest}$i=1000${b64(SALT).replace('+', '.')}${b64(raw).replace('+', '.')}"
    check({"algorithm": "pbkdf2", "hash": {"value": dotted}})


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
@pytest.mark.parametrize("position", ["prefix", "suffix"])
@pytest.mark.parametrize("hash_encoding", ["hex", "base64"])
@pytest.mark.parametrize("salt_encoding", ["utf8", "hex", "base64"])
def test_salted_digests(
    algorithm: str, position: str, hash_encoding: str, salt_encoding: str
) -> None:
    salt = b"s4lt-value"
    data = salt + PASSWORD.encode() if position == "prefix" else PASSWORD.encode() + salt
    raw = hashlib.new(algorithm, data).digest()
    value = raw.hex() if hash_encoding == "hex" else base64.b64encode(raw).decode()
    salt_value = {
        "utf8": salt.decode(),
        "hex": salt.hex(),
        "base64": base64.b64encode(salt).decode(),
    }[salt_encoding]
    check(
        {
            "algorithm": algorithm,
            "hash": {"value": value, "encoding": hash_encoding},
            "salt": {"value": salt_value, "encoding": salt_encoding, "position": position},
        }
    )


def test_salt_position_matters() -> None:
    raw = hashlib.sha256(b"pepper" + PASSWORD.encode()).hexdigest()
    stored = encode(
        {
            "algorithm": "sha256",
            "hash": {"value": raw, "encoding": "hex"},
            "salt": {"value": "pepper", "position": "suffix"},
        }
    )
    assert not verify(stored, PASSWORD)


def test_password_encoding_utf16le() -> None:
    raw = hashlib.new("sha1", PASSWORD.encode("utf-16-le")).hexdigest()  # noqa: S324 (a legacy hash)
    check({"algorithm": "sha1", "hash": {"value": raw}, "password": {"encoding": "utf16le"}})


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512", "md5"])
def test_hmac_with_salt(digest: str) -> None:
    key = b"\x00\x01server-key"
    raw = hmac.new(key, PASSWORD.encode() + b"salt", digest).digest()
    check(
        {
            "algorithm": "hmac",
            "hash": {
                "value": base64.b64encode(raw).decode(),
                "encoding": "base64",
                "digest": digest,
                "key": {"value": key.hex(), "encoding": "hex"},
            },
            "salt": {"value": "salt", "position": "suffix"},
        }
    )


@pytest.mark.parametrize(
    "scheme", ["SHA", "SSHA", "SHA256", "SSHA256", "SHA512", "SSHA512", "MD5", "SMD5"]
)
def test_ldap_schemes(scheme: str) -> None:
    digest, _size, salted = legacy_hashes.LDAP_SCHEMES[scheme]
    salt = b"\x8a\x01\xffsalt" if salted else b""
    raw = hashlib.new(digest, PASSWORD.encode() + salt).digest() + salt
    check(
        {
            "algorithm": "ldap",
            "hash": {"value": "{" + scheme + "}" + base64.b64encode(raw).decode()},
        }
    )


def test_scrypt_defaults() -> None:
    raw = hashlib.scrypt(PASSWORD.encode(), salt=SALT, n=16384, r=8, p=1, dklen=32)
    check(
        {
            "algorithm": "scrypt",
            "hash": {"value": base64.b64encode(raw).decode(), "encoding": "base64"},
            "salt": {"value": SALT.decode()},
            "keylen": 32,
        }
    )


# -- bad specifications are refused at import, naming the field -----------------------------------


@pytest.mark.parametrize(
    ("custom", "path", "code"),
    [
        ("nope", "custom_password_hash", "INVALID_TYPE"),
        (
            {"algorithm": "rot13", "hash": {"value": "x"}},
            "custom_password_hash.algorithm",
            "ENUM_MISMATCH",
        ),
        ({"algorithm": "md5"}, "custom_password_hash.hash", "OBJECT_REQUIRED"),
        (
            {"algorithm": "md5", "hash": {"value": ""}},
            "custom_password_hash.hash.value",
            "MIN_LENGTH",
        ),
        (
            {"algorithm": "md5", "hash": {"value": "zz", "encoding": "hex"}},
            "custom_password_hash.hash.value",
            "FORMAT",
        ),
        (
            {"algorithm": "md5", "hash": {"value": "ab", "encoding": "utf8"}},
            "custom_password_hash.hash.encoding",
            "ENUM_MISMATCH",
        ),
        (
            {"algorithm": "bcrypt", "hash": {"value": "$2b$10$short"}},
            "custom_password_hash.hash.value",
            "FORMAT",
        ),
        (
            {"algorithm": "argon2", "hash": {"value": "$scrypt$"}},
            "custom_password_hash.hash.value",
            "FORMAT",
        ),
        (
            {"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha256$i=0$YQ$YQ"}},
            "custom_password_hash.hash.value",
            "FORMAT",
        ),
        (
            {"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha256$i=99999999$YQ$YQ"}},
            "custom_password_hash.hash.value",
            "FORMAT",
        ),
        (
            {"algorithm": "ldap", "hash": {"value": "{CRYPT}abc"}},
            "custom_password_hash.hash.value",
            "FORMAT",
        ),
        (
            {"algorithm": "ldap", "hash": {"value": "{SHA}YWJj"}, "salt": {"value": "a"}},
            "custom_password_hash.salt",
            "NOT_PASSED",
        ),
        (
            {"algorithm": "hmac", "hash": {"value": "ab", "digest": "sha256"}},
            "custom_password_hash.hash.key",
            "OBJECT_REQUIRED",
        ),
        (
            {
                "algorithm": "hmac",
                "hash": {"value": "ab", "digest": "crc32", "key": {"value": "k"}},
            },
            "custom_password_hash.hash.digest",
            "ENUM_MISMATCH",
        ),
        (
            {
                "algorithm": "sha1",
                "hash": {"value": "ab"},
                "salt": {"value": "a", "position": "middle"},
            },
            "custom_password_hash.salt.position",
            "ENUM_MISMATCH",
        ),
        (
            {"algorithm": "sha1", "hash": {"value": "ab"}, "password": {"encoding": "ebcdic"}},
            "custom_password_hash.password.encoding",
            "ENUM_MISMATCH",
        ),
        (
            {"algorithm": "scrypt", "hash": {"value": "ab"}, "keylen": 1},
            "custom_password_hash.salt",
            "OBJECT_REQUIRED",
        ),
        (
            {"algorithm": "scrypt", "hash": {"value": "ab"}, "salt": {"value": "s"}},
            "custom_password_hash.keylen",
            "OBJECT_REQUIRED",
        ),
        (
            {
                "algorithm": "scrypt",
                "hash": {"value": "ab"},
                "salt": {"value": "s"},
                "keylen": 1,
                "cost": 1 << 22,
                "blockSize": 64,
            },
            "custom_password_hash.cost",
            "MAXIMUM",
        ),
        (
            {
                "algorithm": "scrypt",
                "hash": {"value": "ab"},
                "salt": {"value": "s"},
                "keylen": 1,
                "cost": 1000,
            },
            "custom_password_hash.cost",
            "FORMAT",
        ),
        (
            {
                "algorithm": "scrypt",
                "hash": {"value": "ab"},
                "salt": {"value": "s"},
                "keylen": 1,
                "cost": "big",
            },
            "custom_password_hash.cost",
            "INVALID_TYPE",
        ),
        (
            {"algorithm": "scrypt", "hash": {"value": "ab"}, "salt": {"value": "s"}, "keylen": 0},
            "custom_password_hash.keylen",
            "MINIMUM",
        ),
        ({"hash": {"value": "ab"}}, "custom_password_hash.algorithm", "OBJECT_REQUIRED"),
    ],
)
def test_bad_specifications_name_the_field(custom: Any, path: str, code: str) -> None:
    """The path and Auth0's job error code ("Retrieve failed entries") of each problem."""
    with pytest.raises(LegacyHashError) as info:
        encode(custom)
    assert (info.value.path, info.value.code) == (path, code)
    assert info.value.message


def test_a_stored_value_that_is_not_ours_never_verifies() -> None:
    assert not verify("$legacy$not json", PASSWORD)
    assert not verify('$legacy${"a":"sha1"}', PASSWORD)


# -- sign-in: verified, then rehashed to argon2id ---------------------------------------------------


def test_hasher_upgrades_a_verified_legacy_hash() -> None:
    hasher = PasswordHasher()
    stored = encode(
        {"algorithm": "sha256", "hash": {"value": hashlib.sha256(PASSWORD.encode()).hexdigest()}}
    )
    assert hasher.verify_sync(stored, "wrong").ok is False
    result = hasher.verify_sync(stored, PASSWORD)
    assert (
        result.ok
        and result.new_hash
        and result.new_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    )


async def test_sign_in_with_a_legacy_hash_rehashes_it(world: World) -> None:
    c = world.container
    app = await c.applications.get(world.tenant, world.app.client_id)
    user = await c.users.signup(
        world.tenant,
        app,
        None,
        NewDatabaseUser(email="lee@example.com", password="original passphrase"),
    )
    legacy = encode(
        {
            "algorithm": "sha512",
            "hash": {"value": hashlib.sha512(b"xy" + PASSWORD.encode()).hexdigest()},
            "salt": {"value": "xy"},
        }
    )
    async with c.uow() as uow:
        [identity] = await uow.identities.for_user(world.tenant.id, user.pk)
        await uow.credentials.set_hash(identity.id, legacy, c.clock.now())
        await uow.commit()

    async def stored() -> str:
        async with c.uow() as uow:
            connection = await uow.connections.by_name(world.tenant.id, DEFAULT_DATABASE)
            assert connection
            credential = await uow.credentials.by_email(
                world.tenant.id, connection.id, "lee@example.com"
            )
        assert credential
        return credential.password_hash

    with pytest.raises(InvalidCredentials):
        await c.users.authenticate(
            world.tenant, app, None, "lee@example.com", "original passphrase"
        )
    assert await stored() == legacy
    signed_in, _ = await c.users.authenticate(world.tenant, app, None, "lee@example.com", PASSWORD)
    assert signed_in.pk == user.pk
    assert (await stored()).startswith("$argon2id$")
    await c.users.authenticate(world.tenant, app, None, "lee@example.com", PASSWORD)
