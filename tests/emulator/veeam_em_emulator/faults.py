"""Fault injection registry (driven by POST /_emulator/faults).

Task faults:
  ``fail_next_task``: message -> the next task created ends Success="false" with it (one-off).
  ``fail_job_tasks``: {job id: message} -> every task on that job fails (until cleared).
  ``fail_operation_tasks``: {operation: message} -> every task of that operation (``EditJob``,
      ``CloneJob``...) fails (until cleared), e.g. the edit that follows a clone.
  ``task_never_finishes``: true -> tasks created while set stay Running forever.

Session faults:
  ``next_session_result``: "Success"|"Warning"|"Failed" -> the next job session
      created (start/retry/sync) ends with that result (one-off; null clears).

HTTP faults (``http``: list of rules, each consumed ``count`` times, default 1;
``count: null`` = until cleared), matched on ``method`` (or "*") and ``path``
(a regular expression searched in the request path, default any /api/ path).
``skip: N`` lets the first N matching requests through untouched (so the fault
hits the (N+1)th).  The first rule that matches a request is the one used.
Tasks created by a faulted request also complete in the background.
  ``{"action": "status", "status": 503, "retry_after": "2", "when": "before"}``
      answer with an Error body instead of handling the request (``when:
      "after"`` handles it first, so side effects happen, then answers the error);
  ``{"action": "reset", "when": "before"|"after"}`` close the TCP connection
      without a response (after applying the request when ``after``);
  ``{"action": "stall", "seconds": 5}`` sleep before handling normally (``when:
      "after"``: handle first, then sleep before answering);
  ``{"action": "drip", "seconds_per_byte": 0.5}`` send the normal response one byte at a time;
  ``{"action": "oversize", "mebibytes": 50}`` send a 200 with an XML body of exactly
      that size (fractions allowed) instead;
  ``{"action": "override", "status": 200, "body": "...", "content_type": "..."}``
      replace the response entirely (e.g. a DOCTYPE payload for XXE tests);
      ``body_base64`` instead of ``body`` sends bytes, e.g. a gzip bomb with
      ``"headers": {"Content-Encoding": "gzip"}``;
  ``{"action": "expire_session", "when": "after"}`` expire the caller's logon
      session after answering this request normally (``when: "before"``: before
      handling it, so this request already gets 401);
  ``{"action": "edit_job", "set": {"Description": "edited in the console"}}``
      change the stored job the request path names (or ``job_id``) out of band,
      just before handling the request (``when: "after"``: right after), e.g.
      between a client's GET and its PUT.  ``set`` maps element paths under
      ``Job`` (``JobScheduleOptions/Standart/OptionsDaily/TimeOffsetUtc``, an
      ``@Enabled`` attribute last, ``Day[Monday]`` to pick a named day) to new
      text, or to null to remove the element.
"""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import re

from .schema import JOB, ordered_copy, parse_value
from .xmlutil import E, local

ACTIONS = ("status", "reset", "stall", "drip", "oversize", "override", "expire_session", "edit_job")
_STEP_RE = re.compile(r"^([A-Za-z]+)(?:\[([A-Za-z]+)\])?$")
_JOB_PATH_RE = re.compile(r"^/api/jobs/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?:/|$)")
_ids = itertools.count(1)


class FaultError(ValueError):
    pass


class Faults:
    def __init__(self):
        self.clear()

    def clear(self):
        self.fail_next_task = None
        self.fail_job_tasks = {}
        self.fail_operation_tasks = {}
        self.task_never_finishes = False
        self.next_session_result = None
        self.http = []

    def to_json(self):
        return {"fail_next_task": self.fail_next_task, "fail_job_tasks": dict(self.fail_job_tasks),
                "fail_operation_tasks": dict(self.fail_operation_tasks),
                "task_never_finishes": self.task_never_finishes,
                "next_session_result": self.next_session_result, "http": [dict(r) for r in self.http]}

    def update(self, data):
        if not isinstance(data, dict):
            raise FaultError("expected a JSON object")
        known = {"fail_next_task", "fail_job_tasks", "fail_operation_tasks", "task_never_finishes",
                 "next_session_result", "http"}
        unknown = set(data) - known
        if unknown:
            raise FaultError("unknown fault keys: %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(sorted(known))))
        if "fail_next_task" in data:
            v = data["fail_next_task"]
            if v is not None and not isinstance(v, str):
                raise FaultError("fail_next_task must be a message string or null")
            self.fail_next_task = v
        for key, what, norm in (("fail_job_tasks", "job ids", str.lower), ("fail_operation_tasks", "operations", str)):
            if key not in data:
                continue
            v, table = data[key], getattr(self, key)
            if v is None:
                table.clear()
            elif isinstance(v, dict) and all(isinstance(m, str) or m is None for m in v.values()):
                for k, m in v.items():
                    if m is None:
                        table.pop(norm(k), None)
                    else:
                        table[norm(k)] = m
            else:
                raise FaultError("%s must map %s to messages" % (key, what))
        if "task_never_finishes" in data:
            if not isinstance(data["task_never_finishes"], bool):
                raise FaultError("task_never_finishes must be a boolean")
            self.task_never_finishes = data["task_never_finishes"]
        if "next_session_result" in data:
            v = data["next_session_result"]
            if v is not None and v not in ("Success", "Warning", "Failed"):
                raise FaultError("next_session_result must be Success, Warning, Failed or null")
            self.next_session_result = v
        if "http" in data:
            rules = data["http"]
            if isinstance(rules, dict):
                rules = [rules]
            if not isinstance(rules, list):
                raise FaultError("http must be a rule object or a list of them")
            for r in rules:
                self.http.append(self._rule(r))

    @staticmethod
    def _rule(r):
        if not isinstance(r, dict):
            raise FaultError("an http rule must be an object")
        rule = {"id": next(_ids), "action": r.get("action", "status"), "method": str(r.get("method", "*")).upper(),
                "path": r.get("path", ""), "count": r.get("count", 1), "when": r.get("when", "before"),
                "skip": r.get("skip", 0)}
        if rule["action"] not in ACTIONS:
            raise FaultError("action must be one of %s" % ", ".join(ACTIONS))
        if rule["when"] not in ("before", "after"):
            raise FaultError("when must be before or after")
        if rule["count"] is not None and (isinstance(rule["count"], bool) or not isinstance(rule["count"], int)):
            raise FaultError("count must be an integer or null")
        if isinstance(rule["skip"], bool) or not isinstance(rule["skip"], int) or rule["skip"] < 0:
            raise FaultError("skip must be a non-negative integer")
        if not isinstance(rule["path"], str):
            raise FaultError("path must be a regular expression string")
        try:
            re.compile(rule["path"])
        except re.error as exc:
            raise FaultError("bad path regex: %s" % exc) from None
        for k in ("status", "retry_after", "body", "content_type", "seconds", "seconds_per_byte", "mebibytes",
                  "message", "headers"):
            if k in r:
                rule[k] = r[k]
        for k in ("seconds", "seconds_per_byte", "mebibytes"):
            if k in rule:
                try:
                    rule[k] = float(rule[k])
                except (TypeError, ValueError):
                    rule[k] = -1.0
                if isinstance(r[k], bool) or not 0 <= rule[k] < float("inf"):
                    raise FaultError("%s must be a non-negative number" % k)
        if rule["action"] == "edit_job":
            edits = r.get("set")
            if not isinstance(edits, dict) or not edits:
                raise FaultError("edit_job needs set: an object of element paths to new text (or null)")
            for path, value in edits.items():
                _edit_target(path, value)
            rule["set"] = dict(edits)
            if r.get("job_id") is not None:
                if not isinstance(r["job_id"], str) or not _JOB_PATH_RE.match("/api/jobs/" + r["job_id"]):
                    raise FaultError("job_id must be a job GUID")
                rule["job_id"] = r["job_id"].lower()
        if rule.get("headers") is not None and not isinstance(rule["headers"], dict):
            raise FaultError("headers must be an object of header names to values")
        if rule.get("body") is not None and not isinstance(rule["body"], str):
            raise FaultError("body must be a string")
        if r.get("body_base64") is not None:
            if "body" in r:
                raise FaultError("give body or body_base64, not both")
            try:
                base64.b64decode(str(r["body_base64"]), validate=True)
            except (binascii.Error, ValueError):
                raise FaultError("body_base64 must be base64") from None
            rule["body_base64"] = str(r["body_base64"])  # kept as text: rules are shown as JSON
        if rule["action"] in ("status",) and not isinstance(rule.get("status", 503), int):
            raise FaultError("status must be an integer")
        rule.setdefault("status", 503 if rule["action"] == "status" else 200)
        return rule

    def match(self, method, path):
        """Return and consume the first matching HTTP rule, or None."""
        for r in self.http:
            if r["method"] not in ("*", method):
                continue
            if r["path"] and not re.search(r["path"], path):
                continue
            if r.get("skip"):
                r["skip"] -= 1
                continue
            if r["count"] is not None:
                r["count"] -= 1
                if r["count"] <= 0:
                    self.http.remove(r)
            return dict(r)
        return None

    @staticmethod
    def edit_job_id(rule, path):
        """The job an ``edit_job`` rule changes: its ``job_id``, else the one the request path names."""
        if rule.get("job_id"):
            return rule["job_id"]
        m = _JOB_PATH_RE.match(path)
        return m.group(1).lower() if m else None

    def take_session_result(self, default):
        if self.next_session_result is not None:
            res, self.next_session_result = self.next_session_result, None
            return res
        return default

    def take_task_failure(self, job_id, operation=None):
        if self.fail_next_task is not None:
            msg, self.fail_next_task = self.fail_next_task, None
            return msg
        if job_id and job_id.lower() in self.fail_job_tasks:
            return self.fail_job_tasks[job_id.lower()]
        return self.fail_operation_tasks.get(operation)


def _edit_target(path, value):
    """Check one ``edit_job`` path and value against the Job schema; return (steps, attribute)."""
    if not isinstance(path, str) or not path:
        raise FaultError("edit_job: paths must be non-empty strings")
    if value is not None and not isinstance(value, str):
        raise FaultError("edit_job: %s: the value must be a string or null" % path)
    parts = path.split("/")
    attr = parts.pop()[1:] if parts[-1].startswith("@") else None
    node, steps = JOB, []
    for part in parts:
        m = _STEP_RE.match(part)
        child = node.child(m.group(1)) if m else None
        if child is None or child.ro:
            known = ", ".join(c.name for c in node.children if not c.ro)
            raise FaultError("edit_job: %s: %r is not an editable child of %s (known: %s)" % (path, part, node.name, known))
        steps.append((child, m.group(2)))
        node = child
    if attr is not None:
        if attr not in node.attrs:
            raise FaultError("edit_job: %s: %s has no attribute %r" % (path, node.name, attr))
        kind, enum = node.attrs[attr]
    elif node.type == "group" or not steps:
        raise FaultError("edit_job: %s names a group; give a leaf element or an @attribute" % path)
    else:
        kind, enum = node.type, node.enum
    if value is not None:
        try:
            parse_value(kind, value, enum)
        except ValueError as exc:
            raise FaultError("edit_job: %s: %s" % (path, exc)) from None
    return steps, attr


def edit_job_xml(xml, edits):
    """A copy of the stored ``Job`` element with the ``edit_job`` changes applied, in schema order."""
    root = copy.deepcopy(xml)
    for path, value in edits.items():
        steps, attr = _edit_target(path, value)
        el = root
        for node, name in steps:
            found = [c for c in el if local(c) == node.name and (name is None or c.get("Name") == name)]
            if found:
                el = found[0]
            elif value is None:
                el = None
                break
            else:
                new = E(node.name, attrs={"Name": name} if name else None)
                el.append(new)
                el = new
        if el is None:
            continue
        if attr is not None:
            if value is None:
                el.attrib.pop(attr, None)
            else:
                el.set(attr, value)
        elif value is None:
            el.getparent().remove(el)
        else:
            el.text = value
    return ordered_copy(root, JOB)
