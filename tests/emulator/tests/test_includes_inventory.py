"""Includes add/remove, ObjectInJob queries, hierarchy roots and the lookup service."""

import urllib.parse

import pytest

from conftest import ADVERTISED, NS, N, rebase, xml

XML_CT = {"Content-Type": "application/xml"}
VC01 = "urn:veeam:HierarchyRoot:"


def post_xml(em, token, path, body):
    return em.req("POST", path, token, data=body.encode(), headers=dict(XML_CT))


def run_task(em, token, r):
    assert r.status_code == 202, r.text
    t = xml(r)
    assert t.findtext("e:State", namespaces=N) == "Running"
    done, dummy = em.wait_task(token, rebase(t.get("Href"), em))
    res = done.find("e:Result", N)
    return done, res.get("Success") == "true", res.findtext("e:Message", namespaces=N)


def roots(em, token):
    r = em.req("GET", "/api/hierarchyRoots?format=Entity", token)
    assert r.status_code == 200
    out = {}
    for h in xml(r):
        up = h.find("e:Links/e:Link[@Rel='Up']", N)
        out[h.get("Name")] = (h.findtext("e:HierarchyRootId", namespaces=N), up.get("Name"),
                              h.findtext("e:HostType", namespaces=N))
    return out


def lookup(em, token, **params):
    r = em.req("GET", "/api/lookup?" + urllib.parse.urlencode(params), token)
    assert r.status_code == 200, r.text
    root = xml(r)
    assert root.tag == "{%s}HierarchyItems" % NS
    return [(i.findtext("e:ObjectRef", namespaces=N), i.findtext("e:ObjectType", namespaces=N),
             i.findtext("e:ObjectName", namespaces=N)) for i in root]


def spec(ref, name, extra=""):
    return ('<CreateObjectInJobSpec xmlns="%s"><HierarchyObjRef>%s</HierarchyObjRef>'
            '<HierarchyObjName>%s</HierarchyObjName>%s</CreateObjectInJobSpec>' % (NS, ref, name, extra))


def includes(em, token, jid):
    r = em.req("GET", "/api/jobs/%s/includes" % jid, token)
    assert r.status_code == 200
    return {o.findtext("e:Name", namespaces=N): o for o in xml(r)}


# ---------------------------------------------------------------- hierarchy roots / lookup


def test_hierarchy_roots(em, token):
    rs = roots(em, token)
    expected = {"vc01": ("vbr01", "VC"), "hv01": ("vbr01", "HvServer"), "vc02": ("vbr02", "VC"),
                "vcd01": ("vbr01", "VcdSystem")}
    assert {k: v[1:] for k, v in rs.items()} == expected
    r = em.req("GET", "/api/hierarchyRoots", token)
    refs = xml(r)
    assert refs.tag == "{%s}EntityReferences" % NS
    assert {x.get("Type") for x in refs} == {"HierarchyRootReference"}
    vc01 = rs["vc01"][0]
    assert [x.get("UID") for x in refs if x.get("Name") == "vc01"] == [VC01 + vc01]
    ent = xml(em.req("GET", "/api/hierarchyRoots/%s?format=Entity" % vc01, token))
    assert ent.tag == "{%s}HierarchyRoot" % NS and ent.get("Href") == ADVERTISED + "/api/hierarchyRoots/%s?format=Entity" % vc01
    assert [local.tag.rsplit("}", 1)[1] for local in ent] == ["Links", "HierarchyRootId", "UniqueId", "HostType"]
    assert "/api/backupServers/" in ent.find("e:Links/e:Link[@Rel='Up']", N).get("Href")
    ref = xml(em.req("GET", "/api/hierarchyRoots/%s" % vc01, token))
    assert ref.tag == "{%s}EntityRef" % NS
    assert em.req("GET", "/api/hierarchyRoots/0", token).status_code == 404
    assert em.req("GET", "/api/hierarchyRoots/6b7f1c55-2f0a-4d0e-8d54-5a3c2d1e0f99", token).status_code == 404
    # ids are deterministic across resets
    em.ctl("POST", "reset")
    assert roots(em, em.login()[0])["vc01"][0] == vc01


def test_query_hierarchy_root(em, token):
    f = urllib.parse.quote('Name=="vc01";BackupServerName=="vbr01"')
    res = xml(em.req("GET", "/api/query?type=HierarchyRoot&format=Entities&filter=" + f, token))
    ents = res.find("e:Entities/e:HierarchyRoots", N)
    assert [e.get("Name") for e in ents] == ["vc01"]
    res = xml(em.req("GET", "/api/query?type=hierarchyroot&filter=HostType==vc&sortAsc=Name", token))
    assert [x.get("Name") for x in res.find("e:Refs", N)] == ["vc01", "vc02"]


def test_lookup_service_and_lookup(em, token):
    rs = roots(em, token)
    vc01, vc02, hv01 = rs["vc01"][0], rs["vc02"][0], rs["hv01"][0]
    svc = xml(em.req("GET", "/api/lookupSvc", token))
    assert svc.tag == "{%s}LookupSvc" % NS and svc.get("Type") == "LookupService"
    downs = {x.get("Name"): x.get("Href") for x in svc.findall("e:Links/e:Link[@Rel='Down']", N)}
    assert downs["vc01"] == ADVERTISED + "/api/lookup?host=" + VC01 + vc01
    assert lookup(em, token, host=VC01 + vc01, name="sql01", type="Vm") == [
        ("urn:VMware:Vm:%s.vm-1021" % vc01, "Vm", "sql01")]
    # bare id, case-insensitive type, name exact but case-insensitive
    assert lookup(em, token, host=vc01, name="dns", type="VM") == [("urn:VMware:Vm:%s.vm-6004" % vc01, "Vm", "DNS")]
    assert lookup(em, token, host=VC01 + vc01, name="sql0", type="Vm") == []
    assert lookup(em, token, host=VC01 + vc01, name="sql01", type="Folder") == []
    # same name on two roots
    assert lookup(em, token, host=vc02, name="fs01", type="vm") == [("urn:VMware:Vm:%s.vm-5001" % vc02, "Vm", "fs01")]
    for otype, name in (("Folder", "Production"), ("Host", "esx01.lab.local"), ("Cluster", "Cluster01"),
                        ("Datacenter", "DC1"), ("Datastore", "datastore1"), ("ResourcePool", "Production RP"),
                        ("VirtualApp", "vApp01"), ("Tag", "Gold")):
        got = lookup(em, token, host=vc01, name=name, type=otype)
        assert len(got) == 1 and got[0][1] == otype and got[0][0].startswith("urn:VMware:%s:%s." % (otype, vc01))
    hv = lookup(em, token, host=hv01, name="hvfile01", type="Vm")
    assert hv == [("urn:HyperV:Vm:%s.2c1d7a4e-43b7-4d6a-9d9c-6a3b7f5e0c11" % hv01, "Vm", "hvfile01")]
    assert lookup(em, token, hierarchyRef="URN:vmware:VM:%s.vm-1021" % vc01) == [
        ("urn:VMware:Vm:%s.vm-1021" % vc01, "Vm", "sql01")]
    vms = lookup(em, token, host=vc01, type="Vm")
    assert len(vms) >= 8
    assert em.req("GET", "/api/lookup?name=sql01&type=Vm", token).status_code == 400
    assert em.req("GET", "/api/lookup?host=%s6b7f1c55-2f0a-4d0e-8d54-5a3c2d1e0f99" % VC01, token).status_code == 404


def test_inventory_covers_seed_includes(em, token):
    for job in em.ctl("GET", "jobs").json():
        for o in includes(em, token, job["id"]).values():
            ref = o.findtext("e:HierarchyObjRef", namespaces=N)
            assert lookup(em, token, hierarchyRef=ref), ref


# ---------------------------------------------------------------- includes


def test_add_include_defaults_and_query(em, token):
    vc01 = roots(em, token)["vc01"][0]
    jid = em.job_id("SQL Backup")
    r = post_xml(em, token, "/api/jobs/%s/includes" % jid, spec("urn:vmware:VM:%s.vm-6001" % vc01, "web01"))
    t, ok, msg = run_task(em, token, r)
    assert t.findtext("e:Operation", namespaces=N) == "UpdateJob" and ok and msg == "Ok"
    inc = includes(em, token, jid)
    assert set(inc) == {"sql01", "sql02", "web01"}
    web = inc["web01"]
    assert web.findtext("e:HierarchyObjRef", namespaces=N) == "urn:VMware:Vm:%s.vm-6001" % vc01
    assert web.findtext("e:DisplayName", namespaces=N) == "web01"
    oid = web.findtext("e:ObjectInJobId", namespaces=N)
    assert len(oid) == 36
    # job-level guest processing copied (SQL Backup: TransactionLogsProcessing Backup)
    assert web.findtext("e:GuestProcessingOptions/e:SqlBackupOptions/e:TransactionLogsProcessing",
                        namespaces=N) == "Backup"
    one = em.req("GET", "/api/jobs/%s/includes/%s" % (jid, oid), token)
    assert one.status_code == 200
    f = urllib.parse.quote('JobUid=="urn:veeam:Job:%s"' % jid)
    res = xml(em.req("GET", "/api/query?type=ObjectInJob&format=Entities&sortAsc=Name&filter=" + f, token))
    ents = res.find("e:Entities/e:ObjectsInJob", N)
    assert [e.findtext("e:Name", namespaces=N) for e in ents] == ["sql01", "sql02", "web01"]
    res = xml(em.req("GET", "/api/query?type=ObjectInJob&filter=" + urllib.parse.quote(
        'Name=="fs01";BackupServerName=="vbr02"'), token))
    refs = res.find("e:Refs", N)
    assert len(refs) == 1 and refs[0].get("Type") == "ObjectInJobReference"
    assert refs[0].find("e:Links/e:Link[@Rel='Up']", N).get("Name") == "File Server Backup"
    res = xml(em.req("GET", "/api/query?type=ObjectInJob&filter=UID==%s" % oid, token))
    assert [x.get("Name") for x in res.find("e:Refs", N)] == ["web01"]


def test_add_include_with_guest_options_and_legacy(em, token):
    vc01 = roots(em, token)["vc01"][0]
    jid = em.job_id("Exchange Backup")
    gpo = ("<Order>3</Order><GuestProcessingOptions><VssSnapshotOptions><VssSnapshotMode>Disabled</VssSnapshotMode>"
           "<IsCopyOnly>false</IsCopyOnly></VssSnapshotOptions></GuestProcessingOptions>")
    ok = run_task(em, token, post_xml(em, token, "/api/jobs/%s/includes" % jid,
                                      spec("urn:VMware:Vm:%s.vm-6002" % vc01, "web02", gpo)))[1]
    assert ok
    web = includes(em, token, jid)["web02"]
    assert web.findtext("e:Order", namespaces=N) == "3"
    assert web.findtext("e:GuestProcessingOptions/e:VssSnapshotOptions/e:VssSnapshotMode", namespaces=N) == "Disabled"
    assert web.find("e:GuestProcessingOptions/e:SqlBackupOptions", N) is not None   # job-level block kept
    legacy = ("<GuestProcessingOptions><AppAwareProcessingMode>RequireSuccess</AppAwareProcessingMode>"
              "<FileSystemIndexingMode>ExceptSpecifiedFolders</FileSystemIndexingMode>"
              "<ExcludedIndexingFolders><Path>C:\\Temp</Path></ExcludedIndexingFolders>"
              "<CredentialsId>5f1c7a0e-2b8d-4c1e-9a6b-0c3d4e5f6a99</CredentialsId></GuestProcessingOptions>")
    ok = run_task(em, token, post_xml(em, token, "/api/jobs/%s/includes" % jid,
                                      spec("urn:VMware:Vm:%s.vm-6003" % vc01, "ubuntu88", legacy)))[1]
    assert ok
    u = includes(em, token, jid)["ubuntu88"].find("e:GuestProcessingOptions", N)
    assert u.find("e:AppAwareProcessingMode", N) is None
    assert u.findtext("e:VssSnapshotOptions/e:VssSnapshotMode", namespaces=N) == "RequireSuccess"
    assert u.findtext("e:WindowsGuestFSIndexingOptions/e:FileSystemIndexingMode",
                      namespaces=N) == "ExceptSpecifiedFolders"
    assert [p.text for p in u.findall("e:WindowsGuestFSIndexingOptions/e:ExcludedIndexingFolders/e:Path", N)] == \
        ["C:\\Temp"]
    assert u.findtext("e:WindowsCredentialsId", namespaces=N) == "5f1c7a0e-2b8d-4c1e-9a6b-0c3d4e5f6a99"


def test_add_include_failures(em, token):
    rs = roots(em, token)
    vc01, vc02, hv01 = rs["vc01"][0], rs["vc02"][0], rs["hv01"][0]
    jid = em.job_id("SQL Backup")
    cases = [
        ("urn:VMware:Vm:%s.vm-99999" % vc01, "not found"),           # not in the inventory
        ("URN:VMWARE:VM:%s.VM-1021" % vc01, "already included"),     # already there (case-insensitive)
        ("urn:VMware:Vm:%s.vm-701" % vc02, "not found"),             # other backup server's root
        ("urn:HyperV:Vm:%s.6f0e2b1a-9c3d-4e5f-8a7b-1c2d3e4f5a61" % hv01, "cannot be added"),  # platform
    ]
    for ref, words in cases:
        dummy, ok, msg = run_task(em, token, post_xml(em, token, "/api/jobs/%s/includes" % jid, spec(ref, "x")))
        assert not ok and words in msg, (ref, msg)
    assert set(includes(em, token, jid)) == {"sql01", "sql02"}


@pytest.mark.parametrize("body,ctype", [
    ("not xml", "application/xml"),
    ('<CreateObjectInJobSpec xmlns="urn:other"><HierarchyObjRef>x</HierarchyObjRef>'
     '<HierarchyObjName>x</HierarchyObjName></CreateObjectInJobSpec>', "application/xml"),
    ('<ObjectInJob xmlns="%s"/>' % NS, "application/xml"),
    ('<CreateObjectInJobSpec xmlns="%s"><HierarchyObjName>x</HierarchyObjName></CreateObjectInJobSpec>' % NS,
     "application/xml"),
    (spec("urn:VMware:Vm:x.vm-1", "x", "<Order>first</Order>"), "application/xml"),
    (spec("urn:VMware:Vm:x.vm-1", "x"), "text/plain"),
])
def test_add_include_400(em, token, body, ctype):
    jid = em.job_id("SQL Backup")
    r = em.req("POST", "/api/jobs/%s/includes" % jid, token, data=body.encode(), headers={"Content-Type": ctype})
    assert r.status_code == 400, r.text
    assert em.ctl("GET", "tasks").json() == []


def test_add_include_order_violation(em, token):
    vc01 = roots(em, token)["vc01"][0]
    jid = em.job_id("SQL Backup")
    body = ('<CreateObjectInJobSpec xmlns="%s"><HierarchyObjName>web01</HierarchyObjName>'
            '<HierarchyObjRef>urn:VMware:Vm:%s.vm-6001</HierarchyObjRef><Bogus/></CreateObjectInJobSpec>' % (NS, vc01))
    em.config(order_violation="reject")
    assert post_xml(em, token, "/api/jobs/%s/includes" % jid, body).status_code == 400
    em.config(order_violation="ignore")
    # HierarchyObjName was dropped as misordered -> the required element is missing
    assert post_xml(em, token, "/api/jobs/%s/includes" % jid, body).status_code == 400


def test_remove_include(em, token):
    jid = em.job_id("SQL Backup")
    inc = includes(em, token, jid)
    oid = inc["sql02"].findtext("e:ObjectInJobId", namespaces=N)
    r = em.req("DELETE", "/api/jobs/%s/includes/%s" % (jid, oid), token)
    t, ok, msg = run_task(em, token, r)
    assert t.findtext("e:Operation", namespaces=N) == "UpdateJob" and ok and msg == "Ok"
    assert set(includes(em, token, jid)) == {"sql01"}
    assert em.req("GET", "/api/jobs/%s/includes/%s" % (jid, oid), token).status_code == 404
    assert em.req("DELETE", "/api/jobs/%s/includes/%s" % (jid, oid), token).status_code == 404
    last = includes(em, token, jid)["sql01"].findtext("e:ObjectInJobId", namespaces=N)
    dummy, ok, msg = run_task(em, token, em.req("DELETE", "/api/jobs/%s/includes/%s" % (jid, last), token))
    assert not ok and "last object" in msg
    assert set(includes(em, token, jid)) == {"sql01"}


def test_copy_jobs_have_no_include_writes(em, token):
    jid = em.job_id("Periodic Copy")
    r = post_xml(em, token, "/api/jobs/%s/includes" % jid, spec("urn:VMware:Vm:x.vm-1", "x"))
    assert r.status_code == 405 and r.headers["Allow"] == "GET"
    assert em.req("GET", "/api/jobs/%s/includes" % jid, token).status_code == 200
    r = em.req("DELETE", "/api/jobs/%s/includes/6b7f1c55-2f0a-4d0e-8d54-5a3c2d1e0f99" % jid, token)
    assert r.status_code == 405
