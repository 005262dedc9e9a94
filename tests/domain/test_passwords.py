"""domain/passwords.py: the policy (ASVS 5.0 §6.2) and argon2id hashing with rehash and bcrypt import.

These tests use the real default parameters; everything else in the suite uses FAST_HASH.
"""

from __future__ import annotations

from typing import Any

import bcrypt
import pytest

from tether.domain.errors import PasswordRejected
from tether.domain.passwords import (
    HashParameters,
    PasswordHasher,
    PasswordPolicy,
    Verification,
    common_passwords,
)

DEFAULT_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"
WEAK = HashParameters(time_cost=1, memory_kib=1024, parallelism=1)
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher()


@pytest.fixture(scope="module")
def weak_hasher() -> PasswordHasher:
    return PasswordHasher(WEAK)


# -- policy --------------------------------------------------------------------------------

policy = PasswordPolicy()


def rejected(password: Any, **kwargs: str) -> PasswordRejected:
    with pytest.raises(PasswordRejected) as info:
        policy.check(password, **kwargs)
    assert info.value.code == "invalid_password"
    return info.value


def test_minimum_length_is_8() -> None:
    policy.check("kq7!vzpw")
    assert "too short" in rejected("kq7!vzp").message


@pytest.mark.parametrize("value", ["", None, 12345678, b"bytes-password"])
def test_missing_or_non_string_password_is_refused(value: object) -> None:
    rejected(value)


def test_length_counts_nfc_characters_not_code_points() -> None:
    decomposed = "e\u0301"  # "é" typed as e + combining acute: two code points, one character
    assert len(decomposed * 7) == 14
    assert "too short" in rejected(decomposed * 7).message
    policy.check(decomposed * 8)
    policy.check("é" * 8)


def test_no_composition_rules() -> None:
    policy.check("aaaaaaaaaaaaaaaa".replace("a", "z"))  # one repeated letter is fine
    policy.check("всё хорошо, спасибо")


def test_long_passwords_up_to_1024_are_accepted() -> None:
    policy.check("x" * 1024)
    policy.check("e\u0301" * 1024)  # 2048 code points, 1024 characters
    assert "too long" in rejected("x" * 1025).message


def test_common_passwords_are_refused_whatever_the_case() -> None:
    for value in ("password", "12345678", "Password1", "PASSWORD1", "iloveyou"):
        assert "too common" in rejected(value).message
    PasswordPolicy(reject_common=False).check("password1")


def test_every_long_enough_common_password_is_refused() -> None:
    words = [w for w in common_passwords() if len(w) >= 8]
    assert len(words) > 20
    for word in words:
        rejected(word)


def test_password_equal_to_the_email_is_refused() -> None:
    assert "user information" in rejected("ann@example.com", email="ann@example.com").message
    rejected("Ann@Example.COM", email="ann@example.com")
    policy.check("ann@example.com!", email="ann@example.com")
    policy.check("ann@example.com")  # without an email to compare with


def test_rejection_messages_name_auth0s_error_kinds() -> None:
    assert rejected("short").message.startswith("PasswordStrengthError:")
    assert rejected("password").message.startswith("PasswordDictionaryError:")
    assert rejected("a@b.test.x", email="a@b.test.x").message.startswith("PasswordNoUserInfoError:")


# -- hashing -------------------------------------------------------------------------------


def test_default_parameters_are_owasps() -> None:
    assert HashParameters() == HashParameters(time_cost=2, memory_kib=19456, parallelism=1)


def test_hash_is_argon2id_with_default_parameters(hasher: PasswordHasher) -> None:
    stored = hasher.hash_sync(PASSWORD)
    assert stored.startswith(DEFAULT_PREFIX)
    assert PASSWORD not in stored


def test_hashes_are_salted(hasher: PasswordHasher) -> None:
    first, second = hasher.hash_sync(PASSWORD), hasher.hash_sync(PASSWORD)
    assert first != second
    assert hasher.verify_sync(first, PASSWORD) == Verification(True)
    assert hasher.verify_sync(second, PASSWORD) == Verification(True)


def test_wrong_password_fails(hasher: PasswordHasher) -> None:
    stored = hasher.hash_sync(PASSWORD)
    assert hasher.verify_sync(stored, PASSWORD + "!") == Verification(False)
    assert hasher.verify_sync(stored, PASSWORD.upper()) == Verification(False)
    assert hasher.verify_sync(stored, "") == Verification(False)


def test_long_passwords_are_not_truncated(hasher: PasswordHasher) -> None:
    long = "p" * 1023 + "q"
    stored = hasher.hash_sync(long)
    assert hasher.verify_sync(stored, long).ok
    assert not hasher.verify_sync(stored, long + "r").ok
    assert not hasher.verify_sync(stored, long[:-1]).ok
    # bcrypt's 72-byte truncation would let these through:
    at_73 = "a" * 72 + "b"
    stored_73 = hasher.hash_sync(at_73)
    assert not hasher.verify_sync(stored_73, "a" * 72 + "c").ok
    assert not hasher.verify_sync(stored_73, "a" * 72).ok


def test_non_ascii_password_round_trip(hasher: PasswordHasher) -> None:
    stored = hasher.hash_sync("mot de passe très long ✓")
    assert hasher.verify_sync(stored, "mot de passe très long ✓").ok
    assert not hasher.verify_sync(stored, "mot de passe tres long ✓").ok


def test_weaker_parameters_are_rehashed_on_success(
    hasher: PasswordHasher, weak_hasher: PasswordHasher
) -> None:
    stored = weak_hasher.hash_sync(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    result = hasher.verify_sync(stored, PASSWORD)
    assert result.ok
    assert result.new_hash is not None and result.new_hash.startswith(DEFAULT_PREFIX)
    assert hasher.verify_sync(result.new_hash, PASSWORD) == Verification(True)


def test_no_rehash_on_a_wrong_password(hasher: PasswordHasher, weak_hasher: PasswordHasher) -> None:
    stored = weak_hasher.hash_sync(PASSWORD)
    assert hasher.verify_sync(stored, "not the password") == Verification(False)


def test_stronger_stored_hash_also_counts_as_changed(
    hasher: PasswordHasher, weak_hasher: PasswordHasher
) -> None:
    """Parameters that differ in any direction are replaced by the configured ones."""
    stored = hasher.hash_sync(PASSWORD)
    result = weak_hasher.verify_sync(stored, PASSWORD)
    assert result.ok and result.new_hash and result.new_hash.startswith("$argon2id$v=19$m=1024,")


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_bcrypt_hash_verifies_and_is_upgraded_to_argon2(
    hasher: PasswordHasher, prefix: str
) -> None:
    stored = prefix + bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()[4:]
    result = hasher.verify_sync(stored, PASSWORD)
    assert result.ok
    assert result.new_hash is not None and result.new_hash.startswith(DEFAULT_PREFIX)
    assert hasher.verify_sync(result.new_hash, PASSWORD) == Verification(True)
    assert hasher.verify_sync(stored, PASSWORD + "x") == Verification(False)


def test_bcrypt_user_typing_a_password_over_72_bytes_gets_an_answer_not_a_crash(
    hasher: PasswordHasher,
) -> None:
    """bcrypt >= 5 raises ValueError above 72 bytes. An imported hash was made by a system that
    silently used the first 72 bytes, so that is what is checked; the upgrade hashes it whole."""
    long = "imported long passphrase " * 4  # 100 bytes
    stored = bcrypt.hashpw(long.encode()[:72], bcrypt.gensalt(rounds=4)).decode()
    result = hasher.verify_sync(stored, long)
    assert result.ok and result.new_hash is not None
    assert hasher.verify_sync(result.new_hash, long).ok
    assert not hasher.verify_sync(result.new_hash, long[:72]).ok
    assert hasher.verify_sync(stored, "x" * 100) == Verification(False)


def test_unknown_user_never_verifies(hasher: PasswordHasher) -> None:
    assert hasher.verify_sync(None, PASSWORD) == Verification(False)
    assert hasher.verify_sync(None, "tether-dummy-password") == Verification(False)
    assert hasher.verify_sync(None, "") == Verification(False)


@pytest.mark.parametrize(
    "stored", ["", "plain text", "$argon2id$broken", "$1$md5crypt$abc", "$2b$10$short", "$2b$é"]
)
def test_unreadable_stored_hash_fails_closed(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.verify_sync(stored, PASSWORD) == Verification(False)


async def test_async_api_runs_the_same_checks(weak_hasher: PasswordHasher) -> None:
    stored = await weak_hasher.hash(PASSWORD)
    assert (await weak_hasher.verify(stored, PASSWORD)).ok
    assert not (await weak_hasher.verify(stored, "nope")).ok
    assert not (await weak_hasher.verify(None, PASSWORD)).ok


@pytest.mark.parametrize("cap", [1, 2])
async def test_at_most_concurrency_hashes_run_at_once(cap: int) -> None:
    """A worker's share of the cores (TETHER_HASH_CONCURRENCY, default cores / workers): a
    storm of sign-ins queues for argon2 instead of running six threads beside the event loop."""
    import asyncio
    import threading
    import time

    hasher = PasswordHasher(WEAK, concurrency=cap)
    stored = hasher.hash_sync("a long enough password")
    running, peak, lock = 0, 0, threading.Lock()
    real = hasher.verify_sync

    def tracked(stored_hash: str | None, password: str) -> Any:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            time.sleep(0.02)
            return real(stored_hash, password)
        finally:
            with lock:
                running -= 1

    hasher.verify_sync = tracked  # type: ignore[method-assign]
    results = await asyncio.gather(
        *(hasher.verify(stored, "a long enough password") for _ in range(6))
    )
    assert all(r.ok for r in results)
    assert peak == cap
