"""Web calls services and a service owns its transaction (issue 12, item 1; DESIGN.md "Layers"):
no web module names a unit of work or the engine."""

from __future__ import annotations

import re
from pathlib import Path

import tether.web

WEB = Path(tether.web.__file__).parent
FORBIDDEN = re.compile(r"\buow\b|\bengine\b|UnitOfWork")


def test_no_web_module_holds_a_unit_of_work_or_the_engine() -> None:
    modules = sorted(WEB.rglob("*.py"))
    assert len(modules) > 20  # the walk found the package, not an empty folder
    offenders = [
        f"{path.relative_to(WEB)}:{number}: {line.strip()}"
        for path in modules
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert offenders == []


def test_services_handed_to_web_carry_no_unit_of_work_factory() -> None:
    from tether.web.services import Services

    fields = set(Services.__dataclass_fields__)
    assert {"tenants", "applications", "sessions", "logs"} <= fields
    assert not fields & {"uow", "engine"}
