"""Discovery, logon, tokens, idle expiry, logoff, roles, error bodies."""

import time

import requests

from conftest import ADVERTISED, NS, N, PASSWORD, RESTORE, USER, basic, xml


def test_discovery_lists_versions_without_auth(em):
    r = em.req("GET", "/api/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/xml; charset=utf-8"
    root = xml(r)
    assert root.tag == "{%s}EnterpriseManager" % NS
    names = [v.get("Name") for v in root.findall("e:SupportedVersions/e:SupportedVersion", N)]
    assert names == ["v1_5", "v1_6", "v1_7"]
    for v in root.findall("e:SupportedVersions/e:SupportedVersion", N):
        href = v.find("e:Links/e:Link", N).get("Href")
        assert href == ADVERTISED + "/api/sessionMngr/?v=" + v.get("Name")


def test_logon_returns_token_cookie_and_session(em):
    for v in ("v1_5", "v1_6", "v1_7", "latest"):
        r = em.req("POST", "/api/sessionMngr/?v=" + v, auth=(USER, PASSWORD))
        assert r.status_code == 201
        token = r.headers["X-RestSvcSessionId"]
        assert len(token) == 24 and token.endswith("==")
        assert r.headers["Set-Cookie"] == "X-RestSvcSessionId=%s; Path=/api" % token
        body = xml(r)
        assert body.tag == "{%s}LogonSession" % NS
        sid = body.findtext("e:SessionId", namespaces=N)
        assert sid and sid != token
        assert body.findtext("e:UserName", namespaces=N) == USER
        delete = [ln for ln in body.findall("e:Links/e:Link", N) if ln.get("Rel") == "Delete"]
        assert delete[0].get("Href") == ADVERTISED + "/api/logonSessions/" + sid


def test_unknown_version_is_400(em):
    for v in ("v1_4", "v2", ""):
        r = em.req("POST", "/api/sessionMngr/?v=" + v, auth=(USER, PASSWORD))
        assert r.status_code == 400
        assert xml(r).get("StatusCode") == "400"


def test_bad_credentials_401_with_challenge(em):
    r = em.req("POST", "/api/sessionMngr/?v=v1_7", auth=(USER, "wrong"))
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Basic Realm=RestSvc"
    err = xml(r)
    assert err.tag == "{%s}Error" % NS and err.get("StatusCode") == "401" and err.get("Message")
    assert err.get("Status") is None
    r = em.req("POST", "/api/sessionMngr/?v=v1_7")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Basic Realm=RestSvc"
    assert "wrong" not in r.text and PASSWORD not in r.text


def test_no_or_bad_token_401_without_challenge(em):
    for headers in ({}, {"X-RestSvcSessionId": "bm90LWEtdG9rZW4tYXQtYWxs"}):
        r = em.req("GET", "/api/jobs", headers=headers)
        assert r.status_code == 401
        assert "WWW-Authenticate" not in r.headers
        assert r.headers["Content-Type"] == "application/xml; charset=utf-8"
        err = xml(r)
        assert err.tag == "{%s}Error" % NS and err.get("StatusCode") == "401"


def test_cookie_beats_header(em):
    good, session_xml = em.login()
    other, session_xml = em.login()
    # valid cookie + garbage header -> allowed
    r = em.req("GET", "/api/jobs", headers={"Cookie": "X-RestSvcSessionId=" + good,
                                            "X-RestSvcSessionId": "garbage"})
    assert r.status_code == 200
    # garbage cookie + valid header -> the cookie wins, so 401
    r = em.req("GET", "/api/jobs", headers={"Cookie": "X-RestSvcSessionId=garbage",
                                            "X-RestSvcSessionId": good})
    assert r.status_code == 401


def test_idle_expiry_is_sliding(em):
    em.config(idle_timeout=1.0)
    token, session_xml = em.login()
    for attempt in range(3):
        time.sleep(0.5)
        assert em.req("GET", "/api/jobs", token).status_code == 200
    time.sleep(1.3)
    assert em.req("GET", "/api/jobs", token).status_code == 401


def test_expire_hook(em):
    token, body = em.login()
    sid = body.findtext("e:SessionId", namespaces=N)
    r = em.ctl("POST", "sessions/expire", json={"session_id": sid})
    assert r.json()["expired"] == [sid]
    assert em.req("GET", "/api/jobs", token).status_code == 401
    s = [x for x in em.ctl("GET", "sessions").json() if x["session_id"] == sid][0]
    assert s["expired"] is True and s["logged_off"] is False


def test_logoff_then_401(em):
    token, body = em.login()
    sid = body.findtext("e:SessionId", namespaces=N)
    r = em.req("GET", "/api/logonSessions/" + sid, token)
    assert r.status_code == 200 and xml(r).findtext("e:SessionId", namespaces=N) == sid
    r = em.req("GET", "/api/logonSessions", token)
    assert sid in [s.findtext("e:SessionId", namespaces=N) for s in xml(r)]
    r = em.req("DELETE", "/api/logonSessions/" + sid, token)
    assert r.status_code == 204 and r.content == b""
    assert em.req("GET", "/api/jobs", token).status_code == 401
    s = [x for x in em.ctl("GET", "sessions").json() if x["session_id"] == sid][0]
    assert s["logged_off"] is True


def test_restore_user_forbidden_on_jobs(em):
    token, session_xml = em.login(*RESTORE)
    for path in ("/api/jobs", "/api/jobs?format=Entity", "/api/query?type=Job"):
        r = em.req("GET", path, token)
        assert r.status_code == 403, path
        assert xml(r).get("StatusCode") == "403"
    assert em.req("GET", "/api/backupServers", token).status_code == 200


def test_json_accept_gets_json_errors(em):
    r = requests.get(em.url + "/api/jobs", headers={"Accept": "application/json"}, verify=em.ca, timeout=5)
    assert r.status_code == 401
    assert r.json()["StatusCode"] == 401 and r.json()["Message"]
    token, session_xml = em.login()
    r = requests.get(em.url + "/api/jobs", verify=em.ca, timeout=5,
                     headers={"Accept": "application/json", "X-RestSvcSessionId": token})
    assert r.status_code == 406 and r.json()["StatusCode"] == 406


def test_not_found_and_method_not_allowed(em, token):
    r = em.req("GET", "/api/nothingHere", token)
    assert r.status_code == 404 and xml(r).get("StatusCode") == "404"
    r = em.req("POST", "/api/jobs", token)
    assert r.status_code == 405 and xml(r).get("StatusCode") == "405"
    r = em.req("GET", "/api/sessionMngr/?v=v1_7")
    assert r.status_code == 405


def test_request_log_records_session_and_body(em):
    em.ctl("DELETE", "log")
    token, body = em.login()
    sid = body.findtext("e:SessionId", namespaces=N)
    em.req("GET", "/api/jobs?format=Entity", token)
    log = em.ctl("GET", "log").json()
    assert [e["method"] for e in log] == ["POST", "GET"]
    assert log[0]["session"] == sid and log[1]["session"] == sid
    assert log[1]["query"] == "format=Entity" and log[1]["status"] == 200
    assert em.ctl("GET", "log", params={"since": log[0]["seq"]}).json() == [log[1]]
    assert token not in em.ctl("GET", "log").text and basic(USER, PASSWORD)[6:] not in em.ctl("GET", "log").text


def test_error_status_attr_reading(em, token):
    """em-api.md section 3: Error@Status is normally absent; the switch adds the .NET enum name, in XML and JSON."""
    r = em.req("GET", "/api/jobs/%s" % ("0" * 8 + "-0000-0000-0000-" + "0" * 12), token)
    assert r.status_code == 404 and xml(r).get("Status") is None
    em.config(error_status_attr=True)
    r = em.req("GET", "/api/jobs/%s" % ("0" * 8 + "-0000-0000-0000-" + "0" * 12), token)
    err = xml(r)
    assert r.status_code == 404 and err.get("Status") == "NotFound" and err.get("StatusCode") == "404"
    r = requests.get(em.url + "/api/jobs", headers={"Accept": "application/json"}, verify=em.ca, timeout=5)
    assert r.status_code == 401 and r.json()["Status"] == "Unauthorized"
    assert em.ctl("PATCH", "config", json={"error_status_attr": "yes"}).status_code == 400


def test_json_accept_with_an_xml_body_is_node_root(em, token):
    """em-api.md sections 1 and 10.4 ([OBS], 9.5 U4): JSON anywhere in Accept and an XML body give 400
    "Node [root] does not exist.", as JSON; the job is unchanged."""
    jid = em.job_id("SQL Backup")
    before = em.ctl("GET", "jobs/%s/xml" % jid).content
    r = em.req("PUT", "/api/jobs/%s?action=edit" % jid, token,
               headers={"Accept": "application/xml, application/json", "Content-Type": "application/xml"},
               data=('<Job xmlns="%s"><Description>json</Description></Job>' % NS).encode())
    assert r.status_code == 400 and r.json() == {"FirstChanceExceptionMessage": None, "Message": "Node [root] does not exist.",
                                                 "StackTrace": None, "Status": None, "StatusCode": 400}
    assert em.ctl("GET", "jobs/%s/xml" % jid).content == before
