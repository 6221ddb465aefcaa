"""Backup-server secrets held by the emulator: credentials records, encryption passwords, server accounts.

This module owns the data (seed, records, in-use checks) and the test-only control views
(``/_emulator/credentials``, ``/_emulator/passwords``, ``/_emulator/backup_servers``).  The
``/api/`` routes are in :mod:`secrets` and :mod:`servers`.

Write-only values (a credentials record's password, an encryption password, the account a
backup server was registered with) are never rendered by an ``/api/`` route.  They are kept only
as salted hashes (:func:`sealed`); the control API says whether one is set and whether a given
value matches (``POST /_emulator/<kind>/{id}/password_matches``), so that a test can check that a
rotation arrived without any clear secret leaving the emulator.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import uuid
from datetime import timedelta

from . import seed
from .xmlutil import fmt_dt, local

USERNAME_MAX = 255       # EM's table holds 255 characters (em-api-cloud.md section 4)

# server name, record key, username, description.  One username repeats on one server with two
# descriptions (LAB\Administrator), and on both servers (LAB\Administrator, root).
CREDENTIALS = [
    ("vbr01", "sqladmin", "LAB\\sqladmin", "SQL Server service account"),
    ("vbr01", "admin", "LAB\\Administrator", "Domain administrator"),
    ("vbr01", "admin-guest", "LAB\\Administrator", "Domain administrator (guest processing)"),
    ("vbr01", "root", "root", "Linux root account"),
    ("vbr01", "veeamsvc", "LAB\\svc-veeam", "Veeam service account"),
    ("vbr02", "admin", "LAB\\Administrator", "Domain administrator"),
    ("vbr02", "branch", "BRANCH\\Administrator", "Branch office administrator"),
    ("vbr02", "root", "root", "Linux root account"),
]

# server name, record key, hint, age in days.  The "hv" key is HV Backup's PasswordKeyId in the seed.
PASSWORDS = [
    ("vbr01", "hv", "Hyper-V backup key (vault entry 12)", 40),
    ("vbr01", "offsite", "Offsite copy key", 12),
    ("vbr02", "branch", "Branch office key", 5),
]

# the account each seeded backup server was registered with
SERVER_ACCOUNTS = {"vbr01": "LAB\\svc-em", "vbr02": "LAB\\svc-em"}


def seed_password(*parts):
    """The secret a seeded record starts with (deterministic; tests normally set their own)."""
    return "Seed-" + seed.guid("secret", *parts)[:13]


def sealed(value):
    """A salted hash of a secret (None stays None: nothing stored)."""
    if value is None:
        return None
    salt = os.urandom(16)
    return {"salt": salt, "hash": hashlib.sha256(salt + value.encode("utf-8")).digest(), "empty": value == ""}


def matches(stored, value):
    if stored is None or not isinstance(value, str):
        return False
    return hmac.compare_digest(stored["hash"], hashlib.sha256(stored["salt"] + value.encode("utf-8")).digest())


def is_set(stored):
    return stored is not None and not stored["empty"]


def password_check(stored, data):
    """The answer of a ``password_matches`` control endpoint: (200, {"matches", "password_set"})."""
    if not isinstance(data, dict) or not isinstance(data.get("password"), str):
        raise ValueError('expected {"password": "<value to compare>"}')
    return 200, {"matches": matches(stored, data["password"]), "password_set": is_set(stored)}


def cred_id(server, key):
    return seed.guid("creds", server, key)


def key_id(server, key):
    return seed.guid("key", server, key)


def seed_state(state):
    """Fill ``state.credentials`` and ``state.passwords``; add the accounts to the seeded servers."""
    by_name = {s["name"]: s for s in state.servers.values()}
    for name, s in by_name.items():
        s.update(username=SERVER_ACCOUNTS.get(name, ""), password=sealed(seed_password("server", name)),
                 collection_failed=False, account_writes=0)
    state.credentials = {}
    state.passwords = {}
    for srv, key, user, desc in CREDENTIALS:
        cid = cred_id(srv, key)
        state.credentials[cid] = new_credential(cid, by_name[srv]["id"], user, desc, seed_password("creds", srv, key))
    for srv, key, hint, age in PASSWORDS:
        pid = key_id(srv, key)
        state.passwords[pid] = new_password(pid, by_name[srv]["id"], hint, seed_password("key", srv, key),
                                            state.clock - timedelta(days=age, hours=3, minutes=17))
    state.secret_marks = {}     # record id -> "what uses it" (set through the control API)
    state.untracked = 0         # creates answered 202 with no task (secrets.create_answer)


def new_credential(cid, server_id, username, description, password):
    return {"id": cid, "server_id": server_id, "username": username, "description": description,
            "password": sealed(password), "password_writes": 0}


def new_password(pid, server_id, hint, password, modified):
    return {"id": pid, "server_id": server_id, "hint": hint, "password": sealed(password), "modified": modified}


def new_id():
    return str(uuid.uuid4())


# ---------------------------------------------------------------------------- use by jobs


def _job_values(rec, suffix):
    for el in rec.xml.iter():
        name = local(el)
        if name and name.endswith(suffix) and (el.text or "").strip():
            yield el.text.strip().lower()


def users_of_credential(state, cred):
    """Names of what uses a credentials record: jobs on its server (guest processing), then a control mark."""
    out = [j.name for j in state.jobs.values()
           if j.server_id == cred["server_id"] and cred["id"] in set(_job_values(j, "CredentialsId"))]
    mark = state.secret_marks.get(cred["id"])
    return out + ([mark] if mark else [])


def users_of_password(state, pw):
    out = [j.name for j in state.jobs.values()
           if j.server_id == pw["server_id"] and pw["id"] in set(_job_values(j, "PasswordKeyId"))]
    mark = state.secret_marks.get(pw["id"])
    return out + ([mark] if mark else [])


def forget_server(state, sid):
    """Remove a backup server and everything EM collected from it (jobs, repositories, roots, secrets)."""
    state.servers.pop(sid, None)
    for table in (state.credentials, state.passwords):
        for k in [k for k, v in table.items() if v["server_id"] == sid]:
            table.pop(k)
    for k in [k for k, v in state.jobs.items() if v.server_id == sid]:
        state.jobs.pop(k)
    for k in [k for k, v in state.repos.items() if v["server_id"] == sid]:
        state.repos.pop(k)
    gone = {k for k, v in state.roots.items() if v["server_id"] == sid}
    for k in gone:
        state.roots.pop(k)
    state.inventory = [i for i in state.inventory if i["root_id"] not in gone]


# ---------------------------------------------------------------------------- request log


PASSWORD_ELEMENT = re.compile(r"(<(?:[A-Za-z_][\w.-]*:)?Password(?:\s[^>]*)?>)(.*?)(</(?:[A-Za-z_][\w.-]*:)?Password\s*>)",
                              re.S)


def mask_log_body(text):
    """The request log keeps a body's shape but not its secrets: every <Password> text becomes '********'."""
    if not text or "Password" not in text:
        return text
    return PASSWORD_ELEMENT.sub(lambda m: m.group(1) + ("********" if m.group(2) else "") + m.group(3), text)


# ---------------------------------------------------------------------------- control API


def _cred_json(state, c):
    return {"id": c["id"], "backup_server": state.server_name(c["server_id"]), "backup_server_id": c["server_id"],
            "username": c["username"], "description": c["description"],
            "password_set": is_set(c["password"]), "password_writes": c["password_writes"],
            "used_by": users_of_credential(state, c)}


def _pw_json(state, p):
    return {"id": p["id"], "backup_server": state.server_name(p["server_id"]), "backup_server_id": p["server_id"],
            "hint": p["hint"], "password_set": is_set(p["password"]), "last_modification": fmt_dt(p["modified"]),
            "used_by": users_of_password(state, p)}


def _server_json(s):
    return {"id": s["id"], "uid": "urn:veeam:BackupServer:" + s["id"], "name": s["name"],
            "dns_name_or_ip": s["dns"], "description": s["description"], "port": s["port"],
            "wcf_port": s["wcf_port"], "thumbprint": s["thumbprint"], "version": s["version"],
            "username": s.get("username", ""), "password_set": is_set(s.get("password")),
            "account_writes": s.get("account_writes", 0), "collection_failed": s.get("collection_failed", False)}


def _error(status, message):
    return status, {"error": message, "status": status}


def control(state, method, parts, body):
    """Handle /_emulator/{credentials,passwords,backup_servers}[...]; return (status, JSON-able) or None."""
    key = parts[0] if parts else ""
    if key not in ("credentials", "passwords", "backup_servers"):
        return None
    with state.lock:
        table = {"credentials": state.credentials, "passwords": state.passwords, "backup_servers": state.servers}[key]
        show = {"credentials": lambda r: _cred_json(state, r), "passwords": lambda r: _pw_json(state, r),
                "backup_servers": _server_json}[key]
        if len(parts) == 1:
            if method != "GET":
                return _error(405, "use GET")
            return 200, [show(r) for r in table.values()]
        if len(parts) != 3 or parts[2] not in ("in_use", "password_matches") or (
                parts[2] == "in_use" and key == "backup_servers"):
            return _error(404, "unknown control endpoint /_emulator/%s" % "/".join(parts))
        rec = table.get(parts[1].lower())
        if rec is None:
            return _error(404, "no %s record %s" % (key, parts[1]))
        if method != "POST":
            return _error(405, "use POST")
        data = json.loads(body) if body and body.strip() else {}
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        if parts[2] == "password_matches":
            return password_check(rec["password"], data)
        by = data.get("by", "Managed server")
        if not isinstance(data.get("in_use", True), bool) or not isinstance(by, str):
            raise ValueError('expected {"in_use": true|false, "by": "<what uses it>"}')
        if data.get("in_use", True):
            state.secret_marks[rec["id"]] = by
        else:
            state.secret_marks.pop(rec["id"], None)
        return 200, show(rec)
