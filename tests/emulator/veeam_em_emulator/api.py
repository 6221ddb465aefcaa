"""The /api/ routes: discovery, logon, jobs, PUT edit, tasks, servers, repositories, query service."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import urllib.parse
from datetime import datetime, timezone
import copy
import uuid
from functools import partial

from lxml import etree

from . import seed, views
from .merge import PutError, analyse_put, walk_spec
from .query import Field, QueryError, evaluate, parse_filter, sort_items
from .runs import RESULTS, STATES, JobSession
from .schema import JOB, JOB_TYPES, PLATFORMS, G, L, guest_processing, ordered_copy
from .store import JobRecord
from .xmlutil import E, NS, XMLBodyError, error_element, local, parse_xml, qn, to_bytes

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
VERSIONS = ("v1_5", "v1_6", "v1_7", "latest")
STATUS_NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                405: "MethodNotAllowed", 406: "NotAcceptable", 411: "LengthRequired", 413: "RequestEntityTooLarge",
                500: "InternalServerError", 501: "NotImplemented", 502: "BadGateway", 503: "ServiceUnavailable",
                429: "TooManyRequests", 504: "GatewayTimeout"}
XML_CT = "application/xml; charset=utf-8"


class Response:
    def __init__(self, status, body=b"", headers=None, content_type=XML_CT):
        self.status = status
        self.body = body
        self.headers = list(headers or [])
        if body and content_type:
            self.headers.append(("Content-Type", content_type))


class Request:
    """What the route layer needs from an HTTP request."""

    def __init__(self, method, path, raw_query, headers, body):
        self.method = method
        self.path = path
        self.raw_query = raw_query
        self.headers = headers
        self.body = body
        self.params = {}
        for k, v in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
            self.params.setdefault(k.lower(), v)
        accept = (headers.get("Accept") or "").lower()
        self.wants_json = "application/json" in accept
        self.session = None
        self.tasks = []                  # tasks this request created (see server: faulted requests)

    def param(self, name, default=None):
        return self.params.get(name.lower(), default)


class ApiError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []


def error_response(state, req, status, message, headers=None):
    if req is not None and req.wants_json:
        body = json.dumps({"FirstChanceExceptionMessage": None, "Message": message, "StackTrace": None,
                           "Status": STATUS_NAMES.get(status) if state.config.error_status_attr else None,
                           "StatusCode": status}).encode()
        return Response(status, body, headers, "application/json; charset=utf-8")
    el = error_element(status, message, STATUS_NAMES.get(status) if state.config.error_status_attr else None)
    return Response(status, to_bytes(el), headers)


def xml(status, el, headers=None):
    return Response(status, to_bytes(el), headers)


# ---------------------------------------------------------------------------- auth


def _token(req):
    cookie = req.headers.get("Cookie") or ""
    for part in cookie.split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            if k.strip() == "X-RestSvcSessionId" and v.strip():
                return v.strip()
    return (req.headers.get("X-RestSvcSessionId") or "").strip() or None


def session_token(req):
    """The session token a request carries (cookie first, as EM does), or None."""
    return _token(req)


def _authenticate(state, req):
    token = _token(req)
    with state.lock:
        s, reason = state.sessions.lookup(token, state.config.idle_timeout)
        if s is None:
            if reason == "missing":
                raise ApiError(401, "Authentication required: the X-RestSvcSessionId header is missing")
            raise ApiError(401, "The session is not valid (%s); log on again" % reason)
        s.touch()
        req.session = s
        return s


def _require_admin(req):
    if req.session.role != "admin":
        raise ApiError(403, "Access denied. The account must have the Portal Administrator role")


def _json_refusal(req):
    if req.wants_json:
        if req.body:
            raise ApiError(400, "Node [root] does not exist.")
        raise ApiError(406, "The emulator answers XML only; send Accept: application/xml")


# ---------------------------------------------------------------------------- dispatch


def handle(state, req) -> Response:
    try:
        return _route(state, req)
    except ApiError as exc:
        return cloud.raw_error(state, req, exc) or error_response(state, req, exc.status, exc.message, exc.headers)


def _allow(req, *methods):
    if req.method not in methods:
        raise ApiError(405, "Method %s is not allowed on this resource" % req.method,
                       [("Allow", ", ".join(methods))])


def _guid(value, what="resource"):
    if not value or not GUID_RE.match(value):
        raise ApiError(404, "The %s with ID '%s' was not found" % (what, value))
    return value.lower()


def _entity_format(req):
    fmt = req.param("format")
    if fmt is None:
        return False
    f = fmt.lower()
    if f in ("entity", "entities"):
        return True
    if f in ("reference", "references"):
        return False
    raise ApiError(400, "Unknown format '%s' (use Entity)" % fmt)


def _route(state, req):
    path = req.path
    rest = path[len("/api"):]
    parts = [urllib.parse.unquote(p) for p in rest.split("/") if p]
    if not parts:
        _allow(req, "GET")
        _json_refusal(req)
        return xml(200, views.enterprise_manager(state))
    head = parts[0].lower()
    if head == "sessionmngr" and len(parts) == 1:
        _allow(req, "POST")
        return _logon(state, req)
    _authenticate(state, req)
    _json_refusal(req)
    n = len(parts)
    cloud.gate(state, req, head, parts)                # licence and Portal User rules (cloud.py)
    if head in ("cloud", "wanaccelerators"):
        return cloud.route(state, req, head, parts)
    if head == "logonsessions":
        return _logon_sessions(state, req, parts)
    if head == "jobs":
        return _jobs(state, req, parts)
    if head == "backupservers":
        answer = servers.route(state, req, parts)      # writes, credentials, passwords (servers.py, secrets.py)
        return answer if answer is not None else _servers(state, req, parts)
    if head == "repositories":
        return _repos(state, req, parts)
    if head == "backups":
        return _backups(state, req, parts)
    if head == "tasks":
        return _tasks(state, req, parts)
    if head == "query" and n == 1:
        _allow(req, "GET")
        return _query(state, req)
    if head == "querysvc" and n == 1:
        _allow(req, "GET")
        return xml(200, views.query_svc(state))
    if head == "hierarchyroots":
        return _roots(state, req, parts)
    if head == "lookupsvc" and n == 1:
        _allow(req, "GET")
        return xml(200, views.lookup_svc(state))
    if head == "lookup" and n == 1:
        _allow(req, "GET")
        return _lookup(state, req)
    if head in ("backupsessions", "replicasessions"):
        return _job_sessions(state, req, parts)
    raise ApiError(404, "The resource '%s' was not found" % path)


# ---------------------------------------------------------------------------- logon


def _logon(state, req):
    v = req.param("v")
    if v is None or v.lower() not in VERSIONS:
        raise ApiError(400, "Unsupported API version '%s'; supported: v1_5, v1_6, v1_7, latest" % (v or ""))
    auth = req.headers.get("Authorization") or ""
    challenge = [("WWW-Authenticate", "Basic Realm=RestSvc")]
    user = password = None
    if auth[:6].lower() == "basic ":
        try:
            user, dummy, password = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            user = None
    if user is None:
        raise ApiError(401, "Authentication failed: Basic credentials are required", challenge)
    entry = state.users.get(user)
    if entry is None or entry[0] != password:
        raise ApiError(401, "Authentication failed: the user name or password is incorrect", challenge)
    _json_refusal(req)
    with state.lock:
        s = state.sessions.create(user, entry[1])
        s.touch()
    req.session = s
    headers = [("X-RestSvcSessionId", s.token), ("Set-Cookie", "X-RestSvcSessionId=%s; Path=/api" % s.token)]
    return xml(201, views.logon_session(state, s, root=True), headers)


def _logon_sessions(state, req, parts):
    if len(parts) == 1:
        _allow(req, "GET")
        with state.lock:
            alive = [s for s in state.sessions.by_id.values() if s.alive(state.config.idle_timeout)]
            return xml(200, views.collection("LogonSessions", [views.logon_session(state, s) for s in alive]))
    if len(parts) == 2:
        _allow(req, "GET", "DELETE")
        sid = _guid(parts[1], "logon session")
        with state.lock:
            s = state.sessions.by_id.get(sid)
            if s is None or not s.alive(state.config.idle_timeout):
                raise ApiError(404, "The logon session with ID '%s' was not found" % parts[1])
            if req.method == "DELETE":
                s.logged_off = True
                return Response(204)
            return xml(200, views.logon_session(state, s, root=True))
    raise ApiError(404, "The resource '%s' was not found" % req.path)


# ---------------------------------------------------------------------------- jobs


def _job_or_404(state, raw):
    jid = _guid(raw, "job")
    rec = state.job(jid)
    if rec is None:
        raise ApiError(404, "The job with ID '%s' was not found" % raw)
    return rec


def _job_list(state, req, recs):
    if _entity_format(req):
        return xml(200, views.collection("Jobs", [views.job_entity(state, r) for r in recs]))
    return xml(200, views.collection("EntityReferences", [views.job_ref(state, r) for r in recs]))


def _jobs(state, req, parts):
    _require_admin(req)
    n = len(parts)
    with state.lock:
        if n == 1:
            _allow(req, "GET")
            return _job_list(state, req, list(state.jobs.values()))
        rec = _job_or_404(state, parts[1])
        if n == 2:
            _allow(req, "GET", "PUT", "POST", "DELETE")
            if req.method == "GET":
                if _entity_format(req):
                    return xml(200, views.job_entity(state, rec, root=True))
                return xml(200, views.job_ref(state, rec, tag="EntityRef", root=True))
            if req.method == "PUT":
                return _put_job(state, req, rec)
            if req.method == "DELETE":
                return _delete_job(state, req, rec)
            return _job_action(state, req, rec)
        sub = parts[2].lower()
        if sub == "includes":
            items = views.includes_of(rec)
            writable = ("GET",) if rec.job_type not in ("Backup", "Replica") else None
            if n == 3:
                _allow(req, *(writable or ("GET", "POST")))
                if req.method == "POST":
                    return _add_include(state, req, rec)
                return xml(200, views.collection("ObjectsInJob",
                                                 [views.object_in_job(state, rec, o) for o in items]))
            if n == 4:
                _allow(req, *(writable or ("GET", "DELETE")))
                oid = _guid(parts[3], "object in job")
                for o in items:
                    if (o.findtext("{*}ObjectInJobId") or "").lower() == oid:
                        if req.method == "DELETE":
                            return _remove_include(state, req, rec, oid)
                        return xml(200, views.object_in_job(state, rec, o, root=True))
                raise ApiError(404, "The object in job with ID '%s' was not found" % parts[3])
        if sub in ("backupsessions", "replicasessions") and n == 3:
            _allow(req, "GET")
            kind = "BackupJobSession" if sub == "backupsessions" else "ReplicaJobSession"
            found = [js for js in _sessions_newest_first(state) if js.job_id == rec.id and js.kind == kind]
            return _session_list(state, req, found, kind)
    raise ApiError(404, "The resource '%s' was not found" % req.path)


def _put_job(state, req, rec):
    action = req.param("action")
    if action is not None and action.lower() != "edit":
        raise ApiError(400, "Unknown action '%s' for PUT; use action=edit" % action)
    ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype not in ("application/xml", "text/xml"):
        raise ApiError(400, "Unsupported or missing Content-Type '%s'; send application/xml" % ctype)
    try:
        root = parse_xml(req.body)
    except XMLBodyError as exc:
        raise ApiError(400, str(exc)) from None
    try:
        patch, dropped = analyse_put(root, state.config.order_violation)
    except PutError as exc:
        state.dropped = {"job_id": rec.id, "items": [], "rejected": exc.message}
        raise ApiError(exc.status, exc.message) from None
    state.dropped = {"job_id": rec.id, "items": dropped, "rejected": None}
    task = state.edit_task(req.session, rec, patch)
    answer = state.config.put_answer
    if answer == "202":
        return _accepted(state, req, task)
    # put_method.md: 200 OK when the operation is done at once; a check that fails is then the answer itself.
    failure = state.apply_now(task)
    if failure is not None:
        raise ApiError(400, failure)
    if answer == "200-resource":
        with state.lock:
            return xml(200, views.job_entity(state, state.jobs[rec.id], root=True))
    return Response(200)


def _accepted(state, req, task):
    req.tasks.append(task)
    return xml(202, views.task_el(state, task, root=True))


def _delete_job(state, req, rec):
    jid = rec.id

    def commit():
        state.jobs.pop(jid, None)
        return None
    task = state.new_task(req.session, "DeleteJob", jid, commit=commit)
    return _accepted(state, req, task)


def _job_action(state, req, rec):
    action = (req.param("action") or "").lower()
    jid = rec.id

    if action in ("start", "stop", "retry", "sync"):
        task = _run_trigger(state, req, rec, action)
    elif action == "togglescheduleenabled":
        def commit():
            cur = state.jobs.get(jid)
            if cur is None:
                return "Job %s was deleted" % jid
            for c in cur.xml:
                if c.tag.endswith("}ScheduleEnabled"):
                    c.text = "false" if c.text == "true" else "true"
            state._set_next_run(cur.xml)
            return None
        task = state.new_task(req.session, "UpdateJob", jid, commit=commit)
    elif action == "clone":
        return _clone_job(state, req, rec)
    else:
        raise ApiError(400, "Unknown action '%s'" % (req.param("action") or ""))
    return _accepted(state, req, task)


# ---------------------------------------------------------------------------- job runs


def _sessions_newest_first(state):
    return sorted(state.job_sessions.values(), key=lambda js: js.created, reverse=True)


def _running_sessions(state, jid):
    return [js for js in state.job_sessions.values() if js.job_id == jid and js.running()]


def _run_trigger(state, req, rec, action):
    """start / stop / retry / sync: a quick task; start, retry and sync create a job session at Finished."""
    jid, name = rec.id, rec.name
    is_copy = rec.job_type in ("BackupCopy", "ImmediateBackupCopy")
    operation = {"start": "StartJob", "stop": "StopJob", "retry": "RetryJob", "sync": "StartJobSync"}[action]
    ok = {"start": 'Job "%s" triggered to start.' % name, "stop": 'Job "%s" triggered to stop.' % name,
          "retry": 'Job "%s" triggered to retry.' % name, "sync": "OperationFinished"}[action]

    def check():
        cur = state.jobs.get(jid)
        if cur is None:
            return "Job %s was deleted" % jid
        running = _running_sessions(state, jid)
        if action == "start" and is_copy:
            return 'Job "%s" cannot be started: it is a backup copy job; use sync' % name
        if action == "sync" and not is_copy:
            return 'Job "%s" is not a backup copy job; use start' % name
        if action == "stop":
            return None if running else 'Job "%s" cannot be stopped: it is not running' % name
        if running:
            return 'Job "%s" is already running' % name
        if action == "retry":
            mine = [js for js in _sessions_newest_first(state) if js.job_id == jid]
            if not mine or mine[0].snapshot()["result"] != "Failed":
                return 'Job "%s" cannot be retried: its last run did not fail' % name
        return None

    def commit():
        msg = check()
        if msg:
            return msg
        if action == "stop":
            for js in _running_sessions(state, jid):
                js.stop_requested = js.stop_requested or _now()
            return None
        cfg = state.config
        js = JobSession(state.jobs[jid], cfg.session_seconds, state.faults.take_session_result(cfg.session_result),
                        is_retry=action == "retry")
        state.job_sessions[js.id] = js
        state.add_backup(state.jobs[jid])  # a job's first run creates its backup in its repository
        return None

    return state.new_task(req.session, operation, jid, precheck=check, commit=commit, ok_message=ok, quick=True)


def _now():
    return datetime.now(timezone.utc)


def _session_list(state, req, found, kind):
    if _entity_format(req):
        plural = "ReplicaJobSessions" if kind == "ReplicaJobSession" else "BackupJobSessions"
        return xml(200, views.collection(plural, [views.session_entity(state, js) for js in found]))
    return xml(200, views.collection("EntityReferences", [views.session_ref(state, js) for js in found]))


def _job_sessions(state, req, parts):
    _require_admin(req)
    kind = "BackupJobSession" if parts[0].lower() == "backupsessions" else "ReplicaJobSession"
    n = len(parts)
    with state.lock:
        if n == 1:
            _allow(req, "GET")
            return _session_list(state, req, [js for js in _sessions_newest_first(state) if js.kind == kind], kind)
        sid = _guid(parts[1], "job session")
        js = state.job_sessions.get(sid)
        if js is None or js.kind != kind:
            raise ApiError(404, "The job session with ID '%s' was not found" % parts[1])
        if n == 2:
            _allow(req, "GET", "POST")
            if req.method == "POST":
                action = (req.param("action") or "").lower()
                if action != "stop":
                    raise ApiError(400, "Unknown action '%s'; use action=stop" % (req.param("action") or ""))
                return _accepted(state, req, _stop_session_task(state, req, js))
            if _entity_format(req):
                return xml(200, views.session_entity(state, js, root=True))
            return xml(200, views.session_ref(state, js, tag="EntityRef", root=True))
        if n == 3 and parts[2].lower() in ("tasksessions", "replicatasksessions"):
            _allow(req, "GET")
            return xml(200, views.collection("EntityReferences", []))
    raise ApiError(404, "The resource '%s' was not found" % req.path)


def _stop_session_task(state, req, js):
    def check():
        return None if js.running() else 'Job Session "%s" cannot be stopped: it is not running' % js.name

    def commit():
        msg = check()
        if msg is None:
            js.stop_requested = js.stop_requested or _now()
        return msg
    return state.new_task(req.session, "StopJobSession", js.job_id, precheck=check, commit=commit,
                          ok_message='Job Session "%s" triggered to stop.' % js.name, quick=True)


# ---------------------------------------------------------------------------- request bodies


def _body_root(req, expected):
    ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype not in ("application/xml", "text/xml"):
        raise ApiError(400, "Unsupported or missing Content-Type '%s'; send application/xml" % ctype)
    try:
        root = parse_xml(req.body)
    except XMLBodyError as exc:
        raise ApiError(400, str(exc)) from None
    if root.tag != qn(expected):
        if local(root) == expected:
            raise ApiError(400, "The root element <%s> must be in the namespace %s" % (expected, NS))
        raise ApiError(400, "Unexpected root element <%s>; expected <%s> in namespace %s"
                       % (local(root) or root.tag, expected, NS))
    return root


def _walk_body(state, el, node, path):
    try:
        parsed, dropped = walk_spec(el, node, path, state.config.order_violation)
    except PutError as exc:
        raise ApiError(400, exc.message) from None
    for cn in node.children:
        if cn.min and not any(local(c) == cn.name for c in parsed):
            raise ApiError(400, "Element '%s/%s' is required" % (path, cn.name))
    return parsed, dropped


def _child_text(el, name, default=None):
    c = next((x for x in el if local(x) == name), None)
    return default if c is None else (c.text or "")


# ---------------------------------------------------------------------------- includes


CREATE_OIJ_SPEC = G("CreateObjectInJobSpec", L("HierarchyObjRef", min=1), L("HierarchyObjName", min=1),
                    L("Order", "int"), guest_processing())
GPO_NODE = guest_processing()
LEGACY_GPO = ("AppAwareProcessingMode", "FileSystemIndexingMode", "IncludedIndexingFolders",
              "ExcludedIndexingFolders", "CredentialsId")


def _enum_of(*path):
    node = GPO_NODE
    for p in path:
        node = node.child(p)
    return node.enum


def _map_legacy_gpo(gpo):
    """v1.0 children -> v1.1+ blocks (only when the v1.1 block itself was not sent)."""
    have = {local(c): c for c in gpo}
    out = E("GuestProcessingOptions")
    for c in gpo:
        if local(c) not in LEGACY_GPO:
            out.append(copy.deepcopy(c))
    mode = have.get("AppAwareProcessingMode")
    if mode is not None and "VssSnapshotOptions" not in have:
        val = (mode.text or "").strip()
        if val not in _enum_of("VssSnapshotOptions", "VssSnapshotMode"):
            raise ApiError(400, "Invalid value of element 'GuestProcessingOptions/AppAwareProcessingMode': '%s'" % val)
        out.append(E("VssSnapshotOptions", E("VssSnapshotMode", text=val)))
    if "WindowsGuestFSIndexingOptions" not in have and any(
            k in have for k in ("FileSystemIndexingMode", "IncludedIndexingFolders", "ExcludedIndexingFolders")):
        val = (have["FileSystemIndexingMode"].text or "").strip() if "FileSystemIndexingMode" in have else "EveryFolders"
        if val not in _enum_of("WindowsGuestFSIndexingOptions", "FileSystemIndexingMode"):
            raise ApiError(400, "Invalid value of element 'GuestProcessingOptions/FileSystemIndexingMode': '%s'" % val)
        win = E("WindowsGuestFSIndexingOptions", E("FileSystemIndexingMode", text=val))
        for k in ("IncludedIndexingFolders", "ExcludedIndexingFolders"):
            win.append(copy.deepcopy(have[k]) if k in have else E(k))
        out.append(win)
    if "CredentialsId" in have and "WindowsCredentialsId" not in have:
        out.append(E("WindowsCredentialsId", text=have["CredentialsId"].text or ""))
    return ordered_copy(out, GPO_NODE)


def _job_info(xml_el):
    ji = next((c for c in xml_el if local(c) == "JobInfo"), None)
    return ji[0] if ji is not None and len(ji) else None


def _include_gpo(rec, sent):
    info = _job_info(rec.xml)
    base = next((c for c in info if local(c) == "GuestProcessingOptions"), None) if info is not None else None
    result = copy.deepcopy(base) if base is not None else E("GuestProcessingOptions")
    if sent is not None:
        for c in sent:
            old = next((x for x in result if local(x) == local(c)), None)
            if old is not None:
                result.remove(old)
            result.append(copy.deepcopy(c))
    return ordered_copy(result, GPO_NODE)


def _inventory_item(state, ref):
    low = (ref or "").strip().lower()
    return next((i for i in state.inventory if i["ref"].lower() == low), None)


def _add_include(state, req, rec):
    root = _body_root(req, "CreateObjectInJobSpec")
    spec, dummy = _walk_body(state, root, CREATE_OIJ_SPEC, "CreateObjectInJobSpec")
    ref = _child_text(spec, "HierarchyObjRef").strip()
    obj_name = _child_text(spec, "HierarchyObjName")
    order = _child_text(spec, "Order")
    sent_gpo = next((c for c in spec if local(c) == "GuestProcessingOptions"), None)
    if sent_gpo is not None:
        sent_gpo = _map_legacy_gpo(sent_gpo)
    jid, name = rec.id, rec.name

    def check():
        cur = state.jobs.get(jid)
        if cur is None:
            return "Job %s was deleted" % jid
        item = _inventory_item(state, ref)
        root_rec = state.roots.get(item["root_id"]) if item else None
        if item is None or root_rec["server_id"] != cur.server_id:
            return ('Failed to add object "%s" to job "%s": object %s was not found in the virtual infrastructure '
                    'of backup server %s' % (obj_name, name, ref, state.server_name(cur.server_id)))
        if root_rec["platform"].lower() != cur.platform.lower():
            return ('Failed to add object "%s" to job "%s": a %s object cannot be added to a %s job'
                    % (obj_name, name, root_rec["platform"], cur.platform))
        for o in views.includes_of(cur):
            if (_child_text(o, "HierarchyObjRef") or "").strip().lower() == ref.lower():
                return 'Failed to add object "%s" to job "%s": the object is already included' % (obj_name, name)
        return None

    def commit():
        msg = check()
        if msg:
            return msg
        cur = state.jobs[jid]
        info = _job_info(cur.xml)
        inc = next((c for c in info if local(c) == "Includes"), None)
        if inc is None:
            inc = E("Includes")
            info.insert(0, inc)
        item = _inventory_item(state, ref)
        oid = seed.guid("oij", jid, item["ref"].lower(), str(uuid.uuid4()))
        inc.append(E("ObjectInJob", E("ObjectInJobId", text=oid), E("HierarchyObjRef", text=item["ref"]),
                     E("Name", text=obj_name), E("DisplayName", text=obj_name),
                     E("Order", text=order) if order is not None else None,
                     _include_gpo(cur, sent_gpo), attrs=[("Type", "ObjectInJob")]))
        return None

    return _accepted(state, req, state.new_task(req.session, "UpdateJob", jid, precheck=check, commit=commit))


def _remove_include(state, req, rec, oid):
    jid, name = rec.id, rec.name

    def find(cur):
        return next((o for o in views.includes_of(cur) if (_child_text(o, "ObjectInJobId") or "").lower() == oid), None)

    def check():
        cur = state.jobs.get(jid)
        if cur is None:
            return "Job %s was deleted" % jid
        if find(cur) is None:
            return 'Failed to update job "%s": object in job %s was already removed' % (name, oid)
        if len(views.includes_of(cur)) <= 1:
            return ('Failed to update job "%s": cannot remove the last object; a job must process at least one object'
                    % name)
        return None

    def commit():
        msg = check()
        if msg:
            return msg
        o = find(state.jobs[jid])
        o.getparent().remove(o)
        return None

    return _accepted(state, req, state.new_task(req.session, "UpdateJob", jid, precheck=check, commit=commit))


# ---------------------------------------------------------------------------- clone


def _clone_node(name, *children):
    return G(name, L("JobName", min=1), *children)


CLONE_INFOS = {
    "BackupJobCloneInfo": ("Backup", _clone_node("BackupJobCloneInfo", L("FolderName", min=1),
                                                 L("RepositoryUid", "uid", min=1), L("Description"))),
    "ReplicaJobCloneInfo": ("Replica", _clone_node("ReplicaJobCloneInfo", L("VmSuffix", min=1), L("Description"))),
    "BackupCopyJobCloneInfo": ("BackupCopy", _clone_node("BackupCopyJobCloneInfo", L("JobFileName", min=1),
                                                         L("RepositoryUid", "uid", min=1), L("Description"))),
    "ImmediateBackupCopyJobCloneInfo": ("ImmediateBackupCopy", _clone_node(
        "ImmediateBackupCopyJobCloneInfo", L("JobFileName", min=1), L("RepositoryUid", "uid", min=1),
        L("Description"))),
}
# the vendor example's order for the immediate copy clone info (accepted too)
IMMEDIATE_CLONE_ALT = _clone_node("ImmediateBackupCopyJobCloneInfo", L("Description"), L("RepositoryUid", "uid", min=1),
                                  L("JobFileName", min=1))
JOB_NAME_MAX = 50
REPO_UID_RE = re.compile(r"^(urn:veeam:Repository:)?([0-9a-fA-F-]{36})$", re.I)


def _in_order(el, node):
    cursor = -1
    for c in el:
        if not isinstance(c.tag, str):
            continue
        i = node.index(local(c))
        if i < 0 or i <= cursor:
            return False
        cursor = i
    return True


def _parse_clone_spec(state, req):
    root = _body_root(req, "JobCloneSpec")
    infos = []
    for c in root:
        if not isinstance(c.tag, str):
            continue
        if c.tag.startswith("{%s}" % NS) and local(c) in CLONE_INFOS:
            infos.append(c)
        elif state.config.order_violation == "reject":
            raise ApiError(400, "Element 'JobCloneSpec/%s' was rejected: unknown element" % local(c))
    if len(infos) != 1:
        raise ApiError(400, "JobCloneSpec must contain exactly one of %s (got %d)"
                       % (", ".join(CLONE_INFOS), len(infos)))
    info = infos[0]
    kind = local(info)
    node = CLONE_INFOS[kind][1]
    if kind == "ImmediateBackupCopyJobCloneInfo" and not _in_order(info, node) and _in_order(info, IMMEDIATE_CLONE_ALT):
        node = IMMEDIATE_CLONE_ALT
    parsed, dummy = _walk_body(state, info, node, "JobCloneSpec/" + kind)
    return kind, {local(c): (c.text or "") for c in parsed}


def _clone_job(state, req, src):
    kind, values = _parse_clone_spec(state, req)
    jid, src_name, server_id = src.id, src.name, src.server_id
    new_name = values["JobName"]
    holder = []

    def repo_of(cur):
        m = REPO_UID_RE.match((values.get("RepositoryUid") or "").strip())
        r = state.repos.get(m.group(2).lower()) if m else None
        return r if r is not None and r["server_id"] == cur.server_id else None

    def check():
        cur = state.jobs.get(jid)
        if cur is None:
            return "Job %s was deleted" % jid
        want = CLONE_INFOS[kind][0]
        prefix = 'Failed to clone job "%s": ' % src_name
        if cur.job_type != want:
            return prefix + "<%s> does not match the job type %s" % (kind, cur.job_type)
        if not new_name.strip():
            return prefix + "the new job name is empty"
        if len(new_name) > JOB_NAME_MAX:
            return prefix + "the job name must be at most %d characters (got %d)" % (JOB_NAME_MAX, len(new_name))
        for j in state.jobs.values():
            if j.server_id == cur.server_id and j.name.lower() == new_name.lower():
                return prefix + 'a job named "%s" already exists on backup server %s' % (
                    new_name, state.server_name(cur.server_id))
        if "RepositoryUid" in values and repo_of(cur) is None:
            return prefix + "repository %s was not found on backup server %s" % (
                values["RepositoryUid"], state.server_name(cur.server_id))
        return None

    def commit():
        msg = check()
        if msg:
            return msg
        cur = state.jobs[jid]
        server = state.server_name(server_id)
        nid = seed.job_id(server, new_name)
        n = 1
        while nid in state.jobs:
            n += 1
            nid = seed.guid("job", server, new_name, str(n))
        new = copy.deepcopy(cur.xml)
        new.set("Name", new_name)
        new.set("UID", "urn:veeam:Job:" + nid)
        if "Description" in values:
            for c in new:
                if local(c) == "Description":
                    c.text = values["Description"]
        for oij in new.iter("{*}ObjectInJobId"):
            oij.text = seed.guid("oij", nid, oij.text or "")
        new = ordered_copy(new, JOB)
        state._set_next_run(new)
        rec = JobRecord(nid, server_id, new)
        repo = repo_of(cur) if "RepositoryUid" in values else None
        rec.repo_id = repo["id"] if repo else None   # its backup appears with its first run
        rec.meta = {"cloned_from": jid, "clone_info": kind,
                    "repository_uid": "urn:veeam:Repository:" + repo["id"] if repo else None}
        for k in ("FolderName", "VmSuffix", "JobFileName"):
            if k in values:
                rec.meta[k] = values[k]
        state.jobs[nid] = rec
        holder[0].related = ("Related", "Job", "/api/jobs/%s?format=Entity" % nid, new_name)
        return None

    task = state.new_task(req.session, "CloneJob", jid, precheck=check, commit=commit)
    holder.append(task)
    return _accepted(state, req, task)


# ---------------------------------------------------------------------------- hierarchy roots / lookup


def _roots(state, req, parts):
    _allow(req, "GET")
    n = len(parts)
    if n == 1:
        items = list(state.roots.values())
        if _entity_format(req):
            return xml(200, views.collection("HierarchyRoots", [views.root_entity(state, r) for r in items]))
        return xml(200, views.collection("EntityReferences", [views.root_ref(state, r) for r in items]))
    if n == 2:
        r = state.roots.get(_guid(parts[1], "hierarchy root"))
        if r is None:
            raise ApiError(404, "The hierarchy root with ID '%s' was not found" % parts[1])
        if _entity_format(req):
            return xml(200, views.root_entity(state, r, root=True))
        return xml(200, views.root_ref(state, r, tag="EntityRef", root=True))
    raise ApiError(404, "The resource '%s' was not found" % req.path)


ROOT_UID_PREFIX = "urn:veeam:hierarchyroot:"


def _lookup(state, req):
    host = (req.param("host") or "").strip()
    href = (req.param("hierarchyRef") or "").strip()
    name = req.param("name")
    otype = (req.param("type") or "").strip()
    if not host and not href:
        raise ApiError(400, "The query parameter 'host' (or 'hierarchyRef') is required")
    items = state.inventory
    if host:
        rid = host[len(ROOT_UID_PREFIX):] if host.lower().startswith(ROOT_UID_PREFIX) else host
        rid = _guid(rid, "hierarchy root")
        if rid not in state.roots:
            raise ApiError(404, "The hierarchy root with ID '%s' was not found" % host)
        items = [i for i in items if i["root_id"] == rid]
    if href:
        items = [i for i in items if i["ref"].lower() == href.lower()]
    if name is not None and name != "":
        items = [i for i in items if i["name"].lower() == name.lower()]
    if otype:
        items = [i for i in items if i["type"].lower() == otype.lower()]
    return xml(200, views.hierarchy_items(items))


# ---------------------------------------------------------------------------- servers / repositories


def _servers(state, req, parts):
    n = len(parts)
    _allow(req, "GET")
    if n == 1:
        items = list(state.servers.values())
        if _entity_format(req):
            return xml(200, views.collection("BackupServers", [views.server_entity(state, s) for s in items]))
        return xml(200, views.collection("EntityReferences", [views.server_ref(state, s) for s in items]))
    sid = _guid(parts[1], "backup server")
    s = state.servers.get(sid)
    if s is None:
        raise ApiError(404, "The backup server with ID '%s' was not found" % parts[1])
    if n == 2:
        if _entity_format(req):
            return xml(200, views.server_entity(state, s, root=True))
        return xml(200, views.server_ref(state, s, tag="EntityRef", root=True))
    if n == 3 and parts[2].lower() == "jobs":
        _require_admin(req)
        with state.lock:
            return _job_list(state, req, [j for j in state.jobs.values() if j.server_id == sid])
    if n == 3 and parts[2].lower() == "repositories":
        return _repo_list(state, req, [r for r in state.repos.values() if r["server_id"] == sid])
    raise ApiError(404, "The resource '%s' was not found" % req.path)


def _repo_list(state, req, items):
    if _entity_format(req):
        return xml(200, views.collection("Repositories", [views.repo_entity(state, r) for r in items]))
    return xml(200, views.collection("EntityReferences", [views.repo_ref(state, r) for r in items]))


def _repos(state, req, parts):
    _allow(req, "GET")
    if len(parts) == 1:
        return _repo_list(state, req, list(state.repos.values()))
    rid = _guid(parts[1], "repository")
    r = state.repos.get(rid)
    if r is None:
        raise ApiError(404, "The repository with ID '%s' was not found" % parts[1])
    if len(parts) == 2:
        if _entity_format(req):
            return xml(200, views.repo_entity(state, r, root=True))
        return xml(200, views.repo_ref(state, r, tag="EntityRef", root=True))
    if len(parts) == 3 and parts[2].lower() == "backups":
        with state.lock:
            return _backup_list(state, req, [b for b in state.backups.values() if b["repo_id"] == rid])
    raise ApiError(404, "The resource '%s' was not found" % req.path)


def _backup_list(state, req, items):
    if _entity_format(req):
        return xml(200, views.collection("Backups", [views.backup_entity(state, b) for b in items]))
    return xml(200, views.collection("EntityReferences", [views.backup_ref(state, b) for b in items]))


def _backups(state, req, parts):
    """``/backups[/{id}]``: the backups of every backup server, each linked Up to its repository."""
    _allow(req, "GET")
    with state.lock:
        if len(parts) == 1:
            return _backup_list(state, req, list(state.backups.values()))
        if len(parts) == 2:
            bid = _guid(parts[1], "backup")
            b = state.backups.get(bid)
            if b is None:
                raise ApiError(404, "The backup with ID '%s' was not found" % parts[1])
            if _entity_format(req):
                return xml(200, views.backup_entity(state, b, root=True))
            return xml(200, views.backup_ref(state, b, tag="EntityRef", root=True))
    raise ApiError(404, "The resource '%s' was not found" % req.path)


# ---------------------------------------------------------------------------- tasks


def _tasks(state, req, parts):
    s = req.session
    with state.lock:
        if len(parts) == 1:
            _allow(req, "GET")
            return xml(200, views.collection("Tasks", [views.task_el(state, t) for t in s.tasks.values()]))
        if len(parts) == 2:
            _allow(req, "GET", "DELETE")
            t = s.tasks.get(parts[1].lower())
            if t is None:
                raise ApiError(404, "The task with ID '%s' was not found" % parts[1])
            if req.method == "DELETE":
                state.delete_task(s, t)
                return Response(204)
            t.poll(state.config)
            return xml(200, views.task_el(state, t, root=True))
    raise ApiError(404, "The resource '%s' was not found" % req.path)


# ---------------------------------------------------------------------------- query service


def _job_fields(state):
    def nr(j):
        return j.text("NextRun") or None

    def b(name):
        return lambda j: (j.text(name) == "true") if j.text(name) is not None else None
    return {
        "UID": Field("UID", lambda j: j.uid),
        "Name": Field("Name", lambda j: j.name),
        "Description": Field("Description", lambda j: j.text("Description") or ""),
        "NextRun": Field("NextRun", nr, "datetime"),
        "JobType": Field("JobType", lambda j: j.job_type, "enum", JOB_TYPES),
        "Platform": Field("Platform", lambda j: j.platform, "enum", PLATFORMS),
        "ScheduleConfigured": Field("ScheduleConfigured", b("ScheduleConfigured"), "bool"),
        "ScheduleEnabled": Field("ScheduleEnabled", b("ScheduleEnabled"), "bool"),
        "BackupServerUid": Field("BackupServerUid", lambda j: "urn:veeam:BackupServer:" + j.server_id),
        "BackupServerName": Field("BackupServerName", lambda j: state.server_name(j.server_id)),
    }


def _server_fields():
    return {
        "UID": Field("UID", lambda s: "urn:veeam:BackupServer:" + s["id"]),
        "Name": Field("Name", lambda s: s["name"]),
        "Description": Field("Description", lambda s: s["description"]),
        "IpOrDnsName": Field("IpOrDnsName", lambda s: s["dns"]),
        "Port": Field("Port", lambda s: s["port"], "int"),
        "Version": Field("Version", lambda s: s["version"]),
    }


def _repo_fields(state):
    return {
        "UID": Field("UID", lambda r: "urn:veeam:Repository:" + r["id"]),
        "Name": Field("Name", lambda r: r["name"]),
        "FreeSpace": Field("FreeSpace", lambda r: r["free"], "int"),
        "Capacity": Field("Capacity", lambda r: r["capacity"], "int"),
        "BackupServerUid": Field("BackupServerUid", lambda r: "urn:veeam:BackupServer:" + r["server_id"]),
        "BackupServerName": Field("BackupServerName", lambda r: state.server_name(r["server_id"])),
    }


BACKUP_PLATFORMS = ("VMware", "HyperV", "vCloud", "AgentForLinux", "AgentForWindows", "CustomPlatform")
BACKUP_TYPES = ("Standard", "ParentBackup", "ChildBackup")


def _backup_fields(state):
    """The fields get_query_backup.md lists, and no others (an unknown field is a 400)."""
    def repo(b, key):
        r = state.repos.get(b["repo_id"])
        return r[key] if r else None
    return {
        "UID": Field("UID", lambda b: "urn:veeam:Backup:" + b["id"]),
        "Name": Field("Name", state.backup_job_name),
        "JobUid": Field("JobUid", lambda b: "urn:veeam:Job:" + b["job_id"]),
        "JobName": Field("JobName", state.backup_job_name),
        "RepositoryUid": Field("RepositoryUid", lambda b: "urn:veeam:Repository:" + b["repo_id"]),
        "RepositoryName": Field("RepositoryName", lambda b: repo(b, "name")),
        "Platform": Field("Platform", lambda b: b["platform"], "enum", BACKUP_PLATFORMS),
        "BackupType": Field("BackupType", lambda b: b["backup_type"], "enum", BACKUP_TYPES),
    }


def _task_fields():
    return {
        "TaskId": Field("TaskId", lambda t: t.task_id),
        "State": Field("State", lambda t: t.state, "enum", ("Running", "OperationFinished", "Finished")),
        "Operation": Field("Operation", lambda t: t.operation),
    }


def _oij_fields(state):
    return {
        "UID": Field("UID", lambda p: _child_text(p[1], "ObjectInJobId")),
        "Name": Field("Name", lambda p: _child_text(p[1], "Name")),
        "JobUid": Field("JobUid", lambda p: p[0].uid),
        "JobName": Field("JobName", lambda p: p[0].name),
        "BackupServerUid": Field("BackupServerUid", lambda p: "urn:veeam:BackupServer:" + p[0].server_id),
        "BackupServerName": Field("BackupServerName", lambda p: state.server_name(p[0].server_id)),
    }


HOST_TYPES = ("ESX", "VC", "ESXi", "HvServer", "HvCluster", "Scvmm", "VcdSystem")


def _root_fields(state):
    return {
        "UID": Field("UID", lambda r: "urn:veeam:HierarchyRoot:" + r["id"]),
        "Name": Field("Name", lambda r: r["name"]),
        "UniqueId": Field("UniqueId", lambda r: r["unique_id"]),
        "HostType": Field("HostType", lambda r: r["host_type"]),
        "BackupServerUid": Field("BackupServerUid", lambda r: "urn:veeam:BackupServer:" + r["server_id"]),
        "BackupServerName": Field("BackupServerName", lambda r: state.server_name(r["server_id"])),
    }


def _session_fields(state):
    return {
        "UID": Field("UID", lambda js: js.uid),
        "Name": Field("Name", lambda js: js.name),
        "JobType": Field("JobType", lambda js: js.job_type),
        "JobUid": Field("JobUid", lambda js: "urn:veeam:Job:" + js.job_id),
        "JobName": Field("JobName", lambda js: js.job_name),
        "CreationTime": Field("CreationTime", lambda js: js.created, "datetime"),
        "EndTime": Field("EndTime", lambda js: js.snapshot()["end"], "datetime"),
        "State": Field("State", lambda js: js.snapshot()["state"], "enum", STATES),
        "Result": Field("Result", lambda js: js.snapshot()["result"], "enum", RESULTS),
        "Progress": Field("Progress", lambda js: js.snapshot()["progress"], "int"),
        "IsRetry": Field("IsRetry", lambda js: js.is_retry, "bool"),
        "BackupServerUid": Field("BackupServerUid", lambda js: "urn:veeam:BackupServer:" + js.server_id),
        "BackupServerName": Field("BackupServerName", lambda js: state.server_name(js.server_id)),
    }


# types the real service knows but this emulator does not serve yet (hooks)
UNIMPLEMENTED_QUERY_TYPES = ()


def _query(state, req):
    qtype = req.param("type")
    if not qtype:
        raise ApiError(400, "The query parameter 'type' is required")
    t = qtype.lower()
    wrap = None
    with state.lock:
        if t == "job":
            _require_admin(req)
            items, fields = list(state.jobs.values()), _job_fields(state)
            ref, ent, plural = partial(views.job_ref, state), partial(views.job_entity, state), "Jobs"
        elif t == "backupserver":
            items, fields = list(state.servers.values()), _server_fields()
            ref, ent, plural = partial(views.server_ref, state), partial(views.server_entity, state), "BackupServers"
        elif t == "repository":
            items, fields = list(state.repos.values()), _repo_fields(state)
            ref, ent, plural = partial(views.repo_ref, state), partial(views.repo_entity, state), "Repositories"
        elif t == "backup":
            items, fields = list(state.backups.values()), _backup_fields(state)
            ref, ent, plural = partial(views.backup_ref, state), partial(views.backup_entity, state), "Backups"
        elif t == "task":
            items, fields = list(req.session.tasks.values()), _task_fields()
            ref, ent, plural = None, partial(views.task_el, state), "Tasks"
        elif t == "hierarchyroot":
            items, fields = list(state.roots.values()), _root_fields(state)
            ref, ent, plural = partial(views.root_ref, state), partial(views.root_entity, state), "HierarchyRoots"
        elif t == "objectinjob":
            _require_admin(req)
            items = [(j, o) for j in state.jobs.values() for o in views.includes_of(j)]
            fields = _oij_fields(state)
            ref, ent = partial(views.object_in_job_ref, state), partial(views.object_in_job_pair, state)
            plural = "ObjectsInJob"
        elif t in ("backupjobsession", "replicajobsession"):
            _require_admin(req)
            kind = "BackupJobSession" if t == "backupjobsession" else "ReplicaJobSession"
            items = [js for js in _sessions_newest_first(state) if js.kind == kind]
            fields = _session_fields(state)
            ref, ent = partial(views.session_ref, state), partial(views.session_entity, state)
            plural = kind + "s"
        elif t in secrets.QUERY_TYPES:
            items, fields, ref, ent, plural, wrap = secrets.QUERY_TYPES[t](state, req)
        elif t in cloud.QUERY_TYPES:
            items, fields, ref, ent, plural, wrap = cloud.QUERY_TYPES[t](state, req)
        elif t in [x.lower() for x in UNIMPLEMENTED_QUERY_TYPES]:
            raise ApiError(501, "Query type '%s' is not implemented by the emulator" % qtype)
        else:
            raise ApiError(400, "Unknown query type '%s'" % qtype)
        try:
            flt = parse_filter(req.param("filter"), fields)
            items = [x for x in items if evaluate(flt, x)]
            items = sort_items(items, fields, req.param("sortAsc"), req.param("sortDesc"))
        except QueryError as exc:
            raise ApiError(400, str(exc)) from None
        page_size = _int_param(req, "pageSize", 0)
        page = _int_param(req, "page", 1)
        if page < 1:
            raise ApiError(400, "The 'page' parameter must be 1 or greater")
        total = len(items)
        if page_size > 0:
            pages = max(1, math.ceil(total / page_size))
            shown = items[(page - 1) * page_size: page * page_size]
        else:
            pages, page, shown = 1, 1, items
        fmt = (req.param("format") or "").lower()
        if fmt and fmt not in ("entities", "entity", "refs", "references", "reference"):
            raise ApiError(400, "Unknown format '%s' (use Entities)" % req.param("format"))
        result = E("QueryResult", root=True)
        spliced = None
        if wrap is not None:
            result.append(wrap([ent(x) for x in shown], fmt))
        elif ref is None:
            result.append(E("Resources", E(plural, [ent(x) for x in shown])))
        elif fmt in ("entities", "entity") and t == "job":
            # Each job's serialised entity is written into the page as it is: hundreds of them per page.
            spliced = b"".join(views.job_entity_bytes(state, x, declared=False) for x in shown)
            result.append(E("Entities", E(plural, etree.Comment(_SPLICE))))
        elif fmt in ("entities", "entity"):
            result.append(E("Entities", E(plural, [ent(x) for x in shown])))
        else:
            result.append(E("Refs", [ref(x) for x in shown]))
        pi = E("PagingInfo", attrs=[("PageNum", page), ("PageSize", page_size if page_size > 0 else total),
                                    ("PagesCount", pages)])
        if page_size > 0:
            pl = []
            pl.append(_page_link(state, req, "First", 1))
            if page > 1:
                pl.append(_page_link(state, req, "Previous", min(page - 1, pages)))
            if page < pages:
                pl.append(_page_link(state, req, "Next", page + 1))
            pl.append(_page_link(state, req, "Last", pages))
            pi.append(E("Links", pl))
        result.append(pi)
        if spliced is not None:
            return Response(200, to_bytes(result).replace(b"<!--%s-->" % _SPLICE.encode(), spliced, 1))
        return xml(200, result)


_SPLICE = "jobs of this page"


def _int_param(req, name, default):
    v = req.param(name)
    if v is None or v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise ApiError(400, "The '%s' parameter must be an integer" % name) from None


def _page_link(state, req, rel, page):
    pairs = [p for p in req.raw_query.split("&") if p]
    out, seen = [], False
    for p in pairs:
        k = p.split("=", 1)[0]
        if urllib.parse.unquote_plus(k).lower() == "page":
            if not seen:
                out.append("%s=%d" % (k, page))
                seen = True
            continue
        out.append(p)
    if not seen:
        out.append("page=%d" % page)
    return E("Link", attrs=[("Href", "%s/api/query?%s" % (state.base_url, "&".join(out))), ("Rel", rel)])


# Route modules that import this one (kept last: they use the names above).
from . import cloud, secrets, servers  # noqa: E402  pylint: disable=wrong-import-position,cyclic-import
