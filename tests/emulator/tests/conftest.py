"""Fixtures: one emulator subprocess per test session (TLS, port 0), reset before each test."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from lxml import etree

HERE = Path(__file__).resolve().parent
EMU_DIR = HERE.parent
LAUNCHER = EMU_DIR / "em-emulator"
NS = "http://www.veeam.com/ent/v1.0"
N = {"e": NS}
USER, PASSWORD = "restadmin", "Em-Emulator-Pass-1"
RESTORE = ("restorer", "Restore-Pass-2")
ADVERTISED = "https://em.example.test:9398"
FAST = {"task_running_seconds": 0.2, "task_running_polls": 0, "task_opfinished_polls": 1}


def start_emulator(tmp, *extra, tls=True):
    ready = tmp / "ready"
    ca = tmp / "ca.pem"
    cmd = [sys.executable, str(LAUNCHER), "--port", "0", "--ready-file", str(ready), "--ca-file", str(ca),
           "--max-lifetime", "600", *extra]
    if not tls:
        cmd.append("--no-tls")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while not ready.exists():
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError("emulator did not start: %s" % proc.stderr.read())
        time.sleep(0.05)
    return proc, ready.read_text().strip(), ca


class Emu:
    def __init__(self, url, ca, proc):
        self.url = url
        self.ca = str(ca)
        self.proc = proc

    # -- control API
    def ctl(self, method, path, **kw):
        r = requests.request(method, self.url + "/_emulator/" + path, verify=self.ca, timeout=10, **kw)
        assert r.status_code < 500, r.text
        return r

    def config(self, **kw):
        r = self.ctl("PATCH", "config", json=kw)
        assert r.status_code == 200, r.text
        return r.json()

    # -- API helpers
    def req(self, method, path, token=None, **kw):
        headers = kw.pop("headers", {})
        if token:
            headers["X-RestSvcSessionId"] = token
        headers.setdefault("Accept", "application/xml")
        url = path if path.startswith("http") else self.url + path
        kw.setdefault("timeout", 15)
        return requests.request(method, url, headers=headers, verify=self.ca, allow_redirects=False, **kw)

    def login(self, user=USER, password=PASSWORD, version="v1_7"):
        r = self.req("POST", "/api/sessionMngr/?v=" + version, auth=(user, password))
        assert r.status_code == 201, r.text
        return r.headers["X-RestSvcSessionId"], xml(r)

    def jobs(self):
        return {(j["backup_server"], j["name"]): j for j in self.ctl("GET", "jobs").json()}

    def job_id(self, name, server="vbr01"):
        return self.jobs()[(server, name)]["id"]

    def raw(self, jid):
        r = self.ctl("GET", "jobs/%s/xml" % jid)
        assert r.status_code == 200
        return etree.fromstring(r.content)

    def put_job(self, token, jid, body, action="?action=edit", ctype="application/xml; charset=utf-8"):
        if isinstance(body, str):
            body = body.encode()
        return self.req("PUT", "/api/jobs/%s%s" % (jid, action), token, data=body,
                        headers={"Content-Type": ctype})

    def wait_task(self, token, href, limit=10.0):
        states = []
        deadline = time.time() + limit
        while time.time() < deadline:
            r = self.req("GET", href, token)
            assert r.status_code == 200, r.text
            t = xml(r)
            st = t.findtext("e:State", namespaces=N)
            if not states or states[-1] != st:
                states.append(st)
            if st == "Finished":
                return t, states
            time.sleep(0.05)
        raise AssertionError("task did not finish: %s" % states)


def xml(r):
    return etree.fromstring(r.content)


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


@pytest.fixture(scope="session")
def emu(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("emu")
    proc, url, ca = start_emulator(tmp, "--advertised-url", ADVERTISED,
                                   "--restore-user", "%s:%s" % RESTORE, "--log-file", str(tmp / "log.jsonl"))
    assert url.startswith("https://127.0.0.1:")
    e = Emu(url, ca, proc)
    e.tmp = tmp
    yield e
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def em(emu):
    r = emu.ctl("POST", "reset")
    assert r.status_code == 200
    emu.config(**FAST)
    return emu


@pytest.fixture
def token(em):
    return em.login()[0]


def rebase(href, em):
    """Turn an advertised Href into one on the real listener."""
    assert href.startswith(ADVERTISED), href
    return em.url + href[len(ADVERTISED):]


os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
