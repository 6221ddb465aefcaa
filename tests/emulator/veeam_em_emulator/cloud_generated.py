"""Generated Cloud Connect tenants for benchmarks and scale tests (``--tenants N``).

N standalone tenants ``Generated Tenant 0001``.. on vbr01, each with one backup quota on ``Backup Volume 01``
and settings that vary with the number, built straight into the state (no task, no request), so that an
emulator with 500 tenants starts as fast as one with none.  Ids are stable (uuid5), as for the seed.
"""

from __future__ import annotations

from . import cloud_seed, secret_store, seed

GENERATED = "Generated Tenant %04d"
REPOSITORY = "Backup Volume 01"


def generated_name(n):
    return GENERATED % n


def add_generated_tenants(state, count, server="vbr01"):
    """Add ``count`` generated tenants on ``server`` to ``state.cloud``; returns their ids."""
    sid = seed.server_id(server)
    ids = []
    for n in range(1, count + 1):
        name = generated_name(n)
        t = cloud_seed.new_tenant(cloud_seed.tenant_id(server, name), sid, name, "standalone")
        t.update(description="Generated customer %d" % n, enabled=n % 10 != 0, max_tasks=1 + n % 4,
                 protection_enabled=n % 3 == 0, protection_period=7 + n % 7,
                 resources=[cloud_seed._quota(state, server, name, REPOSITORY,  # pylint: disable=protected-access
                                              "%s backups" % name, 50 + 10 * (n % 5), n % 40)])
        t["password"] = secret_store.sealed(cloud_seed.tenant_password(server, name))
        state.cloud["tenants"][t["id"]] = t
        ids.append(t["id"])
    return ids
