"""Rendering of EM resources (references, entities, collections) with Hrefs on the advertised base URL."""

from __future__ import annotations

import copy

from .schema import JOB, ordered_copy
from .xmlutil import E, local


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
    base = state.base_url
    body = ordered_copy(rec.xml, JOB)
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
    for t in ("Job", "BackupServer", "Repository", "Task"):
        ls.append(link(base, "Down", "/api/query?type=%s" % t, "QueryResult", t))
    el.append(links(*ls))
    return el


def collection(tag, items):
    return E(tag, list(items), root=True)
