"""Linking at sign-in: the person who just signed in is offered to link into the account that
already has their verified address, after proving they own it now (issue 16, part 2).

The rules (DESIGN.md "Trust"; security-checklist §4.1, "Classic-federated merge"; Auth0's
Account Link extension says why an email match alone is not enough):

- only after a fresh interactive sign-in through ``/authorize`` (never ``prompt=none``, never a
  token-endpoint grant), for a first-party application, with tenant setting
  ``linking.on_sign_in`` at ``prompt`` (the default; ``off`` disables it);
- only when the identity that signed in has a verified email and another user of the tenant has
  the same address verified, the two are not linked, and the person has not said "keep them
  apart" for this pair;
- the email match is never the proof: **Link** asks for a fresh sign-in to the existing account
  (its password, or a code mailed for its email-code identity, checked as any sign-in is,
  brute-force protection included); then the new
  identity is linked into the existing user, which stays primary; the log event records both
  sign-ins and both addresses are mailed (``LinkingService``);
- an existing account whose address is **unverified** is offered nothing: it may be a squatter's
  pre-registration. A log event flags it (``details.event`` ``FLAG_EVENT``); the owner's later
  reset or verification detaches what was linked into it (``MailboxProof``).
"""

from __future__ import annotations

from collections.abc import Collection

from tether.domain.actor import Actor
from tether.domain.audit import NO_REQUEST, Audit, LogType, RequestInfo
from tether.domain.clock import Clock
from tether.domain.errors import Conflict, InvalidCredentials, InvalidInput, NotFound
from tether.domain.linking import LinkIdentity, LinkingService
from tether.domain.models import Application, LoginTransaction, Tenant, User, iso8601
from tether.domain.passwordless import PasswordlessService
from tether.domain.ports import UnitOfWorkFactory
from tether.domain.sign_in_linking.offers import Offer, SignInOffers
from tether.domain.users import DatabaseUsers
from tether.protocol import authorize as authz

#: Where a request parked for an upstream proof keeps what it proves (``upstream_proof``).
LINK_PROOF = "link_proof"
METHOD = "sign_in_prompt"


class SignInLinking(SignInOffers):
    """The offer (``SignInOffers``) and what the person answers: keep apart, or link after
    proving they own the existing account."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        users: DatabaseUsers,
        passwordless: PasswordlessService,
        linking: LinkingService,
        audit: Audit,
        clock: Clock,
    ):
        super().__init__(uow, audit)
        self._users = users
        self._passwordless = passwordless
        self._linking = linking
        self._clock = clock

    async def keep_separate(
        self,
        tenant: Tenant,
        app: Application,
        tx: LoginTransaction,
        prompt: Collection[str],
        offer_token: str,
        request: RequestInfo = NO_REQUEST,
    ) -> None:
        """ "Keep separate": remembered for this pair, whichever of the two signs in next."""
        offer = await self.current(tenant, app, tx, prompt, offer_token)
        async with self._uow() as uow:
            await uow.link_choices.keep_apart(
                tenant.id, offer.user.pk, offer.existing.pk, self._clock.now()
            )
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_API_OPERATION,
                request,
                description="Kept separate from an account with the same email",
                client_id=app.client_id,
                user=offer.user,
                details={"event": "link_declined", "other_user_id": offer.existing.user_id},
            )
            await uow.commit()

    async def send_code(
        self,
        tenant: Tenant,
        app: Application,
        tx: LoginTransaction,
        prompt: Collection[str],
        offer_token: str,
        request: RequestInfo = NO_REQUEST,
    ) -> str:
        """Mail a sign-in code for the existing account's email-code identity (the codes' own
        limits apply); the address it went to."""
        offer = await self.current(tenant, app, tx, prompt, offer_token)
        if not offer.code_connection or not offer.code_email:
            raise InvalidInput(
                "This account does not sign in with an email code.",
                code="operation_not_supported",
            )
        connection = await self._passwordless.connection(tenant, offer.code_connection, app)
        return await self._passwordless.start(tenant, app, connection, offer.code_email, request)

    async def link(
        self,
        tenant: Tenant,
        app: Application,
        tx: LoginTransaction,
        prompt: Collection[str],
        offer_token: str,
        password: str | None = None,
        request: RequestInfo = NO_REQUEST,
        *,
        code: str | None = None,
    ) -> User:
        """**Link**: the existing account's password (or, for an email-code account, the code
        ``send_code`` mailed), checked now as a sign-in, is the proof; then the identity that
        signed in is linked into the existing user (the primary). Returns the primary, whom
        the original request continues with."""
        offer = await self.current(tenant, app, tx, prompt, offer_token)
        if code is not None and offer.code_connection and offer.code_email:
            connection = await self._passwordless.connection(tenant, offer.code_connection, app)
            signed_in = await self._passwordless.verify(
                tenant, app, connection, offer.code_email, code, request
            )
            credential = "email_code"
        elif password is not None and offer.password_connection and offer.password_email:
            signed_in, connection = await self._users.authenticate(
                tenant, app, offer.password_connection, offer.password_email, password, request
            )
            credential = "password"
        else:
            raise InvalidInput(
                "Sign in to the existing account to link it.", code="operation_not_supported"
            )
        if signed_in.pk != offer.existing.pk:
            raise InvalidCredentials("Wrong email or password.")
        return await self._link_proven(tenant, app, tx, offer, connection.name, credential, request)

    async def upstream_proof(
        self,
        tenant: Tenant,
        app: Application,
        tx: LoginTransaction,
        prompt: Collection[str],
        offer_token: str,
        connection_name: str,
    ) -> dict[str, object]:
        """**Link** for an account that signs in upstream: what the caller parks beside a new
        request for that sign-in (``/u/login/upstream``, ``prompt=login`` at the provider);
        ``link_after_upstream`` finishes it."""
        offer = await self.current(tenant, app, tx, prompt, offer_token)
        if connection_name not in {name for name, _ in offer.upstream}:
            raise InvalidInput(
                "The existing account does not sign in that way.", code="invalid_connection"
            )
        return {LINK_PROOF: {"tx": tx.id, "offer": offer_token, "connection": connection_name}}

    async def link_after_upstream(
        self,
        tenant: Tenant,
        app: Application,
        proof_tx: LoginTransaction,
        signed_in: User,
        request: RequestInfo = NO_REQUEST,
    ) -> tuple[LoginTransaction, User]:
        """The upstream sign-in ``upstream_proof`` asked for came back as ``signed_in``: when
        that is the existing account, link. Returns the original request and the primary."""
        marker = proof_tx.request.get(LINK_PROOF)
        if not isinstance(marker, dict):
            raise InvalidInput("This sign-in was not asked for a link.", code="invalid_state")
        async with self._uow(read_only=True) as uow:
            original = await uow.transactions.get(tenant.id, str(marker.get("tx")))
        if original is None or original.completed_at is not None:
            raise Conflict("There is nothing to link any more.", code="link_gone")
        prompt = authz.AuthorizationRequest.from_dict(original.request).prompt
        offer = await self.current(tenant, app, original, prompt, str(marker.get("offer")))
        if signed_in.pk != offer.existing.pk:
            raise InvalidCredentials("That sign-in is not the existing account's.")
        connection_name = str(marker.get("connection") or "")
        primary = await self._link_proven(
            tenant, app, original, offer, connection_name, "upstream_sign_in", request
        )
        return original, primary

    async def _link_proven(
        self,
        tenant: Tenant,
        app: Application,
        tx: LoginTransaction,
        offer: Offer,
        connection_name: str,
        credential: str,
        request: RequestInfo,
    ) -> User:
        """The existing account was signed in to just now: link the identity that signed in
        for ``tx`` into it, recording both sign-ins."""
        primary_identity = next(i for i in offer.user.identities if i.is_primary)
        # The parked request names the user who signed in, whose row the link removes (and
        # the request with it, by cascade): it names nobody until the caller records the
        # primary's sign-in. Should the link fail, the request asks for a new sign-in.
        tx.user_pk = None
        async with self._uow() as uow:
            await uow.transactions.update(tx)
            await uow.commit()
        now = self._clock.now()
        proof = {
            "email": offer.user.email,
            "signed_in": {
                "user_id": offer.user.user_id,
                "connection": primary_identity.connection_name,
                "auth_time": iso8601(tx.auth_time),
                "email_verified": True,
            },
            "existing_account_sign_in": {
                "user_id": offer.existing.user_id,
                "connection": connection_name,
                "credential": credential,
                "at": iso8601(now),
            },
        }
        await self._linking.link(
            tenant,
            offer.existing.user_id,
            LinkIdentity(
                provider=primary_identity.provider,
                user_id=primary_identity.subject,
                method=METHOD,
                proof=proof,
            ),
            Actor(client_id=app.client_id, user_id=offer.existing.user_id, request=request),
        )
        async with self._uow(read_only=True) as uow:
            primary = await uow.users.by_pk(tenant.id, offer.existing.pk)
        if primary is None:
            raise NotFound("The user does not exist.", code="inexistent_user")
        return primary
