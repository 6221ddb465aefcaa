"""Job sessions (runs) created by start / retry / sync.

A session's state is derived from the wall clock, so no ticker is needed:

* ``Starting`` for the first fifth of ``session_seconds`` (at most 1 s),
  then ``Working`` (Progress grows linearly), then ``Stopped`` with the result
  chosen when the session was created (``session_result`` or the one-shot
  ``next_session_result`` fault);
* after a stop request: ``Stopping`` for 0.5 s, then ``Stopped`` with Result
  ``Failed`` and FailureMessage "Job has been stopped by user".

``Result`` reads ``None`` while the session runs.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

STATES = ("Starting", "Stopping", "Working", "Pausing", "Resuming", "Stopped")
RESULTS = ("None", "Success", "Warning", "Failed")
STOP_SECONDS = 0.5
STOPPED_MESSAGE = "Job has been stopped by user"
RESULT_MESSAGES = {
    "Success": "",
    "Warning": "Processing finished with warnings: changed block tracking is disabled (emulated)",
    "Failed": "Processing finished with errors: error: failed to create VM snapshot (emulated)",
}


def utcnow():
    return datetime.now(timezone.utc)


class JobSession:
    def __init__(self, job, duration, result, is_retry=False, now=None):
        self.id = str(uuid.uuid4())
        self.job_id = job.id
        self.job_name = job.name
        self.job_type = job.job_type
        self.server_id = job.server_id
        self.kind = "ReplicaJobSession" if job.job_type == "Replica" else "BackupJobSession"
        self.created = now or utcnow()
        self.duration = float(duration)
        self.planned_result = result
        self.is_retry = is_retry
        self.stop_requested = None

    @property
    def uid(self):
        return "urn:veeam:%s:%s" % (self.kind, self.id)

    @property
    def name(self):
        return "%s@%s" % (self.job_name, self.created.strftime("%Y-%m-%d %H:%M:%S"))

    @property
    def collection(self):
        return "replicaSessions" if self.kind == "ReplicaJobSession" else "backupSessions"

    def _end(self):
        natural = self.created + timedelta(seconds=self.duration)
        if self.stop_requested is not None:
            stopped = self.stop_requested + timedelta(seconds=STOP_SECONDS)
            if stopped < natural:
                return stopped, True
        return natural, False

    def snapshot(self, now=None):
        """Return dict(state, result, progress, end, failure) at ``now``."""
        now = now or utcnow()
        end, by_stop = self._end()
        if now >= end:
            result = "Failed" if by_stop else self.planned_result
            failure = STOPPED_MESSAGE if by_stop else RESULT_MESSAGES.get(result, "")
            progress = self._progress(end) if by_stop else 100
            return {"state": "Stopped", "result": result, "progress": progress, "end": end, "failure": failure}
        if self.stop_requested is not None and now >= self.stop_requested:
            state = "Stopping"
        elif (now - self.created).total_seconds() < min(1.0, self.duration / 5.0):
            state = "Starting"
        else:
            state = "Working"
        return {"state": state, "result": "None", "progress": self._progress(now), "end": None, "failure": ""}

    def _progress(self, at):
        if self.duration <= 0:
            return 100
        frac = (at - self.created).total_seconds() / self.duration
        return max(0, min(99, int(frac * 100)))

    def running(self, now=None):
        return self.snapshot(now)["state"] != "Stopped"

    def to_json(self):
        s = self.snapshot()
        return {"id": self.id, "uid": self.uid, "kind": self.kind, "name": self.name, "job_id": self.job_id,
                "job_name": self.job_name, "job_type": self.job_type, "state": s["state"], "result": s["result"],
                "progress": s["progress"], "is_retry": self.is_retry, "failure_message": s["failure"],
                "creation_time": self.created.isoformat(), "end_time": s["end"].isoformat() if s["end"] else None,
                "stop_requested": self.stop_requested is not None}
