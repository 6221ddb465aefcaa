"""How a write is answered: the put_answer switch, run triggers through OperationFinished, the CLI flags."""
import time

import pytest
from lxml import etree

from conftest import N, NS, start_emulator, xml

HDR = '<Job xmlns="%s" Type="Job" Name="x" UID="urn:veeam:Job:00000000-0000-0000-0000-000000000000">' % NS


def put(em, token, jid, inner):
    return em.put_job(token, jid, HDR + inner + "</Job>")


def test_put_answer_defaults_to_202_with_a_task(em, token):
    assert em.ctl("GET", "config").json()["put_answer"] == "202"
    r = put(em, token, em.job_id("SQL Backup"), "<Description>later</Description>")
    assert r.status_code == 202 and xml(r).tag == "{%s}Task" % NS


def test_put_answer_200_resource_is_done_at_once(em, token):
    em.config(put_answer="200-resource")
    jid = em.job_id("SQL Backup")
    r = put(em, token, jid, "<Description>at once</Description>")
    assert r.status_code == 200, r.text
    job = xml(r)
    assert job.tag == "{%s}Job" % NS and job.get("UID") == "urn:veeam:Job:" + jid
    assert job.findtext("e:Description", namespaces=N) == "at once"
    assert job.find("e:Links", N) is not None and job.findtext("e:JobType", namespaces=N) == "Backup"
    # stored before the answer, no task left behind for anyone to poll
    assert em.raw(jid).findtext("e:Description", namespaces=N) == "at once"
    assert xml(em.req("GET", "/api/tasks", token)).findall("e:Task", N) == []
    got = xml(em.req("GET", "/api/jobs/%s?format=Entity" % jid, token))
    assert etree.tostring(got, method="c14n2") == etree.tostring(job, method="c14n2")


def test_put_answer_200_empty_is_done_at_once(em, token):
    em.config(put_answer="200-empty")
    jid = em.job_id("SQL Backup")
    r = put(em, token, jid, "<Description>no body</Description>")
    assert r.status_code == 200 and r.content == b""
    assert em.raw(jid).findtext("e:Description", namespaces=N) == "no body"


@pytest.mark.parametrize("answer", ["200-empty", "200-resource"])
def test_put_answered_at_once_refuses_what_a_task_would_fail(em, token, answer):
    em.config(put_answer=answer)
    jid = em.job_id("SQL Backup")
    before = etree.tostring(em.raw(jid), method="c14n2")
    r = put(em, token, jid, "<JobScheduleOptions><Standart><OptionsPeriodically Enabled=\"true\"><Kind>Hours</Kind>"
                            "<FullPeriod>25</FullPeriod></OptionsPeriodically></Standart></JobScheduleOptions>")
    assert r.status_code == 400 and "FullPeriod" in xml(r).get("Message")
    assert etree.tostring(em.raw(jid), method="c14n2") == before
    assert em.ctl("PATCH", "config", json={"put_answer": "201"}).status_code == 400


def test_run_trigger_passes_through_operation_finished(em, token):
    em.config(session_seconds=5)
    jid = em.job_id("SQL Backup")
    r = em.req("POST", "/api/jobs/%s?action=start" % jid, token)
    assert r.status_code == 202
    href = em.url + "/api/tasks/" + xml(r).findtext("e:TaskId", namespaces=N)
    time.sleep(0.4)          # the ticker moves it out of Running even without a poll: the job starts
    t = xml(em.req("GET", href, token))
    assert t.findtext("e:State", namespaces=N) == "OperationFinished"
    assert t.find("e:Result", N).get("Success") == "true"
    assert t.findtext("e:Result/e:Message", namespaces=N) == "OperationFinished"
    assert [s["state"] for s in em.ctl("GET", "backup_sessions").json()] in (["Starting"], ["Working"])
    t, states = em.wait_task(token, href)       # task_opfinished_polls=1: the next poll shows Finished
    assert states == ["Finished"]
    assert t.findtext("e:Result/e:Message", namespaces=N) == 'Job "SQL Backup" triggered to start.'
    assert em.ctl("GET", "tasks").json()[-1]["history"] == ["Running", "OperationFinished", "Finished"]
    assert len(em.ctl("GET", "backup_sessions").json()) == 1


def test_cli_flags_set_the_switches(tmp_path):
    proc, url, ca = start_emulator(tmp_path, "--put-answer", "200-resource", "--task-delete", "ignore", tls=False)
    try:
        import requests
        cfg = requests.get(url + "/_emulator/config", timeout=5).json()
        assert (cfg["put_answer"], cfg["task_delete"]) == ("200-resource", "ignore")
    finally:
        proc.terminate()
        proc.wait(10)
