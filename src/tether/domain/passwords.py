"""Password hashing and policy.

argon2id at m=19 MiB, t=2, p=1 (OWASP Password Storage Cheat Sheet; ASVS 5.0 V11 appendix C),
rehashed on login when the parameters change; bcrypt hashes of imported users are verified and
upgraded. Hashing runs in a worker thread (argon2-cffi releases the GIL), so a login storm does
not stall the event loop; at most ``concurrency`` hashes run at once per worker (its share of the
cores, DESIGN.md "Hot paths"), so in a storm the event loop still gets a core for jwks and the
rest instead of competing with six argon2 threads.
"""

from __future__ import annotations

import asyncio
import unicodedata
import weakref
from dataclasses import dataclass
from functools import cache
from importlib import resources

import bcrypt
from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tether.domain import legacy_hashes
from tether.domain.errors import PasswordRejected
from tether.domain.metrics import NO_METRICS, Metrics


@dataclass(frozen=True)
class HashParameters:
    time_cost: int = 2
    memory_kib: int = 19456
    parallelism: int = 1


@dataclass(frozen=True)
class Verification:
    ok: bool
    new_hash: str | None = None  # set when the stored hash should be replaced


class PasswordHasher:
    def __init__(
        self,
        params: HashParameters = HashParameters(),
        metrics: Metrics = NO_METRICS,
        *,
        concurrency: int | None = None,
    ):
        self._metrics = metrics
        self._concurrency = concurrency
        # One semaphore per event loop (asyncio primitives are bound to one; tests run several).
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._argon = _Argon2(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            type=Type.ID,
        )
        # Verified against when the account does not exist, so "no such user" costs as much as
        # "wrong password" (OWASP Authentication Cheat Sheet, "quick exit" timing leak).
        self._dummy = self._argon.hash("tether-dummy-password")

    def hash_sync(self, password: str) -> str:
        return self._argon.hash(password)

    def verify_sync(self, stored: str | None, password: str) -> Verification:
        if stored is None:
            try:
                self._argon.verify(self._dummy, password)
            except VerificationError:
                pass
            return Verification(False)
        if stored.startswith(("$2a$", "$2b$", "$2y$")):
            # bcrypt reads at most 72 bytes (bcrypt >= 5 raises above that): check what the
            # importing system hashed; the argon2id upgrade then covers the whole password.
            try:
                ok = bcrypt.checkpw(password.encode("utf-8")[:72], stored.encode("ascii"))
            except ValueError:  # a malformed imported hash
                return Verification(False)
            return Verification(ok, self._argon.hash(password) if ok else None)
        if legacy_hashes.is_legacy(stored):  # imported with a custom_password_hash
            ok = legacy_hashes.verify(stored, password)
            return Verification(ok, self._argon.hash(password) if ok else None)
        try:
            self._argon.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verification(False)
        if self._argon.check_needs_rehash(stored):
            return Verification(True, self._argon.hash(password))
        return Verification(True)

    def _slot(self) -> asyncio.Semaphore | None:
        if self._concurrency is None:
            return None
        loop = asyncio.get_running_loop()
        slot = self._slots.get(loop)
        if slot is None:
            slot = self._slots[loop] = asyncio.Semaphore(self._concurrency)
        return slot

    async def hash(self, password: str) -> str:
        self._metrics.hashing(+1)
        try:
            slot = self._slot()
            if slot is None:
                return await asyncio.to_thread(self.hash_sync, password)
            async with slot:
                return await asyncio.to_thread(self.hash_sync, password)
        finally:
            self._metrics.hashing(-1)

    async def verify(self, stored: str | None, password: str) -> Verification:
        # In flight = waiting for a slot, for a thread of the pool or running on one: the
        # argon2 queue.
        self._metrics.hashing(+1)
        try:
            slot = self._slot()
            if slot is None:
                return await asyncio.to_thread(self.verify_sync, stored, password)
            async with slot:
                return await asyncio.to_thread(self.verify_sync, stored, password)
        finally:
            self._metrics.hashing(-1)


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("tether.domain").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


@dataclass(frozen=True)
class PasswordPolicy:
    """ASVS 5.0 §6.2: length only, no composition rules, no truncation, common passwords refused."""

    min_length: int = 8
    max_length: int = 1024
    reject_common: bool = True

    def check(self, password: str, *, email: str | None = None) -> None:
        if not isinstance(password, str) or not password:
            raise PasswordRejected("Password is required.")
        # Count what a person sees: NFC code points, so "é" is one character however typed.
        length = len(unicodedata.normalize("NFC", password))
        if length < self.min_length:
            raise PasswordRejected(
                f"PasswordStrengthError: Password is too short (minimum {self.min_length} characters)."
            )
        if length > self.max_length:
            raise PasswordRejected(
                f"PasswordStrengthError: Password is too long (maximum {self.max_length} characters)."
            )
        lowered = password.lower()
        if self.reject_common and lowered in common_passwords():
            raise PasswordRejected("PasswordDictionaryError: Password is too common.")
        if email and lowered == email.lower():
            raise PasswordRejected(
                "PasswordNoUserInfoError: Password is based on user information."
            )
