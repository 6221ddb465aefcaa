"""Provider infrastructure writes under /api/cloud: hardware plans, cloud gateways, gateway pools (cloud_infra.py)."""

from __future__ import annotations

import pytest
from lxml import etree

from conftest import N, NS
from test_cloud import ACME, PLAN_SILVER, POOL_EU, VBR01, body, kids
from test_cloud import cl, cloud_server  # noqa: F401  pylint: disable=unused-import
from veeam_em_emulator import cloud_seed, seed

VBR02 = seed.server_id("vbr02")
GW01 = cloud_seed.gateway_id("vbr01", "gw01")
GW02 = cloud_seed.gateway_id("vbr01", "gw02")
GW03 = cloud_seed.gateway_id("vbr02", "gw03")
PLAN_GOLD = cloud_seed.plan_id("vbr01", "Gold Hyper-V")
CLUSTER = "urn:VMware:Cluster:%s.domain-c7" % seed.VC_ROOT
ESX01 = "urn:VMware:Host:%s.host-11" % seed.VC_ROOT
DS1 = "urn:VMware:Datastore:%s.datastore-21" % seed.VC_ROOT
DS2 = "urn:VMware:Datastore:%s.datastore-22" % seed.VC_ROOT
HV01 = "urn:HyperV:Host:%s.hv01.lab.local" % seed.HV_ROOT


def related(task):
    link = task.find("e:Links/e:Link[@Rel='Related']", N)
    return None if link is None else (link.get("Type"), link.get("Href"), link.get("Name"))


def result(task):
    return task.find("e:Result", N).get("Success"), task.findtext("e:Result/e:Message", namespaces=N)


def operation(task):
    return task.findtext("e:Operation", namespaces=N)


# ---------------------------------------------------------------------------- gateways


def gateway_spec(host, mode="Direct", server=VBR01, ext="", extra=""):
    return body("CreateCloudGatewaySpec", "<ServerHostName>%s</ServerHostName><Description>new</Description>%s"
                "<ExternalPort>6180</ExternalPort><NetworkType>%s</NetworkType><InternalPort>6180</InternalPort>%s"
                "<BackupServerUid>urn:veeam:BackupServer:%s</BackupServerUid>" % (host, ext, mode, extra, server))


def test_gateway_create_names_differ_and_related_link_has_no_name(cl):
    spec = gateway_spec("gw04.provider.example", "NAT", ext="<ExternalIp>203.0.113.40</ExternalIp>")
    t = cl.wait(cl.req("POST", "/cloud/gateways", body=spec))
    assert result(t) == ("true", "Ok") and operation(t) == "CreateCloudGateway"
    type_, href, name = related(t)
    assert type_ == "CloudGateway" and name == ""
    gw = cl.get(href)
    assert gw.get("Name") == "gw04.provider.example"   # ServerHostName -> @Name
    assert gw.findtext("e:NetworkMode", namespaces=N) == "NAT"   # NetworkType -> NetworkMode
    assert gw.findtext("e:ExternalIP", namespaces=N) == "203.0.113.40"   # ExternalIp -> ExternalIP
    assert kids(gw) == ["Links", "Enabled", "NetworkMode", "ExternalIP", "ExternalPort", "InternalPort", "Description"]


@pytest.mark.parametrize("host,mode,server,ext,message", [
    ("unmanaged.example", "Direct", VBR01, "", "is not a managed server"),
    ("gw01.provider.example", "Direct", VBR01, "", "already exists"),
    ("gw05.provider.example", "NAT", VBR01, "", "ExternalIp is required"),
    ("gw05.provider.example", "Direct", VBR02, "", "is not a managed server"),
])
def test_gateway_create_refusals_fail_the_task(cl, host, mode, server, ext, message):
    before = len(cl.get("/cloud/gateways"))
    t = cl.wait(cl.req("POST", "/cloud/gateways", body=gateway_spec(host, mode, server, ext)))
    assert result(t)[0] == "false" and message in result(t)[1]
    assert len(cl.get("/cloud/gateways")) == before


def gateway_put(gid, mode="NAT", ip="203.0.113.10", extra="<Description>edited</Description>"):
    return body("CloudGateway", "<Enabled>false</Enabled><NetworkMode>%s</NetworkMode><ExternalIP>%s</ExternalIP>"
                "<ExternalPort>6190</ExternalPort><InternalPort>6181</InternalPort>%s" % (mode, ip, extra),
                ' Href="x" Type="CloudGateway" UID="urn:veeam:CloudGateway:%s"' % gid)


@pytest.mark.parametrize("mode", ["202_task", "200_task", "200_body"])
def test_gateway_edit_answers(cl, mode):
    cl.config(async_put_answer=mode)
    r = cl.req("PUT", "/cloud/gateways/" + GW01, body=gateway_put(GW01))
    if mode == "200_body":
        assert r.status_code == 200 and etree.fromstring(r.content).tag == "{%s}CloudGateway" % NS
    else:
        assert operation(cl.wait(r)) == "EditCloudGateway"
    gw = cl.get("/cloud/gateways/%s?format=Entity" % GW01)
    assert [gw.findtext("e:" + n, namespaces=N) for n in ("Enabled", "ExternalPort", "InternalPort", "Description")] \
        == ["false", "6190", "6181", "edited"]


def test_gateway_put_needs_mode_and_ip_and_ports_in_range(cl):
    r = cl.req("PUT", "/cloud/gateways/" + GW01, body=body("CloudGateway", "<Description>x</Description>"))
    assert r.status_code == 400 and "NetworkMode" in r.text
    r = cl.req("PUT", "/cloud/gateways/" + GW01, body=gateway_put(GW01, extra="").replace("6190", "70000"))
    assert r.status_code == 400 and "UInt16" in r.text


def test_gateway_delete_refused_for_a_pools_last_gateway(cl):
    t = cl.wait(cl.req("DELETE", "/cloud/gateways/" + GW03))
    assert operation(t) == "DeleteCloudGateway" and result(t)[0] == "true"   # in no pool
    t = cl.wait(cl.req("DELETE", "/cloud/gateways/" + GW02))
    assert result(t)[0] == "true"
    pool = cl.get("/cloud/gatewayPools/%s?format=Entity" % POOL_EU)
    assert [u.text for u in pool.iterfind("e:CloudGateways/e:CloudGatewayUid", N)] == ["urn:veeam:CloudGateway:" + GW01]
    t = cl.wait(cl.req("DELETE", "/cloud/gateways/" + GW01))
    assert result(t)[0] == "false" and "last gateway of the gateway pool EU gateways" in result(t)[1]


# ---------------------------------------------------------------------------- pools


def pool_spec(name, gateways, tenants=None, server=VBR01):
    gws = "".join("<CloudGatewayUid>urn:veeam:CloudGateway:%s</CloudGatewayUid>" % g for g in gateways)
    ts = "" if tenants is None else "<CloudTenants>%s</CloudTenants>" % "".join(
        "<CloudTenantUid>urn:veeam:CloudTenant:%s</CloudTenantUid>" % t for t in tenants)
    return body("CreateCloudGatewayPoolSpec", "<Name>%s</Name><Description>d</Description><CloudGateways>%s"
                "</CloudGateways>%s<BackupServerUid>urn:veeam:BackupServer:%s</BackupServerUid>" % (name, gws, ts, server))


def test_pool_create_links_pools_type_and_assigns_tenants(cl):
    t = cl.wait(cl.req("POST", "/cloud/gatewayPools", body=pool_spec("US gateways", [GW02], [ACME])))
    assert result(t)[0] == "true" and operation(t) == "CreateCloudGatewayPool"
    type_, href, name = related(t)
    assert type_ == "CloudGatewayPools" and name == ""
    pool = cl.get(href)
    assert [u.text for u in pool.iterfind("e:CloudTenants/e:CloudTenantUid", N)] == ["urn:veeam:CloudTenant:" + ACME]
    pid = pool.get("UID").rsplit(":", 1)[1]
    tenant_pools = cl.get("/cloud/tenants/%s/gatewayPools" % ACME)
    assert pid in [r.get("UID").rsplit(":", 1)[1] for r in tenant_pools]
    gws = cl.get("/cloud/gatewayPools/%s/gateways" % pid)
    assert [g.get("Name") for g in gws] == ["gw02.provider.example"]


@pytest.mark.parametrize("gateways,name,message", [
    ([], "Empty", "at least one cloud gateway"),
    ([GW03], "Other server", "cloud gateway was not found on the backup server vbr01"),
    ([GW01], "EU gateways", "already exists"),
])
def test_pool_create_refusals(cl, gateways, name, message):
    t = cl.wait(cl.req("POST", "/cloud/gatewayPools", body=pool_spec(name, gateways)))
    assert result(t)[0] == "false" and message in result(t)[1]


def pool_put(gateways, tenants=None, first="", last=""):
    gws = "".join("<CloudGatewayUid>urn:veeam:CloudGateway:%s</CloudGatewayUid>" % g for g in gateways)
    ts = "" if tenants is None else "<CloudTenants>%s</CloudTenants>" % "".join(
        "<CloudTenantUid>urn:veeam:CloudTenant:%s</CloudTenantUid>" % t for t in tenants)
    return body("CloudGatewayPool", "%s<Description>changed</Description><CloudGateways>%s</CloudGateways>%s%s"
                % (first, gws, ts, last), ' Type="CloudGatewayPool"')


def pool_tenants(cl):
    pool = cl.get("/cloud/gatewayPools/%s?format=Entity" % POOL_EU)
    return [u.text.rsplit(":", 1)[1] for u in pool.iterfind("e:CloudTenants/e:CloudTenantUid", N)]


@pytest.mark.parametrize("mode", ["keep", "clear"])
def test_pool_put_tenant_list_empty_clears_absent_per_switch(cl, mode):
    cl.config(pool_put_absent_tenants=mode)
    held = pool_tenants(cl)
    assert held, "the seed assigns the EU pool"
    # Name first and BackupServerUid last are accepted and ignored
    t = cl.wait(cl.req("PUT", "/cloud/gatewayPools/" + POOL_EU, body=pool_put(
        [GW01, GW02], first="<Name>renamed</Name>", last="<BackupServerUid>urn:veeam:BackupServer:%s</BackupServerUid>"
        % VBR01)))
    assert operation(t) == "UpdateCloudGatewayPool" and result(t)[0] == "true"
    assert pool_tenants(cl) == (held if mode == "keep" else [])
    assert cl.get("/cloud/gatewayPools/%s?format=Entity" % POOL_EU).get("Name") == "EU gateways"
    cl.wait(cl.req("PUT", "/cloud/gatewayPools/" + POOL_EU, body=pool_put([GW01], held)))
    assert pool_tenants(cl) == held
    cl.wait(cl.req("PUT", "/cloud/gatewayPools/" + POOL_EU, body=pool_put([GW01], [])))
    assert pool_tenants(cl) == []


def test_pool_delete_drops_the_tenant_relation(cl):
    t = cl.wait(cl.req("DELETE", "/cloud/gatewayPools/" + POOL_EU))
    assert operation(t) == "DeleteCloudGatewayPool" and result(t)[0] == "true"
    assert all(POOL_EU not in r.get("UID") for r in cl.get("/cloud/tenants/%s/gatewayPools" % ACME))


# ---------------------------------------------------------------------------- hardware plans


def vi_details(host=CLUSTER, ptype="ClusterComputeResource", stores=((DS1, 100, None),), net=(1, 1)):
    ds = "".join("<Datastore%s><FriendlyName>Replicas %d</FriendlyName><DatastoreType>Datastore</DatastoreType>"
                 "<Reference>%s</Reference><QuotaGb>%d</QuotaGb></Datastore>"
                 % ((' Id="%s"' % i) if i else "", n, ref, q) for n, (ref, q, i) in enumerate(stores))
    network = "" if net is None else \
        "<Network><CountWithInternet>%d</CountWithInternet><CountWithoutInternet>%d</CountWithoutInternet></Network>" \
        % net
    return ("<HardwarePlanDetails><ViCloudHardwarePlan><HypervisorHostRef>%s</HypervisorHostRef><ParentType>%s"
            "</ParentType><ParentName>Cluster01</ParentName><Datastores>%s</Datastores>%s</ViCloudHardwarePlan>"
            "</HardwarePlanDetails>" % (host, ptype, ds, network))


def plan_spec(name, details, server=VBR01, cpu=-1, mem=2048):
    return body("CloudHardwarePlanCreateSpec", "<BackupServerUid>urn:veeam:BackupServer:%s</BackupServerUid><Name>%s"
                "</Name><Description>d</Description><ProcessorUsageLimitMhz>%d</ProcessorUsageLimitMhz>"
                "<MemoryUsageLimitMb>%d</MemoryUsageLimitMb>%s" % (server, name, cpu, mem, details))


@pytest.mark.parametrize("mode,link_type", [("correct", "CloudHardwarePlan"), ("doc_literal", "CloudGateway"),
                                            ("off", None)])
def test_plan_create_related_link_per_switch(cl, mode, link_type):
    cl.config(create_related_link=mode)
    t = cl.wait(cl.req("POST", "/cloud/hardwarePlans", body=plan_spec("Bronze", vi_details())))
    assert result(t)[0] == "true" and operation(t) == "CreateCloudHardwarePlan"
    assert (related(t) or (None,))[0] == link_type
    plan = next(p for p in cl.get("/cloud/hardwarePlans?format=Entity") if p.get("Name") == "Bronze")
    ds = plan.find("e:HardwarePlanDetails/e:ViCloudHardwarePlan/e:Datastores/e:Datastore", N)
    assert ds.get("Id") and ds.findtext("e:Reference", namespaces=N) == DS1
    assert ds.findtext("e:RootPath", namespaces=N) == "[datastore1]"
    assert plan.findtext("e:ProcessorUsageLimitMhz", namespaces=N) == "-1"


def test_plan_create_hyperv_with_volumes(cl):
    details = ("<HardwarePlanDetails><HvCloudHardwarePlan><HypervisorHostRef>%s</HypervisorHostRef><Volumes><Volume>"
               "<FriendlyName>R</FriendlyName><VolumePath>D:\\Replicas</VolumePath><QuotaGb>300</QuotaGb></Volume>"
               "</Volumes><Network><CountWithInternet>2</CountWithInternet><CountWithoutInternet>0"
               "</CountWithoutInternet></Network></HvCloudHardwarePlan></HardwarePlanDetails>" % HV01)
    t = cl.wait(cl.req("POST", "/cloud/hardwarePlans", body=plan_spec("HV", details)))
    assert result(t)[0] == "true"
    plan = cl.get(related(t)[1])
    hv = plan.find("e:HardwarePlanDetails/e:HvCloudHardwarePlan", N)
    assert kids(hv) == ["HypervisorHostRef", "Volumes", "Network"]
    assert hv.findtext("e:Volumes/e:Volume/e:VolumePath", namespaces=N) == "D:\\Replicas"
    assert hv.find("e:Volumes/e:Volume", N).get("Id")


@pytest.mark.parametrize("details,server,message", [
    (vi_details(host="urn:VMware:Host:nowhere.host-1"), VBR01, "host or cluster"),
    (vi_details(host=HV01), VBR01, "host or cluster"),
    (vi_details(), VBR02, "host or cluster"),
    (vi_details(stores=(("urn:VMware:Datastore:x.datastore-9", 10, None),)), VBR01, "datastore"),
    (vi_details(ptype="HostSystem"), VBR01, "ParentType"),
    (vi_details(stores=()), VBR01, "at least one datastore"),
])
def test_plan_create_refusals(cl, details, server, message):
    t = cl.wait(cl.req("POST", "/cloud/hardwarePlans", body=plan_spec("Refused", details, server)))
    assert result(t)[0] == "false" and message in result(t)[1]
    assert "Refused" not in [p.get("Name") for p in cl.get("/cloud/hardwarePlans")]


def silver_id():
    return cloud_seed.seed.guid("ds", "silver", "1")


def plan_put(details, cpu=6000, mem=-1):
    return body("CloudHardwarePlan", "<Description>edited</Description><ProcessorUsageLimitMhz>%d"
                "</ProcessorUsageLimitMhz><MemoryUsageLimitMb>%d</MemoryUsageLimitMb>%s" % (cpu, mem, details),
                ' Type="CloudHardwarePlan"')


def datastores(cl, hid=PLAN_SILVER):
    plan = cl.get("/cloud/hardwarePlans/%s?format=Entity" % hid)
    return [(d.get("Id"), d.findtext("e:Reference", namespaces=N), d.findtext("e:QuotaGb", namespaces=N))
            for d in plan.iterfind("e:HardwarePlanDetails/e:ViCloudHardwarePlan/e:Datastores/e:Datastore", N)]


@pytest.mark.parametrize("mode", ["replace", "merge"])
def test_plan_edit_keeps_ids_and_applies_storage_list_switch(cl, mode):
    cl.config(hwplan_storage_list=mode)
    t = cl.wait(cl.req("PUT", "/cloud/hardwarePlans/" + PLAN_SILVER, body=plan_put(vi_details(
        stores=((DS2, 50, None),), net=None))))
    assert operation(t) == "EditCloudHardwarePlan" and result(t)[0] == "true"
    got = datastores(cl)
    assert [(r, q) for _i, r, q in got] == ([(DS1, "500"), (DS2, "50")] if mode == "merge" else [(DS2, "50")])
    t = cl.wait(cl.req("PUT", "/cloud/hardwarePlans/" + PLAN_SILVER, body=plan_put(vi_details(
        stores=((DS2, 75, got[-1][0]),), net=None))))
    assert datastores(cl)[-1] == (got[-1][0], DS2, "75")   # an item sent with its @Id keeps it


@pytest.mark.parametrize("mode", ["replace", "merge"])
def test_plan_storage_item_repointed_by_its_id_and_removal_per_reading(cl, mode):
    """An item sent with a known @Id and another datastore takes that datastore under either reading (its Reference
    is modifiable); a list that leaves an item out removes it only under ``replace`` (the pages have no other way)."""
    cl.config(hwplan_storage_list=mode)
    (sid, ref, _q), = datastores(cl)
    assert ref == DS1
    t = cl.wait(cl.req("PUT", "/cloud/hardwarePlans/" + PLAN_SILVER, body=plan_put(vi_details(
        stores=((DS2, 60, sid),), net=None))))
    assert result(t)[0] == "true" and datastores(cl) == [(sid, DS2, "60")]
    t = cl.wait(cl.req("PUT", "/cloud/hardwarePlans/" + PLAN_SILVER, body=plan_put(vi_details(
        stores=((DS2, 60, sid), (DS1, 5, None)), net=None))))
    both = datastores(cl)
    assert result(t)[0] == "true" and [r for _i, r, _q in both] == [DS2, DS1]
    t = cl.wait(cl.req("PUT", "/cloud/hardwarePlans/" + PLAN_SILVER, body=plan_put(vi_details(
        stores=((DS2, 60, sid),), net=None))))
    assert result(t)[0] == "true" and sorted(datastores(cl)) == sorted(both if mode == "merge" else [(sid, DS2, "60")])
    assert cl.req("DELETE", "/cloud/hardwarePlans/%s/datastores/%s" % (PLAN_SILVER, both[1][0])).status_code == 404


@pytest.mark.parametrize("mode", ["fail", "ignore"])
def test_plan_network_counts_cannot_change(cl, mode):
    cl.config(hwplan_network_change=mode)
    t = cl.wait(cl.req("PUT", "/cloud/hardwarePlans/" + PLAN_SILVER, body=plan_put(vi_details(net=(3, 1)))))
    plan = cl.get("/cloud/hardwarePlans/%s?format=Entity" % PLAN_SILVER)
    assert plan.findtext("e:HardwarePlanDetails/e:ViCloudHardwarePlan/e:Network/e:CountWithInternet",
                         namespaces=N) == "1"
    if mode == "fail":
        assert result(t)[0] == "false" and "cannot change the number of networks" in result(t)[1]
        assert plan.findtext("e:Description", namespaces=N) != "edited"
    else:
        assert result(t)[0] == "true" and plan.findtext("e:Description", namespaces=N) == "edited"
        dropped = cl.ctl("GET", "dropped").json()
        assert any(i["element"] == "Network" for i in dropped["items"])


def test_plan_delete_refused_while_tenants_subscribe_naming_them(cl):
    subs = cl.get("/cloud/hardwarePlans/%s/tenants" % PLAN_SILVER)
    names = sorted(t.get("Name") for t in subs)
    assert names
    t = cl.wait(cl.req("DELETE", "/cloud/hardwarePlans/" + PLAN_SILVER))
    assert operation(t) == "DeleteCloudHardwarePlan" and result(t)[0] == "false"
    assert "tenants subscribe to it: %s" % ", ".join(names) in result(t)[1]
    t = cl.wait(cl.req("DELETE", "/cloud/hardwarePlans/" + PLAN_GOLD))
    assert result(t)[0] == "true"
    assert [p.get("Name") for p in cl.get("/cloud/hardwarePlans")] == ["Silver VMware"]


def test_lookup_finds_hosts_clusters_and_datastores_by_name(cl):
    root = "urn:veeam:HierarchyRoot:" + seed.VC_ROOT
    for otype, name, ref in (("Cluster", "Cluster01", CLUSTER), ("Host", "esx01.lab.local", ESX01),
                             ("Datastore", "datastore1", DS1)):
        found = cl.get("/lookup?host=%s&type=%s&name=%s" % (root, otype, name))
        assert [i.findtext("e:ObjectRef", namespaces=N) for i in found] == [ref]
    found = cl.get("/lookup?host=urn:veeam:HierarchyRoot:%s&type=Host&name=hv01.lab.local" % seed.HV_ROOT)
    assert [i.findtext("e:ObjectRef", namespaces=N) for i in found] == [HV01]


def test_wan_accelerators_stay_read_only(cl):
    wid = cloud_seed.wan_id("vbr01", "wan01.lab.local")
    assert cl.req("DELETE", "/wanAccelerators/" + wid).status_code == 405
    assert cl.req("POST", "/wanAccelerators", body=body("X", "")).status_code == 405


@pytest.mark.parametrize("mode", ["202", "204"])
def test_public_ip_put_answer(cl, mode):
    """em-api-cloud.md section 12 publicip_put_answer: the PUT page's text says 204, its example 202 + a task."""
    cl.config(publicip_put_answer=mode)
    first = cl.get("/cloud/publicIpAddresses").find("e:CloudPublicIpAddress", N)
    path = "/cloud/publicIpAddresses/" + first.get("Href").rsplit("/", 1)[1]
    assert cl.get(path).findtext("e:IpAddress", namespaces=N) == first.findtext("e:IpAddress", namespaces=N)
    r = cl.req("PUT", path, body=body("CloudPublicIpAddress", "<IpAddress>198.51.100.22</IpAddress>"))
    if mode == "204":
        assert r.status_code == 204 and not r.content
    else:
        assert r.status_code == 202 and etree.fromstring(r.content).findtext("e:State", namespaces=N) == "Running"
        t = cl.wait(r)
        assert t.findtext("e:Operation", namespaces=N) == "EditCloudPublicIpAddress"
        assert t.find("e:Result", N).get("Success") == "true"
    assert cl.get(path).findtext("e:IpAddress", namespaces=N) == "198.51.100.22"
    # an unknown element: dropped under order_violation=ignore (nothing changes), refused under reject
    dropped = cl.req("PUT", path, body=body("CloudPublicIpAddress", "<Address>1.2.3.4</Address>"))
    if mode == "202":
        cl.wait(dropped)
    assert cl.get(path).findtext("e:IpAddress", namespaces=N) == "198.51.100.22"
    cl.config(order_violation="reject")
    assert cl.req("PUT", path, body=body("CloudPublicIpAddress", "<Address>1.2.3.4</Address>")).status_code == 400
    assert cl.req("DELETE", path).status_code == 405
