"""Fault injection (POST /_emulator/faults, sessions/expire, out-of-band job changes), seen from an HTTP client."""

import time

import pytest
import requests
from lxml import etree

from conftest import N, NS, rebase, xml

JOBS = "^/api/jobs$"
HDR = '<Job xmlns="%s" Type="Job" Name="x" UID="urn:veeam:Job:00000000-0000-0000-0000-000000000000">' % NS
RETRY7 = ("<JobScheduleOptions><Standart><RetryOptions><RetryTimes>7</RetryTimes></RetryOptions></Standart>"
          "</JobScheduleOptions>")
DOCTYPE_ATTACK = ('<?xml version="1.0" encoding="utf-8"?>\n'
                  '<!DOCTYPE EntityReferences [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
                  '<EntityReferences xmlns="%s"><Ref Name="&xxe;"/></EntityReferences>' % NS)


def fault(em, *rules):
    r = em.ctl("POST", "faults", json={"http": list(rules)})
    assert r.status_code == 200, r.text
    return r.json()


def description(em, jid):
    return em.raw(jid).findtext("e:Description", namespaces=N)


def put_description(em, token, jid, text, **kw):
    return em.req("PUT", "/api/jobs/%s?action=edit" % jid, token, headers={"Content-Type": "application/xml"},
                  data=(HDR + "<Description>%s</Description></Job>" % text).encode(), **kw)


def wait_for(what, limit=5.0):
    deadline = time.time() + limit
    while time.time() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met within %ss" % limit)


def log_entries(em, path):
    return [e for e in em.ctl("GET", "log").json() if e["path"] == path]


# ---------------------------------------------------------------------------- status (+ Retry-After)


@pytest.mark.parametrize("status,retry_after", [(502, None), (503, 2), (429, "7")])
def test_status_on_the_nth_request_only_count_times(em, token, status, retry_after):
    rule = {"method": "GET", "path": JOBS, "action": "status", "status": status, "skip": 1, "count": 2}
    if retry_after is not None:
        rule["retry_after"] = retry_after
    fault(em, rule)
    seen = []
    for attempt in range(4):
        r = em.req("GET", "/api/jobs", token)
        seen.append(r.status_code)
        if r.status_code == status:
            err = xml(r)
            assert err.tag == "{%s}Error" % NS and err.get("StatusCode") == str(status)
            assert r.headers["Content-Type"].startswith("application/xml")
            if retry_after is None:
                assert "Retry-After" not in r.headers
            else:
                assert r.headers["Retry-After"] == str(retry_after)
        # requests the rule does not match are neither faulted nor counted
        assert em.req("GET", "/api/backupServers", token).status_code == 200
    assert seen == [200, status, status, 200]
    assert em.ctl("GET", "faults").json()["http"] == []
    assert [e["fault"] for e in log_entries(em, "/api/jobs")] == [None, "status", "status", None]


def test_status_until_cleared_and_json_clients(em, token):
    fault(em, {"path": JOBS, "status": 503, "count": None, "message": "EM is restarting"})
    for attempt in range(3):
        r = em.req("GET", "/api/jobs", token, headers={"Accept": "application/json"})
        assert r.status_code == 503 and r.json()["Message"] == "EM is restarting"
    em.ctl("DELETE", "faults")
    assert em.req("GET", "/api/jobs", token).status_code == 200


def test_status_after_applies_the_write(em, token):
    jid = em.job_id("SQL Backup")
    fault(em, {"method": "PUT", "path": "^/api/jobs/", "action": "status", "status": 502, "when": "after"})
    r = put_description(em, token, jid, "applied behind a 502")
    assert r.status_code == 502
    # EM carried on: the task exists and completes without being polled
    wait_for(lambda: description(em, jid) == "applied behind a 502")
    tasks = em.ctl("GET", "tasks").json()
    assert [(t["operation"], t["background"], t["success"]) for t in tasks] == [("EditJob", True, True)]


def test_rule_validation(em):
    for bad in ({"action": "explode"}, {"when": "later"}, {"skip": -1}, {"count": "2"}, {"path": "("},
                {"action": "stall", "seconds": "soon"}, {"action": "override", "headers": ["X"]}):
        r = em.ctl("POST", "faults", json={"http": bad})
        assert r.status_code == 400, bad
    assert em.ctl("GET", "faults").json()["http"] == []


# ---------------------------------------------------------------------------- reset


def test_reset_before_the_request_is_applied(em, token):
    jid = em.job_id("SQL Backup")
    before = etree.tostring(em.raw(jid), method="c14n2")
    fault(em, {"method": "PUT", "path": "^/api/jobs/", "action": "reset", "when": "before"})
    with pytest.raises(requests.exceptions.ConnectionError):
        put_description(em, token, jid, "never applied")
    time.sleep(0.4)                                    # longer than a task would need
    assert etree.tostring(em.raw(jid), method="c14n2") == before
    assert em.ctl("GET", "tasks").json() == []
    assert [(e["status"], e["fault"]) for e in log_entries(em, "/api/jobs/" + jid)] == [(None, "reset")]
    # one-off: the same write now goes through
    assert put_description(em, token, jid, "second try").status_code == 202


def test_reset_after_the_request_is_applied(em, token):
    jid = em.job_id("SQL Backup")
    fault(em, {"method": "PUT", "path": "^/api/jobs/", "action": "reset", "when": "after"})
    with pytest.raises(requests.exceptions.ConnectionError):
        put_description(em, token, jid, "applied, answer lost")
    # the task exists in the caller's session ...
    listed = xml(em.req("GET", "/api/tasks", token))
    assert [t.findtext("e:Operation", namespaces=N) for t in listed.findall(".//e:Task", N)] == ["EditJob"]
    # ... and the job changes although nobody polls it
    wait_for(lambda: description(em, jid) == "applied, answer lost")
    task = em.ctl("GET", "tasks").json()[0]
    assert task["state"] == "Finished" and task["success"] is True and task["background"] is True


# ---------------------------------------------------------------------------- stall


def test_stall_past_a_client_read_timeout(em, token):
    fault(em, {"method": "GET", "path": JOBS, "action": "stall", "seconds": 0.8})
    with pytest.raises(requests.exceptions.ReadTimeout):
        em.req("GET", "/api/jobs", token, timeout=(5, 0.3))
    assert log_entries(em, "/api/jobs") == []          # still stalled when the client gave up
    # the stalled request is still handled afterwards (and logged then)
    wait_for(lambda: [e["status"] for e in log_entries(em, "/api/jobs")] == [200])
    assert em.req("GET", "/api/jobs", token, timeout=(5, 0.3)).status_code == 200     # one-off


def test_a_request_stalled_across_a_reset_leaves_no_trace(em, token):
    fault(em, {"method": "GET", "path": JOBS, "action": "stall", "seconds": 0.8})
    with pytest.raises(requests.exceptions.ReadTimeout):
        em.req("GET", "/api/jobs", token, timeout=(5, 0.3))
    em.ctl("POST", "reset")
    time.sleep(1.2)                                      # the stall is over: the old request ended
    assert log_entries(em, "/api/jobs") == []            # ... without reaching the new state or its log


def test_stall_after_applies_before_the_client_gives_up(em, token):
    jid = em.job_id("HV Backup")
    fault(em, {"method": "PUT", "action": "stall", "seconds": 0.8, "when": "after"})
    with pytest.raises(requests.exceptions.ReadTimeout):
        put_description(em, token, jid, "applied while stalled", timeout=(5, 0.3))
    wait_for(lambda: description(em, jid) == "applied while stalled")
    wait_for(lambda: [e["status"] for e in log_entries(em, "/api/jobs/" + jid)] == [202])


# ---------------------------------------------------------------------------- drip


def test_slow_drip_body_defeats_a_read_timeout(em):
    normal = em.req("GET", "/api/jobs")                # the 401 Error document, ~180 bytes
    assert normal.status_code == 401
    size = len(normal.content)
    fault(em, {"path": JOBS, "action": "drip", "seconds_per_byte": 0.004})
    started = time.monotonic()
    r = em.req("GET", "/api/jobs", timeout=(5, 0.3), stream=True)
    first = r.raw.read(1)
    rest = r.raw.read()
    elapsed = time.monotonic() - started
    assert r.status_code == 401 and int(r.headers["Content-Length"]) == size
    assert first + rest == normal.content              # every byte arrives, unchanged ...
    assert elapsed >= size * 0.004 * 0.9 > 0.3         # ... slower in total than the read timeout


# ---------------------------------------------------------------------------- oversize


def test_oversize_body(em, token):
    fault(em, {"method": "GET", "path": JOBS, "action": "oversize", "mebibytes": 17},
          {"method": "GET", "path": "^/api/backupServers$", "action": "oversize", "mebibytes": 0.01})
    r = em.req("GET", "/api/jobs", token, stream=True)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/xml")
    assert int(r.headers["Content-Length"]) == 17 * 1024 * 1024 > 16 * 1024 * 1024
    received = 0
    for chunk in r.iter_content(1024 * 1024):
        if received == 0:
            assert chunk.startswith(b'<?xml version="1.0" encoding="utf-8"?><Jobs xmlns="%s">' % NS.encode())
        received += len(chunk)
        last = chunk
    assert received == 17 * 1024 * 1024 and last.endswith(b"</Jobs>")
    small = em.req("GET", "/api/backupServers", token)
    assert len(small.content) == int(0.01 * 1024 * 1024)
    doc = etree.fromstring(small.content)              # well-formed, many empty Job elements
    assert doc.tag == "{%s}Jobs" % NS and len(doc) > 1000
    assert xml(em.req("GET", "/api/jobs", token)).tag == "{%s}EntityReferences" % NS     # one-off


# ---------------------------------------------------------------------------- override


def test_override_next_response_once(em, token):
    fault(em, {"method": "GET", "path": JOBS, "action": "override", "body": DOCTYPE_ATTACK,
               "headers": {"X-Injected": "yes"}})
    r = em.req("GET", "/api/jobs", token)
    assert r.status_code == 200 and r.content == DOCTYPE_ATTACK.encode()
    assert r.headers["Content-Type"] == "application/xml; charset=utf-8" and r.headers["X-Injected"] == "yes"
    r = em.req("GET", "/api/jobs", token)
    assert b"DOCTYPE" not in r.content and xml(r).tag == "{%s}EntityReferences" % NS


def test_override_status_and_content_type(em, token):
    fault(em, {"path": JOBS, "action": "override", "status": 500, "body": "<html>proxy error</html>",
               "content_type": "text/html"})
    r = em.req("GET", "/api/jobs", token)
    assert r.status_code == 500 and r.headers["Content-Type"] == "text/html" and r.text == "<html>proxy error</html>"


def test_override_with_binary_body(em, token):
    """body_base64 sends bytes as they are: here a gzip bomb (1 GiB of zeros) under Content-Encoding gzip."""
    import base64
    import gzip
    import io
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb") as z:
        chunk = b"\0" * (1 << 20)
        for dummy in range(1024):
            z.write(chunk)
    bomb = raw.getvalue()
    assert len(bomb) < 2 * 1024 * 1024
    fault(em, {"method": "GET", "path": JOBS, "action": "override", "body_base64": base64.b64encode(bomb).decode(),
               "headers": {"Content-Encoding": "gzip"}})
    r = em.req("GET", "/api/jobs", token, stream=True)
    assert r.headers["Content-Encoding"] == "gzip" and r.raw.read(decode_content=False) == bomb
    for bad in ({"body_base64": "not base64!"}, {"body_base64": "AA==", "body": "x"}):
        rule = dict({"path": JOBS, "action": "override"}, **bad)
        assert em.ctl("POST", "faults", json={"http": rule}).status_code == 400


# ---------------------------------------------------------------------------- session expiry


def test_expire_sessions_now(em):
    first, first_xml = em.login()
    second, second_xml = em.login()
    sid = first_xml.findtext("e:SessionId", namespaces=N)
    assert em.ctl("POST", "sessions/expire", json={"session_id": sid}).json() == {"expired": [sid]}
    assert em.req("GET", "/api/jobs", first).status_code == 401
    assert em.req("GET", "/api/jobs", second).status_code == 200
    assert len(em.ctl("POST", "sessions/expire", json={}).json()["expired"]) == 2
    assert em.req("GET", "/api/jobs", second).status_code == 401
    assert em.req("GET", "/api/jobs", em.login()[0]).status_code == 200


def test_expire_session_after_the_next_request(em):
    token, session_xml = em.login()
    other, other_xml = em.login()
    fault(em, {"method": "GET", "path": "^/api/jobs/", "action": "expire_session", "when": "after"})
    assert em.req("GET", "/api/jobs", token).status_code == 200           # not matched
    jid = em.job_id("SQL Backup")
    assert em.req("GET", "/api/jobs/" + jid, token).status_code == 200    # matched: answered, then expired
    r = em.req("PUT", "/api/jobs/%s?action=edit" % jid, token, headers={"Content-Type": "application/xml"},
               data=(HDR + RETRY7 + "</Job>").encode())
    assert r.status_code == 401 and "expired" in xml(r).get("Message")
    assert em.req("GET", "/api/jobs/" + jid, other).status_code == 200    # one-off, other sessions live


def test_expire_session_before_the_request(em, token):
    fault(em, {"path": JOBS, "action": "expire_session"})
    assert em.req("GET", "/api/jobs", token).status_code == 401
    assert em.req("GET", "/api/jobs", em.login()[0]).status_code == 200


# ---------------------------------------------------------------------------- out-of-band change


@pytest.mark.parametrize("mode", ["deep", "replace"])
def test_out_of_band_change_between_get_and_put_is_kept(em, token, mode):
    em.config(merge=mode)
    jid = em.job_id("SQL Backup")
    seen = xml(em.req("GET", "/api/jobs/%s?format=Entity" % jid, token))          # the client reads the job
    assert seen.findtext("e:Description", namespaces=N) != "changed by someone else"
    raw = em.raw(jid)                                                               # someone edits it meanwhile
    raw.find("e:Description", N).text = "changed by someone else"
    r = em.ctl("PUT", "jobs/%s/xml" % jid, data=etree.tostring(raw))
    assert r.status_code == 200
    r = em.req("PUT", "/api/jobs/%s?action=edit" % jid, token, headers={"Content-Type": "application/xml"},
               data=(HDR + RETRY7 + "</Job>").encode())                         # the client's PUT: another block
    assert r.status_code == 202
    task, states = em.wait_task(token, rebase(xml(r).get("Href"), em))
    assert task.find("e:Result", N).get("Success") == "true"
    after = em.raw(jid)
    assert after.findtext("e:Description", namespaces=N) == "changed by someone else"
    assert after.findtext("e:JobScheduleOptions/e:Standart/e:RetryOptions/e:RetryTimes", namespaces=N) == "7"


# ---------------------------------------------------------------------------- edit_job: a console edit mid-run

DAILY = "e:JobScheduleOptions/e:Standart/e:OptionsDaily/"


@pytest.mark.parametrize("mode", ["deep", "replace"])
def test_edit_job_lands_between_the_clients_get_and_put(em, token, mode):
    em.config(merge=mode)
    jid = em.job_id("SQL Backup")
    seen = xml(em.req("GET", "/api/jobs/%s?format=Entity" % jid, token))          # the client reads the job
    fault(em, {"method": "PUT", "path": "^/api/jobs/", "action": "edit_job",
               "set": {"Description": "edited in the console",
                       "JobScheduleOptions/Standart/OptionsDaily/TimeOffsetUtc": "3",
                       "JobScheduleOptions/Standart/OptionsBackupWindow/@Enabled": "true",
                       "JobScheduleOptions/Standart/OptionsBackupWindow/TimePeriods/Day[Monday]": ",".join("0" * 24)}})
    # no change yet: the fault waits for the PUT
    assert description(em, jid) == seen.findtext("e:Description", namespaces=N)
    r = em.req("PUT", "/api/jobs/%s?action=edit" % jid, token, headers={"Content-Type": "application/xml"},
               data=(HDR + RETRY7 + "</Job>").encode())
    assert r.status_code == 202
    task, _states = em.wait_task(token, rebase(xml(r).get("Href"), em))
    assert task.find("e:Result", N).get("Success") == "true"
    after = em.raw(jid)
    assert after.findtext("e:Description", namespaces=N) == "edited in the console"
    assert after.findtext(DAILY + "e:TimeOffsetUtc", namespaces=N) == "3"
    window = after.find("e:JobScheduleOptions/e:Standart/e:OptionsBackupWindow", N)
    assert window.get("Enabled") == "true"
    assert window.find("e:TimePeriods/e:Day[@Name='Monday']", N).text == ",".join("0" * 24)
    assert window.find("e:TimePeriods/e:Day[@Name='Tuesday']", N).text == ",".join("1" * 24)
    assert after.findtext("e:JobScheduleOptions/e:Standart/e:RetryOptions/e:RetryTimes", namespaces=N) == "7"
    assert [e["fault"] for e in log_entries(em, "/api/jobs/" + jid) if e["method"] == "PUT"] == ["edit_job"]
    assert em.ctl("GET", "faults").json()["http"] == []


def test_edit_job_inside_the_block_a_put_sends_is_overwritten(em, token):
    """A PUT that carries a whole block copied from an older GET puts that block's old siblings back."""
    jid = em.job_id("SQL Backup")
    seen = xml(em.req("GET", "/api/jobs/%s?format=Entity" % jid, token))
    daily = seen.find(DAILY[:-1], N)
    daily.find("e:Time", N).text = "21:30:00.0000000+01:00"
    fault(em, {"method": "PUT", "action": "edit_job", "set": {"JobScheduleOptions/Standart/OptionsDaily/TimeOffsetUtc": "3"}})
    root = etree.fromstring((HDR + "<JobScheduleOptions><Standart/></JobScheduleOptions></Job>").encode())
    root.find("e:JobScheduleOptions/e:Standart", N).append(daily)       # the whole block, as read
    r = em.put_job(token, jid, etree.tostring(root))
    assert r.status_code == 202
    em.wait_task(token, rebase(xml(r).get("Href"), em))
    after = em.raw(jid)
    assert after.findtext(DAILY + "e:Time", namespaces=N).startswith("21:30")
    assert after.findtext(DAILY + "e:TimeOffsetUtc", namespaces=N) == "1"


def test_edit_job_on_a_named_job_skip_and_removal(em, token):
    jid = em.job_id("HV Backup")
    fault(em, {"method": "GET", "path": "^/api/backupServers$", "action": "edit_job", "job_id": jid.upper(), "skip": 1,
               "set": {"JobScheduleOptions/Standart/OptionsDaily/TimeOffsetUtc": None, "Description": "second look"}})
    em.req("GET", "/api/backupServers", token)
    assert description(em, jid) != "second look"
    em.req("GET", "/api/backupServers", token)
    after = em.raw(jid)
    assert after.findtext("e:Description", namespaces=N) == "second look"
    assert after.find(DAILY + "e:TimeOffsetUtc", N) is None
    assert after.find(DAILY + "e:Time", N) is not None


def test_edit_job_rule_validation(em):
    for bad in ({"set": {}}, {"set": "Description"}, {"set": {"Descriptio": "x"}}, {"set": {"JobType": "Replica"}},
                {"set": {"JobScheduleOptions/Standart": "x"}}, {"set": {"ScheduleEnabled": "maybe"}},
                {"set": {"JobScheduleOptions/Standart/RetryOptions/@Enabled": "true"}},
                {"set": {"Description": 5}}, {"set": {"Description": "x"}, "job_id": "../x"}):
        r = em.ctl("POST", "faults", json={"http": dict(bad, action="edit_job")})
        assert r.status_code == 400, bad
        assert "edit_job" in r.json()["error"] or "job_id" in r.json()["error"], r.json()
    assert em.ctl("GET", "faults").json()["http"] == []
