"""Rendering of EM resources (references, entities, collections) with Hrefs on the advertised base URL."""

from __future__ import annotations

import copy
import hashlib

from lxml import etree

from .schema import JOB, ordered_copy
from .xmlutil import NS, E, fmt_dt, local, with_nsmap

# sha1 of a stored job tree -> the same tree in schema order, serialised: a page renders hundreds of jobs,
# and ordering one in Python costs some 30 times more than parsing it back (C).
_ORDERED = {}
_ORDERED_MAX = 50000
# the same for a whole Job entity: (sha1 of the stored tree, and every other value it shows) -> its bytes
_ENTITIES = {}


def link(base, rel, path, type_=None, name=None):
    attrs = [("Href", base + path)]
    if name is not None:
        attrs.append(("Name", name))
    if type_:
        attrs.append(("Type", type_))
    attrs.append(("Rel", rel))
    return E("Link", attrs=attrs)


def links(*items):
    return E("Links", list(items))


# ---------------------------------------------------------------- jobs

def _sessions_link(base, rec, named=True):
    name = rec.name if named else None
    if rec.job_type == "Replica":
        return link(base, "Down", "/api/jobs/%s/replicaSessions" % rec.id, "ReplicaJobSessionReferenceList", name)
    return link(base, "Down", "/api/jobs/%s/backupSessions" % rec.id, "BackupJobSessionReferenceList", name)


def job_ref(state, rec, tag="Ref", root=False):
    base = state.base_url
    el = E(tag, attrs=[("Type", "JobReference"), ("Href", base + "/api/jobs/" + rec.id), ("Name", rec.name),
                       ("UID", rec.uid)], root=root)
    el.append(links(
        link(base, "Up", "/api/backupServers/" + rec.server_id, "BackupServerReference",
             state.server_name(rec.server_id)),
        link(base, "Alternate", "/api/jobs/%s?format=Entity" % rec.id, "Job", rec.name),
        _sessions_link(base, rec)))
    return el


def job_links(state, rec):
    base = state.base_url
    p = "/api/jobs/" + rec.id
    out = [link(base, "Up", "/api/backupServers/" + rec.server_id, "BackupServerReference",
                state.server_name(rec.server_id)),
           link(base, "Alternate", p, "JobReference", rec.name)]
    if rec.job_type in ("Backup", "Replica"):
        out += [link(base, "Edit", p, "JobReference", rec.name),
                link(base, "Clone", p + "?action=clone"),
                link(base, "ToggleScheduleEnabled", p + "?action=toggleScheduleEnabled"),
                link(base, "Down", p + "/includes", "ObjectInJobList"),
                _sessions_link(base, rec, named=False),
                link(base, "Create", p + "/includes", "ObjectInJob"),
                link(base, "Start", p + "?action=start"),
                link(base, "Stop", p + "?action=stop"),
                link(base, "Retry", p + "?action=retry")]
    else:
        s = _sessions_link(base, rec, named=False)
        out += [link(base, "Clone", p + "?action=clone"),
                link(base, "ToggleScheduleEnabled", p + "?action=toggleScheduleEnabled"),
                s,
                link(base, "Sync", p + "?action=sync"),
                link(base, "Down", p + "/linkedJobs", "LinkedJobObjectList"),
                link(base, "Down", p + "/linkedBackupRepositories", "LinkedBackupRepositoryObjectList"),
                link(base, "Create", p + "/linkedJobs", "LinkedJobObject"),
                link(base, "Create", p + "/linkedBackupRepositories", "LinkedBackupRepositoryObject")]
    return links(*out)


def job_entity(state, rec, root=False):
    """The Job entity of ``rec``, rendered once per content (a page of a bulk read renders hundreds)."""
    return etree.fromstring(job_entity_bytes(state, rec))


_DEFAULT_NS = b' xmlns="%s"' % NS.encode()


def job_entity_bytes(state, rec, declared=True):
    """``job_entity()`` serialised; without ``declared``, its start tag leaves the default namespace to the
    element it is written into (a query page writes hundreds of these into its Jobs element as they are)."""
    key = (hashlib.sha1(etree.tostring(rec.xml)).digest(), state.base_url, rec.id, rec.name, rec.uid,
           rec.server_id, state.server_name(rec.server_id), rec.job_type)
    hit = _ENTITIES.get(key)
    if hit is None:
        if len(_ENTITIES) >= _ORDERED_MAX:
            _ENTITIES.clear()
        whole = etree.tostring(with_nsmap(_render_job_entity(state, rec, False)))
        start = whole.index(b'>')
        hit = _ENTITIES[key] = (whole, whole[:start].replace(_DEFAULT_NS, b'', 1) + whole[start:])
    return hit[0] if declared else hit[1]


def _render_job_entity(state, rec, root):
    base = state.base_url
    body = _ordered_job(rec.xml)
    el = E("Job", attrs=[("Type", "Job"), ("Href", "%s/api/jobs/%s?format=Entity" % (base, rec.id)),
                         ("Name", rec.name), ("UID", rec.uid)], root=root)
    el.append(job_links(state, rec))
    for c in body:
        if local(c) == "Links":
            continue
        el.append(c)
    for oij in el.iter("{*}ObjectInJob"):
        oid = next((x.text for x in oij if local(x) == "ObjectInJobId"), "")
        attrs = [("Type", "ObjectInJob"), ("Href", "%s/api/jobs/%s/includes/%s" % (base, rec.id, oid))]
        oij.attrib.clear()
        for k, v in attrs:
            oij.set(k, v)
    return el


def _ordered_job(xml):
    key = hashlib.sha1(etree.tostring(xml)).digest()
    hit = _ORDERED.get(key)
    if hit is None:
        if len(_ORDERED) >= _ORDERED_MAX:
            _ORDERED.clear()
        hit = _ORDERED[key] = etree.tostring(with_nsmap(ordered_copy(xml, JOB)))
    return etree.fromstring(hit)


def object_in_job(state, rec, oij, root=False):
    base = state.base_url
    el = copy.deepcopy(oij)
    oid = next((x.text for x in oij if local(x) == "ObjectInJobId"), "")
    el.attrib.clear()
    new = E("ObjectInJob", attrs=[("Type", "ObjectInJob"),
                                  ("Href", "%s/api/jobs/%s/includes/%s" % (base, rec.id, oid))], root=root)
    new.append(links(link(base, "Up", "/api/jobs/" + rec.id, "JobReference", rec.name),
                     link(base, "Delete", "/api/jobs/%s/includes/%s" % (rec.id, oid))))
    for c in el:
        if local(c) != "Links":
            new.append(c)
    return new


def includes_of(rec):
    for ji in rec.xml.iter("{*}Includes"):
        return [c for c in ji if local(c) == "ObjectInJob"]
    return []


# ---------------------------------------------------------------- servers / repositories

def server_ref(state, s, tag="Ref", root=False):
    base = state.base_url
    p = "/api/backupServers/" + s["id"]
    el = E(tag, attrs=[("Type", "BackupServerReference"), ("Href", base + p), ("Name", s["name"]),
                       ("UID", "urn:veeam:BackupServer:" + s["id"])], root=root)
    el.append(_server_links(base, p, s, "BackupServer", p + "?format=Entity"))
    return el


def _server_links(base, p, s, alt_type, alt_path):
    return links(link(base, "Alternate", alt_path, alt_type, s["name"]),
                 link(base, "Down", p + "/jobs", "JobReferenceList"),
                 link(base, "Down", p + "/repositories", "RepositoryReferenceList"),
                 link(base, "Down", p + "/credentials", "CredentialsInfoList"),
                 link(base, "Down", p + "/passwords", "EncryptionPasswordInfoList"),
                 link(base, "Down", p + "/managedServers", "ManagedServerReferenceList"))


def server_entity(state, s, root=False):
    base = state.base_url
    p = "/api/backupServers/" + s["id"]
    el = E("BackupServer", attrs=[("Type", "BackupServer"), ("Href", base + p + "?format=Entity"),
                                  ("Name", s["name"]), ("UID", "urn:veeam:BackupServer:" + s["id"])], root=root)
    el.append(_server_links(base, p, s, "BackupServerReference", p))
    el.append(E("Description", text=s["description"]))
    el.append(E("Port", text=s["port"]))
    el.append(E("Version", text=s["version"]))
    el.append(E("WcfPort", text=s["wcf_port"]))
    el.append(E("VbrCertificateThumbprint", text=s["thumbprint"]))
    return el


def _repo_links(state, r, alt_type, alt_path):
    base = state.base_url
    p = "/api/repositories/" + r["id"]
    return links(link(base, "Up", "/api/backupServers/" + r["server_id"], "BackupServerReference",
                      state.server_name(r["server_id"])),
                 link(base, "Alternate", alt_path, alt_type, r["name"]),
                 link(base, "Down", p + "/backups", "BackupReferenceList"),
                 link(base, "Down", p + "/replicas", "ReplicaReferenceList"))


def repo_ref(state, r, tag="Ref", root=False):
    base = state.base_url
    p = "/api/repositories/" + r["id"]
    el = E(tag, attrs=[("Type", "RepositoryReference"), ("Href", base + p), ("Name", r["name"]),
                       ("UID", "urn:veeam:Repository:" + r["id"])], root=root)
    el.append(_repo_links(state, r, "Repository", p + "?format=Entity"))
    return el


def repo_entity(state, r, root=False):
    base = state.base_url
    p = "/api/repositories/" + r["id"]
    el = E("Repository", attrs=[("Type", "Repository"), ("Href", base + p + "?format=Entity"), ("Name", r["name"]),
                                ("UID", "urn:veeam:Repository:" + r["id"])], root=root)
    el.append(_repo_links(state, r, "RepositoryReference", p))
    el.append(E("Capacity", text=r["capacity"]))
    el.append(E("FreeSpace", text=r["free"]))
    el.append(E("Kind", text=r["kind"]))
    return el


# ---------------------------------------------------------------- backups

def _backup_links(state, b, alt_type, alt_path, full):
    """The vendor's order: Up repository, Up backup server, Alternate, Down. A reference carries no repository
    link (the pages show it on the entity only), so a client has to read the entity to learn it."""
    base = state.base_url
    p = "/api/backups/" + b["id"]
    out = []
    repo = state.repos.get(b["repo_id"])
    if full and repo is not None:
        out.append(link(base, "Up", "/api/repositories/" + repo["id"], "RepositoryReference", repo["name"]))
    out += [link(base, "Up", "/api/backupServers/" + b["server_id"], "BackupServerReference",
                 state.server_name(b["server_id"])),
            link(base, "Alternate", alt_path, alt_type, state.backup_job_name(b)),
            link(base, "Down", p + "/restorePoints", "RestorePointReferenceList"),
            link(base, "Down", p + "/backupFiles", "BackupFileReferenceList")]
    return links(*out)


def backup_ref(state, b, tag="Ref", root=False):
    base = state.base_url
    p = "/api/backups/" + b["id"]
    el = E(tag, attrs=[("Type", "BackupReference"), ("Href", base + p), ("Name", state.backup_job_name(b)),
                       ("UID", "urn:veeam:Backup:" + b["id"])], root=root)
    el.append(_backup_links(state, b, "Backup", p + "?format=Entity", full=False))
    return el


def backup_entity(state, b, root=False):
    base = state.base_url
    p = "/api/backups/" + b["id"]
    el = E("Backup", attrs=[("Type", "Backup"), ("Href", base + p + "?format=Entity"),
                            ("Name", state.backup_job_name(b)), ("UID", "urn:veeam:Backup:" + b["id"])], root=root)
    el.append(_backup_links(state, b, "BackupReference", p, full=True))
    el.append(E("Platform", text=b["platform"]))
    el.append(E("BackupType", text=b["backup_type"]))
    return el


# ---------------------------------------------------------------- tasks / sessions / misc

def task_el(state, t, root=False):
    base = state.base_url
    p = "/api/tasks/" + t.task_id
    el = E("Task", attrs=[("Type", "Task"), ("Href", base + p)], root=root)
    ls = [link(base, "Delete", p, "Task")]
    if t.related and t.state == "Finished" and t.success:
        rel, type_, path, name = t.related
        ls.append(link(base, rel, path, type_, name))
    el.append(links(*ls))
    el.append(E("TaskId", text=t.task_id))
    el.append(E("State", text=t.state))
    el.append(E("Operation", text=t.operation))
    if t.state != "Running":
        el.append(E("Result", E("Message", text=t.message or ""),
                    attrs=[("Success", "true" if t.success else "false")]))
    return el


def logon_session(state, s, root=False):
    base = state.base_url
    p = "/api/logonSessions/" + s.session_id
    el = E("LogonSession", attrs=[("Type", "LogonSession"), ("Href", base + p)], root=root)
    el.append(links(
        link(base, "Up", "/api/", "EnterpriseManager"),
        link(base, "Down", "/api/backupServers", "BackupServerReferenceList"),
        link(base, "Down", "/api/backupServers?format=Entity", "BackupServerList"),
        link(base, "Down", "/api/jobs", "JobReferenceList"),
        link(base, "Down", "/api/jobs?format=Entity", "JobList"),
        link(base, "Down", "/api/repositories", "RepositoryReferenceList"),
        link(base, "Down", "/api/repositories?format=Entity", "RepositoryList"),
        link(base, "Down", "/api/tasks", "TaskList"),
        link(base, "Down", "/api/querySvc", "QueryService"),
        link(base, "Down", "/api/hierarchyRoots", "HierarchyRootReferenceList"),
        link(base, "Down", "/api/lookupSvc", "LookupService"),
        link(base, "Down", "/api/backupSessions", "BackupJobSessionReferenceList"),
        link(base, "Down", "/api/replicaSessions", "ReplicaJobSessionReferenceList"),
        link(base, "Down", "/api/logonSessions", "LogonSessionList"),
        link(base, "Delete", p, "LogonSession")))
    el.append(E("UserName", text=s.user))
    el.append(E("SessionId", text=s.session_id))
    return el


def enterprise_manager(state):
    base = state.base_url
    el = E("EnterpriseManager", attrs=[("Type", "EnterpriseManager"), ("Href", base + "/api/")], root=True)
    el.append(links(link(base, "Down", "/api/logonSessions", "LogonSessionList"),
                    link(base, "Create", "/api/sessionMngr/?v=latest", "LogonSession")))
    sv = E("SupportedVersions")
    for v in ("v1_5", "v1_6", "v1_7"):
        sv.append(E("SupportedVersion", links(link(base, "Create", "/api/sessionMngr/?v=" + v, "LogonSession")),
                    attrs=[("Name", v)]))
    el.append(sv)
    return el


def query_svc(state):
    base = state.base_url
    el = E("QuerySvc", attrs=[("Type", "QueryService"), ("Href", base + "/api/querySvc")], root=True)
    ls = [link(base, "Up", "/api/", "EnterpriseManager")]
    for t in ("Job", "BackupServer", "Repository", "Backup", "HierarchyRoot", "ObjectInJob", "BackupJobSession",
              "ReplicaJobSession", "Task"):
        ls.append(link(base, "Down", "/api/query?type=%s" % t, "QueryResult", t))
    el.append(links(*ls))
    return el


def collection(tag, items):
    return E(tag, list(items), root=True)


# ---------------------------------------------------------------- objects in jobs (query service)

def object_in_job_ref(state, pair, root=False):
    rec, oij = pair
    base = state.base_url
    oid = next((x.text for x in oij if local(x) == "ObjectInJobId"), "")
    name = next((x.text for x in oij if local(x) == "Name"), "")
    el = E("Ref", attrs=[("Type", "ObjectInJobReference"),
                         ("Href", "%s/api/jobs/%s/includes/%s" % (base, rec.id, oid)),
                         ("Name", name), ("UID", oid)], root=root)
    el.append(links(link(base, "Up", "/api/jobs/" + rec.id, "JobReference", rec.name),
                    link(base, "Alternate", "/api/jobs/%s/includes/%s" % (rec.id, oid), "ObjectInJob", name)))
    return el


def object_in_job_pair(state, pair, root=False):
    return object_in_job(state, pair[0], pair[1], root=root)


# ---------------------------------------------------------------- hierarchy roots / lookup

def _root_links(state, r, alt_type, alt_path):
    base = state.base_url
    return links(link(base, "Up", "/api/backupServers/" + r["server_id"], "BackupServerReference",
                      state.server_name(r["server_id"])),
                 link(base, "Alternate", alt_path, alt_type, r["name"]))


def root_ref(state, r, tag="Ref", root=False):
    base = state.base_url
    p = "/api/hierarchyRoots/" + r["id"]
    el = E(tag, attrs=[("Type", "HierarchyRootReference"), ("Href", base + p), ("Name", r["name"]),
                       ("UID", "urn:veeam:HierarchyRoot:" + r["id"])], root=root)
    el.append(_root_links(state, r, "HierarchyRoot", p + "?format=Entity"))
    return el


def root_entity(state, r, root=False):
    base = state.base_url
    p = "/api/hierarchyRoots/" + r["id"]
    el = E("HierarchyRoot", attrs=[("Type", "HierarchyRoot"), ("Href", base + p + "?format=Entity"),
                                   ("Name", r["name"]), ("UID", "urn:veeam:HierarchyRoot:" + r["id"])], root=root)
    el.append(_root_links(state, r, "HierarchyRootReference", p))
    el.append(E("HierarchyRootId", text=r["id"]))
    el.append(E("UniqueId", text=r["unique_id"]))
    el.append(E("HostType", text=r["host_type"]))
    return el


def lookup_svc(state):
    base = state.base_url
    el = E("LookupSvc", attrs=[("Type", "LookupService"), ("Href", base + "/api/lookupSvc")], root=True)
    ls = [link(base, "Up", "/api/", "EnterpriseManager")]
    for r in state.roots.values():
        ls.append(link(base, "Down", "/api/lookup?host=urn:veeam:HierarchyRoot:" + r["id"], "HierarchyItemList",
                       r["name"]))
    el.append(links(*ls))
    return el


def hierarchy_items(items):
    out = E("HierarchyItems", root=True)
    for it in items:
        out.append(E("HierarchyItem", E("ObjectRef", text=it["ref"]), E("ObjectType", text=it["type"]),
                     E("ObjectName", text=it["name"]), attrs=[("Type", "HierarchyItem")]))
    return out


# ---------------------------------------------------------------- job sessions

def _session_links(state, js, alt_type, alt_path, full):
    base = state.base_url
    p = "/api/%s/%s" % (js.collection, js.id)
    out = [link(base, "Up", "/api/backupServers/" + js.server_id, "BackupServerReference",
                state.server_name(js.server_id)),
           link(base, "Up", "/api/jobs/" + js.job_id, "JobReference", js.job_name),
           link(base, "Alternate", alt_path, alt_type, js.name)]
    if full:
        task_type = "ReplicaTaskSessionReferenceList" if js.kind == "ReplicaJobSession" else \
            "BackupTaskSessionReferenceList"
        sub = "replicaTaskSessions" if js.kind == "ReplicaJobSession" else "taskSessions"
        out.append(link(base, "Down", p + "/" + sub, task_type))
        out.append(link(base, "Stop", p + "?action=stop"))
    return links(*out)


def session_ref(state, js, tag="Ref", root=False):
    base = state.base_url
    p = "/api/%s/%s" % (js.collection, js.id)
    el = E(tag, attrs=[("Type", js.kind + "Reference"), ("Href", base + p), ("Name", js.name), ("UID", js.uid)],
           root=root)
    el.append(_session_links(state, js, js.kind, p + "?format=Entity", False))
    return el


def session_entity(state, js, root=False):
    base = state.base_url
    p = "/api/%s/%s" % (js.collection, js.id)
    snap = js.snapshot()
    el = E(js.kind, attrs=[("Type", js.kind), ("Href", base + p + "?format=Entity"), ("Name", js.name),
                           ("UID", js.uid)], root=root)
    el.append(_session_links(state, js, js.kind + "Reference", p, True))
    el.append(E("JobUid", text="urn:veeam:Job:" + js.job_id))
    el.append(E("JobName", text=js.job_name))
    el.append(E("JobType", text=js.job_type))
    el.append(E("CreationTimeUTC", text=fmt_dt(js.created)))
    if snap["end"] is not None:
        el.append(E("EndTimeUTC", text=fmt_dt(snap["end"])))
    el.append(E("State", text=snap["state"]))
    el.append(E("Result", text=snap["result"]))
    el.append(E("Progress", text=snap["progress"]))
    if snap["failure"]:
        el.append(E("FailureMessage", text=snap["failure"]))
    el.append(E("IsRetry", text="true" if js.is_retry else "false"))
    return el
