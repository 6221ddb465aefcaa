"""/api/cloud: Veeam Cloud Connect tenants, their child collections, subtenants, and the read-only lookups.

Contract: em-api-cloud.md sections 1-3 and 7-14.  Data are seeded by :mod:`cloud_seed` into
``state.cloud``; write-only secrets use :mod:`secret_store`; strict body parsing, the empty-password
reading and the query-field helpers come from :mod:`secrets`.  The writes of hardware plans, gateways and
gateway pools are in :mod:`cloud_infra`; WAN accelerators (read-only) live at /api/wanAccelerators.
"""

from __future__ import annotations

import copy
import uuid

from lxml import etree

from . import cloud_infra, cloud_seed, secret_store, secrets
from .api import ApiError, Response, _accepted, _allow, _entity_format, _guid, xml
from .query import Field
from .schema import G, L
from .views import collection, link, links, task_el
from .xmlutil import E, error_element, fmt_bool, local, to_bytes

TENANT_URN = "urn:veeam:CloudTenant:"
REPO_URN = "urn:veeam:Repository:"
WAN_URN = "urn:veeam:WanAccelerator:"
PLAN_URN = "urn:veeam:CloudHardwarePlan:"
GATEWAY_URN = "urn:veeam:CloudGateway:"
POOL_URN = "urn:veeam:CloudGatewayPool:"
SERVER_URN = "urn:veeam:BackupServer:"
UNITS = ("Mbps", "KBps", "MBps")                  # case-sensitive (em-api-cloud.md 7.4h)
KINDS = {"Standalone": "standalone", "VCD": "vcd", "ActiveDirectory": "ad"}
NULL_REF = "Object reference not set to an instance of an object."
MIN_QUOTA_MB = 1024

# ---------------------------------------------------------------------------- request bodies (element order)

APPLIANCE = G("NetworkAppliance", L("Name"), L("ProductionNetwork"), L("ObtainIPAddressAutomatically", "bool"),
              G("ManualIpAddressSettingsInfoType", L("IpAddress"), L("SubnetMask"), L("DefaultGateway")),
              L("ViDistributedSwitchUuid"), L("ProductionNetworkUnderDvs", "bool"))
COMPUTE_SPEC = [L("CloudHardwarePlanUid"), L("WanAcceleratorUid"), L("PlatformType", "enum", enum=("VMware", "HyperV")),
                L("UseNetworkFailoverResources", "bool"), APPLIANCE]
ITEM_ATTRS = {"Href": ("string", ()), "Type": ("string", ()), "Id": ("string", ())}

TENANT_CREATE = G(
    "CreateCloudTenantSpec", L("Name"), L("Description"), L("Password"), L("Enabled", "bool"),
    L("LeaseExpirationDate", "datetime"),
    G("Resources", G("BackupResource", L("Name"), L("RepositoryUid"), L("QuotaMb", "long"), L("WanAcceleratorUid"),
                     max=None), listwrap=True),
    G("ComputeResources", G("ComputeResource", *COMPUTE_SPEC, max=None), listwrap=True),
    L("ThrottlingEnabled", "bool"), L("ThrottlingSpeedLimit", "int"), L("ThrottlingSpeedUnit", "enum", enum=UNITS),
    L("PublicIpCount", "int"), L("BackupServerUid"), L("MaxConcurrentTasks", "int"),
    L("TenantType", "enum", enum=tuple(KINDS)),
    # after TenantType every order is accepted (positions unproven, em-api-cloud.md 7.2)
    L("BackupProtectionEnabled", "bool"), L("BackupProtectionPeriod", "int"), L("OrganizationRef"),
    G("VCloudComputeResources", G("VCloudComputeResource", L("VirtualDataCenterRef"),
                                  L("UseNetworkFailoverResources", "bool"), APPLIANCE, L("WanAcceleratorUid"),
                                  max=None), listwrap=True),
    G("CloudGatewayPools", L("CloudGatewayPoolUid", max=None), listwrap=True),
    L("FailoverToOtherGatewaysIfFail", "bool"),
    G("Domain", L("DomainName"), L("DomainAccount"), L("Port", "int")))

QUOTA_CREATE = G("CreateCloudTenantResourceSpec", L("Name"), L("RepositoryUid"), L("QuotaMb", "long"),
                 L("WanAcceleratorUid"), L("Folder", ro=True))
COMPUTE_CREATE = G("CloudTenantComputeResourceCreateSpec", *COMPUTE_SPEC)
SUB_CREATE = G("CloudSubtenantCreateSpec", L("Name"), L("Description"), L("Password"), L("Enabled", "bool"),
               L("TenantResourceId"), L("QuotaName"), L("QuotaMb", "long"), L("UnlimitedQuota", "bool"))
SUB_PUT = G("CloudSubtenant", G("Links", ro=True), L("Name", ro=True), L("Description"), L("Password"),
            L("Enabled", "bool"),
            G("RepositoryQuota", L("DisplayName"), L("TenantResourceId"), L("QuotaMb", "long"),
              L("UsedQuotaMb", ro=True), L("QuotaId", ro=True), attrs={"Unlimited": ("bool", ())}))


def tenant_put_schema(cfg):
    """<CloudTenant> as a PUT body, in entity order; the failover element is spelt per ``failover_element``."""
    failover = "FailoverToOther%sGatewaysIfFail" % ("s" if cfg.failover_element == "Others" else "")
    return G(
        "CloudTenant", G("Links", ro=True), L("Password"), L("Description"), L("Enabled", "bool"),
        G("LeaseOptions", L("Enabled", "bool"), L("LeaseExpirationDate", "datetime"),
          attrs={"Enabled": ("bool", ()), "ExpirationDate": ("datetime", ())}),
        L("LeaseExpirationDate", "datetime"),
        G("Resources", G("CloudTenantResource", G("Links", ro=True),
                         G("RepositoryQuota", L("DisplayName"), L("RepositoryUid"), L("WanAcceleratorUid"),
                           L("Quota", "long"), L("UsedQuota", ro=True)), max=None, attrs=ITEM_ATTRS), listwrap=True),
        L("LastResult", ro=True), L("LastActive", ro=True), L("VmCount", ro=True),
        G("ComputeResources", G("CloudTenantComputeResource", G("Links", ro=True), *COMPUTE_SPEC,
                                G("ComputeResourceStats", ro=True), max=None, attrs=ITEM_ATTRS), listwrap=True),
        L("ThrottlingEnabled", "bool"), L("ThrottlingSpeedLimit", "int"), L("ThrottlingSpeedUnit", "enum", enum=UNITS),
        L("PublicIpCount", "int"), L("BackupCount", ro=True), L("ReplicaCount", ro=True),
        L("MaxConcurrentTasks", "int"), L("WorkStationBackupCount", ro=True), L("ServerBackupCount", ro=True),
        L("BackupProtectionEnabled", "bool"), L("BackupProtectionPeriod", "int"),
        G("TenantType", G("StandaloneTenant", G("TenantCredentials", L("Username"))),
          G("vCloudTenant", L("OrganizationName"), L("OrganizationRef")),
          G("ADTenantType", G("Domain", L("DomainName"), L("Port", "int")), L("Account")), choice=True),
        G("VCloudComputeResources", G("CloudTenantVCloudComputeResource", max=None, attrs=ITEM_ATTRS), ro=True),
        G("CloudGatewayPools", L("CloudGatewayPoolUid", max=None), listwrap=True),
        L(failover, "bool"))


# ---------------------------------------------------------------------------- small helpers


def _c(el, *names):
    for n in names:
        if el is None:
            return None
        el = next((x for x in el if local(x) == n), None)
    return el


def _t(el, *names):
    c = _c(el, *names)
    return None if c is None else (c.text or "")


def _all(el, name):
    return [] if el is None else [x for x in el if local(x) == name]


def _bool(text):
    return text == "true"


def uid_id(value, urn):
    """The GUID of a UID given as a URN or bare (vendor examples carry trailing blanks); None if neither."""
    v = (value or "").strip()
    if v.lower().startswith(urn.lower()):
        v = v[len(urn):]
    try:
        return str(uuid.UUID(v)) if len(v) == 36 else None
    except ValueError:
        return None


def _note(state, path, reason):
    """Record an element the server accepted but did not apply (GET /_emulator/dropped)."""
    state.dropped.setdefault("items", []).append({"path": path, "element": path.rsplit("/", 1)[-1],
                                                  "reason": reason})


# ---------------------------------------------------------------------------- roles and licence


def gate(state, req, head, parts):
    """Role and licence checks before a route runs (api._route calls it for every authenticated request)."""
    role = req.session.role
    if head == "cloud":
        if role == "restore":
            raise ApiError(403, "Access denied. The account must have the Portal Administrator or Portal User role")
        if state.config.cloud_licence == "absent":
            raise ApiError(int(state.config.cloud_absent_status),
                           "Veeam Cloud Connect is not available: Enterprise Manager has no Cloud Connect "
                           "service provider license")
    if role == "portal" and head == "backupservers" and len(parts) == 3 and parts[2].lower() == "repositories":
        unlisted(state, req, "GET /backupServers/{ID}/repositories")


def unlisted(state, req, what):
    """What the Portal User role lists neither as allowed nor as denied: ``portal_user_unlisted``."""
    if req.session.role == "portal" and state.config.portal_user_unlisted == "deny":
        raise ApiError(403, "Access denied. %s is not available to the Portal User role" % what)


# ---------------------------------------------------------------------------- entities


def _base(state):
    return state.base_url


def tenant_path(t):
    return "/api/cloud/tenants/" + t["id"]


def tenant_ref(state, t, tag="Ref", root=False):
    b, p = _base(state), tenant_path(t)
    el = E(tag, attrs=[("Type", "CloudTenantReference"), ("Href", b + p), ("Name", t["name"]),
                       ("UID", TENANT_URN + t["id"])], root=root)
    el.append(links(link(b, "Up", "/api/backupServers/" + t["server_id"], "BackupServerReference",
                         state.server_name(t["server_id"])),
                    link(b, "Alternate", p + "?format=Entity", "CloudTenant", t["name"])))
    return el


def quota_el(state, t, q, root=False):
    b, p = _base(state), "%s/resources/%s" % (tenant_path(t), q["id"])
    el = E("CloudTenantResource", attrs=[("Href", b + p), ("Type", "CloudTenantResource"), ("Id", q["id"])], root=root)
    if root:
        el.append(links(link(b, "Up", tenant_path(t), "CloudTenantReference", t["name"]),
                        link(b, "Up", "/api/backupServers/" + t["server_id"], "BackupServerReference",
                             state.server_name(t["server_id"])),
                        link(b, "Delete", p)))
    el.append(E("RepositoryQuota",
                E("DisplayName", text=q["display_name"]), E("RepositoryUid", text=REPO_URN + q["repo_id"]),
                E("WanAcceleratorUid", text=WAN_URN + q["wan_id"]) if q["wan_id"] else None,
                E("Quota", text=q["quota_mb"]), E("UsedQuota", text=q["used_mb"])))
    return el


def appliance_el(a):
    if a is None:
        return None
    manual = None
    if not a["auto_ip"]:
        manual = E("ManualIpAddressSettingsInfoType", E("IpAddress", text=a["ip"]), E("SubnetMask", text=a["mask"]),
                   E("DefaultGateway", text=a["gateway"]))
    return E("NetworkAppliance", E("Name", text=a["name"]), E("ProductionNetwork", text=a["network"]),
             E("ObtainIPAddressAutomatically", text=fmt_bool(a["auto_ip"])), manual,
             E("ViDistributedSwitchUuid", text=a["dvs_uuid"]) if a.get("dvs_uuid") else None,
             E("ProductionNetworkUnderDvs", text=fmt_bool(a.get("under_dvs", False))))


def compute_el(state, t, c, root=False):
    b, p = _base(state), "%s/computeResources/%s" % (tenant_path(t), c["id"])
    el = E("CloudTenantComputeResource", attrs=[("Href", b + p), ("Type", "CloudTenantComputeResource"),
                                                ("Id", c["id"])], root=root)
    if root:
        el.append(links(link(b, "Up", tenant_path(t), "CloudTenantReference", t["name"]), link(b, "Delete", p)))
    plan = state.cloud["plans"].get(c["plan_id"])
    stats = [E("StorageResourceStat", E("StorageName", text=s["name"]), E("StorageUsageGb", text=0),
               E("StorageLimitGb", text=s["quota_gb"])) for s in (plan["storage"] if plan else [])]
    el.append(E("CloudHardwarePlanUid", text=PLAN_URN + c["plan_id"]))
    if c["wan_id"]:
        el.append(E("WanAcceleratorUid", text=WAN_URN + c["wan_id"]))
    el.append(E("PlatformType", text=c["platform"]))
    el.append(E("UseNetworkFailoverResources", text=fmt_bool(c["failover"])))
    if c["appliance"] is not None:
        el.append(appliance_el(c["appliance"]))
    el.append(E("ComputeResourceStats", E("MemoryUsageMb", text=c.get("memory_used_mb", 0)),
                E("CPUCount", text=c.get("cpu_count", 0)), E("StorageResourceStats", stats)))
    return el


def vcd_el(state, t, v, root=False):
    b, p = _base(state), "%s/vcloudcomputeresources/%s" % (tenant_path(t), v["id"])
    el = E("CloudTenantVCloudComputeResource", attrs=[("Href", b + p), ("Type", "CloudTenantVCloudComputeResource"),
                                                      ("Id", v["id"])], root=root)
    if root:
        el.append(links(link(b, "Up", tenant_path(t), "CloudTenantReference", t["name"]), link(b, "Delete", p)))
    u = v["usage"]
    el.append(E("VirtualDataCenterName", text=v["name"]))
    el.append(E("VirtualDataCenterRef", text=v["ref"]))
    el.append(E("Enabled", text=fmt_bool(v["enabled"])))
    el.append(E("AllocationModel", text=v["allocation"]))
    el.append(E("UseNetworkFailoverResources", text=fmt_bool(v["failover"])))
    el.append(E("ResourceUsage", E("CpuUsageMhz", text=u["cpu"]), E("MemoryUsageMb", text=u["memory"]),
                E("StorageUsageGb", text=u["storage"])))
    if v["wan_id"]:
        el.append(E("WanAcceleratorUid", text=WAN_URN + v["wan_id"]))
    if v["appliance"] is not None:
        el.append(appliance_el(v["appliance"]))
    return el


def _tenant_type(t):
    if t["kind"] == "standalone":
        return E("StandaloneTenant", E("TenantCredentials", E("Username", text=t["username"])))
    if t["kind"] == "vcd":
        return E("vCloudTenant", E("OrganizationName", text=t["org_name"]), E("OrganizationRef", text=t["org_ref"]))
    return E("ADTenantType", E("Domain", E("DomainName", text=t["domain_name"]), E("Port", text=t["domain_port"])),
             E("Account", text=t["account"]))


def tenant_entity(state, t, root=False, item=False):
    """<CloudTenant> in output order; ``item``: an item GET, which shows an empty <Password/>."""
    b, p = _base(state), tenant_path(t)
    el = E("CloudTenant", attrs=[("Href", b + p + "?format=Entity"), ("Type", "CloudTenant"), ("Name", t["name"]),
                                 ("UID", TENANT_URN + t["id"])], root=root)
    ls = [link(b, "Up", "/api/backupServers/" + t["server_id"], "BackupServerReference",
               state.server_name(t["server_id"])),
          link(b, "Alternate", p, "CloudTenantReference", t["name"]),
          link(b, "Edit", p, "CloudTenantReference", t["name"]),
          link(b, "Down", p + "/resources", "CloudTenantResourceList"),
          link(b, "Create", p + "/resources", "CloudTenantResource"),
          link(b, "Down", p + "/computeResources", "CloudTenantComputeResourceList"),
          link(b, "Create", p + "/computeResources", "CloudTenantComputeResource"),
          link(b, "Down", p + "/subtenants", "CloudSubtenantList"),
          link(b, "Create", p + "/subtenants", "CloudSubtenant"),
          link(b, "Down", p + "/gatewayPools", "CloudGatewayPoolReferenceList")]
    if t["kind"] == "vcd":
        ls.append(link(b, "Down", p + "/vcloudcomputeresources", "CloudTenantVCloudComputeResourceList"))
    ls += [link(b, "Delete", p), link(b, "Related", p + "/freelicenseCounters", "FreeLicenseCounters",
                                      "FreeLicenseCounters")]
    el.append(links(*ls))
    if item:
        el.append(E("Password"))
    el.append(E("Description", text=t["description"]))
    el.append(E("Enabled", text=fmt_bool(t["enabled"])))
    el.append(E("LeaseOptions", attrs=[("Enabled", fmt_bool(t["lease_enabled"])),
                                       ("ExpirationDate", t["lease_expiration"] if t["lease_enabled"] else None)]))
    if t["resources"]:
        el.append(E("Resources", [quota_el(state, t, q) for q in t["resources"]]))
    el.append(E("LastResult", text=t["last_result"]))
    el.append(E("LastActive", text=t["last_active"]))
    el.append(E("ComputeResources", [compute_el(state, t, c) for c in t["compute"]]))
    for name, key in (("ThrottlingEnabled", "throttling_enabled"), ("ThrottlingSpeedLimit", "throttling_limit"),
                      ("ThrottlingSpeedUnit", "throttling_unit"), ("PublicIpCount", "public_ip_count"),
                      ("BackupCount", "backup_count"), ("ReplicaCount", "replica_count"),
                      ("MaxConcurrentTasks", "max_tasks"), ("WorkStationBackupCount", "workstation_count"),
                      ("ServerBackupCount", "server_count"), ("BackupProtectionEnabled", "protection_enabled"),
                      ("BackupProtectionPeriod", "protection_period")):
        v = t[key]
        el.append(E(name, text=fmt_bool(v) if isinstance(v, bool) else v))
    el.append(E("TenantType", _tenant_type(t)))
    if t["kind"] == "vcd":
        el.append(E("VCloudComputeResources", [vcd_el(state, t, v) for v in t["vcd_resources"]]))
    if t["pools"]:
        el.append(E("CloudGatewayPools", [E("CloudGatewayPoolUid", text=POOL_URN + p_) for p_ in t["pools"]]))
    failover = "FailoverToOther%sGatewaysIfFail" % ("s" if state.config.failover_element == "Others" else "")
    el.append(E(failover, text=fmt_bool(t["failover_gateways"])))
    return el


def subtenant_el(state, t, s, root=False, item=False):
    b, p = _base(state), "%s/subtenants/%s" % (tenant_path(t), s["id"])
    el = E("CloudSubtenant", attrs=[("Href", b + p), ("Type", "CloudSubtenant"), ("Id", s["id"])], root=root)
    el.append(links(link(b, "Up", "/api/backupServers/" + t["server_id"], "BackupServerReference",
                         state.server_name(t["server_id"])),
                    link(b, "Up", tenant_path(t), "CloudTenantReference", t["name"]),
                    link(b, "Edit", p, "CloudSubtenant"), link(b, "Delete", p)))
    el.append(E("Name", text=s["name"]))
    el.append(E("Description", text=s["description"]))
    if item:
        el.append(E("Password"))
    el.append(E("Enabled", text=fmt_bool(s["enabled"])))
    el.append(E("RepositoryQuota", E("DisplayName", text=s["quota_name"]), E("TenantResourceId", text=s["resource_id"]),
                E("QuotaMb", text=s["quota_mb"]), E("UsedQuotaMb", text=s["used_mb"]), E("QuotaId", text=s["quota_id"]),
                attrs=[("Unlimited", fmt_bool(s["unlimited"]))]))
    return el


def _server_up(state, rec):
    return link(_base(state), "Up", "/api/backupServers/" + rec["server_id"], "BackupServerReference",
                state.server_name(rec["server_id"]))


def plan_entity(state, h, root=False):
    b, p = _base(state), "/api/cloud/hardwarePlans/" + h["id"]
    el = E("CloudHardwarePlan", attrs=[("Href", b + p + "?format=Entity"), ("Type", "CloudHardwarePlan"),
                                       ("Name", h["name"]), ("UID", PLAN_URN + h["id"])], root=root)
    el.append(links(_server_up(state, h), link(b, "Alternate", p, "CloudHardwarePlanReference", h["name"]),
                    link(b, "Down", p + "/tenants", "CloudTenantList"), link(b, "Edit", p, "CloudHardwarePlan"),
                    link(b, "Delete", p)))
    el.append(E("Description", text=h["description"]))
    el.append(E("ProcessorUsageLimitMhz", text=h["cpu_mhz"]))
    el.append(E("MemoryUsageLimitMb", text=h["memory_mb"]))
    net = E("Network", E("CountWithInternet", text=h["with_internet"]),
            E("CountWithoutInternet", text=h["without_internet"]), attrs=[("Id", h["net_id"])])
    if h["kind"] == "vi":
        ds = [E("Datastore", E("FriendlyName", text=d["name"]), E("DatastoreType", text=d["type"]),
                E("Reference", text=d["ref"]), E("RootPath", text=d["root"]), E("QuotaGb", text=d["quota_gb"]),
                attrs=[("Id", d["id"])]) for d in h["storage"]]
        detail = E("ViCloudHardwarePlan", E("HypervisorHostRef", text=h["host_ref"]),
                   E("ParentType", text=h["parent_type"]), E("ParentName", text=h["parent_name"]),
                   E("Datastores", ds), net)
    else:
        vols = [E("Volume", E("FriendlyName", text=v["name"]), E("VolumePath", text=v["path"]),
                  E("QuotaGb", text=v["quota_gb"]), attrs=[("Id", v["id"])]) for v in h["storage"]]
        detail = E("HvCloudHardwarePlan", E("HypervisorHostRef", text=h["host_ref"]), E("Volumes", vols), net)
    el.append(E("HardwarePlanDetails", detail))
    return el


def gateway_entity(state, g, root=False):
    b, p = _base(state), "/api/cloud/gateways/" + g["id"]
    el = E("CloudGateway", attrs=[("Href", b + p + "?format=Entity"), ("Type", "CloudGateway"), ("Name", g["name"]),
                                  ("UID", GATEWAY_URN + g["id"])], root=root)
    ls = [_server_up(state, g), link(b, "Alternate", p, "CloudGatewayReference", g["name"]),
          link(b, "Edit", p, "CloudGateway"), link(b, "Delete", p)]
    for pool in state.cloud["pools"].values():
        if g["id"] in pool["gateways"]:
            ls.append(link(b, "Related", "/api/cloud/gatewayPools/" + pool["id"], "CloudGatewayPoolReference",
                           pool["name"]))
    el.append(links(*ls))
    el.append(E("Enabled", text=fmt_bool(g["enabled"])))
    el.append(E("NetworkMode", text=g["mode"]))
    el.append(E("ExternalIP", text=g["external_ip"]))
    el.append(E("ExternalPort", text=g["external_port"]))
    el.append(E("InternalPort", text=g["internal_port"]))
    el.append(E("Description", text=g["description"]))
    return el


def pool_tenants(state, pool):
    return [t for t in state.cloud["tenants"].values() if pool["id"] in t["pools"]]


def pool_entity(state, pool, root=False):
    b, p = _base(state), "/api/cloud/gatewayPools/" + pool["id"]
    el = E("CloudGatewayPool", attrs=[("Href", b + p + "?format=Entity"), ("Type", "CloudGatewayPool"),
                                      ("Name", pool["name"]), ("UID", POOL_URN + pool["id"])], root=root)
    el.append(links(_server_up(state, pool), link(b, "Alternate", p, "CloudGatewayPoolReference", pool["name"]),
                    link(b, "Edit", p, "CloudGatewayPool"), link(b, "Delete", p),
                    link(b, "Down", p + "/gateways", "CloudGatewayReferenceList"),
                    link(b, "Related", p + "/tenants", "CloudTenantReferenceList")))
    el.append(E("Description", text=pool["description"]))
    el.append(E("CloudGateways", [E("CloudGatewayUid", text=GATEWAY_URN + g) for g in pool["gateways"]]))
    el.append(E("CloudTenants", [E("CloudTenantUid", text=TENANT_URN + t["id"]) for t in pool_tenants(state, pool)]))
    return el


def wan_entity(state, w, root=False):
    b, p = _base(state), "/api/wanAccelerators/" + w["id"]
    el = E("WanAccelerator", attrs=[("Href", b + p + "?format=Entity"), ("Type", "WanAccelerator"),
                                    ("Name", w["name"]), ("UID", WAN_URN + w["id"])], root=root)
    el.append(links(_server_up(state, w), link(b, "Alternate", p, "WanAcceleratorReference", w["name"])))
    for name, value in (("Description", w["description"]), ("OutOfDate", fmt_bool(w["out_of_date"])),
                        ("Version", w["version"]), ("Capacity", w["capacity"]), ("TrafficPort", w["port"]),
                        ("ConnectionsCount", w["connections"]), ("CachePath", w["cache"]),
                        ("HighBandwidthModeEnabled", fmt_bool(w["high_bandwidth"]))):
        el.append(E(name, text=value))
    return el


def _simple_ref(state, rec, path, type_, urn, tag="Ref", root=False):
    b = _base(state)
    el = E(tag, attrs=[("Type", type_ + "Reference"), ("Href", b + path), ("Name", rec["name"]),
                       ("UID", urn + rec["id"])], root=root)
    el.append(links(_server_up(state, rec), link(b, "Alternate", path + "?format=Entity", type_, rec["name"])))
    return el


# (collection key, path segment, list root, entity renderer, type, urn, what)
LOOKUPS = {
    "hardwareplans": ("plans", "/api/cloud/hardwarePlans/", "CloudHardwarePlans", plan_entity, "CloudHardwarePlan",
                      PLAN_URN, "hardware plan"),
    "gateways": ("gateways", "/api/cloud/gateways/", "CloudGateways", gateway_entity, "CloudGateway", GATEWAY_URN,
                 "cloud gateway"),
    "gatewaypools": ("pools", "/api/cloud/gatewayPools/", "CloudGatewayPools", pool_entity, "CloudGatewayPool",
                     POOL_URN, "cloud gateway pool"),
    "wanaccelerators": ("wan", "/api/wanAccelerators/", "WanAccelerators", wan_entity, "WanAccelerator", WAN_URN,
                        "WAN accelerator"),
}


def cloud_service(state):
    b = _base(state)
    el = E("CloudConnectService", attrs=[("Href", b + "/api/cloud"), ("Type", "CloudConnectService")], root=True)
    el.append(links(*[link(b, "Down", "/api/cloud/" + seg, typ) for seg, typ in (
        ("tenants", "CloudTenantReferenceList"), ("hardwarePlans", "CloudHardwarePlanReferenceList"),
        ("gateways", "CloudGatewayReferenceList"), ("gatewayPools", "CloudGatewayPoolReferenceList"),
        ("publicIpAddresses", "CloudPublicIpAddressList"), ("vlans", "VlanConfigurationList"))]))
    return el


# ---------------------------------------------------------------------------- dispatch


def route(state, req, head, parts):
    """/api/cloud[...] and /api/wanAccelerators[...] (after :func:`gate`)."""
    n = len(parts)
    if head == "wanaccelerators":
        return _lookup_route(state, req, "wanaccelerators", parts[1:])
    if n == 1:
        _allow(req, "GET")
        return xml(200, cloud_service(state))
    sub = parts[1].lower()
    if sub in LOOKUPS and sub != "wanaccelerators":
        return _lookup_route(state, req, sub, parts[2:])
    if sub == "tenants":
        with state.lock:
            return _tenants(state, req, parts[2:])
    if sub in ("publicipaddresses", "vlans"):
        return cloud_infra.read_only(state, req, sub, parts[2:])
    raise ApiError(404, "The resource '%s' was not found" % req.path)


def _lookup_route(state, req, key, rest):
    attr, prefix, list_root, render, type_, urn, what = LOOKUPS[key]
    with state.lock:
        table = state.cloud[attr]
        if not rest:
            if req.method == "POST" and key != "wanaccelerators":
                return cloud_infra.write(state, req, key, rest, table)
            _allow(req, "GET")
            if _entity_format(req):
                return xml(200, collection(list_root, [render(state, r) for r in table.values()]))
            return xml(200, collection("EntityReferences", [_simple_ref(state, r, prefix + r["id"], type_, urn)
                                                            for r in table.values()]))
        rec = table.get(_guid(rest[0], what))
        if rec is None:
            raise ApiError(404, "The %s with ID '%s' was not found" % (what, rest[0]))
        if len(rest) == 1:
            _allow(req, "GET", "PUT", "DELETE")
            if req.method != "GET":
                return cloud_infra.write(state, req, key, rest, table)
            if _entity_format(req):
                return xml(200, render(state, rec, root=True))
            return xml(200, _simple_ref(state, rec, prefix + rec["id"], type_, urn, tag="EntityRef", root=True))
        if len(rest) == 2:
            _allow(req, "GET")
            sub = rest[1].lower()
            if key == "hardwareplans" and sub == "tenants":
                subs = [t for t in state.cloud["tenants"].values() if any(c["plan_id"] == rec["id"] for c in t["compute"])]
                return xml(200, collection("CloudTenants", [tenant_entity(state, t) for t in subs]))
            if key == "gatewaypools" and sub == "gateways":
                gws = [state.cloud["gateways"][g] for g in rec["gateways"] if g in state.cloud["gateways"]]
                return xml(200, collection("EntityReferences", [
                    _simple_ref(state, g, "/api/cloud/gateways/" + g["id"], "CloudGateway", GATEWAY_URN) for g in gws]))
            if key == "gatewaypools" and sub == "tenants":
                return xml(200, collection("EntityReferences", [tenant_ref(state, t) for t in pool_tenants(state, rec)]))
    raise ApiError(404, "The resource '%s' was not found" % req.path)


def _tenant_or_404(state, raw):
    t = state.cloud["tenants"].get(_guid(raw, "tenant"))
    if t is None:
        raise ApiError(404, "The tenant with ID '%s' was not found" % raw)
    return t


def _tenants(state, req, rest):
    tenants = state.cloud["tenants"]
    if not rest:
        _allow(req, "GET", "POST")
        if req.method == "POST":
            return _create_tenant(state, req)
        if _entity_format(req):
            return xml(200, collection("CloudTenants", [tenant_entity(state, t) for t in tenants.values()]))
        return xml(200, collection("EntityReferences", [tenant_ref(state, t) for t in tenants.values()]))
    t = _tenant_or_404(state, rest[0])
    if len(rest) == 1:
        _allow(req, "GET", "PUT", "DELETE")
        if req.method == "GET":
            if _entity_format(req):
                return xml(200, tenant_entity(state, t, root=True, item=True))
            return xml(200, tenant_ref(state, t, tag="EntityRef", root=True))
        if req.method == "PUT":
            _edit_action(req)
            return _edit_tenant(state, req, t)
        return _delete_tenant(state, req, t)
    sub = rest[1].lower()
    if sub == "resources":
        return _child(state, req, t, rest[2:], t["resources"], quota_el, "CloudTenantResources", "tenant resource",
                      _create_quota, _delete_quota)
    if sub == "computeresources":
        return _child(state, req, t, rest[2:], t["compute"], compute_el, "CloudTenantComputeResources",
                      "compute resource", _create_compute, _delete_compute)
    if sub == "vcloudcomputeresources":
        if t["kind"] != "vcd":
            raise ApiError(404, "The tenant '%s' is not a vCloud Director tenant" % t["name"])
        return _child(state, req, t, rest[2:], t["vcd_resources"], vcd_el, "CloudTenantVCloudComputeResources",
                      "organization VDC", _create_vcd, _delete_vcd)
    if sub == "subtenants":
        return _subtenants(state, req, t, rest[2:])
    if sub == "gatewaypools" and len(rest) == 2:
        _allow(req, "GET")
        pools = [state.cloud["pools"][p] for p in t["pools"] if p in state.cloud["pools"]]
        return xml(200, collection("EntityReferences", [
            _simple_ref(state, p, "/api/cloud/gatewayPools/" + p["id"], "CloudGatewayPool", POOL_URN) for p in pools]))
    raise ApiError(404, "The resource '%s' was not found" % req.path)


def _edit_action(req):
    action = req.param("action")
    if action is not None and action.lower() != "edit":
        raise ApiError(400, "Unknown action '%s' for PUT; use action=edit" % action)


def _child(state, req, t, rest, items, render, list_root, what, create, delete):
    if not rest:
        _allow(req, *(("GET", "POST") if create else ("GET",)))
        if req.method == "POST":
            return create(state, req, t)
        _entity_format(req)
        return xml(200, collection(list_root, [render(state, t, x) for x in items]))
    if len(rest) == 1:
        _allow(req, *(("GET", "DELETE") if delete else ("GET",)))
        cid = _guid(rest[0], what)
        found = next((x for x in items if x["id"] == cid), None)
        if found is None:
            raise ApiError(404, "The %s with ID '%s' was not found" % (what, rest[0]))
        if req.method == "DELETE":
            return delete(state, req, t, found)
        _entity_format(req)
        return xml(200, render(state, t, found, root=True))
    raise ApiError(404, "The resource '%s' was not found" % req.path)


# ---------------------------------------------------------------------------- tasks and answers


def _task(state, req, operation, precheck, commit, related=None, seconds=None):
    """A task in the caller's session whose change shows at Finished; ``related()`` -> (type, path, name) or None."""
    holder = []

    def run():
        msg = commit()
        link_to = related() if related else None
        if link_to is not None:
            holder[0].related = ("Related",) + tuple(link_to)
        return msg
    task = state.new_task(req.session, operation, precheck=precheck, commit=run)
    holder.append(task)
    if seconds is not None:
        task.running_seconds = seconds
    return task


def async_answer(state, req, task, entity):
    """A /cloud PUT's answer per ``async_put_answer``: 202 + Task, 200 + Task, or done at once and 200 + entity."""
    mode = state.config.async_put_answer
    if mode == "202_task":
        return _accepted(state, req, task)
    if mode == "200_task":
        req.tasks.append(task)
        return xml(200, task_el(state, task, root=True))
    failure = state.apply_now(task)
    if failure is not None:
        raise ApiError(400, failure)
    return xml(200, entity())


def _related_tenant(state, tid):
    mode = state.config.create_related_link
    t = state.cloud["tenants"].get(tid)
    if mode == "off" or t is None:
        return None
    return ("CloudTenant", tenant_path(t) + "?format=Entity", t["name"])


# ---------------------------------------------------------------------------- lookups by UID


def _on_server(state, attr, raw, urn, server_id, what):
    """(id, None) or (None, failure message) for a UID naming a ``what`` on ``server_id``."""
    rid = uid_id(raw, urn)
    table = state.repos if attr == "repos" else state.cloud[attr]
    rec = table.get(rid) if rid else None
    if rec is None or rec["server_id"] != server_id:
        return None, "The %s '%s' was not found on the backup server %s" % (what, (raw or "").strip(),
                                                                            state.server_name(server_id))
    return rid, None


APPLIANCE_LEAVES = (("name", ("Name",)), ("network", ("ProductionNetwork",)),
                    ("auto_ip", ("ObtainIPAddressAutomatically",)),
                    ("ip", ("ManualIpAddressSettingsInfoType", "IpAddress")),
                    ("mask", ("ManualIpAddressSettingsInfoType", "SubnetMask")),
                    ("gateway", ("ManualIpAddressSettingsInfoType", "DefaultGateway")),
                    ("dvs_uuid", ("ViDistributedSwitchUuid",)), ("under_dvs", ("ProductionNetworkUnderDvs",)))


def _appliance(el, path, stored=None):
    """A NetworkAppliance from a parsed element, or (None, message) when a documented rule is broken.

    ``stored`` is the appliance an edit changes: under ``partial_group=merge`` the leaves the body leaves out keep
    their stored values; without it (a create, or ``partial_group=replace``) they take their defaults."""
    if el is None:
        return None, None
    auto = _t(el, "ObtainIPAddressAutomatically")
    manual = _c(el, "ManualIpAddressSettingsInfoType")
    a = {"name": _t(el, "Name") or "", "network": _t(el, "ProductionNetwork") or "", "auto_ip": auto != "false",
         "ip": _t(manual, "IpAddress"), "mask": _t(manual, "SubnetMask"), "gateway": _t(manual, "DefaultGateway"),
         "dvs_uuid": _t(el, "ViDistributedSwitchUuid"), "under_dvs": _t(el, "ProductionNetworkUnderDvs") == "true"}
    if stored:
        a.update((key, stored.get(key)) for key, names in APPLIANCE_LEAVES if _c(el, *names) is None)
    if not a["auto_ip"] and not (a["ip"] and a["mask"] and a["gateway"]):
        return None, "%s: manual IP settings are required when ObtainIPAddressAutomatically is false" % path
    if a["under_dvs"] and not a["dvs_uuid"]:
        return None, "%s: ViDistributedSwitchUuid is required when ProductionNetworkUnderDvs is true" % path
    return a, None


def _compute_from(state, el, server_id, path):
    """A compute resource (subscription) record from a parsed spec, or (None, message)."""
    pid, msg = _on_server(state, "plans", _t(el, "CloudHardwarePlanUid"), PLAN_URN, server_id, "hardware plan")
    if msg:
        return None, msg
    plan = state.cloud["plans"][pid]
    platform = "VMware" if plan["kind"] == "vi" else "HyperV"
    if _t(el, "PlatformType") not in (None, platform):
        return None, "%s: the hardware plan '%s' is a %s plan, not %s" % (
            path, plan["name"], platform, _t(el, "PlatformType"))
    wan, appliance, msg = _wan_and_appliance(state, el, server_id, path)
    if msg:
        return None, msg
    return {"id": str(uuid.uuid4()), "plan_id": pid, "wan_id": wan, "platform": platform,
            "failover": _t(el, "UseNetworkFailoverResources") == "true", "appliance": appliance,
            "memory_used_mb": 0, "cpu_count": 0}, None


def _wan_and_appliance(state, el, server_id, path):
    """(WAN accelerator id or None, network appliance, None), or (None, None, failure message): what a hardware
    plan subscription and an organization VDC of a tenant both carry."""
    wan, msg = _optional_wan(state, _t(el, "WanAcceleratorUid"), server_id)
    if msg:
        return None, None, msg
    appliance, msg = _appliance(_c(el, "NetworkAppliance"), path + "/NetworkAppliance")
    return (None, None, msg) if msg else (wan, appliance, None)


def _optional_wan(state, raw, server_id):
    """(id or None, None) for an optional WanAcceleratorUid (empty = none), or (None, failure message)."""
    if not (raw or "").strip():
        return None, None
    return _on_server(state, "wan", raw, WAN_URN, server_id, "WAN accelerator")


def vcd_item(state, ref, otype, server_id):
    """The seeded vCD object of ``otype`` (Organization, OrgVdc) that ``ref`` names (case-insensitively) on a
    vCloud Director root of the backup server, or None."""
    low = (ref or "").strip().lower()
    for item in state.inventory:
        if item["ref"].lower() == low and item["type"] == otype:
            root = state.roots.get(item["root_id"])
            if root is not None and root["server_id"] == server_id and root["host_type"] == "VcdSystem":
                return item
    return None


def _vcd_from(state, el, server_id, have, path, org):
    """An org VDC record from a parsed spec, or (None, message). The ref must name an org VDC of the tenant's
    organization ``org`` in the lookup; the record's @Id is the VDC's own GUID (the last one in the ref)."""
    ref = (_t(el, "VirtualDataCenterRef") or "").strip()
    item = vcd_item(state, ref, "OrgVdc", server_id)
    guids = [uid_id(p, "") for p in ref.replace(".", ":").split(":") if uid_id(p, "")]
    if item is None or not guids:
        return None, "%s: VirtualDataCenterRef '%s' does not name an organization VDC known to backup server %s" % (
            path, ref, state.server_name(server_id))
    if (item["org"] or "").lower() != (org or "").lower():
        return None, "%s: the organization VDC %s belongs to the organization %s, not to %s" % (
            path, item["name"], item["org"], org)
    vid = guids[-1]
    if any(v["id"] == vid for v in have):
        return None, "%s: the organization VDC is already assigned to the tenant" % path
    wan, appliance, msg = _wan_and_appliance(state, el, server_id, path)
    if msg:
        return None, msg
    return {"id": vid, "name": item["name"], "ref": item["ref"], "enabled": True, "allocation": "AllocationPool",
            "failover": _t(el, "UseNetworkFailoverResources") == "true", "wan_id": wan, "appliance": appliance,
            "usage": {"cpu": 0, "memory": 0, "storage": 0}}, None


def _quota_from(state, name, repo_raw, quota_raw, wan_raw, server_id, taken, path):
    if quota_raw is None or int(quota_raw) < MIN_QUOTA_MB:
        return None, "%s: the quota must be at least %d MB" % (path, MIN_QUOTA_MB)
    rid, msg = _on_server(state, "repos", repo_raw, REPO_URN, server_id, "repository")
    if msg:
        return None, msg
    if rid in taken:
        return None, "%s: the tenant already has a quota on the repository %s" % (path, state.repos[rid]["name"])
    wan, msg = _optional_wan(state, wan_raw, server_id)
    if msg:
        return None, msg
    return {"id": str(uuid.uuid4()), "display_name": name or state.repos[rid]["name"], "repo_id": rid,
            "wan_id": wan, "quota_mb": int(quota_raw), "used_mb": 0}, None


# ---------------------------------------------------------------------------- tenant create


def _type_any_order(root):
    """Elements after TenantType are accepted in any order: put them in the schema's order first."""
    kids = [c for c in root if isinstance(c.tag, str)]
    names = [local(c) for c in kids]
    if "TenantType" not in names:
        return root
    cut = names.index("TenantType") + 1
    order = [c.name for c in TENANT_CREATE.children]
    tail = sorted(kids[cut:], key=lambda c: order.index(local(c)) if local(c) in order else len(order))
    new = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=root.nsmap)
    for c in kids[:cut] + tail:
        new.append(copy.deepcopy(c))
    return new


def _create_tenant(state, req):
    spec = secrets.parse_tree(state, req, TENANT_CREATE, required=("Name", "BackupServerUid", "TenantType"),
                              reorder=_type_any_order)
    name = (_t(spec, "Name") or "").strip()
    kind = KINDS[_t(spec, "TenantType")]
    sid = uid_id(_t(spec, "BackupServerUid"), SERVER_URN)
    password = _t(spec, "Password")
    built = {}

    def precheck():
        if sid not in state.servers:
            return "The backup server '%s' was not found" % (_t(spec, "BackupServerUid") or "").strip()
        if not name:
            return "The tenant name cannot be empty"
        if any(t["server_id"] == sid and t["name"].lower() == name.lower() for t in state.cloud["tenants"].values()):
            return "The tenant '%s' already exists on the backup server %s" % (name, state.server_name(sid))
        if kind == "standalone" and not password:
            return "A password is required for the standalone tenant '%s'" % name
        if kind == "vcd":
            return _vcd_org_check(state, spec, sid, name) or _build_tenant(state, spec, sid, name, kind, built)
        if kind == "ad" and _c(spec, "Domain") is None:
            return "Domain is required for an Active Directory tenant"
        return _build_tenant(state, spec, sid, name, kind, built)

    def commit():
        t = built["tenant"]
        t["password"] = secret_store.sealed(password)
        state.cloud["tenants"][t["id"]] = t
        if t["compute"] and state.config.create_task_timeout == "on":
            return ("The operation has timed out: creating the tenant '%s' with a hardware plan took longer than "
                    "the task timeout" % name)
        return None
    slow = state.config.cloud_plan_create_seconds if _all(_c(spec, "ComputeResources"), "ComputeResource") else None
    task = _task(state, req, "CreateCloudTenant", precheck, commit,
                 related=lambda: _related_tenant(state, built["tenant"]["id"]), seconds=slow)
    return _accepted(state, req, task)


def _vcd_org_check(state, spec, sid, name):
    """A vCloud Director tenant names an organization the lookup knows on its backup server, and is named after it
    (post_tenants.md); None when it does."""
    ref = (_t(spec, "OrganizationRef") or "").strip()
    if not ref:
        return "OrganizationRef is required for a vCloud Director tenant"
    org = vcd_item(state, ref, "Organization", sid)
    if org is None:
        return "OrganizationRef '%s' does not name a vCloud Director organization known to backup server %s" % (
            ref, state.server_name(sid))
    if org["name"].lower() != name.lower():
        return ("The name of a vCloud Director tenant must be the name of its organization: '%s', not '%s'"
                % (org["name"], name))
    return None


def _build_tenant(state, spec, sid, name, kind, built):
    t = cloud_seed.new_tenant(str(uuid.uuid4()), sid, name, kind)
    t["description"] = _t(spec, "Description") or ""
    t["enabled"] = _t(spec, "Enabled") != "false"
    lease = _t(spec, "LeaseExpirationDate")
    t["lease_enabled"], t["lease_expiration"] = bool(lease), lease or None
    for name, key, conv in SCALARS + THROTTLING + (("FailoverToOtherGatewaysIfFail", "failover_gateways", _bool),):
        v = _t(spec, name)
        if v is not None and name not in ("Description", "Enabled"):
            t[key] = conv(v)
    for i, br in enumerate(_all(_c(spec, "Resources"), "BackupResource")):
        q, msg = _quota_from(state, _t(br, "Name"), _t(br, "RepositoryUid"), _t(br, "QuotaMb"),
                             _t(br, "WanAcceleratorUid"), sid, {x["repo_id"] for x in t["resources"]},
                             "Resources/BackupResource[%d]" % i)
        if msg:
            return msg
        t["resources"].append(q)
    for i, cr in enumerate(_all(_c(spec, "ComputeResources"), "ComputeResource")):
        c, msg = _compute_from(state, cr, sid, "ComputeResources/ComputeResource[%d]" % i)
        if msg:
            return msg
        t["compute"].append(c)
    if len({c["platform"] for c in t["compute"]}) > 1:
        return "A tenant can use hardware plans of one platform only"
    for raw in _all(_c(spec, "CloudGatewayPools"), "CloudGatewayPoolUid"):
        pid, msg = _on_server(state, "pools", raw.text, POOL_URN, sid, "gateway pool")
        if msg:
            return msg
        t["pools"].append(pid)
    if kind == "vcd":
        org = vcd_item(state, _t(spec, "OrganizationRef"), "Organization", sid)
        t["org_ref"], t["org_name"] = org["ref"], org["name"]
        for i, vr in enumerate(_all(_c(spec, "VCloudComputeResources"), "VCloudComputeResource")):
            v, msg = _vcd_from(state, vr, sid, t["vcd_resources"], "VCloudComputeResources/VCloudComputeResource[%d]" % i,
                               t["org_name"])
            if msg:
                return msg
            t["vcd_resources"].append(v)
    elif kind == "ad":
        d = _c(spec, "Domain")
        t["domain_name"] = _t(d, "DomainName") or ""
        t["account"] = _t(d, "DomainAccount") or name
        t["domain_port"] = int(_t(d, "Port") or 389)
    built["tenant"] = t
    return None


# ---------------------------------------------------------------------------- tenant PUT


def _type_check(state, body, t):
    """TenantType must be echoed (em-api-cloud.md 7.4a); its content is never applied."""
    tt = _c(body, "TenantType")
    mode = state.config.tenant_type_missing
    if tt is None:
        if mode == "500":
            el = error_element(500, NULL_REF)
            el.append(E("FirstChanceExceptionMessage", text=NULL_REF))
            raise _RawError(500, el)
        if mode == "400":
            raise ApiError(400, "Element 'CloudTenant/TenantType' is required")
        return
    sent = etree.tostring(tt, method="c14n")
    have = etree.tostring(E("TenantType", _tenant_type(t)), method="c14n")
    if sent != have:
        t["type_ignored"] += 1
        _note(state, "CloudTenant/TenantType", "not modifiable (ignored)")


class _RawError(ApiError):
    """An error answered with a prepared <Error> element (the 500 with FirstChanceExceptionMessage)."""

    def __init__(self, status, el):
        super().__init__(status, el.get("Message"))
        self.element = el


def _lease(state, body):
    """(enabled, expiration) from the lease shape ``lease_put_shape`` accepts, or None when none was sent/taken."""
    shape = state.config.lease_put_shape
    lo = _c(body, "LeaseOptions")
    flat = _t(body, "LeaseExpirationDate")
    found = None
    if lo is not None and ("Enabled" in lo.attrib or "ExpirationDate" in lo.attrib):
        if shape in ("attributes", "any"):
            found = (lo.get("Enabled") == "true", lo.get("ExpirationDate"))
        else:
            _note(state, "CloudTenant/LeaseOptions/@Enabled", "lease shape not taken under lease_put_shape=" + shape)
    if lo is not None and (_c(lo, "Enabled") is not None or _c(lo, "LeaseExpirationDate") is not None):
        if shape in ("elements", "any"):
            found = (_t(lo, "Enabled") == "true", _t(lo, "LeaseExpirationDate"))
        else:
            _note(state, "CloudTenant/LeaseOptions/Enabled", "lease shape not taken under lease_put_shape=" + shape)
    if flat is not None:
        if shape in ("flat", "any"):
            found = (bool(flat.strip()), flat.strip() or None)
        else:
            _note(state, "CloudTenant/LeaseExpirationDate", "lease shape not taken under lease_put_shape=" + shape)
    if found is not None and found[0] and not found[1]:
        raise ApiError(400, "The lease is enabled but has no expiration date")
    return found


def _list_switch(state, body, name, switch):
    """The sent list under tenant_put_resources / tenant_put_compute: (element or None, failure or None)."""
    el = _c(body, name)
    if el is None:
        return None, None
    mode = getattr(state.config, switch)
    if mode == "ignore":
        _note(state, "CloudTenant/" + name, "not modifiable through the tenant PUT under %s=ignore" % switch)
        return None, None
    if mode == "fail":
        return None, "CloudTenant/%s cannot be modified; use the /%s collection" % (
            name, "resources" if name == "Resources" else "computeResources")
    return el, None


def _quota_changes(state, t, el):
    """[(quota, changes)] or a failure; items match by @Id, unknown ones ignored, absent ones kept."""
    out = []
    for item in _all(el, "CloudTenantResource"):
        q = next((x for x in t["resources"] if x["id"] == (item.get("Id") or "").strip().lower()), None)
        if q is None:
            _note(state, "CloudTenant/Resources/CloudTenantResource[@Id=%s]" % item.get("Id"), "unknown item (ignored)")
            continue
        rq = _c(item, "RepositoryQuota")
        ch = {}
        if rq is not None and state.config.partial_group == "replace":
            # the group as sent replaces the stored one: a leaf left out reads as .NET's default (none, 0)
            ch.update(display_name="", wan_id=None)
            if _t(rq, "Quota") is None:
                return "The quota '%s' must be at least %d MB" % (q["display_name"], MIN_QUOTA_MB)
        if _t(rq, "RepositoryUid") is not None and uid_id(_t(rq, "RepositoryUid"), REPO_URN) != q["repo_id"]:
            return "The repository of the quota '%s' cannot be changed" % q["display_name"]
        if _t(rq, "Quota") is not None:
            mb = int(_t(rq, "Quota"))
            if mb < MIN_QUOTA_MB:
                return "The quota '%s' must be at least %d MB" % (q["display_name"], MIN_QUOTA_MB)
            if mb < q["used_mb"]:
                return "The quota '%s' cannot be smaller than the space used (%d MB)" % (q["display_name"], q["used_mb"])
            ch["quota_mb"] = mb
        if _t(rq, "DisplayName") is not None:
            ch["display_name"] = _t(rq, "DisplayName")
        if _c(rq, "WanAcceleratorUid") is not None:
            raw = _t(rq, "WanAcceleratorUid").strip()
            wan, msg = _optional_wan(state, raw, t["server_id"])
            if msg:
                return msg
            ch["wan_id"] = wan
        out.append((q, ch))
    return out


def _compute_changes(state, t, el):
    out = []
    for item in _all(el, "CloudTenantComputeResource"):
        c = next((x for x in t["compute"] if x["id"] == (item.get("Id") or "").strip().lower()), None)
        if c is None:
            _note(state, "CloudTenant/ComputeResources/CloudTenantComputeResource[@Id=%s]" % item.get("Id"),
                  "unknown item (ignored)")
            continue
        if _t(item, "CloudHardwarePlanUid") is not None and uid_id(_t(item, "CloudHardwarePlanUid"),
                                                                   PLAN_URN) != c["plan_id"]:
            return "The hardware plan of a subscription cannot be changed"
        ch = {}
        if _t(item, "UseNetworkFailoverResources") is not None:
            ch["failover"] = _t(item, "UseNetworkFailoverResources") == "true"
        if _c(item, "WanAcceleratorUid") is not None:
            raw = _t(item, "WanAcceleratorUid").strip()
            wan, msg = _optional_wan(state, raw, t["server_id"])
            if msg:
                return msg
            ch["wan_id"] = wan
        if _c(item, "NetworkAppliance") is not None:
            a, msg = _appliance(_c(item, "NetworkAppliance"), "CloudTenantComputeResource/NetworkAppliance",
                                c["appliance"] if state.config.partial_group == "merge" else None)
            if msg:
                return msg
            ch["appliance"] = a
        out.append((c, ch))
    return out


SCALARS = (("Description", "description", str), ("Enabled", "enabled", _bool), ("MaxConcurrentTasks", "max_tasks", int),
           ("BackupProtectionEnabled", "protection_enabled", _bool),
           ("BackupProtectionPeriod", "protection_period", int))
THROTTLING = (("ThrottlingEnabled", "throttling_enabled", _bool), ("ThrottlingSpeedLimit", "throttling_limit", int),
              ("ThrottlingSpeedUnit", "throttling_unit", str), ("PublicIpCount", "public_ip_count", int))


def _edit_tenant(state, req, t):
    body = secrets.parse_tree(state, req, tenant_put_schema(state.config))
    _type_check(state, body, t)
    top = {local(c): c.text or "" for c in body if len(c) == 0}
    new_password = secrets.write_password(state, top, "tenant")
    lease = _lease(state, body)
    changes = {key: conv(top[name]) for name, key, conv in SCALARS if name in top}
    for name, key, conv in THROTTLING:
        if name in top:
            if state.config.tenant_put_throttling == "apply":
                changes[key] = conv(top[name])
            else:
                _note(state, "CloudTenant/" + name, "create-time only (ignored under tenant_put_throttling=ignore)")
    failover = [local(c) for c in body if local(c).startswith("FailoverToOther")]
    if failover:
        changes["failover_gateways"] = _t(body, failover[0]) == "true"
    res_el, res_fail = _list_switch(state, body, "Resources", "tenant_put_resources")
    cmp_el, cmp_fail = _list_switch(state, body, "ComputeResources", "tenant_put_compute")
    pools_el = _c(body, "CloudGatewayPools")
    tid = t["id"]
    plan = {}

    def precheck():
        cur = state.cloud["tenants"].get(tid)
        if cur is None:
            return "The tenant was deleted"
        if res_fail or cmp_fail:
            return res_fail or cmp_fail
        plan["quotas"] = _quota_changes(state, cur, res_el) if res_el is not None else []
        plan["compute"] = _compute_changes(state, cur, cmp_el) if cmp_el is not None else []
        for k in ("quotas", "compute"):
            if isinstance(plan[k], str):
                return plan[k]
        if pools_el is not None:
            plan["pools"] = []
            for raw in _all(pools_el, "CloudGatewayPoolUid"):
                pid, msg = _on_server(state, "pools", raw.text, POOL_URN, cur["server_id"], "gateway pool")
                if msg:
                    return msg
                plan["pools"].append(pid)
        return None

    def commit():
        cur = state.cloud["tenants"].get(tid)
        if cur is None:
            return "The tenant was deleted"
        cur.update(changes)
        if lease is not None:
            cur["lease_enabled"], cur["lease_expiration"] = lease[0], lease[1] if lease[0] else None
        for rec, ch in plan.get("quotas", []) + plan.get("compute", []):
            rec.update(ch)
        if "pools" in plan:
            cur["pools"] = plan["pools"]
        if new_password is not None:
            cur["password"] = secret_store.sealed(new_password)
            cur["password_writes"] += 1
        return None
    task = _task(state, req, "EditCloudTenant", precheck, commit)
    return async_answer(state, req, task, lambda: tenant_entity(state, state.cloud["tenants"][tid], root=True,
                                                                item=True))


def _delete_tenant(state, req, t):
    raw = req.param("includeBackups")
    if raw is None:
        include = state.config.include_backups_default == "true"
    elif raw.lower() in ("true", "false"):
        include = raw.lower() == "true"
    else:
        raise ApiError(400, "The 'includeBackups' parameter must be true or false")
    tid = t["id"]

    def commit():
        gone = state.cloud["tenants"].pop(tid, None)
        if gone is not None:
            state.cloud.setdefault("deleted", []).append(
                {"id": tid, "name": gone["name"], "backup_server": state.server_name(gone["server_id"]),
                 "include_backups": include, "include_backups_sent": raw is not None})
        return None
    return _accepted(state, req, _task(state, req, "DeleteCloudTenant", None, commit))


# ---------------------------------------------------------------------------- quotas and subscriptions


def _add_child(state, req, t, key, operation, build, related=None):
    """POST to a tenant's child list: a task whose check ``build(current tenant)`` -> (record, failure or None)
    runs at its end, and whose commit appends the record to ``tenant[key]``."""
    tid = t["id"]
    made = {}

    def precheck():
        cur = state.cloud["tenants"].get(tid)
        if cur is None:
            return "The tenant was deleted"
        made["rec"], msg = build(cur)
        return msg

    def commit():
        state.cloud["tenants"][tid][key].append(made["rec"])
        return None
    link_to = (lambda: related(made["rec"])) if related else None
    return _accepted(state, req, _task(state, req, operation, precheck, commit, link_to))


def _remove_child(state, req, t, key, rec, operation, check=None):
    """DELETE of an item of a tenant's child list; ``check(current tenant)`` may refuse it (the task fails)."""
    tid = t["id"]

    def precheck():
        cur = state.cloud["tenants"].get(tid)
        return check(cur) if check and cur is not None else None

    def commit():
        cur = state.cloud["tenants"].get(tid)
        if cur is not None:
            cur[key] = [x for x in cur[key] if x["id"] != rec["id"]]
        return None
    return _accepted(state, req, _task(state, req, operation, precheck, commit))


def _create_quota(state, req, t):
    # Name, RepositoryUid and QuotaMb are 1/1 (post_tenants_id_resources.md)
    spec = secrets.parse_tree(state, req, QUOTA_CREATE, required=("Name", "RepositoryUid", "QuotaMb"))

    def build(cur):
        return _quota_from(state, _t(spec, "Name"), _t(spec, "RepositoryUid"), _t(spec, "QuotaMb"),
                           _t(spec, "WanAcceleratorUid"), cur["server_id"], {x["repo_id"] for x in cur["resources"]},
                           QUOTA_CREATE.name)

    def related(q):
        if state.config.create_related_link == "off":
            return None
        return ("CloudTenantResource", "%s/resources/%s" % (tenant_path(t), q["id"]), t["name"])
    return _add_child(state, req, t, "resources", "CreateCloudTenantResource", build, related)


def _delete_quota(state, req, t, q):
    def check(cur):
        users = [s["name"] for s in cur["subtenants"].values() if s["resource_id"] == q["id"]]
        if users:
            return "The quota '%s' is used by the subtenants %s" % (q["display_name"], ", ".join(users))
        return None
    return _remove_child(state, req, t, "resources", q, "DeleteCloudTenantResource", check)


def _create_compute(state, req, t):
    spec = secrets.parse_tree(state, req, COMPUTE_CREATE, required=("CloudHardwarePlanUid",))

    def build(cur):
        c, msg = _compute_from(state, spec, cur["server_id"], COMPUTE_CREATE.name)
        if msg:
            return None, msg
        if any(x["plan_id"] == c["plan_id"] for x in cur["compute"]):
            return None, "The tenant is already subscribed to this hardware plan"
        if any(x["platform"] != c["platform"] for x in cur["compute"]):
            return None, "A tenant can use hardware plans of one platform only"
        return c, None
    # the operation name is printed so on the vendor page [sic]; no Related link
    return _add_child(state, req, t, "compute", "CreateCloudTenantResource", build)


def _delete_compute(state, req, t, c):
    return _remove_child(state, req, t, "compute", c, "DeleteCloudTenantComputeResource")


VCD_CREATE = G("CloudTenantVCloudComputeResourceCreateSpec", L("VirtualDataCenterRef"),
               L("UseNetworkFailoverResources", "bool"), APPLIANCE, L("WanAcceleratorUid"))


def _create_vcd(state, req, t):
    spec = secrets.parse_tree(state, req, VCD_CREATE, required=("VirtualDataCenterRef",))

    def build(cur):
        return _vcd_from(state, spec, cur["server_id"], cur["vcd_resources"], VCD_CREATE.name, cur["org_name"])
    return _add_child(state, req, t, "vcd_resources", "CreateCloudTenantVCloudComputeResource", build)


def _delete_vcd(state, req, t, v):
    # the operation name is printed so on the vendor page [sic]
    return _remove_child(state, req, t, "vcd_resources", v, "DeletevCloudTenantComputeResource")


# ---------------------------------------------------------------------------- subtenants


def _subtenants(state, req, t, rest):
    subs = t["subtenants"]
    if not rest:
        _allow(req, "GET", "POST")
        if req.method == "POST":
            return _create_subtenant(state, req, t)
        _entity_format(req)
        return xml(200, collection("CloudSubtenants", [subtenant_el(state, t, s) for s in subs.values()]))
    if len(rest) == 1:
        _allow(req, "GET", "PUT", "DELETE")
        s = subs.get(_guid(rest[0], "subtenant"))
        if s is None:
            raise ApiError(404, "The subtenant with ID '%s' was not found" % rest[0])
        if req.method == "GET":
            _entity_format(req)
            return xml(200, subtenant_el(state, t, s, root=True, item=True))
        if req.method == "PUT":
            _edit_action(req)
            return _edit_subtenant(state, req, t, s)
        tid, sid = t["id"], s["id"]

        def commit():
            cur = state.cloud["tenants"].get(tid)
            if cur is not None:
                cur["subtenants"].pop(sid, None)
            return None
        return _accepted(state, req, _task(state, req, "DeleteCloudSubtenant", None, commit))
    raise ApiError(404, "The resource '%s' was not found" % req.path)


def _sub_quota(t, resource_id, quota_raw, unlimited, name):
    q = next((x for x in t["resources"] if x["id"] == (resource_id or "").strip().lower()), None)
    if q is None:
        return None, "The backup resource '%s' of the tenant '%s' was not found" % (
            (resource_id or "").strip(), t["name"])
    if not unlimited and (quota_raw is None or int(quota_raw) < MIN_QUOTA_MB):
        return None, "The quota of the subtenant '%s' must be at least %d MB" % (name, MIN_QUOTA_MB)
    return q, None


def _create_subtenant(state, req, t):
    # UnlimitedQuota is 1/1 beside Name, Password and TenantResourceId (post_tenants_id_subtenants.md)
    spec = secrets.parse_tree(state, req, SUB_CREATE, required=("Name", "Password", "TenantResourceId", "UnlimitedQuota"))
    name = (_t(spec, "Name") or "").strip()
    unlimited = _t(spec, "UnlimitedQuota") == "true"
    tid = t["id"]
    made = {}

    def precheck():
        cur = state.cloud["tenants"].get(tid)
        if cur is None:
            return "The tenant was deleted"
        if not name or not _t(spec, "Password"):
            return "A subtenant needs a name and a password"
        if any(s["name"].lower() == name.lower() for s in cur["subtenants"].values()):
            return "The subtenant '%s' already exists for the tenant '%s'" % (name, cur["name"])
        q, msg = _sub_quota(cur, _t(spec, "TenantResourceId"), _t(spec, "QuotaMb"), unlimited, name)
        if msg:
            return msg
        s = cloud_seed.new_subtenant(str(uuid.uuid4()), name, q, _t(spec, "Password"))
        s.update(description=_t(spec, "Description") or "", enabled=_t(spec, "Enabled") != "false",
                 unlimited=unlimited, quota_name=_t(spec, "QuotaName") or q["display_name"],
                 quota_mb=int(_t(spec, "QuotaMb") or 0))
        made["s"] = s
        return None

    def commit():
        state.cloud["tenants"][tid]["subtenants"][made["s"]["id"]] = made["s"]
        return None
    return _accepted(state, req, _task(state, req, "AddCloudSubtenant", precheck, commit))


def _edit_subtenant(state, req, t, s):
    body = secrets.parse_tree(state, req, SUB_PUT)
    top = {local(c): c.text or "" for c in body if len(c) == 0}
    new_password = secrets.write_password(state, top, "subtenant")
    rq = _c(body, "RepositoryQuota")
    tid, sid = t["id"], s["id"]
    changes = {}

    def precheck():
        cur = state.cloud["tenants"].get(tid)
        if cur is None or sid not in cur["subtenants"]:
            return "The subtenant was deleted"
        if "Description" in top:
            changes["description"] = top["Description"]
        if "Enabled" in top:
            changes["enabled"] = top["Enabled"] == "true"
        if rq is not None:
            unlimited = rq.get("Unlimited", fmt_bool(s["unlimited"])) == "true"
            if _t(rq, "QuotaMb") is None:
                return "Element 'CloudSubtenant/RepositoryQuota/QuotaMb' is required"
            q, msg = _sub_quota(cur, _t(rq, "TenantResourceId") or s["resource_id"], _t(rq, "QuotaMb"), unlimited,
                                s["name"])
            if msg:
                return msg
            changes.update(unlimited=unlimited, resource_id=q["id"])
            if not unlimited:
                changes["quota_mb"] = int(_t(rq, "QuotaMb"))
            if _t(rq, "DisplayName") is not None:
                changes["quota_name"] = _t(rq, "DisplayName")
            elif state.config.partial_group == "replace":
                changes["quota_name"] = ""
        return None

    def commit():
        cur = state.cloud["tenants"][tid]["subtenants"][sid]
        cur.update(changes)
        if new_password is not None:
            cur["password"] = secret_store.sealed(new_password)
            cur["password_writes"] += 1
        return None
    task = _task(state, req, "EditCloudSubtenant", precheck, commit)
    return async_answer(state, req, task, lambda: subtenant_el(state, state.cloud["tenants"][tid],
                                                               state.cloud["tenants"][tid]["subtenants"][sid],
                                                               root=True, item=True))


# ---------------------------------------------------------------------------- query service


class UidField(Field):
    """A ``…Uid`` field: a filter value may be the URN or the bare GUID."""

    def __init__(self, name, urn, get):
        super().__init__(name, get)
        self.urn = urn

    def convert(self, raw):
        raw = raw.strip()
        return super().convert(raw if ":" in raw else self.urn + raw)


def _server_fields(state):
    return {"BackupServerUid": UidField("BackupServerUid", SERVER_URN, lambda r: SERVER_URN + r["server_id"]),
            "BackupServerName": Field("BackupServerName", lambda r: state.server_name(r["server_id"]))}


def _licensed(state, req, qtype, allowed):
    if state.config.cloud_licence == "absent":
        raise ApiError(int(state.config.cloud_absent_status), "Query type '%s' needs the Veeam Cloud Connect service "
                                                              "provider license" % qtype)
    if not allowed:
        unlisted(state, req, "Query type '%s'" % qtype)
    if req.session.role == "restore":
        raise ApiError(403, "Access denied. The account must have the Portal Administrator or Portal User role")


def _q_tenants(state, req):
    _licensed(state, req, "CloudTenant", False)
    kinds = {"standalone": "Standalone", "vcd": "VCD", "ad": "ActiveDirectory"}
    fields = dict(_server_fields(state), **{
        "UID": Field("UID", lambda t: TENANT_URN + t["id"]), "Name": Field("Name", lambda t: t["name"]),
        "Enabled": Field("Enabled", lambda t: t["enabled"], "bool"),
        "Type": Field("Type", lambda t: kinds[t["kind"]]),
        "OrganizationReference": Field("OrganizationReference", lambda t: t["org_ref"])})
    return (list(state.cloud["tenants"].values()), fields, lambda t: tenant_ref(state, t),
            lambda t: tenant_entity(state, t), "CloudTenants", None)


def _q_subtenants(state, req):
    _licensed(state, req, "CloudSubtenant", False)
    pairs = [(t, s) for t in state.cloud["tenants"].values() for s in t["subtenants"].values()]
    fields = {
        "UID": Field("UID", lambda p: p[1]["id"]), "Name": Field("Name", lambda p: p[1]["name"]),
        "Disabled": Field("Disabled", lambda p: not p[1]["enabled"], "bool"),
        "CloudTenantUid": UidField("CloudTenantUid", TENANT_URN, lambda p: TENANT_URN + p[0]["id"]),
        "CloudTenantName": Field("CloudTenantName", lambda p: p[0]["name"]),
        "Unlimited": Field("Unlimited", lambda p: p[1]["unlimited"], "bool"),
        "Quota": Field("Quota", lambda p: int(p[1]["quota_mb"] or 0), "int"),
        "UsedQuota": Field("UsedQuota", lambda p: int(p[1]["used_mb"] or 0), "int"),
        "BackupResourceId": Field("BackupResourceId", lambda p: p[1]["resource_id"]),
        "BackupServerUid": UidField("BackupServerUid", SERVER_URN, lambda p: SERVER_URN + p[0]["server_id"]),
        "BackupServerName": Field("BackupServerName", lambda p: state.server_name(p[0]["server_id"]))}

    def wrap(shown, fmt):
        return E("Entities", E("CloudSubtenants", shown))
    return pairs, fields, None, lambda p: subtenant_el(state, p[0], p[1]), "CloudSubtenants", wrap


def _q_lookup(key, qtype, allowed, extra):
    def query(state, req):
        if key != "wanaccelerators":
            _licensed(state, req, qtype, allowed)
        attr, prefix, list_root, render, type_, urn, _what = LOOKUPS[key]
        fields = dict(_server_fields(state), UID=Field("UID", lambda r: urn + r["id"]),
                      Name=Field("Name", lambda r: r["name"]), **extra(state))
        return (list(state.cloud[attr].values()), fields,
                lambda r: _simple_ref(state, r, prefix + r["id"], type_, urn), lambda r: render(state, r),
                list_root, None)
    return query


QUERY_TYPES = {
    "cloudtenant": _q_tenants,
    "cloudsubtenant": _q_subtenants,
    "cloudhardwareplan": _q_lookup("hardwareplans", "CloudHardwarePlan", False, lambda s: {
        "Platform": Field("Platform", lambda h: "VMware" if h["kind"] == "vi" else "HyperV")}),
    "cloudgateway": _q_lookup("gateways", "CloudGateway", False, lambda s: {
        "NetworkMode": Field("NetworkMode", lambda g: g["mode"]),
        "ExternalIp": Field("ExternalIp", lambda g: g["external_ip"])}),
    "cloudgatewaypool": _q_lookup("gatewaypools", "CloudGatewayPool", True, lambda s: {
        "Description": Field("Description", lambda p: p["description"])}),
    "wanaccelerator": _q_lookup("wanaccelerators", "WanAccelerator", True, lambda s: {
        "Capacity": Field("Capacity", lambda w: w["capacity"], "int"),
        "ConnectionsCount": Field("ConnectionsCount", lambda w: w["connections"], "int"),
        "HighBandwidthModeEnabled": Field("HighBandwidthModeEnabled", lambda w: w["high_bandwidth"], "bool")}),
}


def raw_error(state, req, exc):
    """The answer for a :class:`_RawError` (XML), or None for any other error."""
    if not isinstance(exc, _RawError) or req.wants_json:
        return None
    return Response(exc.status, to_bytes(exc.element))


# ---------------------------------------------------------------------------- control API


def _quota_json(state, q):
    return {"id": q["id"], "display_name": q["display_name"], "repository": state.repos.get(q["repo_id"], {}).get("name"),
            "repository_uid": REPO_URN + q["repo_id"], "wan_accelerator_uid": WAN_URN + q["wan_id"] if q["wan_id"] else None,
            "quota_mb": q["quota_mb"], "used_mb": q["used_mb"]}


def _sub_json(s):
    return {"id": s["id"], "name": s["name"], "description": s["description"], "enabled": s["enabled"],
            "unlimited": s["unlimited"], "quota_mb": s["quota_mb"], "resource_id": s["resource_id"],
            "quota_name": s["quota_name"], "password_set": secret_store.is_set(s["password"]),
            "password_writes": s["password_writes"]}


def tenant_json(state, t):
    return {"id": t["id"], "uid": TENANT_URN + t["id"], "name": t["name"], "type": t["kind"],
            "backup_server": state.server_name(t["server_id"]), "backup_server_id": t["server_id"],
            "description": t["description"], "enabled": t["enabled"],
            "lease": {"enabled": t["lease_enabled"], "expiration": t["lease_expiration"]},
            "max_concurrent_tasks": t["max_tasks"],
            "throttling": {"enabled": t["throttling_enabled"], "limit": t["throttling_limit"],
                           "unit": t["throttling_unit"]},
            "public_ip_count": t["public_ip_count"],
            "backup_protection": {"enabled": t["protection_enabled"], "days": t["protection_period"]},
            "resources": [_quota_json(state, q) for q in t["resources"]],
            "compute_resources": [{"id": c["id"], "hardware_plan_uid": PLAN_URN + c["plan_id"],
                                   "hardware_plan": state.cloud["plans"].get(c["plan_id"], {}).get("name"),
                                   "platform": c["platform"], "failover": c["failover"],
                                   "wan_accelerator_uid": WAN_URN + c["wan_id"] if c["wan_id"] else None,
                                   "appliance": c["appliance"]} for c in t["compute"]],
            "vcd_resources": [{"id": v["id"], "ref": v["ref"]} for v in t["vcd_resources"]],
            "gateway_pools": [state.cloud["pools"][p]["name"] for p in t["pools"] if p in state.cloud["pools"]],
            "failover_to_other_gateways": t["failover_gateways"],
            "username": t["username"] if t["kind"] == "standalone" else None,
            "organization_ref": t["org_ref"] or None, "domain": t["domain_name"] or None,
            "account": t["account"] or None, "type_ignored": t["type_ignored"],
            "password_set": secret_store.is_set(t["password"]), "password_writes": t["password_writes"],
            "subtenants": [_sub_json(s) for s in t["subtenants"].values()]}


def control(state, method, parts, body):
    """/_emulator/tenants[/{id}[/password_matches | /subtenants/{sid}/password_matches]], deleted_tenants, users."""
    key = parts[0] if parts else ""
    if key == "deleted_tenants" and len(parts) == 1:
        return (200, list(state.cloud.get("deleted", []))) if method == "GET" else (405, {"error": "use GET"})
    if key == "users" and len(parts) == 1:
        return _users(state, method, body)
    if key != "tenants":
        return None
    with state.lock:
        tenants = state.cloud["tenants"]
        if len(parts) == 1:
            if method != "GET":
                return 405, {"error": "use GET", "status": 405}
            return 200, [tenant_json(state, t) for t in tenants.values()]
        t = tenants.get(parts[1].lower())
        if t is None:
            return 404, {"error": "no tenant %s" % parts[1], "status": 404}
        if len(parts) == 2:
            return (200, tenant_json(state, t)) if method == "GET" else (405, {"error": "use GET", "status": 405})
        rec = t
        if len(parts) == 5 and parts[2] == "subtenants" and parts[4] == "password_matches":
            rec = t["subtenants"].get(parts[3].lower())
            if rec is None:
                return 404, {"error": "no subtenant %s" % parts[3], "status": 404}
        elif not (len(parts) == 3 and parts[2] == "password_matches"):
            return 404, {"error": "unknown control endpoint /_emulator/%s" % "/".join(parts), "status": 404}
        if method != "POST":
            return 405, {"error": "use POST", "status": 405}
        import json  # pylint: disable=import-outside-toplevel
        return secret_store.password_check(rec["password"], json.loads(body) if body and body.strip() else {})


ROLES = ("admin", "portal", "restore")


def _users(state, method, body):
    """GET: the accounts and their roles (never the passwords); POST {"name", "password", "role"}: add one."""
    import json  # pylint: disable=import-outside-toplevel
    if method == "GET":
        return 200, [{"name": n, "role": r} for n, (_p, r) in state.users.items()]
    if method != "POST":
        return 405, {"error": "use GET or POST", "status": 405}
    data = json.loads(body) if body and body.strip() else {}
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data.get(k) for k in ("name", "password")) \
            or data.get("role") not in ROLES:
        raise ValueError('expected {"name": "...", "password": "...", "role": "admin|portal|restore"}')
    state.users[data["name"]] = (data["password"], data["role"])
    return 200, {"name": data["name"], "role": data["role"]}
