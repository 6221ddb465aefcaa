"""Backup servers: register (POST ?action=create), edit (PUT), remove (DELETE), collect; their switches."""

from __future__ import annotations

import time

import pytest

from conftest import N, NS, RESTORE, rebase, xml
from test_secrets import matches, seed_password

CT = {"Content-Type": "application/xml"}
ORDER = ("Description", "DnsNameOrIpAddress", "Port", "Username", "Password", "WcfPort", "VbrCertificateThumbprint")


def spec(*pairs):
    inner = "".join("<%s>%s</%s>" % (k, v, k) for k, v in pairs)
    return '<?xml version="1.0" encoding="utf-8"?><BackupServerSpec xmlns="%s">%s</BackupServerSpec>' % (NS, inner)


def full(dns="vbr03.lab.local", **over):
    values = {"Description": "Veeam backup server 03", "DnsNameOrIpAddress": dns, "Port": "9392",
              "Username": "LAB\\svc-em", "Password": "Reg-Pass-3", "WcfPort": "9405"}
    values.update(over)
    return spec(*[(k, values[k]) for k in ORDER if k in values])


def servers(em):
    return {s["dns_name_or_ip"]: s for s in em.ctl("GET", "backup_servers").json()}


def register(em, token, body):
    return em.req("POST", "/api/backupServers?action=create", token, headers=CT, data=body)


def by_address(em, token, address):
    r = em.req("GET", '/api/query?type=BackupServer&format=Entities&filter=IpOrDnsName=="%s"' % address, token)
    assert r.status_code == 200
    return xml(r).findall("e:Entities/e:BackupServers/e:BackupServer", N)


def test_register_answers_201_empty_and_the_server_is_found_by_address(em, token):
    r = register(em, token, full())
    assert r.status_code == 201 and r.content == b"" and "Location" not in r.headers
    found = by_address(em, token, "VBR03.lab.local")
    assert len(found) == 1 and found[0].get("Name") == "vbr03.lab.local"
    assert found[0].findtext("e:Description", namespaces=N) == "Veeam backup server 03"
    assert b"Reg-Pass-3" not in em.req("GET", "/api/backupServers?format=Entity", token).content
    s = servers(em)["vbr03.lab.local"]
    assert (s["username"], s["password_set"], s["port"], s["wcf_port"]) == ("LAB\\svc-em", True, 9392, 9405)
    assert matches(em, "backup_servers", s["id"], "Reg-Pass-3") and "password" not in s
    # a new server has nothing collected yet, but its sub-collections answer
    base = "/api/backupServers/" + s["id"]
    assert xml(em.req("GET", base + "/credentials", token)).findall("e:CredentialsInfo", N) == []


def test_register_accepts_the_documented_example_order(em, token):
    body = spec(("Description", "Veeam backup server 01"), ("DnsNameOrIpAddress", "172.16.13.119"),
                ("Username", "172.16.13.119\\Administrator"), ("Port", "9392"), ("Password", "1234"),
                ("VbrCertificateThumbprint", "0" * 40), ("WcfPort", "9405"))
    em.config(order_violation="reject")
    assert register(em, token, body).status_code == 201
    s = servers(em)["172.16.13.119"]
    assert s["username"] == "172.16.13.119\\Administrator" and s["thumbprint"] == "0" * 40


@pytest.mark.parametrize("body,needle", [
    (full(Port="70000"), "UInt16"),
    (full(Port="x"), "Port"),
    (spec(("Description", "d"), ("DnsNameOrIpAddress", "vbr09"), ("Port", "9392"), ("Password", "p")), "Username"),
    (full(dns="VBR01.lab.local"), "already added"),
    (full(dns=""), "DnsNameOrIpAddress"),
])
def test_register_refusals(em, token, body, needle):
    n = len(servers(em))
    r = register(em, token, body)
    assert r.status_code == 400 and needle in xml(r).get("Message")
    assert len(servers(em)) == n


def test_register_needs_admin_and_action_create(em, token):
    restore = em.login(*RESTORE)[0]
    assert register(em, restore, full()).status_code == 403
    assert em.req("POST", "/api/backupServers", token, headers=CT, data=full()).status_code == 400
    r = em.req("DELETE", "/api/backupServers", token)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, POST"


@pytest.mark.parametrize("mode", ["202_empty", "202_task"])
def test_backupserver_create_answer_switch(em, token, mode):
    em.config(backupserver_create_answer=mode)
    r = register(em, token, full())
    assert r.status_code == 202
    assert by_address(em, token, "vbr03.lab.local") == []
    if mode == "202_task":
        task = xml(r)
        assert task.findtext("e:Operation", namespaces=N) == "CreateBackupServer"
        done = em.wait_task(token, rebase(task.get("Href"), em))[0]
        assert done.find("e:Result", N).get("Success") == "true"
    else:
        assert r.content == b""
        deadline = time.time() + 5
        while not by_address(em, token, "vbr03.lab.local") and time.time() < deadline:
            time.sleep(0.05)
    assert len(by_address(em, token, "vbr03.lab.local")) == 1


def test_a_duplicate_under_202_task_fails_the_task(em, token):
    em.config(backupserver_create_answer="202_task")
    r = register(em, token, full(dns="vbr02.lab.local"))
    assert r.status_code == 202
    done = em.wait_task(token, rebase(xml(r).get("Href"), em))[0]
    result = done.find("e:Result", N)
    assert result.get("Success") == "false" and "already added" in result.findtext("e:Message", namespaces=N)


def test_name_source_switch(em, token):
    em.config(backupserver_name_source="hostname")
    assert register(em, token, full()).status_code == 201
    assert by_address(em, token, "vbr03.lab.local")[0].get("Name") == "VBR03"


def test_edit_is_204_partial_and_keeps_the_account(em, token):
    s = servers(em)["vbr02.lab.local"]
    r = em.req("PUT", "/api/backupServers/" + s["id"], token, headers=CT,
               data=spec(("Description", "Backup Server deployed on srv02"), ("DnsNameOrIpAddress", "vbr02.lab.local")))
    assert r.status_code == 204 and r.content == b""
    after = servers(em)["vbr02.lab.local"]
    assert after["description"] == "Backup Server deployed on srv02"
    assert (after["username"], after["port"], after["account_writes"]) == (s["username"], s["port"], 0)
    assert matches(em, "backup_servers", s["id"], seed_password("server", "vbr02"))
    r = em.req("GET", "/api/backupServers/%s?format=Entity" % s["id"], token)
    assert xml(r).findtext("e:Description", namespaces=N) == "Backup Server deployed on srv02"


def test_edit_rotates_the_account_password(em, token):
    s = servers(em)["vbr01.lab.local"]
    r = em.req("PUT", "/api/backupServers/" + s["id"], token, headers=CT,
               data=spec(("DnsNameOrIpAddress", "vbr01.lab.local"), ("Port", "9393"), ("Password", "New-Acct-Pass")))
    assert r.status_code == 204
    after = servers(em)["vbr01.lab.local"]
    assert (after["port"], after["account_writes"]) == (9393, 1)
    assert matches(em, "backup_servers", s["id"], "New-Acct-Pass")
    assert not matches(em, "backup_servers", s["id"], seed_password("server", "vbr01"))
    assert "New-Acct-Pass" not in em.ctl("GET", "log").json()[-1]["body"]


def test_edit_refusals(em, token):
    s = servers(em)["vbr01.lab.local"]
    url = "/api/backupServers/" + s["id"]
    r = em.req("PUT", url, token, headers=CT, data=spec(("Description", "no address")))
    assert r.status_code == 400 and "DnsNameOrIpAddress" in xml(r).get("Message")
    r = em.req("PUT", url, token, headers=CT, data=spec(("DnsNameOrIpAddress", "vbr02.lab.local")))
    assert r.status_code == 400 and "already added" in xml(r).get("Message")
    restore = em.login(*RESTORE)[0]
    assert em.req("PUT", url, restore, headers=CT, data=spec(("DnsNameOrIpAddress", "vbr01.lab.local"))).status_code == 403
    assert servers(em)["vbr01.lab.local"]["description"] == s["description"]


@pytest.mark.parametrize("mode,status", [("200_empty", 200), ("200_body", 200)])
def test_edit_answer_switch(em, token, mode, status):
    em.config(sync_put_answer=mode)
    s = servers(em)["vbr02.lab.local"]
    r = em.req("PUT", "/api/backupServers/" + s["id"], token, headers=CT,
               data=spec(("Description", "d2"), ("DnsNameOrIpAddress", "vbr02.lab.local")))
    assert r.status_code == status
    if mode == "200_body":
        assert xml(r).tag == "{%s}BackupServer" % NS and xml(r).findtext("e:Description", namespaces=N) == "d2"
    else:
        assert r.content == b""


def test_remove_forgets_the_server_and_what_was_collected_from_it(em, token):
    s = servers(em)["vbr02.lab.local"]
    r = em.req("DELETE", "/api/backupServers/" + s["id"], token)
    assert r.status_code == 204 and r.content == b""
    assert "vbr02.lab.local" not in servers(em)
    assert em.req("GET", "/api/backupServers/" + s["id"], token).status_code == 404
    assert all(j["backup_server"] != "vbr02" for j in em.ctl("GET", "jobs").json())
    assert all(c["backup_server_id"] != s["id"] for c in em.ctl("GET", "credentials").json())
    # vbr01 is untouched
    assert len(em.ctl("GET", "credentials").json()) == 5


def test_collect_answers_a_task(em, token):
    s = servers(em)["vbr01.lab.local"]
    r = em.req("POST", "/api/backupServers/%s?action=collect" % s["id"], token)
    assert r.status_code == 202
    done = em.wait_task(token, rebase(xml(r).get("Href"), em))[0]
    assert done.findtext("e:Operation", namespaces=N) == "CollectingBackupServer"
    assert em.req("POST", "/api/backupServers/%s?action=explode" % s["id"], token).status_code == 400
