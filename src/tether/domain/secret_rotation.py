"""``tether secret rotate``: every value sealed under an old master secret sealed anew under
the current one (issue 14, "Operations"), so the old secret can then be dropped.

Sealed are the signing keys' private halves, the applications' client secrets and the upstream
client secrets in connection options. The switch runs without downtime in three steps
(docs/deploy.md): every process first accepts the new secret beside the old one
(``TETHER_EXTRA_MASTER_SECRETS``), then seals with the new one while still accepting the old,
this command re-seals what the old one sealed, and the old secret is dropped. One transaction per
tenant; running it again changes nothing.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from tether.domain.ports import UnitOfWorkFactory
from tether.domain.sealing import Sealer

UPSTREAM_SECRET = "client_secret_sealed"


@dataclass
class Resealed:
    signing_keys: int = 0
    client_secrets: int = 0
    upstream_secrets: int = 0


class SecretRotation:
    def __init__(self, uow: UnitOfWorkFactory, sealer: Sealer):
        self._uow = uow
        self._sealer = sealer

    async def reseal_all(self) -> Resealed:
        done = Resealed()
        async with self._uow(read_only=True) as uow:
            tenant_ids = [t.id for t in await uow.tenants.list()]
        for tenant_id in tenant_ids:
            async with self._uow() as uow:
                for key in await uow.keys.list(tenant_id, include_retired=True):
                    fresh = self._sealer.reseal(tenant_id, key.encrypted_private_key)
                    if fresh is not None:
                        await uow.keys.set_sealed(key.id, fresh)
                        done.signing_keys += 1
                for app in await uow.applications.list(tenant_id):
                    if app.encrypted_secret is None:
                        continue
                    fresh = self._sealer.reseal(tenant_id, app.encrypted_secret)
                    if fresh is not None:
                        app.encrypted_secret = fresh
                        await uow.applications.update(app)
                        done.client_secrets += 1
                for connection in await uow.connections.list(tenant_id):
                    sealed = connection.options.get(UPSTREAM_SECRET)
                    if not isinstance(sealed, str):
                        continue
                    fresh = self._sealer.reseal(tenant_id, base64.b64decode(sealed))
                    if fresh is not None:
                        connection.options = {
                            **connection.options,
                            UPSTREAM_SECRET: base64.b64encode(fresh).decode(),
                        }
                        await uow.connections.update(connection)
                        done.upstream_secrets += 1
                await uow.commit()
        return done
