"""Test-only control API under /_emulator/ (JSON in and out, no authentication).

Endpoints: health, log, reset, config, faults, jobs, jobs/{id}/xml, jobs/{id}/copy, backups, backups/{id}, dropped,
sessions, sessions/expire, tasks, backup_sessions.  See README.md for shapes and examples.
"""

from __future__ import annotations

import copy
import json
import time
import urllib.parse
import uuid

from lxml import etree

from . import cloud, secret_store
from .api import GUID_RE, Response
from .schema import JOB, ordered_copy
from .store import JobRecord
from .xmlutil import XMLBodyError, local, parse_xml, qn, to_bytes

JSON_CT = "application/json; charset=utf-8"
STARTED = time.time()


def _json(status, data):
    return Response(status, (json.dumps(data, indent=1) + "\n").encode(), content_type=JSON_CT)


def _err(status, message):
    return _json(status, {"error": message, "status": status})


def _body_json(body):
    if not body or not body.strip():
        return {}
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ValueError("request body is not valid JSON: %s" % exc) from None


def handle(state, method, path, raw_query, headers, body) -> Response:
    parts = [urllib.parse.unquote(p) for p in path.split("/") if p][1:]   # drop "_emulator"
    params = dict(urllib.parse.parse_qsl(raw_query))
    try:
        return _route(state, method, parts, params, headers, body)
    except ValueError as exc:
        return _err(400, str(exc))


def _allow(method, *allowed):
    if method not in allowed:
        return _err(405, "method %s not allowed here (allowed: %s)" % (method, ", ".join(allowed)))
    return None


def _route(state, method, parts, params, headers, body):
    key = "/".join(parts[:1])
    if key == "health" and len(parts) == 1:
        return _allow(method, "GET") or _json(200, {
            "status": "ok", "base_url": state.base_url, "jobs": len(state.jobs),
            "uptime_seconds": round(time.time() - STARTED, 3)})
    if key == "log" and len(parts) == 1:
        bad = _allow(method, "GET", "DELETE")
        if bad:
            return bad
        with state.lock:
            if method == "DELETE":
                n = len(state.log)
                state.log = []
                return _json(200, {"cleared": n})
            since = int(params.get("since", "0") or 0)
            return _json(200, [e for e in state.log if e["seq"] > since])
    if key == "reset" and len(parts) == 1:
        bad = _allow(method, "POST")
        if bad:
            return bad
        state.reset()
        return _json(200, {"reset": True, "jobs": len(state.jobs), "config": state.config.to_json()})
    if key == "config" and len(parts) == 1:
        bad = _allow(method, "GET", "PATCH")
        if bad:
            return bad
        with state.lock:
            if method == "PATCH":
                state.config.update(_body_json(body))
            out = state.config.to_json()
            out["advertised_url"] = state.base_url
            return _json(200, out)
    if key == "faults" and len(parts) == 1:
        bad = _allow(method, "GET", "POST", "DELETE")
        if bad:
            return bad
        with state.lock:
            if method == "POST":
                state.faults.update(_body_json(body))
            elif method == "DELETE":
                state.faults.clear()
            return _json(200, state.faults.to_json())
    if key == "jobs":
        return _jobs(state, method, parts, body)
    if key == "backups":
        return _backups(state, method, parts, body)
    if key == "dropped" and len(parts) == 1:
        return _allow(method, "GET") or _json(200, state.dropped)
    if key == "sessions":
        with state.lock:
            idle = state.config.idle_timeout
            if len(parts) == 1:
                return _allow(method, "GET") or _json(200, [s.summary(idle) for s in state.sessions.by_id.values()])
            if len(parts) == 2 and parts[1] == "expire":
                bad = _allow(method, "POST")
                if bad:
                    return bad
                data = _body_json(body)
                sid = data.get("session_id") if isinstance(data, dict) else None
                if sid:
                    s = state.sessions.by_id.get(sid.lower())
                    if s is None:
                        return _err(404, "no session %s" % sid)
                    targets = [s]
                else:
                    targets = list(state.sessions.by_id.values())
                for s in targets:
                    s.force_expired = True
                return _json(200, {"expired": [s.session_id for s in targets]})
    if key == "backup_sessions" and len(parts) == 1:
        with state.lock:
            return _allow(method, "GET") or _json(200, [js.to_json() for js in state.job_sessions.values()])
    secret = secret_store.control(state, method, parts, body)    # credentials, passwords, backup_servers
    if secret is not None:
        return _json(*secret)
    tenants = cloud.control(state, method, parts, body)       # tenants, deleted_tenants, users
    if tenants is not None:
        return _json(*tenants)
    if key == "tasks" and len(parts) == 1:
        with state.lock:
            return _allow(method, "GET") or _json(200, [t.to_json() for t in state.all_tasks])
    return _err(404, "unknown control endpoint /_emulator/%s" % "/".join(parts))


def _backup_json(state, b):
    return {"id": b["id"], "uid": "urn:veeam:Backup:" + b["id"], "job_id": b["job_id"],
            "job_name": state.backup_job_name(b), "repository_id": b["repo_id"],
            "repository": (state.repos.get(b["repo_id"]) or {}).get("name"),
            "backup_server": state.server_name(b["server_id"])}


def _backups(state, method, parts, body):
    """``GET`` lists the backups; ``POST {"job_id", "repository_id"}`` adds one (a job whose backups sit in two
    repositories); ``DELETE /_emulator/backups/{id}`` removes one (a job that has not run yet)."""
    with state.lock:
        if len(parts) == 1:
            bad = _allow(method, "GET", "POST")
            if bad:
                return bad
            if method == "POST":
                data = _body_json(body)
                rec = state.jobs.get(str(data.get("job_id") or "").lower()) if isinstance(data, dict) else None
                repo = state.repos.get(str(data.get("repository_id") or "").lower()) if rec is not None else None
                if rec is None or repo is None or repo["server_id"] != rec.server_id:
                    return _err(400, "give job_id and repository_id of a repository on that job's backup server")
                b = state.add_backup(rec, repo["id"])
                if b is None:
                    return _err(400, "a replica job has no backups")
                return _json(200, _backup_json(state, b))
            return _json(200, [_backup_json(state, b) for b in state.backups.values()])
        if len(parts) == 2:
            bad = _allow(method, "DELETE")
            if bad:
                return bad
            b = state.backups.pop(parts[1].lower(), None)
            if b is None:
                return _err(404, "no backup %s" % parts[1])
            return _json(200, _backup_json(state, b))
    return _err(404, "unknown control endpoint /_emulator/%s" % "/".join(parts))


def _jobs(state, method, parts, body):
    with state.lock:
        if len(parts) == 1:
            return _allow(method, "GET") or _json(200, [
                dict({"id": j.id, "uid": j.uid, "name": j.name, "job_type": j.job_type, "platform": j.platform,
                      "backup_server": state.server_name(j.server_id), "backup_server_id": j.server_id},
                     **({"meta": j.meta} if j.meta else {}))
                for j in state.jobs.values()])
        if len(parts) == 3 and parts[2] == "copy":
            return _copy_job(state, method, parts[1], body)
        if len(parts) == 3 and parts[2] == "xml":
            jid = parts[1].lower()
            rec = state.jobs.get(jid) if GUID_RE.match(jid) else None
            if rec is None:
                return _err(404, "no job %s" % parts[1])
            if method == "GET":
                return Response(200, to_bytes(rec.xml), content_type="text/xml; charset=utf-8")
            if method == "PUT":
                try:
                    root = parse_xml(body)
                except XMLBodyError as exc:
                    return _err(400, str(exc))
                if root.tag != qn("Job"):
                    return _err(400, "root element must be {http://www.veeam.com/ent/v1.0}Job")
                new = ordered_copy(root, JOB)
                for c in list(new):
                    if local(c) == "Links":
                        new.remove(c)
                new.attrib.clear()
                new.set("Type", "Job")
                new.set("Name", root.get("Name") or rec.name)
                new.set("UID", rec.uid)
                rec.xml = new
                return Response(200, to_bytes(rec.xml), content_type="text/xml; charset=utf-8")
            return _err(405, "use GET or PUT")
    return _err(404, "unknown control endpoint /_emulator/%s" % "/".join(parts))


def _copy_job(state, method, job_id, body):
    """POST jobs/{id}/copy {"name": N}: a new job, identical but for its id and name (a test fixture, not EM).

    The end-to-end tests give each case its own job this way, so that many cases run in one playbook.
    """
    bad = _allow(method, "POST")
    if bad:
        return bad
    jid = job_id.lower()
    rec = state.jobs.get(jid) if GUID_RE.match(jid) else None
    if rec is None:
        return _err(404, "no job %s" % job_id)
    name = _body_json(body).get("name")
    if not isinstance(name, str) or not name.strip():
        return _err(400, "give the copy a name: {\"name\": \"...\"}")
    if any(j.name == name and j.server_id == rec.server_id for j in state.jobs.values()):
        return _err(409, "a job named %r already exists on that backup server" % name)
    new_id = str(uuid.uuid5(uuid.UUID(jid), name))
    xml = copy.deepcopy(rec.xml)
    xml.set("Name", name)
    xml.set("UID", "urn:veeam:Job:" + new_id)
    state.jobs[new_id] = JobRecord(new_id, rec.server_id, xml)
    state.jobs[new_id].meta = copy.deepcopy(rec.meta)
    state.jobs[new_id].repo_id = rec.repo_id
    for b in [b for b in state.backups.values() if b["job_id"] == rec.id]:  # its backups too
        state.add_backup(state.jobs[new_id], b["repo_id"])
    return _json(201, {"id": new_id, "name": name, "copied_from": rec.id})


__all__ = ["handle", "etree"]
