"""The /api/ routes: discovery, logon, jobs, PUT edit, tasks, servers, repositories, query service."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import urllib.parse
from functools import partial

from . import views
from .merge import PutError, analyse_put
from .query import Field, QueryError, evaluate, parse_filter, sort_items
from .schema import JOB_TYPES, PLATFORMS
from .xmlutil import E, XMLBodyError, error_element, parse_xml, to_bytes

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
        return error_response(state, req, exc.status, exc.message, exc.headers)


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
    if head == "logonsessions":
        return _logon_sessions(state, req, parts)
    if head == "jobs":
        return _jobs(state, req, parts)
    if head == "backupservers":
        return _servers(state, req, parts)
    if head == "repositories":
        return _repos(state, req, parts)
    if head == "tasks":
        return _tasks(state, req, parts)
    if head == "query" and n == 1:
        _allow(req, "GET")
        return _query(state, req)
    if head == "querysvc" and n == 1:
        _allow(req, "GET")
        return xml(200, views.query_svc(state))
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
            if n == 3:
                _allow(req, "GET")
                return xml(200, views.collection("ObjectsInJob",
                                                 [views.object_in_job(state, rec, o) for o in items]))
            if n == 4:
                _allow(req, "GET")
                oid = _guid(parts[3], "object in job")
                for o in items:
                    if (o.findtext("{*}ObjectInJobId") or "").lower() == oid:
                        return xml(200, views.object_in_job(state, rec, o, root=True))
                raise ApiError(404, "The object in job with ID '%s' was not found" % parts[3])
        if sub in ("backupsessions", "replicasessions") and n == 3:
            _allow(req, "GET")
            return xml(200, views.collection("EntityReferences", []))
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
    return _accepted(state, req, task)


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
    jid, name = rec.id, rec.name
    is_copy = rec.job_type in ("BackupCopy", "ImmediateBackupCopy")

    def fail_if(cond, msg):
        return (lambda: msg) if cond else None

    if action == "start":
        task = state.new_task(req.session, "StartJob", jid,
                              precheck=fail_if(is_copy, 'Job "%s" cannot be started; use sync' % name),
                              ok_message='Job "%s" triggered to start.' % name)
    elif action == "stop":
        task = state.new_task(req.session, "StopJob", jid, ok_message='Job "%s" triggered to stop.' % name)
    elif action == "retry":
        task = state.new_task(req.session, "RetryJob", jid,
                              precheck=lambda: 'Job "%s" cannot be retried: its last run did not fail' % name)
    elif action == "sync":
        task = state.new_task(req.session, "StartJobSync", jid,
                              precheck=fail_if(not is_copy, 'Job "%s" is not a backup copy job' % name),
                              ok_message="OperationFinished")
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
        raise ApiError(501, "action=clone is not implemented by the emulator")
    else:
        raise ApiError(400, "Unknown action '%s'" % (req.param("action") or ""))
    return _accepted(state, req, task)


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
    if len(parts) == 2:
        rid = _guid(parts[1], "repository")
        r = state.repos.get(rid)
        if r is None:
            raise ApiError(404, "The repository with ID '%s' was not found" % parts[1])
        if _entity_format(req):
            return xml(200, views.repo_entity(state, r, root=True))
        return xml(200, views.repo_ref(state, r, tag="EntityRef", root=True))
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
                t.deleted = True
                del s.tasks[t.task_id]
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


def _task_fields():
    return {
        "TaskId": Field("TaskId", lambda t: t.task_id),
        "State": Field("State", lambda t: t.state, "enum", ("Running", "OperationFinished", "Finished")),
        "Operation": Field("Operation", lambda t: t.operation),
    }


# types the real service knows but this emulator does not serve yet (hooks)
UNIMPLEMENTED_QUERY_TYPES = ("HierarchyRoot", "ObjectInJob", "BackupJobSession", "ReplicaJobSession")


def _query(state, req):
    qtype = req.param("type")
    if not qtype:
        raise ApiError(400, "The query parameter 'type' is required")
    t = qtype.lower()
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
        elif t == "task":
            items, fields = list(req.session.tasks.values()), _task_fields()
            ref, ent, plural = None, partial(views.task_el, state), "Tasks"
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
        if ref is None:
            result.append(E("Resources", E(plural, [ent(x) for x in shown])))
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
        return xml(200, result)


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
