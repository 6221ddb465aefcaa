"""PUT /jobs/{id}: strict values, order handling, merge readings, tasks, failures and faults."""

import time

import pytest
from lxml import etree

from conftest import N, NS, rebase, xml

HDR = '<Job xmlns="%s" Type="Job" Name="x" UID="urn:veeam:Job:00000000-0000-0000-0000-000000000000">' % NS


def body(inner):
    return HDR + inner + "</Job>"


def c14n(el):
    return etree.tostring(el, method="c14n2")


def strip(el, *paths):
    el = etree.fromstring(etree.tostring(el))
    for p in paths:
        for x in el.xpath(p, namespaces=N):
            x.getparent().remove(x)
    return el


def edit(em, token, jid, inner, **kw):
    r = em.put_job(token, jid, body(inner), **kw)
    assert r.status_code == 202, r.text
    t = xml(r)
    assert t.findtext("e:State", namespaces=N) == "Running"
    assert t.findtext("e:Operation", namespaces=N) == "EditJob"
    assert t.find("e:Result", N) is None
    href = t.get("Href")
    return em.url + href[href.index("/api/"):]


def run(em, token, jid, inner, **kw):
    return em.wait_task(token, edit(em, token, jid, inner, **kw))


RETRY5 = "<JobScheduleOptions><Standart><RetryOptions><RetryTimes>5</RetryTimes></RetryOptions></Standart>" \
         "</JobScheduleOptions>"


@pytest.mark.parametrize("mode", ["deep", "replace"])
def test_partial_put_changes_only_what_was_sent(em, token, mode):
    em.config(merge=mode)
    for name in ("SQL Backup", "DC Replication", "Periodic Copy"):
        jid = em.job_id(name)
        before = em.raw(jid)
        task, states = run(em, token, jid, "<Description>changed</Description>")
        assert task.find("e:Result", N).get("Success") == "true"
        assert task.findtext("e:Result/e:Message", namespaces=N) == "Ok"
        after = em.raw(jid)
        assert after.findtext("e:Description", namespaces=N) == "changed"
        assert c14n(strip(before, "e:Description")) == c14n(strip(after, "e:Description"))


def test_deep_leaf_partial_keeps_siblings(em, token):
    jid = em.job_id("SQL Backup")
    before = em.raw(jid)
    run(em, token, jid, RETRY5)
    after = em.raw(jid)
    ro = "e:JobScheduleOptions/e:Standart/e:RetryOptions"
    assert after.findtext(ro + "/e:RetryTimes", namespaces=N) == "5"
    assert after.findtext(ro + "/e:RetryTimeout", namespaces=N) == before.findtext(ro + "/e:RetryTimeout", namespaces=N)
    assert c14n(strip(before, ro + "/e:RetryTimes")) == c14n(strip(after, ro + "/e:RetryTimes"))


def test_replace_reading_drops_unsent_children(em, token):
    em.config(merge="replace")
    jid = em.job_id("SQL Backup")
    run(em, token, jid, RETRY5)
    ro = em.raw(jid).find("e:JobScheduleOptions/e:Standart/e:RetryOptions", N)
    assert [c.tag.split("}")[1] for c in ro] == ["RetryTimes"]
    # siblings outside the sent block are untouched
    assert em.raw(jid).find("e:JobScheduleOptions/e:Standart/e:OptionsDaily", N).get("Enabled") == "true"


def test_lists_replace_and_empty_wrapper(em, token):
    jid = em.job_id("SQL Backup")
    inner = ("<JobScheduleOptions><Standart><OptionsDaily Enabled=\"true\"><Kind>SelectedDays</Kind>"
             "<Days>Monday</Days><Days>Friday</Days></OptionsDaily></Standart></JobScheduleOptions>"
             "<JobInfo><BackupJobInfo><GuestProcessingOptions><WindowsGuestFSIndexingOptions>"
             "<FileSystemIndexingMode>EveryFolders</FileSystemIndexingMode><IncludedIndexingFolders/>"
             "<ExcludedIndexingFolders/></WindowsGuestFSIndexingOptions></GuestProcessingOptions>"
             "</BackupJobInfo></JobInfo>")
    task, states = run(em, token, jid, inner)
    assert task.find("e:Result", N).get("Success") == "true"
    raw = em.raw(jid)
    assert [d.text for d in raw.findall(".//e:Standart/e:OptionsDaily/e:Days", N)] == ["Monday", "Friday"]
    assert raw.findtext(".//e:Standart/e:OptionsDaily/e:Time", namespaces=N) == "22:00:00.0000000+01:00"
    win = raw.find("e:JobInfo/e:BackupJobInfo/e:GuestProcessingOptions/e:WindowsGuestFSIndexingOptions", N)
    assert len(win.find("e:ExcludedIndexingFolders", N)) == 0


@pytest.mark.parametrize("absent,expected", [("keep", "true"), ("false", "false")])
def test_absent_bool(em, token, absent, expected):
    em.config(absent_bool=absent)
    jid = em.job_id("SQL Backup")
    run(em, token, jid, "<JobScheduleOptions><Standart><OptionsDaily><Time>21:00:00.0000000+01:00</Time>"
                        "</OptionsDaily></Standart></JobScheduleOptions>")
    daily = em.raw(jid).find(".//e:Standart/e:OptionsDaily", N)
    assert daily.get("Enabled") == expected
    assert daily.findtext("e:Time", namespaces=N) == "21:00:00.0000000+01:00"


MISORDERED = ("<JobScheduleOptions><Standart><OptionsDaily Enabled=\"true\"><Time>20:00:00.0000000+01:00</Time>"
              "<Kind>WeekDays</Kind></OptionsDaily></Standart></JobScheduleOptions>")


def test_misordered_dropped_in_ignore_mode(em, token):
    jid = em.job_id("SQL Backup")
    task, states = run(em, token, jid, "<ScheduleEnabled>false</ScheduleEnabled><Description>late</Description>"
                       + MISORDERED + "<Bogus>1</Bogus>")
    assert task.find("e:Result", N).get("Success") == "true"
    raw = em.raw(jid)
    assert raw.findtext("e:Description", namespaces=N) == "Nightly backup of the SQL servers"
    assert raw.findtext("e:ScheduleEnabled", namespaces=N) == "false"
    assert raw.find("e:NextRun", N) is None
    assert raw.findtext(".//e:OptionsDaily/e:Time", namespaces=N) == "20:00:00.0000000+01:00"
    assert raw.findtext(".//e:OptionsDaily/e:Kind", namespaces=N) == "Everyday"
    dropped = em.ctl("GET", "dropped").json()
    paths = {d["path"]: d["reason"] for d in dropped["items"]}
    assert dropped["job_id"] == jid
    assert "out of order" in paths["Job/Description"]
    assert "out of order" in paths["Job/JobScheduleOptions/Standart/OptionsDaily/Kind"]
    assert paths["Job/Bogus"] == "unknown element"


def test_misordered_rejected_in_reject_mode(em, token):
    em.config(order_violation="reject")
    jid = em.job_id("SQL Backup")
    before = em.raw(jid)
    r = em.put_job(token, jid, body(MISORDERED))
    assert r.status_code == 400
    assert "OptionsDaily/Kind" in xml(r).get("Message")
    r = em.put_job(token, jid, body("<Bogus/>"))
    assert r.status_code == 400
    assert c14n(before) == c14n(em.raw(jid))
    # read-only elements are ignored, not rejected
    r = em.put_job(token, jid, body("<JobType>Backup</JobType><Description>ro ok</Description>"))
    assert r.status_code == 202


@pytest.mark.parametrize("inner,needle", [
    ("<ScheduleEnabled>True</ScheduleEnabled>", "ScheduleEnabled"),
    ("<ScheduleEnabled>yes</ScheduleEnabled>", "ScheduleEnabled"),
    (RETRY5.replace(">5<", ">five<"), "RetryTimes"),
    (RETRY5.replace(">5<", ">99999999999999999999<"), "RetryTimes"),     # beyond Int64
    ("<JobScheduleOptions><Standart><OptionsMonthly Enabled=\"false\"><DayOfMonth>99999999999</DayOfMonth>"
     "</OptionsMonthly></Standart></JobScheduleOptions>", "DayOfMonth"),        # Int: beyond Int32
    ("<JobScheduleOptions><Standart><OptionsDaily Enabled=\"true\"><Kind>everyday</Kind></OptionsDaily>"
     "</Standart></JobScheduleOptions>", "Kind"),
    ("<JobScheduleOptions><Standart><OptionsDaily Enabled=\"yes\"/></Standart></JobScheduleOptions>", "Enabled"),
    ("<JobScheduleOptions><Standart><OptionsDaily Enabled=\"true\"><Days>monday</Days></OptionsDaily>"
     "</Standart></JobScheduleOptions>", "Days"),
    ("<JobScheduleOptions><Standart><OptionsDaily Enabled=\"true\"><Time>25:00</Time></OptionsDaily>"
     "</Standart></JobScheduleOptions>", "Time"),
    ("<JobScheduleOptions><Standart><OptionsPeriodically Enabled=\"true\"><Schedule><Day Name=\"Monday\">1,0"
     "</Day></Schedule></OptionsPeriodically></Standart></JobScheduleOptions>", "Day"),
])
def test_bad_values_are_400(em, token, inner, needle):
    jid = em.job_id("SQL Backup")
    r = em.put_job(token, jid, body(inner))
    assert r.status_code == 400, r.text
    assert needle in xml(r).get("Message")


def test_bool_1_0_accepted(em, token):
    jid = em.job_id("SQL Backup")
    run(em, token, jid, "<ScheduleEnabled>0</ScheduleEnabled>")
    assert em.raw(jid).findtext("e:ScheduleEnabled", namespaces=N) == "false"


def test_request_level_400s(em, token):
    jid = em.job_id("SQL Backup")
    assert em.put_job(token, jid, body(RETRY5), action="?action=frobnicate").status_code == 400
    assert em.put_job(token, jid, body(RETRY5), ctype="text/plain").status_code == 400
    assert em.put_job(token, jid, "not xml").status_code == 400
    assert em.put_job(token, jid, "<Job><Description>x</Description></Job>").status_code == 400
    assert em.put_job(token, jid, '<Task xmlns="%s"/>' % NS).status_code == 400
    doctype = '<!DOCTYPE Job [<!ENTITY x "y">]>' + body("<Description>&x;</Description>")
    assert em.put_job(token, jid, doctype).status_code == 400
    assert em.put_job(token, "00000000-0000-0000-0000-000000000001", body(RETRY5)).status_code == 404
    # without ?action=edit is accepted too
    assert em.put_job(token, jid, body(RETRY5), action="").status_code == 202


def test_task_progression_and_commit_at_finished(em, token):
    em.config(task_running_seconds=0.0, task_running_polls=2, task_opfinished_polls=2)
    jid = em.job_id("SQL Backup")
    href = edit(em, token, jid, "<Description>after</Description>")
    states = []
    for attempt in range(6):
        t = xml(em.req("GET", href, token))
        st = t.findtext("e:State", namespaces=N)
        states.append(st)
        desc = em.raw(jid).findtext("e:Description", namespaces=N)
        if st != "Finished":
            assert desc == "Nightly backup of the SQL servers"
            if st == "OperationFinished":
                assert t.find("e:Result", N).get("Success") == "true"
        else:
            assert desc == "after"
    assert states == ["Running", "Running", "OperationFinished", "OperationFinished", "Finished", "Finished"]


def test_time_based_running(em, token):
    em.config(task_running_seconds=0.6, task_opfinished_polls=0)
    jid = em.job_id("SQL Backup")
    href = edit(em, token, jid, "<Description>t</Description>")
    assert xml(em.req("GET", href, token)).findtext("e:State", namespaces=N) == "Running"
    time.sleep(0.7)
    assert xml(em.req("GET", href, token)).findtext("e:State", namespaces=N) == "Finished"


def test_tasks_are_per_session(em, token):
    jid = em.job_id("SQL Backup")
    href = edit(em, token, jid, "<Description>a</Description>")
    assert href.endswith("/api/tasks/task-1")
    other, session_xml = em.login()
    assert em.req("GET", href, other).status_code == 404
    assert len(xml(em.req("GET", "/api/tasks", other))) == 0
    assert len(xml(em.req("GET", "/api/tasks", token))) == 1
    href2 = edit(em, other, jid, "<Description>b</Description>")
    assert href2.endswith("/api/tasks/task-1")
    res = xml(em.req("GET", "/api/query?type=Task&filter=State==Running", token))
    assert [t.findtext("e:TaskId", namespaces=N) for t in res.find("e:Resources/e:Tasks", N)] == ["task-1"]


def test_delete_task_204_ignore_the_change_still_completes(em, token):
    em.config(task_delete="ignore")
    jid = em.job_id("SQL Backup")
    href = edit(em, token, jid, "<Description>deleted task</Description>")
    r = em.req("DELETE", href, token)
    assert r.status_code == 204
    assert em.req("GET", href, token).status_code == 404
    time.sleep(0.6)
    assert em.raw(jid).findtext("e:Description", namespaces=N) == "deleted task"


def test_delete_task_204_cancel_stops_a_running_task(em, token):
    assert em.ctl("GET", "config").json()["task_delete"] == "cancel"      # the documented reading is the default
    jid = em.job_id("SQL Backup")
    before = em.raw(jid)
    href = edit(em, token, jid, "<Description>cancelled</Description>")
    assert em.req("DELETE", href, token).status_code == 204
    assert em.req("GET", href, token).status_code == 404
    time.sleep(0.6)
    assert c14n(em.raw(jid)) == c14n(before)
    rec = em.ctl("GET", "tasks").json()[-1]
    assert (rec["state"], rec["success"], rec["cancelled"], rec["deleted"]) == ("Finished", False, True, True)
    assert em.ctl("PATCH", "config", json={"task_delete": "stop"}).status_code == 400


def test_delete_task_cancel_after_running_the_change_completes(em, token):
    jid = em.job_id("SQL Backup")
    href = edit(em, token, jid, "<Description>past running</Description>")
    time.sleep(0.25)
    t = xml(em.req("GET", href, token))
    assert t.findtext("e:State", namespaces=N) == "OperationFinished"
    assert em.req("DELETE", href, token).status_code == 204
    time.sleep(0.3)
    assert em.raw(jid).findtext("e:Description", namespaces=N) == "past running"
    assert em.ctl("GET", "tasks").json()[-1]["cancelled"] is False


def test_int64_fields_parse_as_int64(em, token):
    """RetryTimes is Int64 on the v13 pages: a value past Int32 parses, and the range check fails the task."""
    jid = em.job_id("SQL Backup")
    before = em.raw(jid)
    task, dummy = run(em, token, jid, RETRY5.replace(">5<", ">99999999999<"))
    assert task.find("e:Result", N).get("Success") == "false"
    assert "RetryTimes" in task.findtext("e:Result/e:Message", namespaces=N)
    assert c14n(em.raw(jid)) == c14n(before)
    r = em.put_job(token, jid, body(RETRY5.replace(">5<", ">9223372036854775808<")))
    assert r.status_code == 400 and "Int64" in xml(r).get("Message")


@pytest.mark.parametrize("inner,needle", [
    ("<JobScheduleOptions><Standart><OptionsPeriodically Enabled=\"true\"><Kind>Hours</Kind>"
     "<FullPeriod>25</FullPeriod></OptionsPeriodically></Standart></JobScheduleOptions>", "FullPeriod"),
    (RETRY5.replace(">5<", ">0<"), "RetryTimes"),
    ("<JobScheduleOptions><Standart><OptionsDaisyChaining Enabled=\"true\"><PreviousJobUid>"
     "urn:veeam:Job:11111111-2222-3333-4444-555555555555</PreviousJobUid></OptionsDaisyChaining></Standart>"
     "</JobScheduleOptions>", "previous job"),
    ("<JobScheduleOptions><ImmediateCopyMode><OptionsContinuous Enabled=\"true\"/></ImmediateCopyMode>"
     "</JobScheduleOptions>", "ImmediateCopyMode"),
    ("<JobInfo><BackupJobInfo><SimpleRetentionPolicy><RetainCycles>0</RetainCycles></SimpleRetentionPolicy>"
     "</BackupJobInfo></JobInfo>", "RetainCycles"),
    ("<JobInfo><ReplicaJobInfo><GuestProcessingOptions/></ReplicaJobInfo></JobInfo>", "ReplicaJobInfo"),
])
def test_range_errors_fail_the_task(em, token, inner, needle):
    jid = em.job_id("SQL Backup")
    before = em.raw(jid)
    task, states = run(em, token, jid, inner)
    assert states[-1] == "Finished"
    res = task.find("e:Result", N)
    assert res.get("Success") == "false"
    assert needle in res.findtext("e:Message", namespaces=N)
    assert c14n(before) == c14n(em.raw(jid))


def test_fail_next_task_fault(em, token):
    em.ctl("POST", "faults", json={"fail_next_task": "Injected failure"})
    jid = em.job_id("SQL Backup")
    before = em.raw(jid)
    task, states = run(em, token, jid, "<Description>nope</Description>")
    assert task.find("e:Result", N).get("Success") == "false"
    assert task.findtext("e:Result/e:Message", namespaces=N) == "Injected failure"
    assert c14n(before) == c14n(em.raw(jid))
    task, states = run(em, token, jid, "<Description>yes</Description>")    # one-off
    assert task.find("e:Result", N).get("Success") == "true"


def test_fail_job_tasks_and_never_finishes(em, token):
    jid = em.job_id("SQL Backup")
    em.ctl("POST", "faults", json={"fail_job_tasks": {jid: "job is locked"}})
    task, states = run(em, token, jid, "<Description>x</Description>")
    assert task.findtext("e:Result/e:Message", namespaces=N) == "job is locked"
    em.ctl("DELETE", "faults")
    # by operation: every EditJob fails, other operations do not; null removes it
    em.ctl("POST", "faults", json={"fail_operation_tasks": {"EditJob": "edits are frozen"}})
    task, states = run(em, token, jid, "<Description>x</Description>")
    assert task.findtext("e:Result/e:Message", namespaces=N) == "edits are frozen"
    start = xml(em.req("POST", "/api/jobs/%s?action=start" % jid, token))
    done, states = em.wait_task(token, rebase(start.get("Href"), em))
    assert done.find("e:Result", N).get("Success") == "true"
    assert em.ctl("POST", "faults", json={"fail_operation_tasks": {"EditJob": None}}).json()["fail_operation_tasks"] == {}
    assert em.ctl("POST", "faults", json={"fail_operation_tasks": ["EditJob"]}).status_code == 400
    em.ctl("POST", "faults", json={"task_never_finishes": True})
    href = edit(em, token, jid, "<Description>x</Description>")
    time.sleep(0.4)
    for attempt in range(3):
        assert xml(em.req("GET", href, token)).findtext("e:State", namespaces=N) == "Running"


def test_http_fault_503_with_retry_after(em, token):
    em.ctl("POST", "faults", json={"http": {"method": "GET", "path": "^/api/jobs$", "status": 503,
                                            "retry_after": 2}})
    r = em.req("GET", "/api/jobs", token)
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    assert em.req("GET", "/api/jobs", token).status_code == 200


def test_guest_processing_and_retention_edit(em, token):
    jid = em.job_id("SQL Backup")
    inner = ("<JobInfo><BackupJobInfo><GuestProcessingOptions><VssSnapshotOptions>"
             "<VssSnapshotMode>IgnoreFailures</VssSnapshotMode><IsCopyOnly>true</IsCopyOnly></VssSnapshotOptions>"
             "</GuestProcessingOptions><GfsRetentionPolicy Enabled=\"false\"/><SimpleRetentionPolicy>"
             "<RetainCycles>30</RetainCycles></SimpleRetentionPolicy></BackupJobInfo></JobInfo>")
    task, states = run(em, token, jid, inner)
    assert task.find("e:Result", N).get("Success") == "true"
    bji = em.raw(jid).find("e:JobInfo/e:BackupJobInfo", N)
    assert bji.findtext("e:GuestProcessingOptions/e:VssSnapshotOptions/e:VssSnapshotMode",
                        namespaces=N) == "IgnoreFailures"
    assert bji.find("e:GfsRetentionPolicy", N).get("Enabled") == "false"
    assert bji.findtext("e:GfsRetentionPolicy/e:Weekly/e:RetentionPeriod", namespaces=N) == "2"
    assert bji.findtext("e:SimpleRetentionPolicy/e:RetainCycles", namespaces=N) == "30"
    assert bji.findtext("e:SimpleRetentionPolicy/e:RetainLimitType", namespaces=N) == "Cycles"


def test_immediate_copy_edit(em, token):
    jid = em.job_id("Immediate Copy")
    task, states = run(em, token, jid, "<JobScheduleOptions><ImmediateCopyMode><OptionsContinuous Enabled=\"false\"/>"
                                       "</ImmediateCopyMode></JobScheduleOptions>")
    assert task.find("e:Result", N).get("Success") == "true"
    oc = em.raw(jid).find(".//e:ImmediateCopyMode/e:OptionsContinuous", N)
    assert oc.get("Enabled") == "false" and len(oc.findall("e:Schedule/e:Day", N)) == 7
    task, states = run(em, token, jid, RETRY5)
    assert task.find("e:Result", N).get("Success") == "false"


def test_out_of_band_xml_replace(em, token):
    jid = em.job_id("Exchange Backup")
    raw = em.ctl("GET", "jobs/%s/xml" % jid).text
    r = em.ctl("PUT", "jobs/%s/xml" % jid, data=raw.replace("Exchange mailbox servers", "drifted").encode())
    assert r.status_code == 200
    r = em.req("GET", "/api/jobs/%s?format=Entity" % jid, token)
    assert xml(r).findtext("e:Description", namespaces=N) == "drifted"
