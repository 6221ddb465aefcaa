"""A service provider's Veeam Cloud Connect estate, as the emulator starts (em-api-cloud.md sections 7-12).

Tenants of the three types with quotas on the seeded repositories (any repository of a backup server can
be a cloud repository), one hardware-plan subscription with its network extension appliance, one
subtenant, a tenant name used on both backup servers; the WAN accelerators, hardware plans, cloud
gateways and gateway pool they refer to.  Ids are stable (uuid5), so tests can name them.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import timedelta

from . import inventory, secret_store, seed

NEVER = "1753-01-01T00:00:00Z"          # LastActive of a tenant that never connected [INF]

# server, host name, description, capacity (GB), traffic port, connections, cache path, high bandwidth
WAN_ACCELERATORS = [
    ("vbr01", "wan01.lab.local", "Provider-side WAN accelerator", 100, 6165, 3, "D:\\VeeamWAN", True),
    ("vbr02", "wan02.lab.local", "Branch WAN accelerator", 50, 6165, 0, "/var/veeam/wan", False),
]

# server, name, host name (= @Name), network mode, external IP, external port, internal port, description
GATEWAYS = [
    ("vbr01", "gw01", "gw01.provider.example", "NAT", "203.0.113.10", 6180, 6180, "Gateway 1, Frankfurt"),
    ("vbr01", "gw02", "gw02.provider.example", "Direct", "203.0.113.11", 6180, 6180, "Gateway 2, Frankfurt"),
    ("vbr02", "gw03", "gw03.branch.example", "NAT", "198.51.100.20", 6180, 6180, "Branch gateway"),
]

# server, name, description, gateway keys
POOLS = [
    ("vbr01", "EU gateways", "Gateways for EU customers", ("gw01", "gw02")),
]


def wan_id(server, host):
    return seed.guid("wan", server, host)


def gateway_id(server, key):
    return seed.guid("cloudgateway", server, key)


def pool_id(server, name):
    return seed.guid("gatewaypool", server, name)


def plan_id(server, name):
    return seed.guid("hardwareplan", server, name)


def tenant_id(server, name):
    return seed.guid("tenant", server, name)


def quota_id(server, tenant, repo):
    return seed.guid("quota", server, tenant, repo)


def tenant_password(server, name):
    """The secret a seeded tenant starts with."""
    return secret_store.seed_password("tenant", server, name)


def subtenant_password(server, tenant, name):
    return secret_store.seed_password("subtenant", server, tenant, name)


def _plans():
    # the host, cluster and datastore refs are those of the seeded inventory (inventory.py), as the lookup gives them
    vi = {"kind": "vi", "host_ref": "urn:VMware:Cluster:%s.domain-c7" % seed.VC_ROOT,
          "parent_type": "ClusterComputeResource", "parent_name": "Cluster01",
          "storage": [{"id": seed.guid("ds", "silver", "1"), "name": "Silver datastore",
                       "type": "Datastore", "ref": "urn:VMware:Datastore:%s.datastore-21" % seed.VC_ROOT,
                       "root": "[datastore1]", "quota_gb": 500}],
          "net_id": seed.guid("net", "silver"), "with_internet": 1, "without_internet": 1}
    hv = {"kind": "hv", "host_ref": "urn:HyperV:Host:%s.hv01.lab.local" % seed.HV_ROOT,
          "storage": [{"id": seed.guid("vol", "gold", "1"), "name": "Gold volume",
                       "path": "C:\\ClusterStorage\\Volume1", "quota_gb": 1000}],
          "net_id": seed.guid("net", "gold"), "with_internet": 2, "without_internet": 0}
    return [("vbr01", "Silver VMware", "2 vCPU GHz, 8 GB per tenant", 4000, 8192, vi),
            ("vbr01", "Gold Hyper-V", "Hyper-V replicas", -1, 16384, hv)]


def _quota(state, server, tenant, repo_name, display, quota_gb, used_gb, wan=None):
    rid = seed.repo_id(server, repo_name)
    return {"id": quota_id(server, tenant, repo_name), "display_name": display, "repo_id": rid,
            "wan_id": wan_id(server, wan) if wan else None, "quota_mb": quota_gb * 1024, "used_mb": used_gb * 1024}


def new_tenant(tid, server_id, name, kind):
    """A tenant record with EM's defaults; the caller fills what it knows."""
    return {"id": tid, "server_id": server_id, "name": name, "kind": kind, "description": "", "enabled": True,
            "lease_enabled": False, "lease_expiration": None, "password": None, "password_writes": 0,
            "resources": [], "compute": [], "vcd_resources": [], "pools": [],
            "throttling_enabled": False, "throttling_limit": 1, "throttling_unit": "MBps", "public_ip_count": 0,
            "backup_count": 0, "replica_count": 0, "max_tasks": 1, "workstation_count": 0, "server_count": 0,
            "protection_enabled": False, "protection_period": 7, "failover_gateways": False,
            "last_result": "Success", "last_active": NEVER,
            "username": name, "org_name": "", "org_ref": "", "domain_name": "", "domain_port": 389,
            "account": "", "subtenants": OrderedDict(), "type_ignored": 0}


def new_subtenant(sid, name, quota, password):
    return {"id": sid, "name": name, "description": "", "enabled": True, "password": secret_store.sealed(password),
            "password_writes": 0, "unlimited": False, "quota_name": quota["display_name"],
            "resource_id": quota["id"], "quota_mb": 10240, "used_mb": 0,
            "quota_id": seed.guid("subquota", sid)}


def seed_state(state):
    """Fill state.cloud: wan accelerators, gateways, pools, hardware plans, tenants (with subtenants)."""
    srv = {s["name"]: s["id"] for s in state.servers.values()}
    cloud = {"wan": OrderedDict(), "gateways": OrderedDict(), "pools": OrderedDict(), "plans": OrderedDict(),
             "tenants": OrderedDict()}
    state.cloud = cloud
    for server, host, desc, cap, port, conns, cache, hbw in WAN_ACCELERATORS:
        wid = wan_id(server, host)
        cloud["wan"][wid] = {"id": wid, "server_id": srv[server], "name": host, "description": desc,
                             "capacity": cap, "port": port, "connections": conns, "cache": cache,
                             "high_bandwidth": hbw, "version": "13.0.1.1071", "out_of_date": False}
    for server, key, host, mode, ext_ip, ext_port, int_port, desc in GATEWAYS:
        gid = gateway_id(server, key)
        cloud["gateways"][gid] = {"id": gid, "server_id": srv[server], "name": host, "enabled": True,
                                  "mode": mode, "external_ip": ext_ip, "external_port": ext_port,
                                  "internal_port": int_port, "description": desc}
    for server, name, desc, gws in POOLS:
        pid = pool_id(server, name)
        cloud["pools"][pid] = {"id": pid, "server_id": srv[server], "name": name, "description": desc,
                               "gateways": [gateway_id(server, g) for g in gws]}
    for server, name, desc, cpu, mem, details in _plans():
        hid = plan_id(server, name)
        cloud["plans"][hid] = dict(details, id=hid, server_id=srv[server], name=name, description=desc,
                                   cpu_mhz=cpu, memory_mb=mem)
    _seed_tenants(state, srv)


def _tenant(state, server, sid, name, kind, password, **kw):
    tid = tenant_id(server, name)
    t = new_tenant(tid, sid, name, kind)
    t.update(kw)
    t["password"] = secret_store.sealed(password)
    state.cloud["tenants"][tid] = t
    return t


def _seed_tenants(state, srv):
    clock = state.clock
    s1, s2 = srv["vbr01"], srv["vbr02"]
    _tenant(state, "vbr01", s1, "acme", "standalone", tenant_password("vbr01", "acme"),
            description="ACME Corp, backup only", max_tasks=4, backup_count=12, server_count=6,
            last_active="%sZ" % (clock - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S"),
            resources=[_quota(state, "vbr01", "acme", "Backup Volume 01", "ACME backups", 100, 40, "wan01.lab.local")],
            pools=[pool_id("vbr01", "EU gateways")])
    globex = _tenant(
        state, "vbr01", s1, "globex", "standalone", tenant_password("vbr01", "globex"),
        description="Globex, backup and DRaaS", max_tasks=8, backup_count=30, replica_count=4,
        throttling_enabled=True, throttling_limit=100, throttling_unit="Mbps", public_ip_count=2,
        protection_enabled=True, protection_period=14,
        resources=[_quota(state, "vbr01", "globex", "Default Backup Repository", "Globex primary", 50, 12),
                   _quota(state, "vbr01", "globex", "Backup Volume 01", "Globex archive", 200, 150)],
        compute=[{"id": seed.guid("compute", "vbr01", "globex", "Silver VMware"),
                  "plan_id": plan_id("vbr01", "Silver VMware"), "wan_id": None, "platform": "VMware",
                  "failover": True,
                  "appliance": {"name": "globex-nea", "network": "VM Network", "auto_ip": False,
                                "ip": "192.168.50.10", "mask": "255.255.255.0", "gateway": "192.168.50.1",
                                "dvs_uuid": None, "under_dvs": False},
                  "memory_used_mb": 4096, "cpu_count": 2}])
    sub = new_subtenant(seed.guid("subtenant", "vbr01", "globex", "globex-hr"), "globex-hr",
                        globex["resources"][0], subtenant_password("vbr01", "globex", "globex-hr"))
    sub.update(description="HR department", quota_mb=20 * 1024, used_mb=3 * 1024)
    globex["subtenants"][sub["id"]] = sub
    # the organization and its org VDC as the lookup gives them (inventory.py, root vcd01)
    vdc = inventory.vcd_vdc_guid("initech", "initech-prod-vdc")
    _tenant(state, "vbr01", s1, "initech", "vcd", tenant_password("vbr01", "initech"),
            description="Initech vCloud organization", org_name="initech",
            org_ref=inventory.vcd_ref("Organization", "initech"),
            resources=[_quota(state, "vbr01", "initech", "Default Backup Repository", "Initech backups", 80, 0)],
            vcd_resources=[{"id": vdc, "name": "initech-prod-vdc",
                            "ref": inventory.vcd_ref("OrgVdc", "initech", "initech-prod-vdc"),
                            "enabled": True, "allocation": "AllocationPool", "failover": False, "wan_id": None,
                            "appliance": None, "usage": {"cpu": 0, "memory": 0, "storage": 0}}])
    _tenant(state, "vbr01", s1, "tech\\william.fox", "ad", tenant_password("vbr01", "tech\\william.fox"),
            description="Created by TECH\\sheila.d.cory", max_tasks=2, protection_enabled=True,
            protection_period=1, domain_name="tech.local", domain_port=389, account="tech\\william.fox",
            lease_enabled=True, lease_expiration="%sZ" % (clock + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%S"),
            resources=[_quota(state, "vbr01", "tech\\william.fox", "Backup Volume 01", "Cloud repository 1", 50, 0,
                              "wan01.lab.local")])
    _tenant(state, "vbr02", s2, "acme", "standalone", tenant_password("vbr02", "acme"),
            description="ACME branch (suspended)", enabled=False,
            resources=[_quota(state, "vbr02", "acme", "Default Backup Repository", "ACME branch", 20, 5)])
