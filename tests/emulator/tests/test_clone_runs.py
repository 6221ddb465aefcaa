"""Job clone, job runs (start/stop/retry/sync) and backup/replica sessions."""

import time
import urllib.parse
from datetime import datetime, timedelta, timezone

import pytest

from conftest import ADVERTISED, NS, N, rebase, xml
from test_includes_inventory import includes, post_xml, run_task

REPO_RE = "urn:veeam:Repository:"


def repos(em, token):
    r = xml(em.req("GET", "/api/repositories", token))
    return {(x.find("e:Links/e:Link[@Rel='Up']", N).get("Name"), x.get("Name")): x.get("UID") for x in r}


def clone_body(kind, *children):
    inner = "".join("<%s>%s</%s>" % (k, v, k) for k, v in children)
    return '<JobCloneSpec xmlns="%s"><%s>%s</%s></JobCloneSpec>' % (NS, kind, inner, kind)


def clone(em, token, jid, body):
    return run_task(em, token, post_xml(em, token, "/api/jobs/%s?action=clone" % jid, body))


# ---------------------------------------------------------------- clone


def test_clone_backup_job(em, token):
    repo = repos(em, token)[("vbr01", "Backup Volume 01")]
    src = em.job_id("SQL Backup")
    t, ok, msg = clone(em, token, src, clone_body("BackupJobCloneInfo", ("JobName", "SQL Backup Clone"),
                                                  ("FolderName", "SQL Backup Clone"), ("RepositoryUid", repo)))
    assert ok and msg == "Ok" and t.findtext("e:Operation", namespaces=N) == "CloneJob"
    rel = t.find("e:Links/e:Link[@Rel='Related']", N)
    assert rel.get("Type") == "Job" and rel.get("Name") == "SQL Backup Clone"
    new = em.job_id("SQL Backup Clone")
    assert rel.get("Href") == ADVERTISED + "/api/jobs/%s?format=Entity" % new
    ent = xml(em.req("GET", rebase(rel.get("Href"), em), token))
    src_ent = xml(em.req("GET", "/api/jobs/%s?format=Entity" % src, token))
    assert ent.get("UID") == "urn:veeam:Job:" + new and ent.get("Name") == "SQL Backup Clone"
    for path in ("e:JobType", "e:Platform", "e:Description", "e:ScheduleEnabled",
                 "e:JobScheduleOptions/e:Standart/e:OptionsDaily/e:Time",
                 "e:JobInfo/e:BackupJobInfo/e:SimpleRetentionPolicy/e:RetainCycles"):
        assert ent.findtext(path, namespaces=N) == src_ent.findtext(path, namespaces=N), path
    assert ent.find("e:Links/e:Link[@Rel='Up']", N).get("Name") == "vbr01"
    inc = includes(em, token, new)
    assert set(inc) == {"sql01", "sql02"}
    old_ids = {o.findtext("e:ObjectInJobId", namespaces=N) for o in includes(em, token, src).values()}
    assert not old_ids & {o.findtext("e:ObjectInJobId", namespaces=N) for o in inc.values()}
    # deterministic id: same after reset + same clone
    em.ctl("POST", "reset")
    tok = em.login()[0]
    clone(em, tok, src, clone_body("BackupJobCloneInfo", ("JobName", "SQL Backup Clone"),
                                   ("FolderName", "f"), ("RepositoryUid", repo), ("Description", "copy")))
    assert em.job_id("SQL Backup Clone") == new
    ent = xml(em.req("GET", "/api/jobs/%s?format=Entity" % new, tok))
    assert ent.findtext("e:Description", namespaces=N) == "copy"


def test_clone_other_types(em, token):
    rp = repos(em, token)
    body = clone_body("ReplicaJobCloneInfo", ("JobName", "DC Replication 2"), ("VmSuffix", "_rep2"))
    ok = clone(em, token, em.job_id("DC Replication"), body)[1]
    assert ok
    assert em.jobs()[("vbr01", "DC Replication 2")]["job_type"] == "Replica"
    repo = rp[("vbr01", "Default Backup Repository")]
    ok = clone(em, token, em.job_id("Periodic Copy"),
               clone_body("BackupCopyJobCloneInfo", ("JobName", "Periodic Copy 2"), ("JobFileName", "pc2"),
                          ("RepositoryUid", repo)))[1]
    assert ok
    # the vendor example order for the immediate copy (JobName, Description, RepositoryUid, JobFileName)
    ok = clone(em, token, em.job_id("Immediate Copy"),
               clone_body("ImmediateBackupCopyJobCloneInfo", ("JobName", "IC 2"), ("Description", "d"),
                          ("RepositoryUid", repo), ("JobFileName", "ic2")))[1]
    assert ok
    ok = clone(em, token, em.job_id("Immediate Copy"),
               clone_body("ImmediateBackupCopyJobCloneInfo", ("JobName", "IC 3"), ("JobFileName", "ic3"),
                          ("RepositoryUid", repo)))[1]
    assert ok
    jobs = em.jobs()
    assert jobs[("vbr01", "IC 2")]["job_type"] == "ImmediateBackupCopy"
    assert jobs[("vbr01", "IC 2")]["meta"]["repository_uid"] == repo


def test_clone_task_failures(em, token):
    rp = repos(em, token)
    src = em.job_id("SQL Backup")
    good = rp[("vbr01", "Backup Volume 01")]
    other = rp[("vbr02", "Default Backup Repository")]
    cases = [
        (("x" * 51, good), "at most 50"),
        (("exchange backup", good), "already exists"),
        (("New Job", other), "was not found"),
        (("New Job", REPO_RE + "6b7f1c55-2f0a-4d0e-8d54-5a3c2d1e0f99"), "was not found"),
    ]
    before = len(em.jobs())
    for (name, repo), words in cases:
        dummy, ok, msg = clone(em, token, src, clone_body("BackupJobCloneInfo", ("JobName", name),
                                                          ("FolderName", "f"), ("RepositoryUid", repo)))
        assert not ok and words in msg, msg
    dummy, ok, msg = clone(em, token, src, clone_body("ReplicaJobCloneInfo", ("JobName", "R"), ("VmSuffix", "_r")))
    assert not ok and "does not match" in msg
    assert len(em.jobs()) == before
    # 50 characters is fine, and a name used on another server is fine
    assert clone(em, token, em.job_id("File Server Backup", "vbr02"),
                 clone_body("BackupJobCloneInfo", ("JobName", "SQL Backup"), ("FolderName", "f"),
                            ("RepositoryUid", other)))[1]
    assert clone(em, token, src, clone_body("BackupJobCloneInfo", ("JobName", "y" * 50), ("FolderName", "f"),
                                            ("RepositoryUid", good)))[1]


@pytest.mark.parametrize("body", [
    "<JobCloneSpec",
    '<JobCloneSpec xmlns="urn:x"><ReplicaJobCloneInfo><JobName>a</JobName><VmSuffix>b</VmSuffix>'
    '</ReplicaJobCloneInfo></JobCloneSpec>',
    '<CloneSpec xmlns="%s"/>' % NS,
    '<JobCloneSpec xmlns="%s"/>' % NS,
    clone_body("ReplicaJobCloneInfo", ("JobName", "a")),
    '<JobCloneSpec xmlns="%s"><ReplicaJobCloneInfo><JobName>a</JobName><VmSuffix>b</VmSuffix></ReplicaJobCloneInfo>'
    '<ReplicaJobCloneInfo><JobName>a</JobName><VmSuffix>b</VmSuffix></ReplicaJobCloneInfo></JobCloneSpec>' % NS,
    clone_body("BackupJobCloneInfo", ("FolderName", "f"), ("JobName", "a"), ("RepositoryUid", "u")),
])
def test_clone_400(em, token, body):
    r = post_xml(em, token, "/api/jobs/%s?action=clone" % em.job_id("DC Replication"), body)
    assert r.status_code == 400, r.text


def test_clone_unknown_children(em, token):
    jid = em.job_id("DC Replication")
    body = ('<JobCloneSpec xmlns="%s"><ReplicaJobCloneInfo><JobName>R2</JobName><VmSuffix>_r</VmSuffix><Extra/>'
            '</ReplicaJobCloneInfo></JobCloneSpec>' % NS)
    em.config(order_violation="reject")
    assert post_xml(em, token, "/api/jobs/%s?action=clone" % jid, body).status_code == 400
    em.config(order_violation="ignore")
    assert run_task(em, token, post_xml(em, token, "/api/jobs/%s?action=clone" % jid, body))[1]


# ---------------------------------------------------------------- runs


def action(em, token, jid, act):
    return run_task(em, token, em.req("POST", "/api/jobs/%s?action=%s" % (jid, act), token))


def sessions(em, token, jid, sub="backupSessions"):
    r = em.req("GET", "/api/jobs/%s/%s" % (jid, sub), token)
    assert r.status_code == 200
    return list(xml(r))


def entity(em, token, ref):
    r = em.req("GET", rebase(ref.find("e:Links/e:Link[@Rel='Alternate']", N).get("Href"), em), token)
    assert r.status_code == 200
    return xml(r)


def wait_stopped(em, token, ref, limit=10):
    deadline = time.time() + limit
    states = []
    while time.time() < deadline:
        e = entity(em, token, ref)
        st = e.findtext("e:State", namespaces=N)
        if not states or states[-1] != st:
            states.append(st)
        if st == "Stopped":
            return e, states
        time.sleep(0.05)
    raise AssertionError(states)


def test_start_creates_session(em, token):
    em.config(session_seconds=1.0)
    jid = em.job_id("SQL Backup")
    trigger = datetime.now(timezone.utc) - timedelta(seconds=1)
    t, ok, msg = action(em, token, jid, "start")
    assert ok and msg == 'Job "SQL Backup" triggered to start.' and t.findtext("e:Operation", namespaces=N) == "StartJob"
    refs = sessions(em, token, jid)
    assert len(refs) == 1 and refs[0].get("Type") == "BackupJobSessionReference"
    assert refs[0].get("Name").startswith("SQL Backup@")
    ent = entity(em, token, refs[0])
    assert ent.tag == "{%s}BackupJobSession" % NS
    sid = ent.get("UID").rsplit(":", 1)[1]
    assert ent.get("UID") == "urn:veeam:BackupJobSession:" + sid
    assert ent.findtext("e:Result", namespaces=N) == "None" and ent.find("e:EndTimeUTC", N) is None
    assert ent.findtext("e:State", namespaces=N) in ("Starting", "Working")
    rels = [(x.get("Rel"), x.get("Type")) for x in ent.find("e:Links", N)]
    assert ("Up", "BackupServerReference") in rels and ("Up", "JobReference") in rels
    assert "Stop" in [r for r, dummy in rels] and "Alternate" in [r for r, dummy in rels]
    # start while running fails
    dummy, ok, msg = action(em, token, jid, "start")
    assert not ok and "already running" in msg
    # query while running
    f = urllib.parse.quote('JobUid=="urn:veeam:Job:%s";CreationTime>="%s"' % (jid, trigger.strftime("%Y-%m-%dT%H:%M:%SZ")))
    res = xml(em.req("GET", "/api/query?type=BackupJobSession&format=Entities&sortDesc=CreationTime&pageSize=1"
                     "&filter=" + f, token))
    ents = res.find("e:Entities/e:BackupJobSessions", N)
    assert [e.get("UID") for e in ents] == [ent.get("UID")]
    done, states = wait_stopped(em, token, refs[0])
    assert states[-1] == "Stopped"
    names = [c.tag.rsplit("}", 1)[1] for c in done]
    assert names == ["Links", "JobUid", "JobName", "JobType", "CreationTimeUTC", "EndTimeUTC", "State", "Result",
                     "Progress", "IsRetry"]
    assert done.findtext("e:Result", namespaces=N) == "Success" and done.findtext("e:Progress", namespaces=N) == "100"
    assert done.findtext("e:JobType", namespaces=N) == "Backup" and done.findtext("e:IsRetry", namespaces=N) == "false"
    ctl = em.ctl("GET", "backup_sessions").json()
    assert [(s["id"], s["job_name"], s["state"], s["result"], s["is_retry"]) for s in ctl] == \
        [(sid, "SQL Backup", "Stopped", "Success", False)]
    res = xml(em.req("GET", "/api/query?type=BackupJobSession&filter=State==Stopped;Result==success", token))
    assert len(res.find("e:Refs", N)) == 1
    assert em.req("GET", "/api/backupSessions/%s?format=Entity" % sid, token).status_code == 200
    assert len(list(xml(em.req("GET", "/api/backupSessions", token)))) == 1


def test_failed_run_retry_and_results(em, token):
    em.config(session_seconds=0.2, session_result="Warning")
    jid = em.job_id("Exchange Backup")
    dummy, ok, msg = action(em, token, jid, "retry")
    assert not ok and "did not fail" in msg
    em.ctl("POST", "faults", json={"next_session_result": "Failed"})
    assert action(em, token, jid, "start")[1]
    e, dummy = wait_stopped(em, token, sessions(em, token, jid)[0])
    assert e.findtext("e:Result", namespaces=N) == "Failed" and e.findtext("e:FailureMessage", namespaces=N)
    dummy, ok, msg = action(em, token, jid, "retry")
    assert ok and msg == 'Job "Exchange Backup" triggered to retry.'
    refs = sessions(em, token, jid)
    assert len(refs) == 2
    e, dummy = wait_stopped(em, token, refs[0])          # newest first
    assert e.findtext("e:IsRetry", namespaces=N) == "true" and e.findtext("e:Result", namespaces=N) == "Warning"
    assert not action(em, token, jid, "retry")[1]


def test_stop(em, token):
    em.config(session_seconds=30)
    jid = em.job_id("DC Replication")
    dummy, ok, msg = action(em, token, jid, "stop")
    assert not ok and "not running" in msg
    assert action(em, token, jid, "start")[1]
    assert sessions(em, token, jid) == []
    refs = sessions(em, token, jid, "replicaSessions")
    assert len(refs) == 1 and refs[0].get("Type") == "ReplicaJobSessionReference"
    dummy, ok, msg = action(em, token, jid, "stop")
    assert ok and msg == 'Job "DC Replication" triggered to stop.'
    e, dummy = wait_stopped(em, token, refs[0], limit=5)
    assert e.tag == "{%s}ReplicaJobSession" % NS
    assert e.findtext("e:Result", namespaces=N) == "Failed"
    assert e.findtext("e:FailureMessage", namespaces=N) == "Job has been stopped by user"
    res = xml(em.req("GET", "/api/query?type=ReplicaJobSession&format=Entities&filter=JobName==\"DC Replication\"",
                     token))
    assert len(res.find("e:Entities/e:ReplicaJobSessions", N)) == 1
    # session stop route
    assert action(em, token, jid, "start")[1]
    sid = sessions(em, token, jid, "replicaSessions")[0].get("UID").rsplit(":", 1)[1]
    r = em.req("POST", "/api/replicaSessions/%s?action=stop" % sid, token)
    t, ok, msg = run_task(em, token, r)
    assert ok and t.findtext("e:Operation", namespaces=N) == "StopJobSession" and msg.startswith('Job Session "DC Replication@')
    time.sleep(0.7)
    assert em.ctl("GET", "backup_sessions").json()[-1]["state"] == "Stopped"
    assert not run_task(em, token, em.req("POST", "/api/replicaSessions/%s?action=stop" % sid, token))[1]
    assert em.req("POST", "/api/replicaSessions/%s?action=pause" % sid, token).status_code == 400
    assert em.req("GET", "/api/backupSessions/%s" % sid, token).status_code == 404


def test_backup_session_stop_route(em, token):
    em.config(session_seconds=30)
    jid = em.job_id("SQL Backup")
    assert action(em, token, jid, "start")[1]
    sid = sessions(em, token, jid)[0].get("UID").rsplit(":", 1)[1]
    ok = run_task(em, token, em.req("POST", "/api/backupSessions/%s?action=stop" % sid, token))[1]
    assert ok
    e = wait_stopped(em, token, sessions(em, token, jid)[0], limit=5)[0]
    assert e.findtext("e:Result", namespaces=N) == "Failed"


def test_wrong_type_actions_and_sync(em, token):
    em.config(session_seconds=0.2)
    dummy, ok, msg = action(em, token, em.job_id("Periodic Copy"), "start")
    assert not ok and "use sync" in msg
    dummy, ok, msg = action(em, token, em.job_id("SQL Backup"), "sync")
    assert not ok and "not a backup copy job" in msg
    jid = em.job_id("Immediate Copy")
    t, ok, msg = action(em, token, jid, "sync")
    assert ok and t.findtext("e:Operation", namespaces=N) == "StartJobSync"
    e, dummy = wait_stopped(em, token, sessions(em, token, jid)[0])
    assert e.findtext("e:JobType", namespaces=N) == "ImmediateBackupCopy"
    assert em.ctl("GET", "tasks").json()[-1]["operation"] == "StartJobSync"


def test_trigger_completes_without_polling(em, token):
    em.config(session_seconds=5, task_running_seconds=2)
    jid = em.job_id("SQL Backup")
    assert em.req("POST", "/api/jobs/%s?action=start" % jid, token).status_code == 202
    deadline = time.time() + 5
    while time.time() < deadline and not em.ctl("GET", "backup_sessions").json():
        time.sleep(0.1)
    assert em.ctl("GET", "backup_sessions").json()[0]["state"] in ("Starting", "Working")


def test_session_config_validation(em):
    assert em.ctl("PATCH", "config", json={"session_result": "Bad"}).status_code == 400
    assert em.ctl("PATCH", "config", json={"session_seconds": -1}).status_code == 400
    assert em.ctl("POST", "faults", json={"next_session_result": "Nope"}).status_code == 400
