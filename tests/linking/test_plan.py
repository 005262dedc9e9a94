"""domain/linking/plan.py: what a link changes, decided from the loaded rows without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tether.domain.actor import Actor
from tether.domain.audit import RequestInfo
from tether.domain.linking import merge_metadata, plan_link
from tether.domain.linking.plan import unlink_reason
from tether.domain.models import Identity, Tenant, User

NOW = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC).replace(tzinfo=None)
ACTOR = Actor(client_id="cli_1", user_id="auth0|admin", request=RequestInfo(ip="192.0.2.7"))


def tenant(**linking: Any) -> Tenant:
    return Tenant("ten_1", "t", "https://t.example", True, NOW, {"linking": linking})


def identity(pk: str, provider: str, subject: str, *, primary: bool, **profile: Any) -> Identity:
    return Identity(
        id=f"idn_{subject}",
        tenant_id="ten_1",
        user_pk=pk,
        connection_id=f"con_{provider}",
        connection_name=provider,
        provider=provider,
        subject=subject,
        is_primary=primary,
        is_social=provider != "auth0",
        profile_data=dict(profile),
    )


def user(pk: str, provider: str, subject: str, **fields: Any) -> User:
    u = User(
        pk=pk,
        tenant_id="ten_1",
        user_id=f"{provider}|{subject}",
        email=fields.pop("email", f"{subject}@example.com"),
        email_verified=fields.pop("email_verified", True),
        created_at=datetime(2026, 1, 1),
        updated_at=datetime(2026, 1, 1),
        **fields,
    )
    u.identities = [identity(pk, provider, subject, primary=True, email=u.email)]
    return u


def test_the_secondary_identities_move_with_the_reason_and_the_primary_one_keeps_the_user() -> None:
    primary = user("usr_p", "auth0", "p1", user_metadata={"a": 1})
    secondary = user(
        "usr_s",
        "google-oauth2",
        "g1",
        name="Sam",
        picture="https://x/p.png",
        user_metadata={"b": 2},
        app_metadata={"plan": "pro"},
        logins_count=3,
        last_ip="198.51.100.1",
    )
    secondary.identities.append(identity("usr_s", "github", "h1", primary=False))
    before = [(i.user_pk, i.is_primary, i.detached) for i in secondary.identities]

    plan = plan_link(
        tenant(),
        primary,
        secondary,
        method="server_side",
        proof={"provider": "google-oauth2"},
        actor=ACTOR,
        now=NOW,
    )

    assert [i.user_id for i in plan.moved] == ["google-oauth2|g1", "github|h1"]
    assert all(i.user_pk == "usr_p" and i.linked_at == NOW for i in plan.moved)
    assert all(not i.is_primary and not i.linked_unverified for i in plan.moved)
    reason = plan.moved[0].link_reason
    assert reason == {
        "at": "2026-03-01T12:00:00.250Z",
        "method": "server_side",
        "primary_email_verified": True,
        "actor": {"client_id": "cli_1", "user_id": "auth0|admin", "ip": "192.0.2.7"},
        "proof": {"provider": "google-oauth2"},
        "secondary_user_id": "google-oauth2|g1",
    }
    # The secondary's own user goes away: its profile and metadata stay on its primary identity.
    kept = plan.moved[0]
    assert kept.profile_data == {
        "email": "g1@example.com",
        "email_verified": True,
        "name": "Sam",
        "picture": "https://x/p.png",
    }
    assert kept.detached is not None
    assert kept.detached["user_id"] == "google-oauth2|g1"
    assert kept.detached["user_metadata"] == {"b": 2}
    assert kept.detached["app_metadata"] == {"plan": "pro"}
    assert kept.detached["logins_count"] == 3
    assert kept.detached["last_ip"] == "198.51.100.1"
    assert kept.detached["identities"] == ["google-oauth2|g1", "github|h1"]
    assert kept.detached["created_at"] == "2026-01-01T00:00:00.000Z"
    assert plan.moved[1].detached is None and plan.moved[1].profile_data == {}
    # The rows the transaction loaded are not changed by deciding.
    assert [(i.user_pk, i.is_primary, i.detached) for i in secondary.identities] == before
    # Under the default ``metadata_merge: discard`` the primary's metadata stays as it is.
    assert plan.user_metadata == {"a": 1} and plan.app_metadata == {}


def test_metadata_merge_fills_what_the_primary_lacks() -> None:
    primary = user("usr_p", "auth0", "p1", user_metadata={"a": 1, "tags": ["x"], "n": {"k": 1}})
    secondary = user(
        "usr_s",
        "auth0",
        "s1",
        user_metadata={"a": 9, "b": 2, "tags": ["x", "y"], "n": {"k": 2, "j": 3}},
        app_metadata={"roles": ["admin"]},
    )
    plan = plan_link(
        tenant(metadata_merge="merge"),
        primary,
        secondary,
        method="link_with",
        proof={},
        actor=ACTOR,
        now=NOW,
    )
    assert plan.user_metadata == {"a": 1, "b": 2, "tags": ["x", "y"], "n": {"k": 1, "j": 3}}
    assert plan.app_metadata == {"roles": ["admin"]}
    assert primary.user_metadata == {"a": 1, "tags": ["x"], "n": {"k": 1}}


def test_an_unverified_primary_marks_every_moved_identity_and_the_log() -> None:
    primary = user("usr_p", "auth0", "p1", email_verified=False)
    secondary = user("usr_s", "auth0", "s1")
    secondary.identities.append(identity("usr_s", "github", "h1", primary=False))
    plan = plan_link(
        tenant(), primary, secondary, method="server_side", proof={}, actor=ACTOR, now=NOW
    )
    assert plan.unverified
    assert all(i.linked_unverified for i in plan.moved)
    assert plan.moved[0].link_reason is not None
    assert plan.moved[0].link_reason["primary_email_verified"] is False
    assert plan.details["primary_email_verified"] is False


def test_the_log_details_name_who_how_and_before_and_after() -> None:
    primary = user("usr_p", "auth0", "p1")
    secondary = user("usr_s", "auth0", "s1")
    plan = plan_link(
        tenant(),
        primary,
        secondary,
        method="link_with",
        proof={"id_token": {"aud": "app"}},
        actor=ACTOR,
        now=NOW,
    )
    assert plan.log_details(["auth0|p1", "auth0|s1"]) == {
        "event": "identity_linked",
        "method": "link_with",
        "primary_email_verified": True,
        "actor": {"client_id": "cli_1", "user_id": "auth0|admin", "ip": "192.0.2.7"},
        "proof": {"id_token": {"aud": "app"}},
        "secondary_user_id": "auth0|s1",
        "before": ["auth0|p1"],
        "after": ["auth0|p1", "auth0|s1"],
    }


def test_merge_metadata_keeps_the_primary_values_and_does_not_mutate() -> None:
    primary = {"a": None, "l": [1, 2]}
    out = merge_metadata(primary, {"a": "s", "l": [2, 3], "z": 0})
    assert out == {"a": "s", "l": [1, 2, 3], "z": 0}
    assert primary == {"a": None, "l": [1, 2]}


def test_unlink_reason_names_the_primary_and_the_actor() -> None:
    primary = user("usr_p", "auth0", "p1")
    assert unlink_reason(ACTOR, primary, NOW) == {
        "at": "2026-03-01T12:00:00.250Z",
        "method": "unlink",
        "actor": {"client_id": "cli_1", "user_id": "auth0|admin", "ip": "192.0.2.7"},
        "unlinked_from": "auth0|p1",
    }
