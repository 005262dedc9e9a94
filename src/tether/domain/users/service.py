"""``DatabaseUsers``: the database connection's use cases in one service, one module each."""

from __future__ import annotations

import builtins

from tether.domain.errors import NotFound
from tether.domain.models import Tenant, User
from tether.domain.users.reset import PasswordReset
from tether.domain.users.signin import SignIn
from tether.domain.users.signup import SignUp


class DatabaseUsers(SignUp, SignIn, PasswordReset):
    """Sign-up, password sign-in and password reset on Auth0's database connection."""

    async def list(
        self, tenant: Tenant, *, page: int = 0, per_page: int = 50
    ) -> tuple[builtins.list[User], int]:
        async with self._uow(read_only=True) as uow:
            users = await uow.users.list(tenant.id, offset=page * per_page, limit=per_page)
            total = await uow.users.count(tenant.id)
        return users, total

    async def get_by_pk(self, tenant: Tenant, pk: str) -> User:
        async with self._uow(read_only=True) as uow:
            user = await uow.users.by_pk(tenant.id, pk)
        if user is None:
            raise NotFound("The user does not exist.", code="inexistent_user")
        return user

    async def get(self, tenant: Tenant, user_id: str) -> User:
        async with self._uow(read_only=True) as uow:
            user = await uow.users.get(tenant.id, user_id)
        if user is None:
            raise NotFound("The user does not exist.", code="inexistent_user")
        return user
