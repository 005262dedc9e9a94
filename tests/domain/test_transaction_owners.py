"""Services own their transactions (issue 12, item 1; docs/architecture.md, "Who owns a
transaction"): no public method of a service web is handed takes a unit of work from its caller.

What one service does inside another's transaction is either a step (``Audit``, ``UserAccess``,
``SignInAttempts``, ``VerificationMail``, ``MailboxProof``, module functions such as
``add_database_user``), which web is never handed, or a method that takes the one repository it
writes (a narrow port, e.g. ``MailService.enqueue(outbox, ...)``)."""

from __future__ import annotations

import inspect
import typing
from dataclasses import fields

from tether.domain.ports import UnitOfWork
from tether.web.services import Services


def _takes_a_unit_of_work(function: object) -> bool:
    hints = typing.get_type_hints(function)
    return any(hint is UnitOfWork for name, hint in hints.items() if name != "return")


def test_no_public_method_of_a_service_takes_a_unit_of_work() -> None:
    hints = typing.get_type_hints(Services)
    offenders = []
    checked = 0
    for field in fields(Services):
        service = hints[field.name]
        if not inspect.isclass(service) or not service.__module__.startswith("tether.domain"):
            continue  # settings, clock, limiter
        for name, member in inspect.getmembers(service, inspect.isfunction):
            if name.startswith("_"):
                continue
            checked += 1
            if _takes_a_unit_of_work(member):
                offenders.append(f"{service.__name__}.{name}")
    assert checked > 100
    assert offenders == []


def test_the_in_transaction_steps_are_not_handed_to_web() -> None:
    from tether.domain.access import UserAccess
    from tether.domain.audit import Audit
    from tether.domain.brute_force import SignInAttempts
    from tether.domain.mailbox import MailboxProof
    from tether.domain.verification import VerificationMail

    handed = set(typing.get_type_hints(Services).values())
    for step in (Audit, UserAccess, SignInAttempts, VerificationMail, MailboxProof):
        assert step not in handed
        assert any(
            _takes_a_unit_of_work(m) for _, m in inspect.getmembers(step, inspect.isfunction)
        ), step
