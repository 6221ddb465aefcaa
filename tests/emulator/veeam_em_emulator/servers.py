"""Backup-server writes: register (POST /backupServers?action=create), edit (PUT), remove (DELETE), collect.

The GET routes stay in :mod:`api`; :func:`route` answers None for them.  Credentials and passwords
under a server go to :mod:`secrets`.
"""

from __future__ import annotations

import copy
import re

from lxml import etree

from . import secret_store, secrets, views
from .api import ApiError, Response, _accepted, _allow, _guid, _require_admin
from .schema import G, L
from .xmlutil import local

# BackupServerSpec, the same element list for create and PUT (em-api-cloud.md section 6)
BS_SPEC = G("BackupServerSpec", L("Description"), L("DnsNameOrIpAddress"), L("Port", "int"), L("Username"),
            L("Password"), L("WcfPort", "int"), L("VbrCertificateThumbprint"))
CREATE_REQUIRED = ("Description", "DnsNameOrIpAddress", "Port", "Username", "Password")
PUT_REQUIRED = ("DnsNameOrIpAddress",)
# The v13 examples put Username before Port (XML) and the thumbprint before WcfPort (JSON): both accepted.
SWAPS = (("Username", "Port"), ("VbrCertificateThumbprint", "WcfPort"))
NEW_SERVER_VERSION = "13.0.1.1071"
IP_RE = re.compile(r"^[0-9.]+$|:")


def _reorder(root):
    kids = [c for c in root if isinstance(c.tag, str)]
    names = [local(c) for c in kids]
    for first, second in SWAPS:
        if first in names and second in names and names.index(second) == names.index(first) + 1:
            i = names.index(first)
            kids[i], kids[i + 1] = kids[i + 1], kids[i]
            names[i], names[i + 1] = names[i + 1], names[i]
    new = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=root.nsmap)
    for c in kids:
        new.append(copy.deepcopy(c))
    return new


def route(state, req, parts):
    """Writes on /backupServers[/{id}] and everything under /{id}/credentials|passwords; None for the rest."""
    n = len(parts)
    if n == 1:
        if req.method == "GET":
            return None
        _allow(req, "GET", "POST")
        _require_admin(req)
        action = req.param("action")
        if (action or "").lower() != "create":
            raise ApiError(400, "Unknown action '%s'; use action=create" % (action or ""))
        with state.lock:
            return _register(state, req)
    sid = _guid(parts[1], "backup server")
    with state.lock:
        server = state.servers.get(sid)
    if server is None:
        raise ApiError(404, "The backup server with ID '%s' was not found" % parts[1])
    if n == 2:
        if req.method == "GET":
            return None
        _allow(req, "GET", "PUT", "POST", "DELETE")
        _require_admin(req)
        with state.lock:
            if req.method == "PUT":
                action = req.param("action")
                if action is not None and action.lower() != "edit":
                    raise ApiError(400, "Unknown action '%s' for PUT; use action=edit" % action)
                return _edit(state, req, server)
            if req.method == "DELETE":
                secret_store.forget_server(state, sid)
                return Response(204)
            return _collect(state, req, server)
    if parts[2].lower() in secrets.KINDS:
        return secrets.route(state, req, parts, server)
    return None


def _check_values(values):
    secrets.check_ushort(values, "BackupServerSpec", "Port", "WcfPort")
    dns = values["DnsNameOrIpAddress"].strip()
    if not dns:
        raise ApiError(400, "Element 'BackupServerSpec/DnsNameOrIpAddress' must not be empty")
    return dns


def _taken(state, dns, own_id=None):
    for s in state.servers.values():
        if s["id"] != own_id and s["dns"].lower() == dns.lower():
            return "The backup server '%s' is already added to Enterprise Manager" % dns
    return None


def _name_for(state, dns):
    """The Name EM shows for a new server, per ``backupserver_name_source``: the address, or its host name."""
    if state.config.backupserver_name_source == "address":
        return dns
    if IP_RE.search(dns):
        return "VBR-" + re.sub(r"[.:]", "-", dns)
    return dns.split(".")[0].upper()


def _register(state, req):
    values = secrets.parse_body(state, req, BS_SPEC, required=CREATE_REQUIRED, reorder=_reorder)
    dns = _check_values(values)
    sid = secret_store.new_id()
    server = {"id": sid, "name": _name_for(state, dns), "description": values["Description"],
              "port": int(values["Port"]), "version": NEW_SERVER_VERSION,
              "wcf_port": int(values.get("WcfPort", "9405")), "dns": dns,
              "thumbprint": values.get("VbrCertificateThumbprint") or sid.replace("-", "").upper()[:40],
              "username": values["Username"], "password": secret_store.sealed(values["Password"]),
              "collection_failed": False, "account_writes": 0}
    secrets.check_username(state, server, values["Username"])

    def precheck():
        return _taken(state, dns)

    def commit():
        state.servers[sid] = server
        return views.server_entity(state, server, root=True)
    return secrets.create_answer(state, req, state.config.backupserver_create_answer, "CreateBackupServer",
                                 precheck, commit)


def _edit(state, req, server):
    values = secrets.parse_body(state, req, BS_SPEC, required=PUT_REQUIRED, reorder=_reorder)
    dns = _check_values(values)
    msg = _taken(state, dns, server["id"])
    if msg:
        raise ApiError(400, msg)
    if "Username" in values:
        secrets.check_username(state, server, values["Username"])
    new_password = secrets.write_password(state, values, "backup server account")
    server["dns"] = dns
    for element, key, conv in (("Description", "description", str), ("Port", "port", int),
                               ("Username", "username", str), ("WcfPort", "wcf_port", int),
                               ("VbrCertificateThumbprint", "thumbprint", str)):
        if element in values:
            server[key] = conv(values[element])
    if new_password is not None:
        server["password"] = secret_store.sealed(new_password)
    if new_password is not None or "Username" in values:
        server["account_writes"] = server.get("account_writes", 0) + 1
    return secrets.sync_put_answer(state, lambda: views.server_entity(state, server, root=True))


def _collect(state, req, server):
    action = req.param("action")
    if (action or "").lower() != "collect":
        raise ApiError(400, "Unknown action '%s'" % (action or ""))
    task = state.new_task(req.session, "CollectingBackupServer",
                          ok_message="Data collection started. To view results, go to Sessions.", quick=True)
    return _accepted(state, req, task)
