"""/api/cloud writes of the provider infrastructure: hardware plans, cloud gateways, gateway pools.

Contract: em-api-cloud.md sections 1, 2, 10, 11 and 13.  The reads live in :mod:`cloud` (``_lookup_route``
hands a POST on a collection and a PUT or DELETE on an item to :func:`write`).  Every write is a task in
the caller's session whose change shows at ``Finished``; PUTs are answered per ``async_put_answer``.
Refusals of the vendor pages (a plan with subscribers, a pool without gateways, a gateway on a server that
is not a managed server of the backup server, a name already taken, a change of a plan's network counts)
fail the task, never the request.
"""

from __future__ import annotations

import uuid

from . import cloud, secrets, seed
from .api import ApiError, _accepted, _allow
from .schema import G, L
from .xmlutil import local

# The Microsoft Windows servers each seeded backup server manages: a gateway can only run on one of them.
MANAGED_SERVERS = {
    "vbr01": ("gw01.provider.example", "gw02.provider.example", "gw04.provider.example", "gw05.provider.example",
              "172.16.13.119"),
    "vbr02": ("gw03.branch.example", "gw06.branch.example"),
}
DEFAULT_PORT = 6180          # every example; post_gateways.md's text says 8080 for InternalPort (em-api-cloud.md 11)
MODES = ("Direct", "NAT")

GATEWAY_CREATE = G("CreateCloudGatewaySpec", L("BackupServerIdOrName"), L("ServerHostName"), L("Description"),
                   L("ExternalIp"), L("ExternalPort", "int"), L("NetworkType", "enum", enum=MODES),
                   L("InternalPort", "int"), L("BackupServerUid"))
GATEWAY_PUT = G("CloudGateway", G("Links", ro=True), L("Enabled", "bool"), L("NetworkMode", "enum", enum=MODES),
                L("ExternalIP"), L("ExternalPort", "int"), L("InternalPort", "int"), L("Description"))


def _uid_list(name, item):
    return G(name, L(item, max=None), listwrap=True)


POOL_CREATE = G("CreateCloudGatewayPoolSpec", L("Name"), L("Description"), _uid_list("CloudGateways", "CloudGatewayUid"),
                _uid_list("CloudTenants", "CloudTenantUid"), L("BackupServerUid"))
# The PUT table lists Name and BackupServerUid, the example sends neither: accepted in the first and last slot, ignored.
POOL_PUT = G("CloudGatewayPool", L("Name", ro=True), G("Links", ro=True), L("Description"),
             _uid_list("CloudGateways", "CloudGatewayUid"), _uid_list("CloudTenants", "CloudTenantUid"),
             L("BackupServerUid", ro=True))

ID_ATTR = {"Id": ("string", ())}
NETWORK = G("Network", L("CountWithInternet", "int"), L("CountWithoutInternet", "int"), attrs=ID_ATTR)
DATASTORE = G("Datastore", L("FriendlyName"), L("DatastoreType", "enum", enum=("Datastore", "StoragePod")),
              L("Reference"), L("RootPath"), L("QuotaGb", "int"), L("PbmProfileId"), attrs=ID_ATTR, max=None)
VOLUME = G("Volume", L("FriendlyName"), L("VolumePath"), L("QuotaGb", "int"), attrs=ID_ATTR, max=None)
DETAILS = G("HardwarePlanDetails",
            G("ViCloudHardwarePlan", L("HypervisorHostRef"),
              L("ParentType", "enum", enum=("HostSystem", "ClusterComputeResource")), L("ParentName"),
              G("Datastores", DATASTORE, listwrap=True), NETWORK),
            G("HvCloudHardwarePlan", L("HypervisorHostRef"), G("Volumes", VOLUME, listwrap=True), NETWORK),
            choice=True)
PLAN_CREATE = G("CloudHardwarePlanCreateSpec", L("BackupServerUid"), L("Name"), L("Description"),
                L("ProcessorUsageLimitMhz", "int"), L("MemoryUsageLimitMb", "int"), DETAILS)
PLAN_PUT = G("CloudHardwarePlan", G("Links", ro=True), L("Description"), L("ProcessorUsageLimitMhz", "int"),
             L("MemoryUsageLimitMb", "int"), DETAILS)


def _c(el, *names):
    return cloud._c(el, *names)


def _t(el, *names):
    return cloud._t(el, *names)


def _all(el, name):
    return cloud._all(el, name)


def write(state, req, key, rest, table):
    """A write (POST on a collection: ``rest`` empty; PUT or DELETE on an item) of a provider-infrastructure list."""
    if key not in CREATE:
        _allow(req, "GET")
    if not rest:
        _allow(req, "GET", "POST")
        return CREATE[key](state, req)
    rec = table[rest[0].lower()]   # cloud._lookup_route found it
    if req.method == "PUT":
        cloud._edit_action(req)
        return EDIT[key](state, req, rec)
    return DELETE[key](state, req, rec)


def _server(state, spec, path):
    """The backup server a create names (BackupServerUid, or the legacy BackupServerIdOrName): (id, failure)."""
    raw = _t(spec, "BackupServerUid")
    sid = cloud.uid_id(raw, cloud.SERVER_URN)
    legacy = (_t(spec, "BackupServerIdOrName") or "").strip()
    if raw is None and legacy:
        sid = cloud.uid_id(legacy, cloud.SERVER_URN) or next(
            (s["id"] for s in state.servers.values() if s["name"].lower() == legacy.lower()), None)
    if sid not in state.servers:
        return None, "%s: the backup server '%s' was not found" % (path, (raw or legacy or "").strip())
    return sid, None


def _taken(state, attr, sid, name, what, own=None):
    if any(r["server_id"] == sid and r["name"].lower() == name.lower() and r["id"] != own
           for r in state.cloud[attr].values()):
        return "The %s '%s' already exists on the backup server %s" % (what, name, state.server_name(sid))
    return None


def _created(state, req, operation, precheck, commit, related):
    mode = state.config.create_related_link
    link_to = None if mode == "off" else related
    return _accepted(state, req, cloud._task(state, req, operation, precheck, commit, link_to))


def _removal(state, req, attr, rid, operation, check=None):
    def precheck():
        rec = state.cloud[attr].get(rid)
        return check(rec) if check and rec is not None else None

    def commit():
        state.cloud[attr].pop(rid, None)
        return None
    return _accepted(state, req, cloud._task(state, req, operation, precheck, commit))


# ---------------------------------------------------------------------------- gateways


def _ports(spec, external, internal):
    for name in (external, internal):
        raw = _t(spec, name)
        if raw is not None and not 0 < int(raw) <= 65535:
            raise ApiError(400, "Invalid value of element '%s': '%s' is out of range for UInt16" % (name, raw))


def _create_gateway(state, req):
    spec = secrets.parse_tree(state, req, GATEWAY_CREATE, required=("ServerHostName", "NetworkType"))
    _ports(spec, "ExternalPort", "InternalPort")
    host = (_t(spec, "ServerHostName") or "").strip()
    mode = _t(spec, "NetworkType")
    made = {}

    def precheck():
        sid, msg = _server(state, spec, "CreateCloudGatewaySpec")
        if msg:
            return msg
        if host.lower() not in [m.lower() for m in MANAGED_SERVERS.get(state.server_name(sid), ())]:
            return ("The server '%s' is not a managed server of the backup server %s: add it to the backup "
                    "infrastructure first" % (host, state.server_name(sid)))
        msg = _taken(state, "gateways", sid, host, "cloud gateway")
        if msg:
            return msg
        ext_ip = (_t(spec, "ExternalIp") or "").strip()
        if mode == "NAT" and not ext_ip:
            return "ExternalIp is required for a cloud gateway in NAT mode"
        made["g"] = {"id": str(uuid.uuid4()), "server_id": sid, "name": host, "enabled": True, "mode": mode,
                     "external_ip": ext_ip or host, "external_port": int(_t(spec, "ExternalPort") or DEFAULT_PORT),
                     "internal_port": int(_t(spec, "InternalPort") or DEFAULT_PORT),
                     "description": _t(spec, "Description") or ""}
        return None

    def commit():
        state.cloud["gateways"][made["g"]["id"]] = made["g"]
        return None
    return _created(state, req, "CreateCloudGateway", precheck, commit,
                    lambda: ("CloudGateway", "/api/cloud/gateways/%s?format=Entity" % made["g"]["id"], ""))


def _edit_gateway(state, req, g):
    body = secrets.parse_tree(state, req, GATEWAY_PUT, required=("NetworkMode", "ExternalIP"))
    _ports(body, "ExternalPort", "InternalPort")
    gid = g["id"]
    changes = {}
    for el_name, key, conv in (("Enabled", "enabled", lambda v: v == "true"), ("NetworkMode", "mode", str),
                               ("ExternalIP", "external_ip", lambda v: v.strip()), ("ExternalPort", "external_port", int),
                               ("InternalPort", "internal_port", int), ("Description", "description", str)):
        if _c(body, el_name) is not None:
            changes[key] = conv(_t(body, el_name))

    def precheck():
        if gid not in state.cloud["gateways"]:
            return "The cloud gateway was deleted"
        if changes.get("mode") == "NAT" and not changes.get("external_ip"):
            return "ExternalIP is required for a cloud gateway in NAT mode"
        return None

    def commit():
        state.cloud["gateways"][gid].update(changes)
        return None
    task = cloud._task(state, req, "EditCloudGateway", precheck, commit)
    return cloud.async_answer(state, req, task, lambda: cloud.gateway_entity(state, state.cloud["gateways"][gid], root=True))


def _delete_gateway(state, req, g):
    gid = g["id"]

    def last_of_pool(_rec):
        pools = [p["name"] for p in state.cloud["pools"].values() if p["gateways"] == [gid]]
        if pools:
            return ("The cloud gateway '%s' is the last gateway of the gateway pool %s: a pool needs at least one "
                    "gateway" % (g["name"], ", ".join(pools)))
        return None

    def commit():
        state.cloud["gateways"].pop(gid, None)
        for p in state.cloud["pools"].values():
            p["gateways"] = [x for x in p["gateways"] if x != gid]
        return None
    return _accepted(state, req, cloud._task(state, req, "DeleteCloudGateway", lambda: last_of_pool(g), commit))


# ---------------------------------------------------------------------------- gateway pools


def _uids(el, name, urn):
    """The GUIDs of a UID list (None when the list is absent; a bad UID gives None in its place)."""
    if el is None:
        return None
    return [cloud.uid_id(x.text, urn) for x in _all(el, name)]


def _pool_members(state, sid, gateways, tenants, path):
    """A failure message when the gateways or tenants of a pool are not on its backup server, else None."""
    if not gateways:
        return "%s: at least one cloud gateway must be specified" % path
    for gid in gateways:
        if gid is None or state.cloud["gateways"].get(gid, {}).get("server_id") != sid:
            return "%s: a cloud gateway was not found on the backup server %s" % (path, state.server_name(sid))
    for tid in tenants or ():
        if tid is None or state.cloud["tenants"].get(tid, {}).get("server_id") != sid:
            return "%s: a tenant was not found on the backup server %s" % (path, state.server_name(sid))
    return None


def _assign(state, pid, sid, tenants):
    """The pool's tenant list becomes ``tenants`` (the relation lives on the tenants, shown on both sides)."""
    for t in state.cloud["tenants"].values():
        if t["server_id"] != sid:
            continue
        has = pid in t["pools"]
        if t["id"] in tenants and not has:
            t["pools"].append(pid)
        elif t["id"] not in tenants and has:
            t["pools"].remove(pid)


def _create_pool(state, req):
    spec = secrets.parse_tree(state, req, POOL_CREATE, required=("Name", "BackupServerUid"))
    name = (_t(spec, "Name") or "").strip()
    gateways = _uids(_c(spec, "CloudGateways"), "CloudGatewayUid", cloud.GATEWAY_URN) or []
    tenants = _uids(_c(spec, "CloudTenants"), "CloudTenantUid", cloud.TENANT_URN) or []
    made = {}

    def precheck():
        sid, msg = _server(state, spec, "CreateCloudGatewayPoolSpec")
        msg = msg or (None if name else "The gateway pool name cannot be empty")
        msg = msg or _taken(state, "pools", sid, name, "cloud gateway pool")
        msg = msg or _pool_members(state, sid, gateways, tenants, "CreateCloudGatewayPoolSpec")
        made.update(sid=sid, id=str(uuid.uuid4()))
        return msg

    def commit():
        state.cloud["pools"][made["id"]] = {"id": made["id"], "server_id": made["sid"], "name": name,
                                            "description": _t(spec, "Description") or "", "gateways": gateways}
        _assign(state, made["id"], made["sid"], tenants)
        return None
    # the page's Related link: Type="CloudGatewayPools" [sic], Name=""
    return _created(state, req, "CreateCloudGatewayPool", precheck, commit,
                    lambda: ("CloudGatewayPools", "/api/cloud/gatewayPools/%s?format=Entity" % made["id"], ""))


def _edit_pool(state, req, pool):
    body = secrets.parse_tree(state, req, POOL_PUT, required=("CloudGateways",))
    pid, sid = pool["id"], pool["server_id"]
    gateways = _uids(_c(body, "CloudGateways"), "CloudGatewayUid", cloud.GATEWAY_URN)
    tenants = _uids(_c(body, "CloudTenants"), "CloudTenantUid", cloud.TENANT_URN)
    if tenants is None:
        cloud._note(state, "CloudGatewayPool/CloudTenants", "absent: pool_put_absent_tenants=%s"
                    % state.config.pool_put_absent_tenants)
        if state.config.pool_put_absent_tenants == "clear":
            tenants = []

    def precheck():
        if pid not in state.cloud["pools"]:
            return "The cloud gateway pool was deleted"
        return _pool_members(state, sid, gateways, tenants, "CloudGatewayPool")

    def commit():
        cur = state.cloud["pools"][pid]
        if _c(body, "Description") is not None:
            cur["description"] = _t(body, "Description")
        cur["gateways"] = gateways
        if tenants is not None:
            _assign(state, pid, sid, tenants)
        return None
    task = cloud._task(state, req, "UpdateCloudGatewayPool", precheck, commit)
    return cloud.async_answer(state, req, task, lambda: cloud.pool_entity(state, state.cloud["pools"][pid], root=True))


def _delete_pool(state, req, pool):
    pid = pool["id"]

    def commit():
        state.cloud["pools"].pop(pid, None)
        for t in state.cloud["tenants"].values():
            if pid in t["pools"]:
                t["pools"].remove(pid)
        return None
    task = cloud._task(state, req, "DeleteCloudGatewayPool", None, commit,
                       lambda: ("CloudGatewayPoolReferenceList", "/api/cloud/gatewayPools", ""))
    return _accepted(state, req, task)


# ---------------------------------------------------------------------------- hardware plans


def _lookup_item(state, ref, types):
    """The inventory object a hierarchy reference names when its type is one of ``types``, else None."""
    ref = (ref or "").strip().lower()
    return next((i for i in state.inventory if i["ref"].lower() == ref and i["type"] in types), None)


def _storage(state, details, kind, have, path):
    """The datastores or volumes of a plan body: (list, failure). Items keep a known ``@Id``; others get a new one."""
    out = []
    known = dict((s["id"], s) for s in have)
    if kind == "vi":
        for d in _all(_c(details, "Datastores"), "Datastore"):
            item = _lookup_item(state, _t(d, "Reference"), ("Datastore", "StoragePod"))
            if item is None:
                return None, "%s: the datastore '%s' was not found" % (path, (_t(d, "Reference") or "").strip())
            if (_t(d, "DatastoreType") or item["type"]) != item["type"]:
                return None, "%s: '%s' is a %s, not a %s" % (path, item["name"], item["type"], _t(d, "DatastoreType"))
            out.append({"id": d.get("Id") if d.get("Id") in known else str(uuid.uuid4()),
                        "name": _t(d, "FriendlyName") or item["name"], "type": item["type"], "ref": item["ref"],
                        "root": _t(d, "RootPath") or "[%s]" % item["name"], "quota_gb": int(_t(d, "QuotaGb") or 0)})
    else:
        for v in _all(_c(details, "Volumes"), "Volume"):
            if not (_t(v, "VolumePath") or "").strip():
                return None, "%s: VolumePath is required" % path
            out.append({"id": v.get("Id") if v.get("Id") in known else str(uuid.uuid4()),
                        "name": _t(v, "FriendlyName") or "", "path": _t(v, "VolumePath"),
                        "quota_gb": int(_t(v, "QuotaGb") or 0)})
    for s in out:
        if s["quota_gb"] < 1:
            return None, "%s: QuotaGb must be at least 1" % path
    if not out:
        return None, "%s: at least one %s is required" % (path, "datastore" if kind == "vi" else "volume")
    return out, None


def _details(state, spec, sid, path):
    """The platform part of a create body: (record fields, failure)."""
    details = _c(spec, "HardwarePlanDetails")
    vi, hv = _c(details, "ViCloudHardwarePlan"), _c(details, "HvCloudHardwarePlan")
    part = vi if vi is not None else hv
    if part is None:
        return None, "%s/HardwarePlanDetails: ViCloudHardwarePlan or HvCloudHardwarePlan is required" % path
    kind = "vi" if vi is not None else "hv"
    host = _lookup_item(state, _t(part, "HypervisorHostRef"), ("Host", "Cluster"))
    root = state.roots.get(host["root_id"]) if host else None
    if host is None or root["server_id"] != sid or (root["platform"] == "VMware") != (kind == "vi"):
        return None, "%s: the host or cluster '%s' was not found on the backup server %s" % (
            path, (_t(part, "HypervisorHostRef") or "").strip(), state.server_name(sid))
    rec = {"kind": kind, "host_ref": host["ref"]}
    if kind == "vi":
        ptype = "ClusterComputeResource" if host["type"] == "Cluster" else "HostSystem"
        if (_t(part, "ParentType") or ptype) != ptype:
            return None, "%s: ParentType %s does not fit the %s '%s'" % (path, _t(part, "ParentType"), host["type"],
                                                                         host["name"])
        rec.update(parent_type=ptype, parent_name=_t(part, "ParentName") or host["name"])
    rec["storage"], msg = _storage(state, part, kind, [], path)
    net = _c(part, "Network")
    rec.update(net_id=str(uuid.uuid4()), with_internet=int(_t(net, "CountWithInternet") or 0),
               without_internet=int(_t(net, "CountWithoutInternet") or 0))
    return rec, msg


def _limits(spec, path):
    for name in ("ProcessorUsageLimitMhz", "MemoryUsageLimitMb"):
        raw = _t(spec, name)
        if raw is not None and int(raw) < 1 and int(raw) != -1:
            return "%s/%s: a positive number, or -1 for unlimited" % (path, name)
    return None


def _create_plan(state, req):
    spec = secrets.parse_tree(state, req, PLAN_CREATE, required=(
        "BackupServerUid", "Name", "ProcessorUsageLimitMhz", "MemoryUsageLimitMb", "HardwarePlanDetails"))
    name = (_t(spec, "Name") or "").strip()
    made = {}

    def precheck():
        sid, msg = _server(state, spec, "CloudHardwarePlanCreateSpec")
        msg = msg or (None if name else "The hardware plan name cannot be empty")
        msg = msg or _taken(state, "plans", sid, name, "hardware plan") or _limits(spec, "CloudHardwarePlanCreateSpec")
        if msg:
            return msg
        rec, msg = _details(state, spec, sid, "CloudHardwarePlanCreateSpec")
        made["h"] = dict(rec or {}, id=str(uuid.uuid4()), server_id=sid, name=name,
                         description=_t(spec, "Description") or "", cpu_mhz=int(_t(spec, "ProcessorUsageLimitMhz")),
                         memory_mb=int(_t(spec, "MemoryUsageLimitMb")))
        return msg

    def commit():
        state.cloud["plans"][made["h"]["id"]] = made["h"]
        return None

    def related():
        hid = made["h"]["id"]
        if state.config.create_related_link == "doc_literal":   # the page copied from the gateway's
            return ("CloudGateway", "/api/cloud/gateways/%s?format=Entity" % hid, "")
        return ("CloudHardwarePlan", "/api/cloud/hardwarePlans/%s?format=Entity" % hid, name)
    return _created(state, req, "CreateCloudHardwarePlan", precheck, commit, related)


def _storage_edit(state, h, part, path):
    """The storage list after a PUT per ``hwplan_storage_list``: (list, failure)."""
    sent, msg = _storage(state, part, h["kind"], h["storage"], path)
    if msg:
        return None, msg
    if state.config.hwplan_storage_list == "merge":
        ids = set(s["id"] for s in sent)
        sent = [s for s in h["storage"] if s["id"] not in ids] + sent
    return sent, None


def _edit_plan(state, req, h):
    body = secrets.parse_tree(state, req, PLAN_PUT, required=("ProcessorUsageLimitMhz", "MemoryUsageLimitMb"))
    hid = h["id"]
    changes = {}

    def precheck():
        cur = state.cloud["plans"].get(hid)
        if cur is None:
            return "The hardware plan was deleted"
        msg = _limits(body, "CloudHardwarePlan")
        if msg:
            return msg
        if _c(body, "Description") is not None:
            changes["description"] = _t(body, "Description")
        changes.update(cpu_mhz=int(_t(body, "ProcessorUsageLimitMhz")), memory_mb=int(_t(body, "MemoryUsageLimitMb")))
        details = _c(body, "HardwarePlanDetails")
        if details is None:
            return None
        part = list(details)
        want = "ViCloudHardwarePlan" if cur["kind"] == "vi" else "HvCloudHardwarePlan"
        if not part or local(part[0]) != want:
            return "CloudHardwarePlan/HardwarePlanDetails: the plan is a %s; its platform cannot change" % want
        part = part[0]
        net = _c(part, "Network")
        if net is not None:
            counts = (int(_t(net, "CountWithInternet") or 0), int(_t(net, "CountWithoutInternet") or 0))
            if counts != (cur["with_internet"], cur["without_internet"]):
                if state.config.hwplan_network_change == "fail":
                    return "You cannot change the number of networks in the hardware plan '%s'" % cur["name"]
                cloud._note(state, "CloudHardwarePlan/HardwarePlanDetails/%s/Network" % want,
                            "network counts cannot change (hwplan_network_change=ignore)")
        host = (_t(part, "HypervisorHostRef") or "").strip()
        if host and host.lower() != cur["host_ref"].lower():
            item = _lookup_item(state, host, ("Host", "Cluster"))
            if item is None or state.roots[item["root_id"]]["server_id"] != cur["server_id"]:
                return "CloudHardwarePlan: the host or cluster '%s' was not found" % host
            changes["host_ref"] = item["ref"]
            if cur["kind"] == "vi":
                changes.update(parent_type="ClusterComputeResource" if item["type"] == "Cluster" else "HostSystem",
                               parent_name=_t(part, "ParentName") or item["name"])
        listed = _c(part, "Datastores" if cur["kind"] == "vi" else "Volumes")
        if listed is not None:
            changes["storage"], msg = _storage_edit(state, cur, part, "CloudHardwarePlan")
            return msg
        return None

    def commit():
        state.cloud["plans"][hid].update(changes)
        return None
    task = cloud._task(state, req, "EditCloudHardwarePlan", precheck, commit)
    return cloud.async_answer(state, req, task, lambda: cloud.plan_entity(state, state.cloud["plans"][hid], root=True))


def subscribers(state, hid):
    return [t for t in state.cloud["tenants"].values() if any(c["plan_id"] == hid for c in t["compute"])]


def _delete_plan(state, req, h):
    def in_use(rec):
        names = sorted(t["name"] for t in subscribers(state, rec["id"]))
        if names:
            return ("The hardware plan '%s' cannot be deleted: tenants subscribe to it: %s"
                    % (rec["name"], ", ".join(names)))
        return None
    return _removal(state, req, "plans", h["id"], "DeleteCloudHardwarePlan", in_use)


CREATE = {"hardwareplans": _create_plan, "gateways": _create_gateway, "gatewaypools": _create_pool}
EDIT = {"hardwareplans": _edit_plan, "gateways": _edit_gateway, "gatewaypools": _edit_pool}
DELETE = {"hardwareplans": _delete_plan, "gateways": _delete_gateway, "gatewaypools": _delete_pool}


# ---------------------------------------------------------------------------- public IP addresses and VLANs (reads)

# server, address; and server, name, host ref, platform, switch name, four VLAN bounds (em-api-cloud.md 12)
PUBLIC_IPS = (("vbr01", "203.0.113.100"), ("vbr01", "203.0.113.101"))
VLANS = (("vbr01", "Replica VLANs", "Cluster01", "VMware", "dvSwitch-Cloud", 100, 149, 150, 199),)


PUBLIC_IP_PUT = G("CloudPublicIpAddress", L("IpAddress"))


def _public_ips(state):
    """[(id, server, address)] of the seeded public IP addresses, with the edits made since the last reset."""
    edits = state.cloud.setdefault("public_ip_edits", {})
    out = []
    for server, ip in PUBLIC_IPS:
        iid = seed.guid("publicip", server, ip)
        out.append((iid, server, edits.get(iid, ip)))
    return out


def _public_ip_el(state, iid, server, ip, root=False):
    from .xmlutil import E
    b = state.base_url
    return E("CloudPublicIpAddress", E("IpAddress", text=ip), root=root, attrs=[
        ("Href", b + "/api/cloud/publicIpAddresses/" + iid), ("Type", "CloudPublicIpAddress"),
        ("UID", "urn:veeam:CloudPublicIpAddress:" + iid), ("BackupServerUid", cloud.SERVER_URN + seed.server_id(server))])


def _edit_public_ip(state, req, iid):
    """PUT /cloud/publicIpAddresses/{id}: the text says 204, the example 202 + EditCloudPublicIpAddress
    (``publicip_put_answer``); only IpAddress is modifiable, the URL names the address."""
    body = secrets.parse_tree(state, req, PUBLIC_IP_PUT)
    address = (cloud._t(body, "IpAddress") or "").strip()

    def commit():
        if address:
            state.cloud.setdefault("public_ip_edits", {})[iid] = address
        return None
    if state.config.publicip_put_answer == "204":
        commit()
        return cloud.Response(204)
    return _accepted(state, req, cloud._task(state, req, "EditCloudPublicIpAddress", lambda: None, commit))


def read_only(state, req, sub, rest):
    """GET /cloud/publicIpAddresses[/{id}] and /cloud/vlans: seeded lists (the collection writes neither); a public
    IP address also takes a PUT (publicip_put_answer)."""
    from .xmlutil import E
    from .views import collection, link, links
    b = state.base_url
    if sub == "publicipaddresses" and len(rest) == 1:
        found = [x for x in _public_ips(state) if x[0] == rest[0].lower()]
        if not found:
            raise ApiError(404, "The resource '%s' was not found" % req.path)
        _allow(req, "GET", "PUT")
        if req.method == "PUT":
            with state.lock:
                return _edit_public_ip(state, req, found[0][0])
        return cloud.xml(200, _public_ip_el(state, *found[0], root=True))
    _allow(req, "GET")
    if rest:
        raise ApiError(404, "The resource '%s' was not found" % req.path)
    if sub == "publicipaddresses":
        return cloud.xml(200, collection("CloudPublicIpAddresses", [_public_ip_el(state, *x) for x in _public_ips(state)]))
    items = []
    for server, name, host, platform, switch, lo1, hi1, lo2, hi2 in VLANS:
        vid = seed.guid("vlan", server, name)
        el = E("VlanConfiguration", attrs=[("Name", name), ("UID", vid)])   # no Href, a bare-GUID UID
        el.append(links(cloud._server_up(state, {"server_id": seed.server_id(server)}),
                        link(b, "Alternate", "/api/cloud/vlans/" + vid, "VlanConfigurationReference", name)))
        for tag, text in (("HostRef", host), ("PlatformType", platform), ("VlanIdsWithInternetLeftBound", lo1),
                          ("VlanIdsWithInternetRightBound", hi1), ("VlanIdsWithoutInternetLeftBound", lo2),
                          ("VlanIdsWithoutInternetRightBound", hi2), ("SwitchName", switch), ("SwitchId", switch),
                          ("SwitchType", "DistributedSwitch")):
            el.append(E(tag, text=text))
        items.append(el)
    return cloud.xml(200, collection("VlanConfigurations", items))
