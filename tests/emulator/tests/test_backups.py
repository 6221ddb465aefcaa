"""Backups: /backups, /backups/{id}, /repositories/{id}/backups and the Backup query type.

A job's repository is not part of the v1_7 Job entity; EM shows it through the job's backup, whose
entity links Up to its repository (backups_id.md, get_query_backup.md).
"""

import urllib.parse

from conftest import ADVERTISED, NS, N, xml
from test_clone_runs import action, clone, clone_body, repos


def q(em, token, query):
    r = em.req("GET", "/api/query?" + query, token)
    assert r.status_code == 200, r.text
    return xml(r)


def flt(expr):
    return "filter=" + urllib.parse.quote(expr, safe="")


def repo_link(backup):
    return next(x for x in backup.find("e:Links", N) if x.get("Rel") == "Up" and x.get("Type") == "RepositoryReference")


def test_backup_entity_reference_and_collections(em, token):
    sql = em.job_id("SQL Backup")
    res = q(em, token, "type=Backup&format=Entities&" + flt('JobUid=="urn:veeam:Job:%s"' % sql))
    assert res.tag == "{%s}QueryResult" % NS and [local.tag for local in res] == [
        "{%s}Entities" % NS, "{%s}PagingInfo" % NS]
    backups = list(res.find("e:Entities/e:Backups", N))
    assert len(backups) == 1
    b = backups[0]
    bid = b.get("UID").split(":")[-1]
    assert b.tag == "{%s}Backup" % NS and b.get("Type") == "Backup" and b.get("Name") == "SQL Backup"
    assert b.get("UID") == "urn:veeam:Backup:" + bid and b.get("Href") == ADVERTISED + "/api/backups/%s?format=Entity" % bid
    # the vendor's element order: Links, Platform, BackupType; Links: Up repository, Up server, Alternate, Down
    assert [c.tag.split("}")[1] for c in b] == ["Links", "Platform", "BackupType"]
    assert [(x.get("Rel"), x.get("Type")) for x in b.find("e:Links", N)] == [
        ("Up", "RepositoryReference"), ("Up", "BackupServerReference"), ("Alternate", "BackupReference"),
        ("Down", "RestorePointReferenceList"), ("Down", "BackupFileReferenceList")]
    vol = repos(em, token)[("vbr01", "Backup Volume 01")]
    link = repo_link(b)
    assert link.get("Name") == "Backup Volume 01" and link.get("Href").endswith("/api/repositories/" + vol.split(":")[-1])
    assert b.findtext("e:Platform", namespaces=N) == "VMware" and b.findtext("e:BackupType", namespaces=N) == "Standard"
    # the same entity under /backups/{id}?format=Entity; the reference form has no repository link
    ent = xml(em.req("GET", "/api/backups/%s?format=Entity" % bid, token))
    assert ent.tag == "{%s}Backup" % NS and repo_link(ent).get("Name") == "Backup Volume 01"
    ref = xml(em.req("GET", "/api/backups/" + bid, token))
    assert ref.tag == "{%s}EntityRef" % NS and ref.get("Type") == "BackupReference"
    assert "RepositoryReference" not in [x.get("Type") for x in ref.find("e:Links", N)]
    # collections
    refs = xml(em.req("GET", "/api/backups", token))
    assert refs.tag == "{%s}EntityReferences" % NS and bid in [r.get("UID").split(":")[-1] for r in refs]
    ents = xml(em.req("GET", "/api/backups?format=Entity", token))
    assert ents.tag == "{%s}Backups" % NS and len(ents) == len(refs)
    in_vol = xml(em.req("GET", "/api/repositories/%s/backups" % vol.split(":")[-1], token))
    assert sorted(r.get("Name") for r in in_vol) == ["Exchange Backup", "Immediate Copy", "SQL Backup"]
    # errors: unknown or malformed id, a write, an unknown filter field
    assert em.req("GET", "/api/backups/00000000-0000-0000-0000-000000000000", token).status_code == 404
    assert em.req("GET", "/api/backups/nope", token).status_code == 404
    assert em.req("DELETE", "/api/backups/" + bid, token).status_code == 405
    assert em.req("GET", "/api/query?type=Backup&" + flt("BackupServerName==vbr01"), token).status_code == 400
    assert em.req("GET", "/api/backups", None).status_code == 401


def names(res):
    return sorted(b.get("Name") for b in res.find("e:Entities/e:Backups", N))


def test_backup_query_fields_paging_and_seed(em, token):
    got = q(em, token, "type=Backup&" + flt('JobName=="File Server Backup"'))
    refs = list(got.find("e:Refs", N))
    assert len(refs) == 2 and {r.get("Type") for r in refs} == {"BackupReference"}
    servers = sorted(next(x for x in r.find("e:Links", N) if x.get("Type") == "BackupServerReference").get("Name")
                     for r in refs)
    assert servers == ["vbr01", "vbr02"]
    vol = q(em, token, "type=Backup&format=Entities&" + flt('RepositoryName=="Backup Volume 01"'))
    assert names(vol) == ["Exchange Backup", "Immediate Copy", "SQL Backup"]
    hv = q(em, token, "type=backup&format=entities&" + flt("platform==hyperv;backuptype==standard"))
    assert names(hv) == ["HV Backup"]
    # the replica and the job that never ran have none; every other seed job has one
    every = q(em, token, "type=Backup&format=Entities&sortAsc=Name&pageSize=3&page=1")
    info = every.find("e:PagingInfo", N)
    assert info.get("PagesCount") == "3" and [x.get("Rel") for x in info.find("e:Links", N)] == ["First", "Next", "Last"]
    all_names = [b["job_name"] for b in em.ctl("GET", "backups").json()]
    assert "DC Replication" not in all_names and "Chained Backup" not in all_names and len(all_names) == 7
    assert q(em, token, "type=Backup&" + flt('JobName=="Chained Backup"')).find("e:Refs", N) is not None
    assert len(q(em, token, "type=Backup&" + flt('JobName=="Chained Backup"')).find("e:Refs", N)) == 0


def test_first_run_of_a_clone_creates_its_backup(em, token):
    vol = repos(em, token)[("vbr01", "Backup Volume 01")]
    dummy, ok, msg = clone(em, token, em.job_id("HV Backup"), clone_body(
        "BackupJobCloneInfo", ("JobName", "HV Clone"), ("FolderName", "HV Clone"), ("RepositoryUid", vol)))
    assert ok, msg
    new = em.job_id("HV Clone")
    by_job = "type=Backup&format=Entities&" + flt('JobUid=="urn:veeam:Job:%s"' % new)
    assert len(q(em, token, by_job).find("e:Entities/e:Backups", N)) == 0
    dummy, ok, msg = action(em, token, new, "start")
    assert ok, msg
    backups = list(q(em, token, by_job).find("e:Entities/e:Backups", N))
    assert len(backups) == 1 and repo_link(backups[0]).get("Name") == "Backup Volume 01"
    assert backups[0].findtext("e:Platform", namespaces=N) == "HyperV"


def test_control_adds_and_removes_backups(em, token):
    sql = em.job_id("SQL Backup")
    default = repos(em, token)[("vbr01", "Default Backup Repository")].split(":")[-1]
    added = em.ctl("POST", "backups", json={"job_id": sql, "repository_id": default})
    assert added.status_code == 200 and added.json()["repository"] == "Default Backup Repository"
    res = q(em, token, "type=Backup&format=Entities&" + flt('JobUid=="urn:veeam:Job:%s"' % sql))
    assert sorted(repo_link(b).get("Name") for b in res.find("e:Entities/e:Backups", N)) == [
        "Backup Volume 01", "Default Backup Repository"]
    other = repos(em, token)[("vbr02", "Default Backup Repository")].split(":")[-1]
    assert em.ctl("POST", "backups", json={"job_id": sql, "repository_id": other}).status_code == 400
    assert em.ctl("DELETE", "backups/" + added.json()["id"]).status_code == 200
    assert em.ctl("DELETE", "backups/" + added.json()["id"]).status_code == 404


def test_a_test_copy_of_a_job_has_its_backups(em, token):
    sql = em.job_id("SQL Backup")
    made = em.ctl("POST", "jobs/%s/copy" % sql, json={"name": "SQL Backup case 1"}).json()
    res = q(em, token, "type=Backup&format=Entities&" + flt('JobUid=="urn:veeam:Job:%s"' % made["id"]))
    backups = list(res.find("e:Entities/e:Backups", N))
    assert len(backups) == 1 and backups[0].get("Name") == "SQL Backup case 1"
    assert repo_link(backups[0]).get("Name") == "Backup Volume 01"
    chained = em.ctl("POST", "jobs/%s/copy" % em.job_id("Chained Backup"), json={"name": "Chained case"}).json()
    assert "Chained case" not in [b["job_name"] for b in em.ctl("GET", "backups").json()], "no run, no backup"
    assert chained["copied_from"] == em.job_id("Chained Backup")
