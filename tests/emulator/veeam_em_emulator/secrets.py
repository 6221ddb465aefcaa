"""/api/backupServers/{id}/credentials and /passwords: credentials records and encryption passwords.

Also the shared pieces of every synchronous write (strict body parsing with the schema cursor walk,
the answer switches) that :mod:`servers` reuses, and the query types ``Credentials`` and ``Passwords``.
Data and control views live in :mod:`secret_store`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from . import secret_store
from .api import ApiError, Response, _accepted, _allow, _body_root, _entity_format, _guid, _require_admin, xml
from .merge import PutError, walk_spec
from .query import Field
from .schema import G, L
from .tasks import Task
from .views import link, links
from .xmlutil import E, fmt_dt, local

# Request bodies, in XSD order.  ``ro`` children are accepted, ignored and recorded in /_emulator/dropped.
CRED_SPEC = G("CredentialsInfoSpec", L("Username"), L("Description"), L("Password"))
CRED_PUT = G("CredentialsInfo", G("Links", ro=True), L("Id", ro=True), L("Username"), L("Description"),
             L("Password"))
PW_CREATE = G("PasswordKeyInfoSpec", L("Hint"), L("Password", min=1))
PW_PUT = G("PasswordKeyInfoSpec", L("Hint"), L("Password", ro=True))   # only the hint is editable [DOC]


# ---------------------------------------------------------------------------- shared write helpers


def parse_body(state, req, node, required=(), reorder=None):
    """Parse a write body strictly against ``node``; return {element: text} of the accepted leaves.

    Content-Type, well-formedness, root element and namespace, order (per ``order_violation``) and
    value types are checked as for a job PUT; every failure is a 400.  ``reorder`` may rearrange the
    children first (documented alternative orders).  The walk's dropped/ignored elements, or the
    rejection, are what ``GET /_emulator/dropped`` shows.
    """
    parsed = parse_tree(state, req, node, required, reorder)
    return {local(c): c.text or "" for c in parsed}


def parse_tree(state, req, node, required=(), reorder=None):
    """As :func:`parse_body`, but return the parsed element itself (nested bodies: the cloud routes)."""
    root = _body_root(req, node.name)
    where = {"job_id": None, "resource": req.path, "items": [], "rejected": None}
    try:
        if reorder is not None:
            root = reorder(root)
        parsed, dropped = walk_spec(root, node, node.name, state.config.order_violation)
        present = {local(c) for c in parsed}
        for name in required:
            if name not in present:
                raise PutError("Element '%s/%s' is required" % (node.name, name))
    except PutError as exc:
        state.dropped = dict(where, rejected=exc.message)
        raise ApiError(exc.status, exc.message) from None
    state.dropped = dict(where, items=dropped)
    return parsed


def check_ushort(values, root, *names):
    for name in names:
        if name in values and not 0 <= int(values[name]) <= 65535:
            raise ApiError(400, "Invalid value of element '%s/%s': '%s' is out of range for UInt16"
                           % (root, name, values[name]))


def check_username(state, server, username):
    """``username_max``: over 255 characters is refused (reject) or stored, failing the collection (accept)."""
    if len(username) <= secret_store.USERNAME_MAX:
        return
    if state.config.username_max == "reject":
        raise ApiError(400, "The user name is too long: %d characters (at most %d)"
                       % (len(username), secret_store.USERNAME_MAX))
    server["collection_failed"] = True


def write_password(state, values, what):
    """The new secret from a PUT, or None to keep it: an absent Password keeps; an empty one per ``empty_password``."""
    if "Password" not in values:
        return None
    if values["Password"] != "":
        return values["Password"]
    mode = state.config.empty_password
    if mode == "reject":
        raise ApiError(400, "The password of the %s cannot be empty" % what)
    return "" if mode == "blank" else None


def sync_put_answer(state, entity):
    """The answer to a synchronous PUT, per ``sync_put_answer``: 204, an empty 200, or 200 with the entity."""
    mode = state.config.sync_put_answer
    if mode == "204":
        return Response(204)
    if mode == "200_empty":
        return Response(200)
    return xml(200, entity())


def create_answer(state, req, mode, operation, precheck, commit):
    """Answer a create per ``mode``: 201_empty, 201_body, 202_empty or 202_task.

    201*: checked and applied at once (a refusal is a 400).  202_empty: checked at once, applied in the
    background after ``task_running_seconds`` by a task nobody can see or poll.  202_task: a Task in the
    caller's session; the record appears when it reaches Finished, a refusal fails the task.
    Returns the answer; ``commit()`` returns the created record's entity element (or None).
    """
    def apply():
        commit()            # a task's commit answers a failure message or None
        return None

    if mode == "202_task":
        return _accepted(state, req, state.new_task(req.session, operation, precheck=precheck, commit=apply))
    msg = precheck()
    if msg:
        raise ApiError(400, msg)
    if mode == "202_empty":
        state.untracked += 1
        t = Task("untracked-%d" % state.untracked, req.session, operation, precheck=precheck, commit=apply)
        t.background = True         # completed by the ticker, as a task whose answer the client never saw
        state.all_tasks.append(t)
        return Response(202)
    created = commit()
    if mode == "201_body":
        return xml(201, created)
    return Response(201)


# ---------------------------------------------------------------------------- entities


def _secret_entity(state, rec, kind, tag, type_, leaves, root):
    base = state.base_url
    p = "/api/backupServers/%s/%s/%s" % (rec["server_id"], kind, rec["id"])
    el = E(tag, attrs=[("Type", type_), ("Href", base + p)], root=root)
    el.append(links(link(base, "Up", "/api/backupServers/" + rec["server_id"], "BackupServerReference",
                         state.server_name(rec["server_id"])),
                    link(base, "Edit", p, type_),
                    link(base, "Delete", p)))
    el.append(E("Id", text=rec["id"]))
    for name, value in leaves:
        el.append(E(name, text=value))
    return el


def cred_entity(state, c, root=False):
    """<CredentialsInfo>: Links, Id, Username, Description; the password is write-only and never shown."""
    return _secret_entity(state, c, "credentials", "CredentialsInfo", "Credentials",
                          (("Username", c["username"]), ("Description", c["description"])), root)


def pw_entity(state, pw, root=False):
    """<PasswordKeyInfo>: Links, Id, Hint, LastModificationDate."""
    return _secret_entity(state, pw, "passwords", "PasswordKeyInfo", "PasswordKey",
                          (("Hint", pw["hint"]), ("LastModificationDate", fmt_dt(pw["modified"]))), root)


# ---------------------------------------------------------------------------- routes


KINDS = {
    # sub-path: (table attribute, list root, entity renderer, what)
    "credentials": ("credentials", "CredentialsInfoList", cred_entity, "credentials record"),
    "passwords": ("passwords", "PasswordKeyInfoList", pw_entity, "password"),
}


def route(state, req, parts, server):
    """/backupServers/{id}/credentials[/{id}] and /passwords[/{id}] (``server`` exists)."""
    sub = parts[2].lower()
    attr, list_root, render, what = KINDS[sub]
    n = len(parts)
    with state.lock:
        table = getattr(state, attr)
        if n == 3:
            _allow(req, "GET", "POST")
            if req.method == "POST":
                _require_admin(req)
                action = req.param("action")
                if (action or "").lower() != "create":
                    raise ApiError(400, "Unknown action '%s'; use action=create" % (action or ""))
                if sub == "credentials":
                    return _create_credential(state, req, server)
                return _create_password(state, req, server)
            _entity_format(req)
            items = [r for r in table.values() if r["server_id"] == server["id"]]
            return xml(200, E(list_root, [render(state, r) for r in items], root=True))
        if n == 4:
            _allow(req, "GET", "PUT", "DELETE")
            rid = _guid(parts[3], what)
            rec = table.get(rid)
            if rec is None or rec["server_id"] != server["id"]:
                raise ApiError(404, "The %s with ID '%s' was not found" % (what, parts[3]))
            if req.method == "GET":
                _entity_format(req)
                return xml(200, render(state, rec, root=True))
            _require_admin(req)
            if req.method == "DELETE":
                return _delete(state, rec, table, sub, what)
            action = req.param("action")
            if action is not None and action.lower() != "edit":
                raise ApiError(400, "Unknown action '%s' for PUT; use action=edit" % action)
            if sub == "credentials":
                return _edit_credential(state, req, server, rec)
            return _edit_password(state, req, rec)
    raise ApiError(404, "The resource '%s' was not found" % req.path)


def _create_credential(state, req, server):
    values = parse_body(state, req, CRED_SPEC)
    username = values.get("Username", "")
    check_username(state, server, username)
    sid = server["id"]

    def precheck():
        return None if sid in state.servers else "The backup server was removed"

    def commit():
        cid = secret_store.new_id()
        rec = secret_store.new_credential(cid, sid, username, values.get("Description", ""), values.get("Password"))
        state.credentials[cid] = rec
        return cred_entity(state, rec, root=True)
    return create_answer(state, req, state.config.cred_create_answer, "CreateCredentials", precheck, commit)


def _create_password(state, req, server):
    values = parse_body(state, req, PW_CREATE, required=("Password",))
    if values["Password"] == "":
        raise ApiError(400, "The encryption password cannot be empty")
    sid = server["id"]

    def precheck():
        return None if sid in state.servers else "The backup server was removed"

    def commit():
        pid = secret_store.new_id()
        rec = secret_store.new_password(pid, sid, values.get("Hint", ""), values["Password"], _now())
        state.passwords[pid] = rec
        return pw_entity(state, rec, root=True)
    return create_answer(state, req, state.config.password_create_answer, "CreateEncryptionPassword",
                         precheck, commit)


def _edit_credential(state, req, server, rec):
    values = parse_body(state, req, CRED_PUT)
    if "Username" in values:
        check_username(state, server, values["Username"])
        rec["username"] = values["Username"]
    if "Description" in values:
        rec["description"] = values["Description"]
    new = write_password(state, values, "credentials record")
    if new is not None:
        rec["password"] = secret_store.sealed(new)
        rec["password_writes"] += 1
    return sync_put_answer(state, lambda: cred_entity(state, rec, root=True))


def _edit_password(state, req, rec):
    values = parse_body(state, req, PW_PUT)
    if "Hint" in values:
        rec["hint"] = values["Hint"]
    return sync_put_answer(state, lambda: pw_entity(state, rec, root=True))


def _delete(state, rec, table, sub, what):
    users = (secret_store.users_of_credential if sub == "credentials" else secret_store.users_of_password)(state, rec)
    if users:
        label = rec.get("username") if sub == "credentials" else rec.get("hint")
        raise ApiError(int(state.config.in_use_delete_status),
                       "Cannot delete the %s '%s': it is in use by %s" % (what, label, ", ".join(users)))
    table.pop(rec["id"], None)
    state.secret_marks.pop(rec["id"], None)
    return Response(204)


def _now():
    return datetime.now(timezone.utc).replace(microsecond=0)


# ---------------------------------------------------------------------------- query service


class ServerUidField(Field):
    """``BackupServerUid``: a filter value may be the URN or the bare GUID (the vendor examples use both)."""

    def __init__(self):
        super().__init__("BackupServerUid", lambda r: SERVER_URN + r["server_id"])

    def convert(self, raw):
        raw = raw.strip()
        return super().convert(raw if ":" in raw else SERVER_URN + raw)


SERVER_URN = "urn:veeam:BackupServer:"


def _wrapper(state, entities_name, resources_name):
    def wrap(shown, fmt):
        if state.config.secret_query_wrapper == "resources":
            return E("Resources", E(resources_name, shown))
        return E("Entities", E(entities_name, shown))
    return wrap


def _query_credentials(state, req):
    fields = {
        "Username": Field("Username", lambda c: c["username"]),
        "Description": Field("Description", lambda c: c["description"]),
        "BackupServerUid": ServerUidField(),
        "CredentialsId": Field("CredentialsId", lambda c: c["id"]),
    }
    return (list(state.credentials.values()), fields, None, lambda c: cred_entity(state, c), "Credentials",
            _wrapper(state, "Credentials", "CredentialsList"))


def _query_passwords(state, req):
    fields = {
        "PasswordKeyID": Field("PasswordKeyID", lambda p: p["id"]),
        "Hint": Field("Hint", lambda p: p["hint"]),
        "BackupServerUid": ServerUidField(),
        "BackupServerName": Field("BackupServerName", lambda p: state.server_name(p["server_id"])),
    }
    return (list(state.passwords.values()), fields, None, lambda p: pw_entity(state, p), "Passwords",
            _wrapper(state, "Passwords", "PasswordKeyInfoList"))


# type (lower case) -> callable(state, req) -> (items, fields, ref, entity, plural, wrap(shown, fmt))
QUERY_TYPES = {"credentials": _query_credentials, "passwords": _query_passwords}
