"""Fault injection registry (driven by POST /_emulator/faults).

Task faults:
  ``fail_next_task``: message -> the next task created ends Success="false" with it (one-off).
  ``fail_job_tasks``: {job id: message} -> every task on that job fails (until cleared).
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
  ``{"action": "expire_session", "when": "after"}`` expire the caller's logon
      session after answering this request normally (``when: "before"``: before
      handling it, so this request already gets 401).
"""

from __future__ import annotations

import itertools
import re

ACTIONS = ("status", "reset", "stall", "drip", "oversize", "override", "expire_session")
_ids = itertools.count(1)


class FaultError(ValueError):
    pass


class Faults:
    def __init__(self):
        self.clear()

    def clear(self):
        self.fail_next_task = None
        self.fail_job_tasks = {}
        self.task_never_finishes = False
        self.next_session_result = None
        self.http = []

    def to_json(self):
        return {"fail_next_task": self.fail_next_task, "fail_job_tasks": dict(self.fail_job_tasks),
                "task_never_finishes": self.task_never_finishes,
                "next_session_result": self.next_session_result, "http": [dict(r) for r in self.http]}

    def update(self, data):
        if not isinstance(data, dict):
            raise FaultError("expected a JSON object")
        known = {"fail_next_task", "fail_job_tasks", "task_never_finishes", "next_session_result", "http"}
        unknown = set(data) - known
        if unknown:
            raise FaultError("unknown fault keys: %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(sorted(known))))
        if "fail_next_task" in data:
            v = data["fail_next_task"]
            if v is not None and not isinstance(v, str):
                raise FaultError("fail_next_task must be a message string or null")
            self.fail_next_task = v
        if "fail_job_tasks" in data:
            v = data["fail_job_tasks"]
            if v is None:
                self.fail_job_tasks = {}
            elif isinstance(v, dict) and all(isinstance(m, str) or m is None for m in v.values()):
                for k, m in v.items():
                    if m is None:
                        self.fail_job_tasks.pop(k.lower(), None)
                    else:
                        self.fail_job_tasks[k.lower()] = m
            else:
                raise FaultError("fail_job_tasks must map job ids to messages")
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
        if rule.get("headers") is not None and not isinstance(rule["headers"], dict):
            raise FaultError("headers must be an object of header names to values")
        if rule.get("body") is not None and not isinstance(rule["body"], str):
            raise FaultError("body must be a string")
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

    def take_session_result(self, default):
        if self.next_session_result is not None:
            res, self.next_session_result = self.next_session_result, None
            return res
        return default

    def take_task_failure(self, job_id):
        if self.fail_next_task is not None:
            msg, self.fail_next_task = self.fail_next_task, None
            return msg
        if job_id and job_id.lower() in self.fail_job_tasks:
            return self.fail_job_tasks[job_id.lower()]
        return None
