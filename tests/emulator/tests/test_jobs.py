"""Job list/entity/collection shapes, schema order, links, servers and repositories."""

import sys

import pytest

from conftest import ADVERTISED, EMU_DIR, NS, N, xml

sys.path.insert(0, str(EMU_DIR))
from veeam_em_emulator.schema import JOB  # noqa: E402

SEED = [("vbr01", "SQL Backup", "Backup", "VMware"), ("vbr01", "HV Backup", "Backup", "HyperV"),
        ("vbr01", "Exchange Backup", "Backup", "VMware"), ("vbr01", "DC Replication", "Replica", "VMware"),
        ("vbr01", "Periodic Copy", "BackupCopy", "CustomPlatform"),
        ("vbr01", "Immediate Copy", "ImmediateBackupCopy", "CustomPlatform"),
        ("vbr01", "Chained Backup", "Backup", "VMware"), ("vbr01", "File Server Backup", "Backup", "VMware"),
        ("vbr02", "File Server Backup", "Backup", "VMware")]

# Child order transcribed by hand from the vendor's full Backup job example (jobs_id.md).
VENDOR_ORDER = {
    "Job": ["Links", "JobType", "Platform", "Description", "ScheduleConfigured", "ScheduleEnabled", "NextRun",
            "JobScheduleOptions", "JobInfo"],
    "Standart": ["RetryOptions", "WaitForBackupCompletion", "BackupCompetitionWaitingPeriodMin", "OptionsDaily",
                 "OptionsMonthly", "OptionsPeriodically", "OptionsContinuous", "OptionsBackupWindow",
                 "OptionsDaisyChaining"],
    "OptionsMonthly": ["Time", "TimeOffsetUtc", "DayNumberInMonth", "DayOfWeek", "Months", "DayOfMonth"],
    "OptionsDaily": ["Kind", "Days", "Time", "TimeOffsetUtc"],
    "BackupJobInfo": ["Includes", "GuestProcessingOptions", "AdvancedStorageOptions", "GfsRetentionPolicy",
                      "SimpleRetentionPolicy"],
    "GuestProcessingOptions": ["VssSnapshotOptions", "WindowsGuestFSIndexingOptions", "LinuxGuestFSIndexingOptions",
                               "SqlBackupOptions", "WindowsCredentialsId", "LinuxCredentialsId"],
    "ObjectInJob": ["ObjectInJobId", "HierarchyObjRef", "Name", "DisplayName", "GuestProcessingOptions"],
    "SqlBackupOptions": ["TransactionLogsProcessing", "BackupLogsFrequencyMin", "UseDbBackupRetention", "RetainDays"],
    "GfsRetentionPolicy": ["Weekly", "Monthly", "Yearly"],
    "SimpleRetentionPolicy": ["RetainCycles", "RetainDaysToKeep", "RetainLimitType"],
}


def lname(el):
    return el.tag.rsplit("}", 1)[-1]


def dedup(names):
    out = []
    for n in names:
        if not out or out[-1] != n:
            out.append(n)
    return out


def assert_schema_order(el, node, path="Job"):
    last = -1
    seen_choice = None
    for c in el:
        name = lname(c)
        i = node.index(name)
        assert i >= 0, "%s/%s is not in the schema" % (path, name)
        cn = node.children[i]
        assert i > last or (i == last and cn.repeated), "%s/%s out of order" % (path, name)
        if node.choice:
            assert seen_choice in (None, name)
            seen_choice = name
        last = i
        if cn.type == "group" and name != "Links":
            assert_schema_order(c, cn, path + "/" + name)


@pytest.fixture
def entities(em, token):
    r = em.req("GET", "/api/jobs?format=Entity", token)
    assert r.status_code == 200
    root = xml(r)
    assert root.tag == "{%s}Jobs" % NS
    return {(j.find("e:Links/e:Link[@Rel='Up']", N).get("Name"), j.get("Name")): j for j in root}


def test_job_reference_list(em, token):
    r = em.req("GET", "/api/jobs", token)
    root = xml(r)
    assert root.tag == "{%s}EntityReferences" % NS
    refs = root.findall("e:Ref", N)
    assert sorted((r_.get("Name")) for r_ in refs) == sorted(seed[1] for seed in SEED)
    for ref in refs:
        assert ref.get("Type") == "JobReference"
        jid = ref.get("Href").rsplit("/", 1)[1]
        assert ref.get("Href") == ADVERTISED + "/api/jobs/" + jid
        assert ref.get("UID") == "urn:veeam:Job:" + jid
        rels = [(ln.get("Rel"), ln.get("Type")) for ln in ref.findall("e:Links/e:Link", N)]
        assert rels[0] == ("Up", "BackupServerReference")
        assert rels[1] == ("Alternate", "Job")
        assert rels[2][0] == "Down"
        assert rels[2][1] in ("BackupJobSessionReferenceList", "ReplicaJobSessionReferenceList")
        if ref.get("Name") == "DC Replication":
            assert rels[2][1] == "ReplicaJobSessionReferenceList"


def test_every_seed_entity_follows_schema_order(entities):
    assert set(entities) == {(seed[0], seed[1]) for seed in SEED}
    for key, job in entities.items():
        assert_schema_order(job, JOB)


def test_vendor_example_order_spot_check(entities):
    job = entities[("vbr01", "SQL Backup")]
    for el in job.iter():
        want = VENDOR_ORDER.get(lname(el))
        if want is None:
            continue
        got = dedup([lname(c) for c in el])
        expected = [n for n in want if n in got]
        assert got == expected, (lname(el), got)


@pytest.mark.parametrize("server,name,jtype,platform", SEED)
def test_entity_shape(entities, server, name, jtype, platform):
    job = entities[(server, name)]
    assert job.get("Type") == "Job" and job.get("Href").endswith("?format=Entity")
    assert job.get("Href").startswith(ADVERTISED + "/api/jobs/")
    assert job.findtext("e:JobType", namespaces=N) == jtype
    assert job.findtext("e:Platform", namespaces=N) == platform
    assert job.find("e:Description", N) is not None
    rels = [ln.get("Rel") for ln in job.findall("e:Links/e:Link", N)]
    if jtype in ("Backup", "Replica"):
        assert rels == ["Up", "Alternate", "Edit", "Clone", "ToggleScheduleEnabled", "Down", "Down", "Create",
                        "Start", "Stop", "Retry"]
    else:
        assert rels == ["Up", "Alternate", "Clone", "ToggleScheduleEnabled", "Down", "Sync", "Down", "Down",
                        "Create", "Create"]
        assert "Edit" not in rels
    sched = job.find("e:JobScheduleOptions", N)
    if jtype == "ImmediateBackupCopy":
        assert [lname(c) for c in sched] == ["ImmediateCopyMode"]
        assert sched.find("e:ImmediateCopyMode/e:OptionsContinuous", N).get("Enabled") == "true"
        assert job.find("e:JobInfo/e:ImmediateBackupCopyJobInfo/e:LinkedJobIncludes/e:LinkedJobObject", N) \
            is not None
    else:
        st = sched.find("e:Standart", N)
        assert [lname(c) for c in st] == VENDOR_ORDER["Standart"]
        for c in st:
            if lname(c).startswith("Options"):
                assert c.get("Enabled") in ("true", "false")
        assert st.find("e:OptionsDaisyChaining/e:PreviousJobUid", N) is not None
        assert len(st.findall("e:OptionsPeriodically/e:Schedule/e:Day", N)) == 7
    info = {"Backup": "BackupJobInfo", "Replica": "ReplicaJobInfo", "BackupCopy": "BackupCopyJobInfo",
            "ImmediateBackupCopy": "ImmediateBackupCopyJobInfo"}[jtype]
    assert [lname(c) for c in job.find("e:JobInfo", N)] == [info]
    if jtype == "Replica":
        assert job.find(".//e:SimpleRetentionPolicy", N) is None and job.find(".//e:GfsRetentionPolicy", N) is None


def test_seed_specifics(entities):
    sql = entities[("vbr01", "SQL Backup")]
    assert sql.find(".//e:OptionsDaily", N).get("Enabled") == "true"
    assert sql.findtext(".//e:OptionsDaily/e:Time", namespaces=N) == "22:00:00.0000000+01:00"
    assert sql.find(".//e:GfsRetentionPolicy", N).get("Enabled") == "true"
    assert sql.findtext("e:JobInfo/e:BackupJobInfo/e:GuestProcessingOptions/e:SqlBackupOptions/"
                        "e:TransactionLogsProcessing", namespaces=N) == "Backup"
    assert len(sql.findall(".//e:Includes/e:ObjectInJob", N)) == 2
    oij = sql.find(".//e:Includes/e:ObjectInJob", N)
    assert oij.get("Href").startswith(ADVERTISED + "/api/jobs/") and "/includes/" in oij.get("Href")
    assert sql.findtext("e:NextRun", namespaces=N).endswith("Z")
    assert entities[("vbr01", "HV Backup")].find(".//e:OptionsMonthly", N).get("Enabled") == "true"
    assert entities[("vbr01", "HV Backup")].findtext("e:Description", namespaces=N) == ""
    assert entities[("vbr01", "Exchange Backup")].find(".//e:OptionsPeriodically", N).get("Enabled") == "true"
    chained = entities[("vbr01", "Chained Backup")]
    dc = chained.find(".//e:OptionsDaisyChaining", N)
    assert dc.get("Enabled") == "true" and dc.findtext("e:PreviousJobUid", namespaces=N) == sql.get("UID")
    assert chained.find("e:NextRun", N) is None
    assert entities[("vbr02", "File Server Backup")].find("e:NextRun", N) is None   # schedule disabled
    unset = sql.find(".//e:OptionsDaisyChaining/e:PreviousJobUid", N)
    assert unset.text is None and len(unset) == 0
    assert entities[("vbr01", "Immediate Copy")].find("e:NextRun", N) is None


def test_single_job_ref_and_entity(em, token):
    jid = em.job_id("SQL Backup")
    r = em.req("GET", "/api/jobs/" + jid, token)
    ref = xml(r)
    assert ref.tag == "{%s}EntityRef" % NS and ref.get("Type") == "JobReference"
    for fmt in ("Entity", "entity", "ENTITY"):
        r = em.req("GET", "/api/jobs/%s?format=%s" % (jid, fmt), token)
        assert xml(r).tag == "{%s}Job" % NS
    r = em.req("GET", "/api/jobs/%s?format=Entity" % jid.upper(), token)
    assert r.status_code == 200


def test_unknown_or_malformed_job_id_404(em, token):
    for jid in ("00000000-0000-0000-0000-000000000000", "not-a-guid", "..%2F..%2Fetc"):
        r = em.req("GET", "/api/jobs/" + jid, token)
        assert r.status_code == 404 and xml(r).get("StatusCode") == "404"


def test_per_server_jobs(em, token):
    r = em.req("GET", "/api/backupServers", token)
    refs = {x.get("Name"): x for x in xml(r).findall("e:Ref", N)}
    assert set(refs) == {"vbr01", "vbr02"}
    sid = refs["vbr02"].get("Href").rsplit("/", 1)[1]
    r = em.req("GET", "/api/backupServers/%s/jobs" % sid, token)
    assert [x.get("Name") for x in xml(r)] == ["File Server Backup"]
    r = em.req("GET", "/api/backupServers/%s/jobs?format=Entity" % sid, token)
    assert xml(r).tag == "{%s}Jobs" % NS and len(xml(r)) == 1


def test_backup_server_entity(em, token):
    r = em.req("GET", "/api/backupServers?format=Entity", token)
    root = xml(r)
    assert root.tag == "{%s}BackupServers" % NS
    for s in root:
        assert [lname(c) for c in s] == ["Links", "Description", "Port", "Version", "WcfPort",
                                         "VbrCertificateThumbprint"]
        assert s.findtext("e:Port", namespaces=N) == "9392"
        assert s.get("UID").startswith("urn:veeam:BackupServer:")
    sid = root[0].get("UID").rsplit(":", 1)[1]
    assert xml(em.req("GET", "/api/backupServers/" + sid, token)).tag == "{%s}EntityRef" % NS
    assert xml(em.req("GET", "/api/backupServers/%s?format=Entity" % sid, token)).tag == "{%s}BackupServer" % NS


def test_repositories(em, token):
    r = em.req("GET", "/api/repositories?format=Entity", token)
    root = xml(r)
    assert root.tag == "{%s}Repositories" % NS
    names = [(x.find("e:Links/e:Link[@Rel='Up']", N).get("Name"), x.get("Name")) for x in root]
    assert ("vbr01", "Default Backup Repository") in names and ("vbr02", "Default Backup Repository") in names
    assert ("vbr01", "Backup Volume 01") in names
    for x in root:
        assert [lname(c) for c in x] == ["Links", "Capacity", "FreeSpace", "Kind"]
        assert int(x.findtext("e:FreeSpace", namespaces=N)) <= int(x.findtext("e:Capacity", namespaces=N))
    rid = root[0].get("UID").rsplit(":", 1)[1]
    assert xml(em.req("GET", "/api/repositories/" + rid, token)).tag == "{%s}EntityRef" % NS
    sid = root[0].find("e:Links/e:Link[@Rel='Up']", N).get("Href").rsplit("/", 1)[1]
    r = em.req("GET", "/api/backupServers/%s/repositories" % sid, token)
    assert len(xml(r).findall("e:Ref", N)) == 2


def test_includes(em, token):
    jid = em.job_id("SQL Backup")
    r = em.req("GET", "/api/jobs/%s/includes" % jid, token)
    items = xml(r).findall("e:ObjectInJob", N)
    assert [i.findtext("e:Name", namespaces=N) for i in items] == ["sql01", "sql02"]
    href = items[0].get("Href")
    r = em.req("GET", em.url + href[len(ADVERTISED):], token)
    assert r.status_code == 200 and xml(r).findtext("e:Name", namespaces=N) == "sql01"


def test_generated_jobs_option(tmp_path):
    from conftest import Emu, start_emulator
    proc, url, ca = start_emulator(tmp_path, "--jobs", "5")
    try:
        e = Emu(url, ca, proc)
        names = [j["name"] for j in e.ctl("GET", "jobs").json()]
        assert ["Generated Job %04d" % i for i in range(1, 6)] == [n for n in names if n.startswith("Generated")]
        token, session_xml = e.login()
        r = e.req("GET", "/api/jobs?format=Entity", token)
        for job in xml(r):
            assert_schema_order(job, JOB)
    finally:
        proc.terminate()
        proc.wait(10)


def test_control_copy_gives_a_job_of_its_own(em, token):
    """The test-only copy: same entity but for id and name, listed and editable on its own."""
    src = em.job_id("SQL Backup")
    r = em.ctl("POST", "jobs/%s/copy" % src, json={"name": "SQL Backup copy"})
    assert r.status_code == 201, r.text
    new = r.json()["id"]
    assert new != src and em.jobs()[("vbr01", "SQL Backup copy")]["id"] == new
    a, b = em.raw(src), em.raw(new)
    assert b.get("Name") == "SQL Backup copy" and b.get("UID") == "urn:veeam:Job:" + new
    assert [c.tag for c in a.iter()] == [c.tag for c in b.iter()]
    assert em.req("GET", "/api/jobs/%s?format=Entity" % new, token).status_code == 200
    assert em.ctl("POST", "jobs/%s/copy" % src, json={"name": "SQL Backup copy"}).status_code == 409
    assert em.ctl("POST", "jobs/%s/copy" % src, json={}).status_code == 400
