"""Veeam Cloud Connect under /api/cloud: routes, shapes, tasks, switches, roles, licence, control API.

The emulator runs in this process (a plain-HTTP listener on a thread), so these tests start fast.
"""

from __future__ import annotations

import sys
import threading
import time

import pytest
import requests
from lxml import etree

from conftest import EMU_DIR, FAST, N, NS

sys.path.insert(0, str(EMU_DIR))
from veeam_em_emulator import cloud_seed, inventory, seed  # noqa: E402
from veeam_em_emulator.server import EmulatorHTTPServer, start_background  # noqa: E402
from veeam_em_emulator.store import Config, State  # noqa: E402

ADMIN = ("restadmin", "Admin-Pass-1")
PORTAL = ("portal", "Portal-Pass-3")
RESTORE = ("restorer", "Restore-Pass-2")
CT = {"Content-Type": "application/xml"}
VBR01 = seed.server_id("vbr01")
ACME = cloud_seed.tenant_id("vbr01", "acme")
GLOBEX = cloud_seed.tenant_id("vbr01", "globex")
INITECH = cloud_seed.tenant_id("vbr01", "initech")
FOX = cloud_seed.tenant_id("vbr01", "tech\\william.fox")
REPO_VOL = seed.repo_id("vbr01", "Backup Volume 01")
REPO_DEF = seed.repo_id("vbr01", "Default Backup Repository")
PLAN_SILVER = cloud_seed.plan_id("vbr01", "Silver VMware")
POOL_EU = cloud_seed.pool_id("vbr01", "EU gateways")


class Cloud:
    def __init__(self, url, state):
        self.url = url
        self.state = state
        self.tokens = {}

    def ctl(self, method, path, **kw):
        return requests.request(method, self.url + "/_emulator/" + path, timeout=10, **kw)

    def config(self, **kw):
        r = self.ctl("PATCH", "config", json=kw)
        assert r.status_code == 200, r.text

    def token(self, who=ADMIN):
        if who not in self.tokens:
            r = requests.post(self.url + "/api/sessionMngr/?v=v1_7", auth=who, timeout=10)
            assert r.status_code == 201, r.text
            self.tokens[who] = r.headers["X-RestSvcSessionId"]
        return self.tokens[who]

    def req(self, method, path, who=ADMIN, body=None, **kw):
        headers = {"X-RestSvcSessionId": self.token(who), "Accept": "application/xml"}
        if body is not None:
            headers.update(CT)
            kw["data"] = body.encode() if isinstance(body, str) else body
        url = path if path.startswith("http") else self.url + "/api" + path
        return requests.request(method, url, headers=headers, timeout=15, **kw)

    def get(self, path, who=ADMIN):
        r = self.req("GET", path, who)
        assert r.status_code == 200, r.text
        return etree.fromstring(r.content)

    def wait(self, answer, who=ADMIN, limit=15.0):
        """Poll the task an answer carries until Finished; return the finished <Task>."""
        assert answer.status_code in (200, 202), answer.text
        task = etree.fromstring(answer.content)
        assert task.tag == "{%s}Task" % NS, answer.text
        href = task.get("Href")
        deadline = time.time() + limit
        while time.time() < deadline:
            t = self.get(href, who)
            if t.findtext("e:State", namespaces=N) == "Finished":
                return t
            time.sleep(0.05)
        raise AssertionError("task did not finish")

    def tenant(self, tid):
        r = self.ctl("GET", "tenants/" + tid)
        assert r.status_code == 200, r.text
        return r.json()

    def matches(self, path, password):
        r = self.ctl("POST", path + "/password_matches", json={"password": password})
        assert r.status_code == 200, r.text
        return r.json()["matches"]


@pytest.fixture(scope="module")
def cloud_server():
    users = {ADMIN[0]: (ADMIN[1], "admin"), PORTAL[0]: (PORTAL[1], "portal"), RESTORE[0]: (RESTORE[1], "restore")}
    state = State(Config(), users)
    server = EmulatorHTTPServer(("127.0.0.1", 0), state)
    url = "http://127.0.0.1:%d" % server.server_address[1]
    state.base_url = url
    stop = start_background(server, state)
    th = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    th.start()
    yield Cloud(url, state)
    stop.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def cl(cloud_server):
    r = cloud_server.ctl("POST", "reset")
    assert r.status_code == 200
    cloud_server.tokens = {}
    cloud_server.config(**FAST)
    return cloud_server


def body(root, inner, attrs=""):
    return '<?xml version="1.0" encoding="utf-8"?><%s xmlns="%s"%s>%s</%s>' % (root, NS, attrs, inner, root)


def kids(el):
    return [etree.QName(c).localname for c in el if isinstance(c.tag, str)]


def tenant_put(cl, tid, inner, who=ADMIN, type_block=True, after=""):
    """A tenant PUT carrying ``inner``, then (unless told not to) the TenantType copied from a GET, then ``after``."""
    cur = cl.get("/cloud/tenants/%s?format=Entity" % tid, who)
    tt = etree.tostring(cur.find("e:TenantType", N)).decode() if type_block else ""
    return cl.req("PUT", "/cloud/tenants/" + tid, who, body("CloudTenant", inner + tt + after))


# ---------------------------------------------------------------------------- reads


def test_cloud_service_lists_the_cloud_collections(cl):
    root = cl.get("/cloud")
    assert root.tag == "{%s}CloudConnectService" % NS
    downs = {x.get("Href").rsplit("/", 1)[-1] for x in root.iterfind("e:Links/e:Link[@Rel='Down']", N)}
    assert {"tenants", "hardwarePlans", "gateways", "gatewayPools"} <= downs


def test_seeded_estate_has_three_tenant_types_quota_subscription_and_subtenant(cl):
    ts = cl.ctl("GET", "tenants").json()
    assert {(t["backup_server"], t["name"], t["type"]) for t in ts} == {
        ("vbr01", "acme", "standalone"), ("vbr01", "globex", "standalone"), ("vbr01", "initech", "vcd"),
        ("vbr01", "tech\\william.fox", "ad"), ("vbr02", "acme", "standalone")}
    globex = cl.tenant(GLOBEX)
    assert [r["repository"] for r in globex["resources"]] == ["Default Backup Repository", "Backup Volume 01"]
    assert globex["compute_resources"][0]["hardware_plan"] == "Silver VMware"
    assert globex["subtenants"][0]["name"] == "globex-hr" and globex["subtenants"][0]["password_set"]
    assert all(t["password_set"] for t in ts)


def test_tenant_item_entity_order_password_and_lease(cl):
    el = cl.get("/cloud/tenants/%s?format=Entity" % FOX)
    assert el.tag == "{%s}CloudTenant" % NS and el.get("UID") == "urn:veeam:CloudTenant:" + FOX
    assert kids(el) == ["Links", "Password", "Description", "Enabled", "LeaseOptions", "Resources", "LastResult",
                        "LastActive", "ComputeResources", "ThrottlingEnabled", "ThrottlingSpeedLimit",
                        "ThrottlingSpeedUnit", "PublicIpCount", "BackupCount", "ReplicaCount", "MaxConcurrentTasks",
                        "WorkStationBackupCount", "ServerBackupCount", "BackupProtectionEnabled",
                        "BackupProtectionPeriod", "TenantType", "FailoverToOtherGatewaysIfFail"]
    assert el.find("e:Password", N).text is None and len(el.find("e:ComputeResources", N)) == 0
    lease = el.find("e:LeaseOptions", N)
    assert lease.get("Enabled") == "true" and lease.get("ExpirationDate").endswith("Z")
    ad = el.find("e:TenantType/e:ADTenantType", N)
    assert ad.findtext("e:Domain/e:DomainName", namespaces=N) == "tech.local"
    assert ad.findtext("e:Account", namespaces=N) == "tech\\william.fox"
    listed = cl.get("/cloud/tenants?format=Entity")
    assert listed.tag == "{%s}CloudTenants" % NS
    assert all(t.find("e:Password", N) is None for t in listed)      # only an item GET shows <Password/>
    vcd = [t for t in listed if t.get("Name") == "initech"][0]
    assert vcd.find("e:TenantType/e:vCloudTenant/e:OrganizationRef", N) is not None
    assert kids(vcd)[-3:] == ["TenantType", "VCloudComputeResources", "FailoverToOtherGatewaysIfFail"]


def test_child_collections_keyed_by_ids(cl):
    res = cl.get("/cloud/tenants/%s/resources" % GLOBEX)
    assert res.tag == "{%s}CloudTenantResources" % NS and len(res) == 2
    rid = res[0].get("Id")
    one = cl.get("/cloud/tenants/%s/resources/%s" % (GLOBEX, rid))
    assert one.findtext("e:RepositoryQuota/e:Quota", namespaces=N) == str(50 * 1024)
    assert one.findtext("e:RepositoryQuota/e:RepositoryUid", namespaces=N) == "urn:veeam:Repository:" + REPO_DEF
    comp = cl.get("/cloud/tenants/%s/computeResources" % GLOBEX)
    c = comp[0]
    assert c.findtext("e:CloudHardwarePlanUid", namespaces=N) == "urn:veeam:CloudHardwarePlan:" + PLAN_SILVER
    nea = c.find("e:NetworkAppliance", N)
    assert kids(nea) == ["Name", "ProductionNetwork", "ObtainIPAddressAutomatically",
                         "ManualIpAddressSettingsInfoType", "ProductionNetworkUnderDvs"]
    pools = cl.get("/cloud/tenants/%s/gatewayPools" % ACME)
    assert [p.get("Name") for p in pools] == ["EU gateways"]
    pool = cl.get("/cloud/gatewayPools/%s?format=Entity" % POOL_EU)
    assert pool.findtext("e:CloudTenants/e:CloudTenantUid", namespaces=N) == "urn:veeam:CloudTenant:" + ACME
    subs = cl.get("/cloud/hardwarePlans/%s/tenants" % PLAN_SILVER)
    assert [t.get("Name") for t in subs] == ["globex"]
    vdcs = cl.get("/cloud/tenants/%s/vCloudComputeResources" % INITECH)
    assert vdcs[0].get("Id") == inventory.vcd_vdc_guid("initech", "initech-prod-vdc")
    assert vdcs[0].findtext("e:VirtualDataCenterRef", namespaces=N) == inventory.vcd_ref("OrgVdc", "initech",
                                                                                         "initech-prod-vdc")
    st = cl.get("/cloud/tenants/%s/subtenants" % GLOBEX)[0]
    assert st.get("Name") is None and st.findtext("e:Name", namespaces=N) == "globex-hr"
    assert st.find("e:RepositoryQuota", N).get("Unlimited") == "false"


def test_lookups_plans_gateways_wan(cl):
    plans = cl.get("/cloud/hardwarePlans?format=Entity")
    names = {p.get("Name"): p for p in plans}
    assert set(names) == {"Silver VMware", "Gold Hyper-V"}
    assert names["Silver VMware"].find("e:HardwarePlanDetails/e:ViCloudHardwarePlan/e:Datastores/e:Datastore", N) \
        is not None
    gws = cl.get("/cloud/gateways?format=Entity")
    assert kids(gws[0]) == ["Links", "Enabled", "NetworkMode", "ExternalIP", "ExternalPort", "InternalPort",
                            "Description"]
    wan = cl.get("/wanAccelerators?format=Entity")
    assert {w.get("Name") for w in wan} == {"wan01.lab.local", "wan02.lab.local"}
    refs = cl.get("/cloud/tenants")
    assert refs.tag == "{%s}EntityReferences" % NS and refs[0].get("Type") == "CloudTenantReference"


def test_query_types_paging_and_fields(cl):
    q = cl.get("/query?type=CloudTenant&format=Entities&filter=Name==\"acme\";BackupServerName==\"vbr02\"")
    found = q.findall("e:Entities/e:CloudTenants/e:CloudTenant", N)
    assert [t.get("Name") for t in found] == ["acme"] and "vbr02" in found[0].find("e:Links/e:Link", N).get("Name")
    page = cl.get("/query?type=CloudTenant&pageSize=2&page=2&sortAsc=Name")
    assert page.find("e:PagingInfo", N).get("PagesCount") == "3" and len(page.find("e:Refs", N)) == 2
    bare = cl.get("/query?type=CloudTenant&filter=BackupServerUId==\"%s\"" % VBR01)
    assert len(bare.find("e:Refs", N)) == 4
    sub = cl.get("/query?type=CloudSubtenant&filter=Disabled==false")
    assert [s.findtext("e:Name", namespaces=N) for s in sub.iter("{%s}CloudSubtenant" % NS)] == ["globex-hr"]
    # the page's own example: its fields name the tenant CloudTenantName / CloudTenantUid
    sub = cl.get('/query?type=CloudSubtenant&format=Entities&sortAsc=Name&filter=BackupServerName=="vbr01";'
                 'Disabled==false;CloudTenantName=="globex"')
    found = sub.findall("e:Entities/e:CloudSubtenants/e:CloudSubtenant", N)
    assert [s.findtext("e:Name", namespaces=N) for s in found] == ["globex-hr"]
    tenant = [ln.get("Href") for ln in found[0].find("e:Links", N) if ln.get("Type") == "CloudTenantReference"][0]
    uid = "urn:veeam:CloudTenant:" + tenant.rstrip("/").rsplit("/", 1)[-1]
    sub = cl.get('/query?type=CloudSubtenant&format=Entities&filter=CloudTenantUid=="%s";Unlimited==false;Quota>0'
                 % uid)
    assert len(sub.findall("e:Entities/e:CloudSubtenants/e:CloudSubtenant", N)) == 1
    assert cl.req("GET", "/query?type=CloudSubtenant&filter=TenantName==\"globex\"").status_code == 400
    assert cl.req("GET", "/query?type=CloudSubtenant", PORTAL).status_code == 403   # unlisted for Portal User
    pool = cl.get("/query?type=CloudGatewayPool&format=Entities", PORTAL)
    assert pool.find("e:Entities/e:CloudGatewayPools/e:CloudGatewayPool", N).get("Name") == "EU gateways"
    wan = cl.get("/query?type=WanAccelerator&filter=HighBandwidthModeEnabled==true", PORTAL)
    assert [r.get("Name") for r in wan.find("e:Refs", N)] == ["wan01.lab.local"]


# ---------------------------------------------------------------------------- roles and licence


def test_portal_user_rights(cl):
    assert cl.req("GET", "/cloud/tenants?format=Entity", PORTAL).status_code == 200
    assert cl.req("GET", "/jobs", PORTAL).status_code == 403
    assert cl.req("GET", "/query?type=CloudTenant", PORTAL).status_code == 403          # unlisted, deny
    assert cl.req("GET", "/backupServers/%s/repositories" % VBR01, PORTAL).status_code == 403
    assert cl.req("POST", "/backupServers/%s/credentials?action=create" % VBR01, PORTAL,
                  body("CredentialsInfoSpec", "<Username>x</Username>")).status_code == 403
    cl.config(portal_user_unlisted="allow")
    assert cl.req("GET", "/query?type=CloudTenant", PORTAL).status_code == 200
    assert cl.req("GET", "/backupServers/%s/repositories" % VBR01, PORTAL).status_code == 200
    r = cl.req("GET", "/cloud", RESTORE)
    assert r.status_code == 403 and etree.fromstring(r.content).tag == "{%s}Error" % NS
    t = cl.wait(tenant_put(cl, ACME, "<Description>by portal</Description>", PORTAL), PORTAL)
    assert t.find("e:Result", N).get("Success") == "true" and cl.tenant(ACME)["description"] == "by portal"


@pytest.mark.parametrize("status", ["404", "403", "500"])
def test_no_licence_no_cloud(cl, status):
    cl.config(cloud_licence="absent", cloud_absent_status=status)
    for path in ("/cloud", "/cloud/tenants", "/cloud/tenants/%s" % ACME, "/query?type=CloudTenant"):
        r = cl.req("GET", path)
        assert r.status_code == int(status), path
        assert etree.fromstring(r.content).get("Message").startswith(("Veeam Cloud Connect", "Query type"))
    assert cl.req("GET", "/backupServers").status_code == 200


def test_users_control_adds_a_portal_user(cl):
    r = cl.ctl("POST", "users", json={"name": "p2", "password": "P2-pass", "role": "portal"})
    assert r.status_code == 200
    assert {"name": "p2", "role": "portal"} in cl.ctl("GET", "users").json()
    assert all("password" not in u for u in cl.ctl("GET", "users").json())
    assert cl.ctl("POST", "users", json={"name": "p3", "password": "x", "role": "root"}).status_code == 400


# ---------------------------------------------------------------------------- create


def create_body(name, inner_after_type="", type_="Standalone", password="Tenant-Pw-1", extra="", server=VBR01):
    return body("CreateCloudTenantSpec",
                "<Name>%s</Name><Description>new customer</Description>%s<Enabled>true</Enabled>"
                "<Resources><BackupResource><Name>Main</Name><RepositoryUid>urn:veeam:Repository:%s</RepositoryUid>"
                "<QuotaMb>20480</QuotaMb></BackupResource></Resources>%s"
                "<BackupServerUid>urn:veeam:BackupServer:%s</BackupServerUid><MaxConcurrentTasks>3</MaxConcurrentTasks>"
                "<TenantType>%s</TenantType>%s"
                % (name, "<Password>%s</Password>" % password if password else "", REPO_VOL, extra, server, type_,
                   inner_after_type))


def test_create_standalone_links_new_tenant_and_hashes_password(cl):
    t = cl.wait(cl.req("POST", "/cloud/tenants", body=create_body("hooli")))
    assert t.findtext("e:Operation", namespaces=N) == "CreateCloudTenant"
    assert t.find("e:Result", N).get("Success") == "true"
    rel = t.find("e:Links/e:Link[@Rel='Related']", N)
    assert rel.get("Type") == "CloudTenant" and rel.get("Name") == "hooli"
    new = cl.get(rel.get("Href"))
    assert new.findtext("e:TenantType/e:StandaloneTenant/e:TenantCredentials/e:Username", namespaces=N) == "hooli"
    assert new.findtext("e:Resources/e:CloudTenantResource/e:RepositoryQuota/e:Quota", namespaces=N) == "20480"
    tid = new.get("UID").rsplit(":", 1)[-1]
    assert cl.matches("tenants/" + tid, "Tenant-Pw-1") and not cl.matches("tenants/" + tid, "wrong")
    assert b"Tenant-Pw-1" not in cl.req("GET", "/cloud/tenants/%s?format=Entity" % tid).content
    log = cl.ctl("GET", "log").json()
    assert not any("Tenant-Pw-1" in (e.get("body") or "") for e in log)
    assert any("<Password>********</Password>" in (e.get("body") or "") for e in log)


def test_create_without_related_link_and_refusals(cl):
    cl.config(create_related_link="off")
    t = cl.wait(cl.req("POST", "/cloud/tenants", body=create_body("nolink")))
    assert t.find("e:Result", N).get("Success") == "true" and t.find("e:Links/e:Link[@Rel='Related']", N) is None
    for spec, why in ((create_body("acme"), "already exists"),
                      (create_body("nopw", password=None), "password"),
                      (create_body("small").replace("20480", "512"), "at least 1024"),
                      (create_body("vcd1", type_="VCD"), "OrganizationRef")):
        t = cl.wait(cl.req("POST", "/cloud/tenants", body=spec))
        assert t.find("e:Result", N).get("Success") == "false"
        assert why in t.findtext("e:Result/e:Message", namespaces=N)
    r = cl.req("POST", "/cloud/tenants", body=create_body("bad").replace("<TenantType>Standalone", "<TenantType>Cloud"))
    assert r.status_code == 400


def test_create_ad_and_vcd_any_order_after_type(cl):
    after = ("<Domain><DomainName>corp.example</DomainName><DomainAccount>corp\\ops</DomainAccount><Port>636</Port>"
             "</Domain><BackupProtectionPeriod>9</BackupProtectionPeriod>"
             "<BackupProtectionEnabled>true</BackupProtectionEnabled>")
    t = cl.wait(cl.req("POST", "/cloud/tenants", body=create_body("corp\\ops", after, "ActiveDirectory", None)))
    assert t.find("e:Result", N).get("Success") == "true", etree.tostring(t)
    made = [x for x in cl.ctl("GET", "tenants").json() if x["name"] == "corp\\ops"][0]
    assert made["type"] == "ad" and made["domain"] == "corp.example" and made["backup_protection"]["days"] == 9
    vcd = ("<CloudGatewayPools><CloudGatewayPoolUid>%s</CloudGatewayPoolUid></CloudGatewayPools>"
           "<OrganizationRef>%s</OrganizationRef>" % (POOL_EU, inventory.vcd_ref("Organization", "umbrella")))
    t = cl.wait(cl.req("POST", "/cloud/tenants", body=create_body("umbrella", vcd, "VCD")))
    assert t.find("e:Result", N).get("Success") == "true", etree.tostring(t)
    made = [x for x in cl.ctl("GET", "tenants").json() if x["name"] == "umbrella"][0]
    assert made["type"] == "vcd" and made["gateway_pools"] == ["EU gateways"]


def _subscription(auto="false"):
    return ("<CloudHardwarePlanUid>urn:veeam:CloudHardwarePlan:%s</CloudHardwarePlanUid><PlatformType>VMware"
            "</PlatformType><UseNetworkFailoverResources>true</UseNetworkFailoverResources><NetworkAppliance>"
            "<Name>nea</Name><ProductionNetwork>VM Network</ProductionNetwork><ObtainIPAddressAutomatically>%s"
            "</ObtainIPAddressAutomatically></NetworkAppliance>" % (PLAN_SILVER, auto))


def _plan_extra(auto="false"):
    return "<ComputeResources><ComputeResource>%s</ComputeResource></ComputeResources>" % _subscription(auto)


def test_slow_create_with_hardware_plan_and_timeout_switch(cl):
    cl.config(cloud_plan_create_seconds=1.0)
    start = time.time()
    t = cl.wait(cl.req("POST", "/cloud/tenants", body=create_body("dr1", extra=_plan_extra("true"))))
    assert time.time() - start >= 1.0 and t.find("e:Result", N).get("Success") == "true"
    t = cl.wait(cl.req("POST", "/cloud/tenants", body=create_body("dr2", extra=_plan_extra("false"))))
    assert "manual IP" in t.findtext("e:Result/e:Message", namespaces=N)
    cl.config(create_task_timeout="on")
    t = cl.wait(cl.req("POST", "/cloud/tenants", body=create_body("dr3", extra=_plan_extra("true"))))
    assert t.find("e:Result", N).get("Success") == "false"
    assert "timed out" in t.findtext("e:Result/e:Message", namespaces=N)
    assert "dr3" in [x["name"] for x in cl.ctl("GET", "tenants").json()]        # the tenant still appears


def test_tasks_are_per_session(cl):
    answer = cl.req("POST", "/cloud/tenants", body=create_body("scoped"))
    href = etree.fromstring(answer.content).get("Href")
    assert cl.req("GET", href, PORTAL).status_code == 404
    cl.wait(answer)


# ---------------------------------------------------------------------------- tenant PUT and its readings


@pytest.mark.parametrize("mode,status", [("500", 500), ("400", 400), ("accept", 202)])
def test_put_without_type_block(cl, mode, status):
    cl.config(tenant_type_missing=mode)
    r = tenant_put(cl, ACME, "<Description>x</Description>", type_block=False)
    assert r.status_code == status
    if mode == "500":
        err = etree.fromstring(r.content)
        assert err.get("Message") == "Object reference not set to an instance of an object."
        assert err.findtext("e:FirstChanceExceptionMessage", namespaces=N)
    if mode != "accept":
        assert cl.tenant(ACME)["description"] == "ACME Corp, backup only"


def test_put_type_content_never_applied_and_password_write_only(cl):
    inner = "<Password>New-Pw-9</Password><Description>renewed</Description>"
    tt = "<TenantType><StandaloneTenant><TenantCredentials><Username>other</Username></TenantCredentials>" \
         "</StandaloneTenant></TenantType>"
    t = cl.wait(cl.req("PUT", "/cloud/tenants/" + ACME, body=body("CloudTenant", inner + tt)))
    assert t.findtext("e:Operation", namespaces=N) == "EditCloudTenant"
    after = cl.tenant(ACME)
    assert after["username"] == "acme" and after["type_ignored"] == 1 and after["description"] == "renewed"
    assert cl.matches("tenants/" + ACME, "New-Pw-9") and after["password_writes"] == 1
    before = cl.tenant(GLOBEX)
    cl.wait(tenant_put(cl, GLOBEX, "<Enabled>false</Enabled>"))
    after = cl.tenant(GLOBEX)
    assert after["enabled"] is False and {k: v for k, v in after.items() if k != "enabled"} == \
        {k: v for k, v in before.items() if k != "enabled"}


@pytest.mark.parametrize("mode", ["keep", "blank", "reject"])
def test_empty_password_reading(cl, mode):
    cl.config(empty_password=mode)
    r = tenant_put(cl, ACME, "<Password/><Description>d</Description>")
    if mode == "reject":
        assert r.status_code == 400
        return
    cl.wait(r)
    assert cl.tenant(ACME)["password_set"] is (mode == "keep")


LEASES = {"attributes": '<LeaseOptions Enabled="true" ExpirationDate="2031-01-01T00:00:00Z"/>',
          "elements": "<LeaseOptions><Enabled>true</Enabled><LeaseExpirationDate>2031-01-01T00:00:00Z"
                      "</LeaseExpirationDate></LeaseOptions>",
          "flat": "<LeaseExpirationDate>2031-01-01T00:00:00Z</LeaseExpirationDate>"}


@pytest.mark.parametrize("mode", ["attributes", "elements", "flat", "any"])
def test_lease_put_shape(cl, mode):
    cl.config(lease_put_shape=mode)
    for shape, inner in LEASES.items():
        cl.ctl("POST", "reset")
        cl.tokens = {}
        cl.config(lease_put_shape=mode, **FAST)
        cl.wait(tenant_put(cl, ACME, inner))
        taken = cl.tenant(ACME)["lease"] == {"enabled": True, "expiration": "2031-01-01T00:00:00Z"}
        assert taken is (mode in (shape, "any")), shape
        if not taken:
            assert any("lease shape" in d["reason"] for d in cl.ctl("GET", "dropped").json()["items"])


def _quota_put(cl, tid, quota_mb):
    cur = cl.get("/cloud/tenants/%s?format=Entity" % tid)
    res = cur.find("e:Resources", N)
    for q in res.iterfind("e:CloudTenantResource/e:RepositoryQuota", N):
        q.remove(q.find("e:UsedQuota", N))
    res[0].find("e:RepositoryQuota/e:Quota", N).text = str(quota_mb)
    return tenant_put(cl, tid, etree.tostring(res).decode())


@pytest.mark.parametrize("mode", ["apply", "ignore", "fail"])
def test_quota_resize_through_tenant_put(cl, mode):
    cl.config(tenant_put_resources=mode)
    t = cl.wait(_quota_put(cl, GLOBEX, 80 * 1024))
    quotas = [r["quota_mb"] for r in cl.tenant(GLOBEX)["resources"]]
    assert quotas == ([80 * 1024, 200 * 1024] if mode == "apply" else [50 * 1024, 200 * 1024])
    assert t.find("e:Result", N).get("Success") == ("false" if mode == "fail" else "true")
    if mode == "apply":
        t = cl.wait(_quota_put(cl, GLOBEX, 1024 * 5))            # below the 12 GB used
        assert t.find("e:Result", N).get("Success") == "false"


@pytest.mark.parametrize("mode", ["apply", "ignore", "fail"])
def test_subscription_edit_through_tenant_put(cl, mode):
    cl.config(tenant_put_compute=mode)
    cur = cl.get("/cloud/tenants/%s?format=Entity" % GLOBEX)
    comp = cur.find("e:ComputeResources", N)
    c = comp[0]
    c.remove(c.find("e:ComputeResourceStats", N))
    c.find("e:UseNetworkFailoverResources", N).text = "false"
    cl.wait(tenant_put(cl, GLOBEX, etree.tostring(comp).decode()))
    assert cl.tenant(GLOBEX)["compute_resources"][0]["failover"] is (mode != "apply")


@pytest.mark.parametrize("mode", ["merge", "replace"])
def test_partial_group_reading(cl, mode):
    """em-api-cloud.md section 13 partial_group: a group sent in part (an appliance with only its address, a
    quota without its name or accelerator) keeps the leaves left out (merge) or resets them (replace)."""
    cl.config(partial_group=mode)
    before = cl.tenant(GLOBEX)
    comp = cl.get("/cloud/tenants/%s?format=Entity" % GLOBEX).find("e:ComputeResources", N)
    item = '<CloudTenantComputeResource Id="%s"><NetworkAppliance><ManualIpAddressSettingsInfoType>' \
           "<IpAddress>10.9.9.9</IpAddress><SubnetMask>255.255.255.0</SubnetMask><DefaultGateway>10.9.9.1" \
           "</DefaultGateway></ManualIpAddressSettingsInfoType></NetworkAppliance></CloudTenantComputeResource>"
    t = cl.wait(tenant_put(cl, GLOBEX, "<ComputeResources>%s</ComputeResources>" % (item % comp[0].get("Id"))))
    appliance = cl.tenant(GLOBEX)["compute_resources"][0]["appliance"]
    old = before["compute_resources"][0]["appliance"]
    assert t.find("e:Result", N).get("Success") == "true" and appliance["ip"] == "10.9.9.9"
    if mode == "merge":
        assert (appliance["name"], appliance["network"], appliance["auto_ip"]) == (old["name"], old["network"], False)
    else:
        assert (appliance["name"], appliance["network"], appliance["auto_ip"]) == ("", "", True)
    quota = before["resources"][1]
    t = cl.wait(tenant_put(cl, GLOBEX, '<Resources><CloudTenantResource Id="%s"><RepositoryQuota><Quota>%d</Quota>'
                                       "</RepositoryQuota></CloudTenantResource></Resources>"
                           % (quota["id"], quota["quota_mb"] + 1024)))
    after = [q for q in cl.tenant(GLOBEX)["resources"] if q["id"] == quota["id"]][0]
    assert t.find("e:Result", N).get("Success") == "true" and after["quota_mb"] == quota["quota_mb"] + 1024
    assert after["display_name"] == (quota["display_name"] if mode == "merge" else "")
    # a quota group without its Quota: kept under merge, a quota of 0 (refused) under replace
    t = cl.wait(tenant_put(cl, GLOBEX, '<Resources><CloudTenantResource Id="%s"><RepositoryQuota><DisplayName>x'
                                       "</DisplayName></RepositoryQuota></CloudTenantResource></Resources>"
                           % quota["id"]))
    assert t.find("e:Result", N).get("Success") == ("true" if mode == "merge" else "false")
    # a subtenant's RepositoryQuota without its DisplayName
    sub = before["subtenants"][0]
    edit = body("CloudSubtenant", '<RepositoryQuota Unlimited="false"><QuotaMb>%d</QuotaMb></RepositoryQuota>'
                % sub["quota_mb"])
    t = cl.wait(cl.req("PUT", "/cloud/tenants/%s/subtenants/%s" % (GLOBEX, sub["id"]), body=edit))
    after = [x for x in cl.tenant(GLOBEX)["subtenants"] if x["id"] == sub["id"]][0]
    assert t.find("e:Result", N).get("Success") == "true" and sub["quota_name"]
    assert after["quota_name"] == (sub["quota_name"] if mode == "merge" else "")


@pytest.mark.parametrize("mode", ["ignore", "apply"])
def test_throttling_is_create_time_unless_switched(cl, mode):
    cl.config(tenant_put_throttling=mode)
    cl.wait(tenant_put(cl, ACME, "<ThrottlingEnabled>true</ThrottlingEnabled><ThrottlingSpeedLimit>5"
                                 "</ThrottlingSpeedLimit><ThrottlingSpeedUnit>Mbps</ThrottlingSpeedUnit>"))
    assert cl.tenant(ACME)["throttling"]["enabled"] is (mode == "apply")
    assert tenant_put(cl, ACME, "<ThrottlingSpeedUnit>mbps</ThrottlingSpeedUnit>").status_code == 400


@pytest.mark.parametrize("mode", ["Other", "Others"])
def test_failover_element_spelling(cl, mode):
    cl.config(failover_element=mode)
    cl.wait(tenant_put(cl, ACME, "", after="<FailoverToOtherGatewaysIfFail>true</FailoverToOtherGatewaysIfFail>"))
    assert cl.tenant(ACME)["failover_to_other_gateways"] is (mode == "Other")
    el = cl.get("/cloud/tenants/%s?format=Entity" % ACME)
    assert kids(el)[-1] == "FailoverToOther%sGatewaysIfFail" % ("s" if mode == "Others" else "")


def test_order_walk_and_namespace(cl):
    cl.config(order_violation="reject")
    r = tenant_put(cl, ACME, "<Enabled>true</Enabled><Description>late</Description>")
    assert r.status_code == 400 and "Description" in etree.fromstring(r.content).get("Message")
    r = cl.req("PUT", "/cloud/tenants/" + ACME, body='<CloudTenant><Description>x</Description></CloudTenant>')
    assert r.status_code == 400 and "namespace" in etree.fromstring(r.content).get("Message")


@pytest.mark.parametrize("mode", ["202_task", "200_task", "200_body"])
def test_async_put_answer(cl, mode):
    cl.config(async_put_answer=mode)
    r = tenant_put(cl, ACME, "<Description>answered</Description>")
    root = etree.fromstring(r.content)
    assert r.status_code == (202 if mode == "202_task" else 200)
    assert root.tag == "{%s}%s" % (NS, "CloudTenant" if mode == "200_body" else "Task")
    if mode != "200_body":
        cl.wait(r)
    assert cl.tenant(ACME)["description"] == "answered"


# ---------------------------------------------------------------------------- children, subtenants, delete


def test_quota_create_and_delete(cl):
    spec = body("CreateCloudTenantResourceSpec", "<Name>Extra</Name><RepositoryUid>urn:veeam:Repository:%s"
                "</RepositoryUid><QuotaMb>4096</QuotaMb><WanAcceleratorUid/>" % REPO_DEF)
    t = cl.wait(cl.req("POST", "/cloud/tenants/%s/resources" % ACME, body=spec))
    rel = t.find("e:Links/e:Link[@Rel='Related']", N)
    assert rel.get("Type") == "CloudTenantResource" and rel.get("Name") == "acme"
    assert cl.get(rel.get("Href")).findtext("e:RepositoryQuota/e:Quota", namespaces=N) == "4096"
    t = cl.wait(cl.req("POST", "/cloud/tenants/%s/resources" % ACME, body=spec))    # same repository again
    assert t.find("e:Result", N).get("Success") == "false"
    used = cl.tenant(GLOBEX)["subtenants"][0]["resource_id"]
    t = cl.wait(cl.req("DELETE", "/cloud/tenants/%s/resources/%s" % (GLOBEX, used)))
    assert "subtenants" in t.findtext("e:Result/e:Message", namespaces=N)
    qid = rel.get("Href").rsplit("/", 1)[-1]
    t = cl.wait(cl.req("DELETE", "/cloud/tenants/%s/resources/%s" % (ACME, qid)))
    assert t.findtext("e:Operation", namespaces=N) == "DeleteCloudTenantResource"
    assert len(cl.tenant(ACME)["resources"]) == 1


def test_compute_create_has_no_related_link(cl):
    spec = body("CloudTenantComputeResourceCreateSpec", _subscription("true"))
    t = cl.wait(cl.req("POST", "/cloud/tenants/%s/computeResources" % ACME, body=spec))
    assert t.findtext("e:Operation", namespaces=N) == "CreateCloudTenantResource"
    assert t.find("e:Result", N).get("Success") == "true", etree.tostring(t)
    assert t.find("e:Links/e:Link[@Rel='Related']", N) is None
    assert cl.tenant(ACME)["compute_resources"][0]["hardware_plan"] == "Silver VMware"


def test_subtenant_create_edit_password(cl):
    rid = cl.tenant(GLOBEX)["resources"][1]["id"]
    spec = body("CloudSubtenantCreateSpec", "<Name>globex-it</Name><Password>Sub-Pw-1</Password>"
                "<TenantResourceId>%s</TenantResourceId><QuotaMb>2048</QuotaMb><UnlimitedQuota>false</UnlimitedQuota>"
                % rid)
    t = cl.wait(cl.req("POST", "/cloud/tenants/%s/subtenants" % GLOBEX, body=spec))
    assert t.findtext("e:Operation", namespaces=N) == "AddCloudSubtenant"
    assert t.find("e:Links/e:Link[@Rel='Related']", N) is None
    sub = [s for s in cl.tenant(GLOBEX)["subtenants"] if s["name"] == "globex-it"][0]
    path = "tenants/%s/subtenants/%s" % (GLOBEX, sub["id"])
    assert cl.matches(path, "Sub-Pw-1")
    t = cl.wait(cl.req("POST", "/cloud/tenants/%s/subtenants" % GLOBEX, body=spec))
    assert "already exists" in t.findtext("e:Result/e:Message", namespaces=N)
    edit = body("CloudSubtenant", "<Name>ignored</Name><Password>Sub-Pw-2</Password><Enabled>false</Enabled>"
                '<RepositoryQuota Unlimited="true"><QuotaMb>2048</QuotaMb></RepositoryQuota>')
    t = cl.wait(cl.req("PUT", "/cloud/tenants/%s/subtenants/%s" % (GLOBEX, sub["id"]), body=edit))
    assert t.findtext("e:Operation", namespaces=N) == "EditCloudSubtenant"
    sub = [s for s in cl.tenant(GLOBEX)["subtenants"] if s["id"] == sub["id"]][0]
    assert sub["name"] == "globex-it" and sub["unlimited"] and not sub["enabled"]
    assert cl.matches(path, "Sub-Pw-2") and not cl.matches(path, "Sub-Pw-1")
    item = cl.get("/cloud/tenants/%s/subtenants/%s" % (GLOBEX, sub["id"]))
    assert item.find("e:Password", N) is not None and item.find("e:Password", N).text is None


@pytest.mark.parametrize("path, root, children", [
    ("resources", "CreateCloudTenantResourceSpec", "<RepositoryUid>urn:veeam:Repository:%s</RepositoryUid>"
                                                   "<QuotaMb>4096</QuotaMb>" % REPO_DEF),
    ("subtenants", "CloudSubtenantCreateSpec", "<Name>acme-it</Name><Password>Sub-Pw-1</Password>"
                                               "<TenantResourceId>%s</TenantResourceId><QuotaMb>2048</QuotaMb>"),
])
def test_child_create_without_a_required_element_is_refused(cl, path, root, children):
    """The quota's Name and the subtenant's UnlimitedQuota are 1/1 on their create pages: a body without one is a 400,
    and nothing is created."""
    if "%s" in children:
        children %= cl.tenant(ACME)["resources"][0]["id"]
    before = cl.tenant(ACME)
    r = cl.req("POST", "/cloud/tenants/%s/%s" % (ACME, path), body=body(root, children))
    assert r.status_code == 400, r.text
    assert cl.tenant(ACME) == before


@pytest.mark.parametrize("default", ["false", "true"])
def test_delete_tenant_records_include_backups(cl, default):
    cl.config(include_backups_default=default)
    t = cl.wait(cl.req("DELETE", "/cloud/tenants/" + ACME))
    assert t.findtext("e:Operation", namespaces=N) == "DeleteCloudTenant"
    t = cl.wait(cl.req("DELETE", "/cloud/tenants/%s?includeBackups=false" % FOX))
    gone = {d["name"]: d for d in cl.ctl("GET", "deleted_tenants").json()}
    assert gone["acme"]["include_backups"] is (default == "true") and not gone["acme"]["include_backups_sent"]
    assert gone["tech\\william.fox"]["include_backups"] is False
    assert cl.req("GET", "/cloud/tenants/" + ACME).status_code == 404


@pytest.mark.parametrize("tid", [GLOBEX, INITECH, FOX])
def test_put_of_the_entity_as_read_changes_nothing(cl, tid):
    """A client that echoes what it read (RO elements, <Password/>, lists whole) loses nothing."""
    before = cl.tenant(tid)
    r = cl.req("PUT", "/cloud/tenants/" + tid, body=cl.req("GET", "/cloud/tenants/%s?format=Entity" % tid).content)
    t = cl.wait(r)
    assert t.find("e:Result", N).get("Success") == "true", etree.tostring(t)
    assert cl.tenant(tid) == dict(before)
    assert cl.matches("tenants/" + tid, cloud_seed.tenant_password("vbr01", cl.tenant(tid)["name"]))


def test_org_vdc_create_and_delete(cl):
    vdc = inventory.vcd_vdc_guid("initech", "initech-dr-vdc")
    spec = body("CloudTenantVCloudComputeResourceCreateSpec", "<VirtualDataCenterRef>%s</VirtualDataCenterRef>"
                "<UseNetworkFailoverResources>false</UseNetworkFailoverResources>"
                % inventory.vcd_ref("OrgVdc", "initech", "initech-dr-vdc").upper().replace("URN:", "urn:"))
    t = cl.wait(cl.req("POST", "/cloud/tenants/%s/vcloudcomputeresources" % INITECH, body=spec))
    assert t.findtext("e:Operation", namespaces=N) == "CreateCloudTenantVCloudComputeResource"
    assert t.find("e:Result", N).get("Success") == "true" and t.find("e:Links/e:Link[@Rel='Related']", N) is None
    assert cl.get("/cloud/tenants/%s/vCloudComputeResources/%s" % (INITECH, vdc)).get("Id") == vdc
    t = cl.wait(cl.req("POST", "/cloud/tenants/%s/vcloudcomputeresources" % INITECH, body=spec))
    assert "already assigned" in t.findtext("e:Result/e:Message", namespaces=N)
    t = cl.wait(cl.req("DELETE", "/cloud/tenants/%s/vcloudcomputeresources/%s" % (INITECH, vdc)))
    assert t.findtext("e:Operation", namespaces=N) == "DeletevCloudTenantComputeResource"
    assert [v["id"] for v in cl.tenant(INITECH)["vcd_resources"]] == [inventory.vcd_vdc_guid("initech", "initech-prod-vdc")]
    other = spec.replace(inventory.vcd_vdc_guid("initech", "initech-dr-vdc").upper(),
                         inventory.vcd_vdc_guid("umbrella", "umbrella-vdc1"))
    t = cl.wait(cl.req("POST", "/cloud/tenants/%s/vcloudcomputeresources" % INITECH, body=other))
    assert "belongs to the organization umbrella, not to initech" in t.findtext("e:Result/e:Message", namespaces=N)
    assert cl.req("GET", "/cloud/tenants/%s/vcloudcomputeresources" % ACME).status_code == 404


def test_vcd_lookup_and_tenant_create_with_org_vdcs(cl):
    """The vCloud Director root answers the lookup (Organization, OrgVdc); a vCD tenant create names an organization
    the lookup knows, takes its name, and gets only that organization's VDCs (em-api-cloud.md 7.2, 8, 14 item 16)."""
    root = "urn:veeam:HierarchyRoot:" + seed.VCD_ROOT
    ent = cl.get("/hierarchyRoots/%s?format=Entity" % seed.VCD_ROOT)
    assert ent.get("Name") == "vcd01" and ent.findtext("e:HostType", namespaces=N) == "VcdSystem"
    orgs = cl.get("/lookup?host=%s&type=Organization" % root)
    assert [(i.findtext("e:ObjectName", namespaces=N), i.findtext("e:ObjectType", namespaces=N)) for i in orgs] == [
        ("initech", "Organization"), ("umbrella", "Organization"), ("hooli", "Organization")]
    vdc = cl.get("/lookup?host=%s&type=orgvdc&name=UMBRELLA-VDC2" % root)
    want = inventory.vcd_ref("OrgVdc", "umbrella", "umbrella-vdc2")
    assert [i.findtext("e:ObjectRef", namespaces=N) for i in vdc] == [want]
    org_ref = inventory.vcd_ref("Organization", "umbrella")

    def vcd_body(name, org, *vdcs):
        items = "".join("<VCloudComputeResource><VirtualDataCenterRef>%s</VirtualDataCenterRef>"
                        "<UseNetworkFailoverResources>false</UseNetworkFailoverResources>"
                        "<WanAcceleratorUid>%s</WanAcceleratorUid></VCloudComputeResource>"
                        % (v, "urn:veeam:WanAccelerator:" + cloud_seed.wan_id("vbr01", "wan01.lab.local"))
                        for v in vdcs)
        return create_body(name, "<OrganizationRef>%s</OrganizationRef><VCloudComputeResources>%s"
                                 "</VCloudComputeResources>" % (org, items), "VCD", None)
    for spec, why in ((vcd_body("umbrella", org_ref.replace("urn:vcloud:org:", "urn:vcloud:org:0")), "does not name"),
                      (vcd_body("umbrella-co", org_ref), "must be the name of its organization: 'umbrella'"),
                      (vcd_body("umbrella", org_ref, inventory.vcd_ref("OrgVdc", "hooli", "hooli-vdc")),
                       "belongs to the organization hooli")):
        t = cl.wait(cl.req("POST", "/cloud/tenants", body=spec))
        assert t.find("e:Result", N).get("Success") == "false"
        assert why in t.findtext("e:Result/e:Message", namespaces=N)
    assert not [x for x in cl.ctl("GET", "tenants").json() if x["name"].startswith("umbrella")]
    spec = vcd_body("Umbrella", org_ref, inventory.vcd_ref("OrgVdc", "umbrella", "umbrella-vdc1"),
                    inventory.vcd_ref("OrgVdc", "umbrella", "umbrella-vdc2"))
    t = cl.wait(cl.req("POST", "/cloud/tenants", body=spec))
    assert t.find("e:Result", N).get("Success") == "true", etree.tostring(t)
    made = cl.get(t.find("e:Links/e:Link[@Rel='Related']", N).get("Href"))
    assert made.findtext("e:TenantType/e:vCloudTenant/e:OrganizationName", namespaces=N) == "umbrella"
    assert made.findtext("e:TenantType/e:vCloudTenant/e:OrganizationRef", namespaces=N) == org_ref
    got = made.findall("e:VCloudComputeResources/e:CloudTenantVCloudComputeResource", N)
    assert [(v.get("Id"), v.findtext("e:VirtualDataCenterName", namespaces=N)) for v in got] == [
        (inventory.vcd_vdc_guid("umbrella", "umbrella-vdc1"), "umbrella-vdc1"),
        (inventory.vcd_vdc_guid("umbrella", "umbrella-vdc2"), "umbrella-vdc2")]
