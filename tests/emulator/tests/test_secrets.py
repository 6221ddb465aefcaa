"""Credentials records and encryption passwords under /api/backupServers/{id}: routes, answers, switches."""

from __future__ import annotations

import sys
import time

import pytest
import requests

from conftest import EMU_DIR, N, NS, RESTORE, rebase, start_emulator, xml

sys.path.insert(0, str(EMU_DIR))
from veeam_em_emulator.secret_store import CREDENTIALS, cred_id, seed_password  # noqa: E402

CT = {"Content-Type": "application/xml"}


def servers(em):
    return {s["name"]: s for s in em.ctl("GET", "backup_servers").json()}


def creds(em, server=None):
    return [c for c in em.ctl("GET", "credentials").json() if server is None or c["backup_server"] == server]


def passwords(em, server=None):
    return [p for p in em.ctl("GET", "passwords").json() if server is None or p["backup_server"] == server]


def matches(em, kind, rid, password):
    """The control API's check of a stored (hashed) secret."""
    r = em.ctl("POST", "%s/%s/password_matches" % (kind, rid), json={"password": password})
    assert r.status_code == 200, r.text
    return r.json()["matches"]


def seeded(c):
    """The secret a seeded credentials record starts with."""
    for srv, key, _user, _desc in CREDENTIALS:
        if srv == c["backup_server"] and cred_id(srv, key) == c["id"]:
            return seed_password("creds", srv, key)
    raise AssertionError("not a seeded record: %s" % c)


def cred_body(root="CredentialsInfoSpec", **values):
    inner = "".join("<%s>%s</%s>" % (k, v, k) for k, v in values.items())
    return '<?xml version="1.0" encoding="utf-8"?><%s xmlns="%s">%s</%s>' % (root, NS, inner, root)


def base(em, server="vbr01"):
    return "/api/backupServers/%s" % servers(em)[server]["id"]


def listed(em, token, server="vbr01", kind="credentials"):
    r = em.req("GET", base(em, server) + "/" + kind, token)
    assert r.status_code == 200, r.text
    return xml(r)


# ---------------------------------------------------------------------------- seed and reads


def test_seed_repeats_a_username_and_links_the_sql_job(em):
    c1 = creds(em, "vbr01")
    assert len(c1) >= 3 and len(creds(em, "vbr02")) >= 3
    admins = [c for c in c1 if c["username"] == "LAB\\Administrator"]
    assert len({c["description"] for c in admins}) == 2
    sql = next(c for c in c1 if c["username"] == "LAB\\sqladmin")
    assert sql["used_by"] == ["SQL Backup"] and sql["password_set"] and "password" not in sql
    assert matches(em, "credentials", sql["id"], seeded(sql)) and not matches(em, "credentials", sql["id"], "x")
    assert {len(passwords(em, "vbr01")), len(passwords(em, "vbr02"))} <= {1, 2}
    hv = next(p for p in passwords(em, "vbr01") if p["used_by"])
    assert hv["used_by"] == ["HV Backup"]


def test_list_and_item_render_the_documented_shape_without_passwords(em, token):
    doc = listed(em, token)
    assert doc.tag == "{%s}CredentialsInfoList" % NS
    items = doc.findall("e:CredentialsInfo", N)
    assert len(items) == len(creds(em, "vbr01"))
    first = items[0]
    assert first.get("Type") == "Credentials" and first.get("Href").startswith("https://em.example.test:9398/api/")
    assert [c.tag.split("}")[1] for c in first] == ["Links", "Id", "Username", "Description"]
    rels = [(lk.get("Rel"), lk.get("Type")) for lk in first.find("e:Links", N)]
    assert rels == [("Up", "BackupServerReference"), ("Edit", "Credentials"), ("Delete", None)]
    r = em.req("GET", base(em) + "/credentials/" + first.findtext("e:Id", namespaces=N), token)
    assert r.status_code == 200 and xml(r).tag == "{%s}CredentialsInfo" % NS
    everything = r.content + em.req("GET", base(em) + "/credentials", token).content
    for c in creds(em, "vbr01"):
        assert seeded(c).encode() not in everything
    assert b"Password" not in everything
    # another server's record is not under this server
    other = creds(em, "vbr02")[0]["id"]
    assert em.req("GET", base(em) + "/credentials/" + other, token).status_code == 404
    assert em.req("GET", base(em) + "/credentials/not-a-guid", token).status_code == 404


def test_reads_follow_the_session_rules(em, token):
    assert em.req("GET", base(em) + "/credentials").status_code == 401
    r = em.req("GET", base(em) + "/credentials", headers={"Cookie": "X-RestSvcSessionId=" + token})
    assert r.status_code == 200
    assert em.req("GET", base(em) + "/credentials", token, headers={"Accept": "application/json"}).status_code == 406


# ---------------------------------------------------------------------------- create


def test_create_answers_201_with_no_body_and_no_id(em, token):
    before = {c["id"] for c in creds(em, "vbr01")}
    r = em.req("POST", base(em) + "/credentials?action=create", token, headers=CT,
               data=cred_body(Username="LAB\\Administrator", Description="Created by the test", Password="S3cret!"))
    assert r.status_code == 201 and r.content == b"" and "Location" not in r.headers
    new = [c for c in creds(em, "vbr01") if c["id"] not in before]
    assert len(new) == 1 and new[0]["description"] == "Created by the test" and new[0]["password_set"]
    assert matches(em, "credentials", new[0]["id"], "S3cret!")
    # the client finds it by listing again
    ids = [x.findtext("e:Id", namespaces=N) for x in listed(em, token).findall("e:CredentialsInfo", N)]
    assert new[0]["id"] in ids


def test_create_201_body_switch_returns_the_entity(em, token):
    em.config(cred_create_answer="201_body")
    r = em.req("POST", base(em) + "/credentials?action=create", token, headers=CT,
               data=cred_body(Username="root", Description="x", Password="pw"))
    assert r.status_code == 201
    doc = xml(r)
    assert doc.tag == "{%s}CredentialsInfo" % NS and doc.find("e:Password", N) is None
    assert b"pw<" not in r.content


@pytest.mark.parametrize("body,ctype,status,needle", [
    (cred_body(Username="u"), "text/plain", 400, "Content-Type"),
    ('<CredentialsInfoSpec xmlns="urn:other"><Username>u</Username></CredentialsInfoSpec>', None, 400, "namespace"),
    (cred_body(root="CredentialsInfo", Username="u"), None, 400, "CredentialsInfoSpec"),
    ("<not xml", None, 400, "well-formed"),
    ('<!DOCTYPE x [<!ENTITY e "x">]><CredentialsInfoSpec xmlns="%s"/>' % NS, None, 400, "DTD"),
])
def test_create_refuses_bad_bodies(em, token, body, ctype, status, needle):
    n = len(creds(em))
    r = em.req("POST", base(em) + "/credentials?action=create", token,
               headers={"Content-Type": ctype or "application/xml"}, data=body)
    assert r.status_code == status and needle in xml(r).get("Message")
    assert len(creds(em)) == n


def test_create_needs_action_create_and_the_admin_role(em, token):
    body = cred_body(Username="u", Password="p")
    assert em.req("POST", base(em) + "/credentials", token, headers=CT, data=body).status_code == 400
    assert em.req("POST", base(em) + "/credentials?action=edit", token, headers=CT, data=body).status_code == 400
    restore = em.login(*RESTORE)[0]
    r = em.req("POST", base(em) + "/credentials?action=create", restore, headers=CT, data=body)
    assert r.status_code == 403 and "Portal Administrator" in xml(r).get("Message")
    assert em.req("GET", base(em) + "/credentials", restore).status_code == 200


def test_order_violation_ignore_drops_and_records_reject_refuses(em, token):
    body = cred_body(Description="late", Username="LAB\\x")       # Username after Description: out of order
    r = em.req("POST", base(em) + "/credentials?action=create", token, headers=CT, data=body)
    assert r.status_code == 201
    new = next(c for c in creds(em) if c["description"] == "late")
    assert new["username"] == ""
    dropped = em.ctl("GET", "dropped").json()
    assert dropped["items"][0]["path"] == "CredentialsInfoSpec/Username"
    em.config(order_violation="reject")
    r = em.req("POST", base(em) + "/credentials?action=create", token, headers=CT, data=body)
    assert r.status_code == 400 and "CredentialsInfoSpec/Username" in xml(r).get("Message")


def test_username_max_switch(em, token):
    long_name = "LAB\\" + "u" * 262
    r = em.req("POST", base(em) + "/credentials?action=create", token, headers=CT,
               data=cred_body(Username=long_name, Password="p"))
    assert r.status_code == 201
    assert servers(em)["vbr01"]["collection_failed"] is True
    em.config(username_max="reject")
    r = em.req("POST", base(em, "vbr02") + "/credentials?action=create", token, headers=CT,
               data=cred_body(Username=long_name, Password="p"))
    assert r.status_code == 400 and "255" in xml(r).get("Message")
    assert servers(em)["vbr02"]["collection_failed"] is False


# ---------------------------------------------------------------------------- edit


def _put(em, token, cid, body, server="vbr01"):
    return em.req("PUT", base(em, server) + "/credentials/" + cid, token, headers=CT, data=body)


def test_edit_is_204_partial_and_keeps_an_absent_password(em, token):
    c = next(x for x in creds(em, "vbr01") if x["description"] == "Domain administrator")
    href = "https://em.example.test:9398" + base(em) + "/credentials/" + c["id"]
    body = ('<CredentialsInfo xmlns="%s" Href="%s" Type="Credentials"><Id>9a8fb433-cacd-4089-a97e-437e99f128bc</Id>'
            '<Description>Edited</Description></CredentialsInfo>' % (NS, href))
    r = _put(em, token, c["id"], body)
    assert r.status_code == 204 and r.content == b""
    after = next(x for x in creds(em) if x["id"] == c["id"])
    assert after["description"] == "Edited" and after["username"] == c["username"]
    assert matches(em, "credentials", c["id"], seeded(c)) and after["password_writes"] == 0
    assert [d["element"] for d in em.ctl("GET", "dropped").json()["items"]] == ["Id"]     # body identity ignored


def test_edit_rotates_the_password_and_the_log_masks_it(em, token):
    c = creds(em, "vbr02")[0]
    r = _put(em, token, c["id"], cred_body(root="CredentialsInfo", Password="Rotated-1"), "vbr02")
    assert r.status_code == 204
    after = next(x for x in creds(em) if x["id"] == c["id"])
    assert matches(em, "credentials", c["id"], "Rotated-1") and after["password_writes"] == 1
    assert not matches(em, "credentials", c["id"], seeded(c))
    log = em.ctl("GET", "log").json()
    put = [e for e in log if e["method"] == "PUT"][-1]
    assert "Rotated-1" not in put["body"] and "<Password>********</Password>" in put["body"]
    assert "Rotated-1" not in (em.tmp / "log.jsonl").read_text()


@pytest.mark.parametrize("mode,status,expected", [("keep", 204, "old"), ("blank", 204, ""), ("reject", 400, "old")])
def test_empty_password_switch(em, token, mode, status, expected):
    em.config(empty_password=mode)
    c = creds(em, "vbr01")[1]
    r = _put(em, token, c["id"], cred_body(root="CredentialsInfo", Description="d", Password=""))
    assert r.status_code == status
    after = next(x for x in creds(em) if x["id"] == c["id"])
    assert matches(em, "credentials", c["id"], seeded(c) if expected == "old" else expected)
    assert after["password_set"] is (expected == "old")


@pytest.mark.parametrize("mode,status", [("204", 204), ("200_empty", 200), ("200_body", 200)])
def test_sync_put_answer_switch(em, token, mode, status):
    em.config(sync_put_answer=mode)
    c = creds(em, "vbr01")[0]
    r = _put(em, token, c["id"], cred_body(root="CredentialsInfo", Description="via %s" % mode))
    assert r.status_code == status
    if mode == "200_body":
        doc = xml(r)
        assert doc.tag == "{%s}CredentialsInfo" % NS and doc.findtext("e:Description", namespaces=N) == "via 200_body"
    else:
        assert r.content == b""


def test_edit_refusals(em, token):
    c = creds(em, "vbr01")[0]
    assert _put(em, token, c["id"], cred_body(Description="spec root")).status_code == 400
    r = em.req("PUT", base(em) + "/credentials/" + c["id"] + "?action=rename", token, headers=CT,
               data=cred_body(root="CredentialsInfo", Description="x"))
    assert r.status_code == 400
    r = em.req("PATCH", base(em) + "/credentials/" + c["id"], token, headers=CT, data="")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, PUT, DELETE"
    assert next(x for x in creds(em) if x["id"] == c["id"])["description"] == c["description"]


# ---------------------------------------------------------------------------- delete


def test_delete_is_204_and_the_record_is_gone(em, token):
    c = next(x for x in creds(em, "vbr02") if x["username"] == "root")
    r = em.req("DELETE", base(em, "vbr02") + "/credentials/" + c["id"], token)
    assert r.status_code == 204 and r.content == b""
    assert c["id"] not in {x["id"] for x in creds(em)}
    assert em.req("GET", base(em, "vbr02") + "/credentials/" + c["id"], token).status_code == 404


@pytest.mark.parametrize("status", ["500", "400", "409"])
def test_delete_in_use_by_a_job_is_refused_with_the_switch_status(em, token, status):
    em.config(in_use_delete_status=status)
    c = next(x for x in creds(em, "vbr01") if x["username"] == "LAB\\sqladmin")
    r = em.req("DELETE", base(em) + "/credentials/" + c["id"], token)
    assert r.status_code == int(status)
    err = xml(r)
    assert err.tag == "{%s}Error" % NS and "SQL Backup" in err.get("Message") and err.get("StatusCode") == status
    assert c["id"] in {x["id"] for x in creds(em)}


def test_in_use_mark_from_the_control_api(em, token):
    c = next(x for x in creds(em, "vbr01") if x["username"] == "root")
    r = em.ctl("POST", "credentials/%s/in_use" % c["id"], json={"in_use": True, "by": "Linux server lnx01"})
    assert r.status_code == 200 and r.json()["used_by"] == ["Linux server lnx01"]
    r = em.req("DELETE", base(em) + "/credentials/" + c["id"], token)
    assert r.status_code == 500 and "lnx01" in xml(r).get("Message")
    em.ctl("POST", "credentials/%s/in_use" % c["id"], json={"in_use": False})
    assert em.req("DELETE", base(em) + "/credentials/" + c["id"], token).status_code == 204
    assert em.ctl("POST", "credentials/%s/in_use" % c["id"], json={}).status_code == 404


# ---------------------------------------------------------------------------- encryption passwords


def pw_body(**values):
    return cred_body(root="PasswordKeyInfoSpec", **values)


def test_password_list_item_and_create(em, token):
    doc = listed(em, token, kind="passwords")
    assert doc.tag == "{%s}PasswordKeyInfoList" % NS
    item = doc.find("e:PasswordKeyInfo", N)
    assert item.get("Type") == "PasswordKey"
    assert [c.tag.split("}")[1] for c in item] == ["Links", "Id", "Hint", "LastModificationDate"]
    before = {p["id"] for p in passwords(em)}
    r = em.req("POST", base(em) + "/passwords?action=create", token, headers=CT,
               data=pw_body(Hint="My favorite book", Password="1234"))
    assert r.status_code == 201 and r.content == b""
    new = [p for p in passwords(em) if p["id"] not in before]
    assert len(new) == 1 and new[0]["hint"] == "My favorite book" and matches(em, "passwords", new[0]["id"], "1234")
    r = em.req("GET", base(em) + "/passwords/" + new[0]["id"], token)
    assert r.status_code == 200 and b"1234" not in r.content


def test_password_create_refusals(em, token):
    url = base(em) + "/passwords?action=create"
    r = em.req("POST", url, token, headers=CT, data=pw_body(Hint="no password"))
    assert r.status_code == 400 and "Password" in xml(r).get("Message")
    assert em.req("POST", url, token, headers=CT, data=pw_body(Hint="empty", Password="")).status_code == 400
    assert em.req("POST", url, token, headers=CT, data=cred_body(Password="x")).status_code == 400


@pytest.mark.parametrize("mode", ["202_empty", "202_task"])
def test_password_create_answer_switch(em, token, mode):
    em.config(password_create_answer=mode)
    n = len(passwords(em))
    r = em.req("POST", base(em) + "/passwords?action=create", token, headers=CT, data=pw_body(Hint="h", Password="k"))
    assert r.status_code == 202
    if mode == "202_empty":
        assert r.content == b""
        assert len(passwords(em)) == n             # not yet: EM works on it in the background
        deadline = time.time() + 5
        while len(passwords(em)) == n and time.time() < deadline:
            time.sleep(0.05)
    else:
        task = xml(r)
        assert task.tag == "{%s}Task" % NS and task.findtext("e:State", namespaces=N) == "Running"
        assert len(passwords(em)) == n
        done = em.wait_task(token, rebase(task.get("Href"), em))[0]
        assert done.find("e:Result", N).get("Success") == "true"
    assert len(passwords(em)) == n + 1


def test_password_edit_changes_only_the_hint(em, token):
    p = passwords(em, "vbr01")[1]
    old = seed_password("key", "vbr01", "offsite")
    assert matches(em, "passwords", p["id"], old)
    r = em.req("PUT", base(em) + "/passwords/" + p["id"], token, headers=CT,
               data=pw_body(Hint="New hint", Password="other"))
    assert r.status_code == 204
    after = next(x for x in passwords(em) if x["id"] == p["id"])
    assert after["hint"] == "New hint" and matches(em, "passwords", p["id"], old)
    assert not matches(em, "passwords", p["id"], "other")
    assert [d["element"] for d in em.ctl("GET", "dropped").json()["items"]] == ["Password"]
    r = em.req("PUT", base(em) + "/passwords/" + p["id"], token, headers=CT,
               data=cred_body(root="PasswordKeyInfo", Hint="entity root"))
    assert r.status_code == 400


def test_password_in_use_by_a_job_cannot_be_deleted(em, token):
    em.config(in_use_delete_status="409")
    used = next(p for p in passwords(em, "vbr01") if p["used_by"])
    r = em.req("DELETE", base(em) + "/passwords/" + used["id"], token)
    assert r.status_code == 409 and "HV Backup" in xml(r).get("Message")
    free = next(p for p in passwords(em, "vbr01") if not p["used_by"])
    assert em.req("DELETE", base(em) + "/passwords/" + free["id"], token).status_code == 204
    assert free["id"] not in {p["id"] for p in passwords(em)}


# ---------------------------------------------------------------------------- query service


@pytest.mark.parametrize("wrapper,path", [("entities", "e:Entities/e:Credentials/e:CredentialsInfo"),
                                          ("resources", "e:Resources/e:CredentialsList/e:CredentialsInfo")])
def test_query_credentials(em, token, wrapper, path):
    em.config(secret_query_wrapper=wrapper)
    uid = "urn:veeam:BackupServer:" + servers(em)["vbr01"]["id"]
    r = em.req("GET", '/api/query?type=Credentials&format=Entities&filter=Username=="lab\\administrator";'
                      'BackupServerUid=="%s"' % uid, token)
    assert r.status_code == 200, r.text
    found = xml(r).findall(path, N)
    assert sorted(x.findtext("e:Description", namespaces=N) for x in found) == [
        "Domain administrator", "Domain administrator (guest processing)"]


def test_query_passwords(em, token):
    r = em.req("GET", '/api/query?type=Passwords&format=Entities&filter=BackupServerName=="vbr02"', token)
    found = xml(r).findall("e:Entities/e:Passwords/e:PasswordKeyInfo", N)
    assert [x.findtext("e:Id", namespaces=N) for x in found] == [p["id"] for p in passwords(em, "vbr02")]
    pid = passwords(em, "vbr01")[0]["id"]
    r = em.req("GET", "/api/query?type=Passwords&filter=PasswordKeyID==%s" % pid, token)
    assert len(xml(r).findall("e:Entities/e:Passwords/e:PasswordKeyInfo", N)) == 1


# ---------------------------------------------------------------------------- command line


def test_switch_option_sets_config_and_refuses_bad_values(tmp_path, capsys):
    from veeam_em_emulator.cli.__main__ import main
    assert main(["--switch", "in_use_delete_status=418", "--no-tls"]) == 2
    assert "in_use_delete_status must be one of 500, 400, 409" in capsys.readouterr().err
    assert main(["--switch", "no_such_switch=1", "--no-tls"]) == 2
    proc, url = start_emulator(tmp_path, "--switch", "in_use_delete_status=409", "--switch",
                               "sync_put_answer=200_body", tls=False)[:2]
    try:
        cfg = requests.get(url + "/_emulator/config", timeout=5).json()
        assert (cfg["in_use_delete_status"], cfg["sync_put_answer"], cfg["username_max"]) == ("409", "200_body", "accept")
        # a reset restores the CLI's switches, not the defaults
        requests.patch(url + "/_emulator/config", json={"in_use_delete_status": "400"}, timeout=5)
        assert requests.post(url + "/_emulator/reset", timeout=5).json()["config"]["in_use_delete_status"] == "409"
    finally:
        proc.terminate()
        proc.wait(10)


def test_password_matches_refusals(em):
    c = creds(em, "vbr01")[0]
    assert em.ctl("POST", "credentials/%s/password_matches" % c["id"], json={}).status_code == 400
    assert em.ctl("GET", "credentials/%s/password_matches" % c["id"]).status_code == 405
    assert em.ctl("POST", "credentials/%s/password_matches" % ("0" * 8 + "-0000-0000-0000-" + "0" * 12),
                  json={"password": "x"}).status_code == 404
    assert em.ctl("POST", "backup_servers/%s/in_use" % servers(em)["vbr01"]["id"], json={}).status_code == 404
    # a record created without a password has none set, and nothing matches
    r = em.req("POST", base(em) + "/credentials?action=create", em.login()[0], headers=CT,
               data=cred_body(Username="nopass", Description="no password"))
    assert r.status_code == 201
    new = next(x for x in creds(em) if x["username"] == "nopass")
    assert new["password_set"] is False and not matches(em, "credentials", new["id"], "")


def test_a_create_whose_answer_is_lost_still_creates_the_record(em, token):
    """An HTTP fault after the handler: the client sees a reset, EM made the record; listing again finds it."""
    em.ctl("POST", "faults", json={"http": {"method": "POST", "path": "/credentials$", "action": "reset", "when": "after"}})
    n = len(creds(em, "vbr01"))
    with pytest.raises(requests.exceptions.ConnectionError):
        em.req("POST", base(em) + "/credentials?action=create", token, headers=CT,
               data=cred_body(Username="LAB\\lost", Description="answer lost", Password="p"))
    assert len(creds(em, "vbr01")) == n + 1
    em.ctl("POST", "faults", json={"http": {"method": "POST", "path": "/credentials$", "status": 503, "when": "before"}})
    r = em.req("POST", base(em) + "/credentials?action=create", token, headers=CT,
               data=cred_body(Username="LAB\\refused", Password="p"))
    assert r.status_code == 503 and len(creds(em, "vbr01")) == n + 1


def test_query_server_uid_filter_takes_the_urn_or_the_bare_guid(em, token):
    sid = servers(em)["vbr02"]["id"]
    for value in ("urn:veeam:BackupServer:" + sid, sid, '"%s"' % sid.upper()):
        r = em.req("GET", "/api/query?type=Credentials&filter=BackupServerUid==%s" % value, token)
        assert r.status_code == 200, r.text
        found = xml(r).findall("e:Entities/e:Credentials/e:CredentialsInfo", N)
        assert sorted(x.findtext("e:Id", namespaces=N) for x in found) == sorted(c["id"] for c in creds(em, "vbr02"))
