"""Logon sessions: token issue, lookup, sliding idle expiry, logoff."""

from __future__ import annotations

import base64
import os
import time
import uuid
from datetime import datetime, timezone


class Session:
    def __init__(self, user: str, role: str):
        self.token = base64.b64encode(os.urandom(16)).decode("ascii")
        self.session_id = str(uuid.uuid4())
        self.user = user
        self.role = role                 # "admin" | "restore"
        self.created = time.time()
        self.created_iso = datetime.now(timezone.utc).isoformat()
        self.last_seen = time.monotonic()
        self.logged_off = False
        self.force_expired = False
        self.requests = 0
        self.task_counter = 0
        self.tasks = {}                  # task id -> Task

    def expired(self, idle_timeout: float) -> bool:
        return self.force_expired or (time.monotonic() - self.last_seen) > idle_timeout

    def alive(self, idle_timeout: float) -> bool:
        return not self.logged_off and not self.expired(idle_timeout)

    def touch(self):
        self.last_seen = time.monotonic()
        self.requests += 1

    def summary(self, idle_timeout):
        # The token is a secret for a real EM; the control API shows it so that tests
        # can prove a client never leaks it.
        return {"session_id": self.session_id, "token": self.token, "user": self.user, "role": self.role,
                "created": self.created_iso, "logged_off": self.logged_off,
                "expired": (not self.logged_off) and self.expired(idle_timeout),
                "requests": self.requests, "tasks": list(self.tasks)}


class SessionManager:
    def __init__(self):
        self.by_token = {}
        self.by_id = {}

    def create(self, user, role) -> Session:
        s = Session(user, role)
        self.by_token[s.token] = s
        self.by_id[s.session_id] = s
        return s

    def lookup(self, token, idle_timeout):
        """Return (session, reason): session is None when the token is unusable."""
        if not token:
            return None, "missing"
        s = self.by_token.get(token)
        if s is None:
            return None, "unknown"
        if s.logged_off:
            return None, "logged off"
        if s.expired(idle_timeout):
            return None, "expired"
        return s, None

    def clear(self):
        self.by_token.clear()
        self.by_id.clear()
