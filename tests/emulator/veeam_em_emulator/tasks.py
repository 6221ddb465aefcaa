"""Asynchronous tasks (``task-<n>`` per logon session) and their progression.

A task shows ``Running`` in the 202 answer and on polls until both
``task_running_seconds`` have elapsed and ``task_running_polls`` polls have
shown Running.  Then it shows ``OperationFinished`` for
``task_opfinished_polls`` polls (0 = skip), then ``Finished``.  Only a poll
(``GET /api/tasks/{id}``) advances a task; list views show the current state.
The job change is committed when the task enters ``Finished``.  A task whose
record was DELETEd, whose session ended, or whose request was hit by an HTTP
fault (the client may never have seen its 202) is completed in the background
once its running time has elapsed ("a change already in progress still
completes"); polling it still works.
"""

from __future__ import annotations

import time


class Task:
    def __init__(self, task_id, session, operation, job_id=None, precheck=None, commit=None,
                 ok_message="Ok", never=False, fail_message=None):
        self.task_id = task_id
        self.session = session
        self.operation = operation
        self.job_id = job_id
        self.precheck = precheck          # callable() -> failure message or None
        self.commit = commit              # callable() -> failure message or None (under the state lock)
        self.ok_message = ok_message
        self.never = never
        self.fail_message = fail_message
        self.created = time.monotonic()
        self.state = "Running"
        self.running_polls = 0
        self.opf_polls = 0
        self.success = None
        self.message = None
        self.deleted = False
        self.background = False           # also completed by the ticker (its request was faulted)
        self.related = None               # (rel, type, path, name)
        self.running_seconds = None       # overrides task_running_seconds (run triggers)
        self.auto_complete = False        # completed by the ticker even while nobody polls
        self.history = ["Running"]

    def _set(self, state):
        self.state = state
        self.history.append(state)

    def _running_seconds(self, cfg):
        return cfg.task_running_seconds if self.running_seconds is None else self.running_seconds

    def _precheck(self):
        if self.fail_message is not None:
            return self.fail_message
        return self.precheck() if self.precheck else None

    def poll(self, cfg):
        """Advance on a client poll (caller holds the state lock)."""
        if self.state == "Finished" or self.never:
            return
        if self.state == "Running":
            ready = (time.monotonic() - self.created >= self._running_seconds(cfg)
                     and self.running_polls >= (cfg.task_running_polls or 0))
            if not ready:
                self.running_polls += 1
                return
            msg = self._precheck()
            self.success = msg is None
            self.message = "OperationFinished" if msg is None else msg
            if cfg.task_opfinished_polls > 0:
                self._set("OperationFinished")
                self.opf_polls = 1
                return
            self._finish_after_precheck()
            return
        if self.state == "OperationFinished":
            if self.opf_polls >= cfg.task_opfinished_polls:
                self._finish_after_precheck()
            else:
                self.opf_polls += 1

    def _finish_after_precheck(self):
        if self.success:
            msg = self.precheck() if self.precheck else None
            if msg is None and self.commit is not None:
                msg = self.commit()
            self.success = msg is None
            self.message = self.ok_message if msg is None else msg
        self._set("Finished")

    def complete_in_background(self, cfg, grace):
        """Finish an orphaned task once its running time (plus grace) elapsed."""
        if self.state == "Finished" or self.never:
            return False
        if time.monotonic() - self.created < self._running_seconds(cfg) + grace:
            return False
        if self.state == "Running":
            msg = self._precheck()
            self.success = msg is None
            self.message = "OperationFinished" if msg is None else msg
        self._finish_after_precheck()
        return True

    def to_json(self):
        return {"task_id": self.task_id, "session_id": self.session.session_id, "operation": self.operation,
                "job_id": self.job_id, "state": self.state, "success": self.success, "message": self.message,
                "deleted": self.deleted,
                "background": self.background, "history": list(self.history), "never_finishes": self.never}
