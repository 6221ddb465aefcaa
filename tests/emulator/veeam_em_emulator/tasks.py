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

Run triggers (start, stop, retry, sync) act when they leave ``Running``: the
backup server starts or stops the job, and the task shows
``OperationFinished`` (as in the vendor's StartJob example) until polled
``task_opfinished_polls`` times, then ``Finished``.  The background ticker
moves them out of ``Running`` even when nobody polls.

``DELETE /tasks/{id}`` of a ``Running`` task under ``task_delete=cancel``
stops it: it ends ``Finished`` with ``Success="false"`` and its change is
never made.  Under ``ignore`` (or once past ``Running``) the change still
completes in the background.
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
        self.auto_complete = False        # leaves Running by the ticker even while nobody polls
        self.commit_at_opfinished = False  # run triggers: the job starts/stops on leaving Running
        self.committed = False
        self.cancelled = False
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
            if not self._running_done(cfg) or self.running_polls < (cfg.task_running_polls or 0):
                self.running_polls += 1
                return
            self._leave_running(cfg, polled=True)
            return
        if self.state == "OperationFinished":
            if self.opf_polls >= cfg.task_opfinished_polls:
                self._finish_after_precheck()
            else:
                self.opf_polls += 1

    def _running_done(self, cfg):
        return time.monotonic() - self.created >= self._running_seconds(cfg)

    def _leave_running(self, cfg, polled):
        """Running -> OperationFinished (the poll that sees it counts), or Finished when that state is skipped."""
        msg = self._precheck()
        self.success = msg is None
        self.message = "OperationFinished" if msg is None else msg
        if self.success and self.commit_at_opfinished:
            self._commit()
        if cfg.task_opfinished_polls > 0:
            self._set("OperationFinished")
            self.opf_polls = 1 if polled else 0
            return
        self._finish_after_precheck()

    def _commit(self):
        msg = self.commit() if self.commit is not None else None
        self.committed = True
        self.success = msg is None
        if msg is not None:
            self.message = msg

    def leave_running_in_background(self, cfg):
        """Run triggers: leave Running once its time is up, without a poll (the job starts on its own)."""
        if self.state == "Running" and not self.never and self._running_done(cfg):
            self._leave_running(cfg, polled=False)

    def cancel(self):
        """DELETE under task_delete=cancel: a Running task stops and its change is never made."""
        if self.state == "Running" and not self.never:
            self.cancelled = True
            self.success = False
            self.message = "The task was cancelled"
            self._set("Finished")

    def _finish_after_precheck(self):
        if self.success:
            if not self.committed:
                msg = self.precheck() if self.precheck else None
                if msg is None and self.commit is not None:
                    msg = self.commit()
                self.committed = msg is None
                self.success = msg is None
                self.message = self.ok_message if msg is None else msg
            else:
                self.message = self.ok_message
        self._set("Finished")

    def complete_in_background(self, cfg, grace, force=False):
        """Finish an orphaned task once its running time (plus grace) elapsed; ``force``: at once."""
        if self.state == "Finished" or (self.never and not force):
            return False
        if not force and time.monotonic() - self.created < self._running_seconds(cfg) + grace:
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
                "deleted": self.deleted, "cancelled": self.cancelled,
                "background": self.background, "history": list(self.history), "never_finishes": self.never}
