"""In-memory state of the emulator: configuration, servers, repositories, jobs, sessions, tasks, log."""

from __future__ import annotations

import copy
import dataclasses
import json
import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone

from . import cloud_generated, cloud_seed, inventory, secret_store, seed
from .faults import Faults
from .merge import check_patch, merge
from .schema import JOB, ordered_copy
from .sessions import SessionManager
from .tasks import Task
from .xmlutil import E, fmt_dt, local

ORPHAN_GRACE_SECONDS = 0.0
TRIGGER_RUNNING_SECONDS = 0.5


@dataclasses.dataclass
class Config:
    order_violation: str = "ignore"     # ignore | reject
    merge: str = "deep"                 # deep | replace
    absent_bool: str = "keep"           # keep | false
    # backup-server secrets and registration (secrets.py, servers.py; em-api-cloud.md section 13)
    sync_put_answer: str = "204"                # 204 | 200_empty | 200_body
    cred_create_answer: str = "201_empty"       # 201_empty | 201_body
    password_create_answer: str = "201_empty"   # 201_empty | 202_empty | 202_task
    backupserver_create_answer: str = "201_empty"   # 201_empty | 202_empty | 202_task
    in_use_delete_status: str = "500"           # 500 | 400 | 409
    username_max: str = "accept"                # accept | reject
    empty_password: str = "keep"                # keep | blank | reject
    secret_query_wrapper: str = "entities"      # entities | resources
    backupserver_name_source: str = "address"   # address | hostname
    # Veeam Cloud Connect (cloud.py; em-api-cloud.md section 13)
    partial_group: str = "merge"                # merge | replace: a group sent in part inside a tenant/subtenant PUT
    cloud_licence: str = "present"              # present | absent
    cloud_absent_status: str = "404"            # 404 | 403 | 500
    portal_user_unlisted: str = "deny"          # deny | allow
    async_put_answer: str = "202_task"          # 202_task | 200_task | 200_body
    tenant_type_missing: str = "500"            # 500 | 400 | accept
    lease_put_shape: str = "attributes"         # attributes | elements | flat | any
    tenant_put_resources: str = "apply"         # apply | ignore | fail
    tenant_put_compute: str = "apply"           # apply | ignore | fail
    tenant_put_throttling: str = "ignore"       # ignore | apply
    failover_element: str = "Other"             # Other | Others
    include_backups_default: str = "false"      # false | true
    create_task_timeout: str = "off"            # off | on
    create_related_link: str = "correct"        # correct | off | doc_literal
    cloud_plan_create_seconds: float = 4.0      # how long a tenant create with a hardware plan runs
    # provider infrastructure (cloud_infra.py; em-api-cloud.md sections 10, 11, 13)
    hwplan_network_change: str = "fail"         # fail | ignore
    hwplan_storage_list: str = "replace"        # replace | merge
    pool_put_absent_tenants: str = "keep"       # keep | clear
    publicip_put_answer: str = "202"            # 202 (a task) | 204: the answer to PUT /cloud/publicIpAddresses/{id}
    latency_ms: int = 0
    task_running_seconds: float = 2.0
    task_running_polls: int = 0
    task_opfinished_polls: int = 1
    idle_timeout: float = 900.0
    error_status_attr: bool = False     # add Status="NotFound" etc. to Error bodies
    session_seconds: float = 3.0        # how long a job session (start/retry/sync) runs
    session_result: str = "Success"     # Success | Warning | Failed: result of a session that is not stopped
    put_answer: str = "202"             # 202 (a Task) | 200-empty | 200-resource: how PUT /jobs/{id} is answered
    task_delete: str = "cancel"         # cancel (a running task stops, its change is not made) | ignore

    CHOICES = {"order_violation": ("ignore", "reject"), "merge": ("deep", "replace"), "absent_bool": ("keep", "false"),
               "session_result": ("Success", "Warning", "Failed"), "put_answer": ("202", "200-empty", "200-resource"),
               "task_delete": ("cancel", "ignore")}

    def update(self, data):
        """Validate and apply a partial update (dict).  Raises ValueError."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        fields = {f.name: f for f in dataclasses.fields(self)}
        new = {}
        for k, v in data.items():
            if k not in fields:
                raise ValueError("unknown config key '%s' (known: %s)" % (k, ", ".join(sorted(fields))))
            if k in self.CHOICES:
                if v not in self.CHOICES[k]:
                    raise ValueError("%s must be one of %s" % (k, ", ".join(self.CHOICES[k])))
            elif k == "error_status_attr":
                if not isinstance(v, bool):
                    raise ValueError("%s must be a boolean" % k)
            elif k in ("latency_ms", "task_running_polls", "task_opfinished_polls"):
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise ValueError("%s must be a non-negative integer" % k)
            else:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                    raise ValueError("%s must be a non-negative number" % k)
                v = float(v)
            new[k] = v
        for k, v in new.items():
            setattr(self, k, v)

    def to_json(self):
        return dataclasses.asdict(self)

    CHOICES.update({   # the secrets switches (secrets.py, servers.py)
        "sync_put_answer": ("204", "200_empty", "200_body"), "cred_create_answer": ("201_empty", "201_body"),
        "password_create_answer": ("201_empty", "202_empty", "202_task"),
        "backupserver_create_answer": ("201_empty", "202_empty", "202_task"),
        "in_use_delete_status": ("500", "400", "409"), "username_max": ("accept", "reject"),
        "empty_password": ("keep", "blank", "reject"), "secret_query_wrapper": ("entities", "resources"),
        "backupserver_name_source": ("address", "hostname")})
    CHOICES.update({   # the Cloud Connect switches (cloud.py)
        "partial_group": ("merge", "replace"), "cloud_licence": ("present", "absent"),
        "cloud_absent_status": ("404", "403", "500"),
        "portal_user_unlisted": ("deny", "allow"), "async_put_answer": ("202_task", "200_task", "200_body"),
        "tenant_type_missing": ("500", "400", "accept"), "lease_put_shape": ("attributes", "elements", "flat", "any"),
        "tenant_put_resources": ("apply", "ignore", "fail"), "tenant_put_compute": ("apply", "ignore", "fail"),
        "tenant_put_throttling": ("ignore", "apply"), "failover_element": ("Other", "Others"),
        "include_backups_default": ("false", "true"), "create_task_timeout": ("off", "on"),
        "create_related_link": ("correct", "off", "doc_literal")})
    CHOICES.update({   # the provider-infrastructure switches (cloud_infra.py)
        "hwplan_network_change": ("fail", "ignore"), "hwplan_storage_list": ("replace", "merge"),
        "pool_put_absent_tenants": ("keep", "clear"), "publicip_put_answer": ("202", "204")})


class JobRecord:
    def __init__(self, job_id, server_id, xml):
        self.id = job_id
        self.server_id = server_id
        self.xml = xml
        self.meta = {}                    # e.g. clone details (cloned_from, repository_uid, ...)
        self.repo_id = None               # the repository its backups go to (not part of the v1_7 entity)

    def text(self, *names):
        el = self.xml
        for n in names:
            el = next((c for c in el if local(c) == n), None)
            if el is None:
                return None
        return el.text or ""

    @property
    def name(self):
        return self.xml.get("Name", "")

    @property
    def uid(self):
        return "urn:veeam:Job:" + self.id

    @property
    def job_type(self):
        return self.text("JobType") or "Backup"

    @property
    def platform(self):
        return self.text("Platform") or ""


class State:
    def __init__(self, config: Config, users: dict, extra_jobs=0, log_file=None, extra_tenants=0):
        self.lock = threading.RLock()
        self.initial_config = copy.deepcopy(config)
        self.config = config
        self.users = users                # name -> (password, role)
        self.extra_jobs = extra_jobs
        self.extra_tenants = extra_tenants
        self.log_file = log_file
        self.base_url = ""                # advertised base, set by the server
        self.faults = Faults()
        self.sessions = SessionManager()
        self.reset(keep_config=True)

    # ------------------------------------------------------------------ seed
    def reset(self, keep_config=False):
        with self.lock:
            if not keep_config:
                self.config = copy.deepcopy(self.initial_config)
            self.clock = seed.clock_base()
            self.servers = OrderedDict()
            for name, desc, version, dns in seed.SERVERS:
                sid = seed.server_id(name)
                self.servers[sid] = {"id": sid, "name": name, "description": desc, "port": 9392,
                                     "version": version, "wcf_port": 9405, "dns": dns,
                                     "thumbprint": seed.guid("thumb", name).replace("-", "").upper()[:40]}
            secret_store.seed_state(self)       # server accounts, credentials records, encryption passwords
            by_name = {s["name"]: s["id"] for s in self.servers.values()}
            self.repos = OrderedDict()
            for srv, name, kind, cap, free in seed.REPOSITORIES:
                rid = seed.repo_id(srv, name)
                self.repos[rid] = {"id": rid, "server_id": by_name[srv], "name": name, "kind": kind,
                                   "capacity": cap, "free": free}
            self.jobs = OrderedDict()
            self.backups = OrderedDict()
            for jid, srv, xml in seed.seed_jobs(self.extra_jobs):
                self._set_next_run(xml)
                rec = self.jobs[jid] = JobRecord(jid, by_name[srv], xml)
                repo = seed.job_repository(srv, rec.name)
                rec.repo_id = seed.repo_id(srv, repo) if repo else None
                if repo and (srv, rec.name) not in seed.NEVER_RAN:
                    self.add_backup(rec)
            roots, items = inventory.build(self.extra_jobs)
            self.roots = OrderedDict((r["id"], r) for r in roots)
            self.inventory = items
            cloud_seed.seed_state(self)         # Cloud Connect: tenants, plans, gateways, pools, WAN accelerators
            cloud_generated.add_generated_tenants(self, self.extra_tenants)
            self.job_sessions = OrderedDict()
            self.sessions.clear()
            self.all_tasks = []
            self.log = []
            self.seq = 0
            # Requests that began before a reset (a stalled one, say) must not touch or log into the new state.
            self.generation = getattr(self, "generation", 0) + 1
            self.dropped = {"job_id": None, "time": None, "items": []}
            self.faults.clear()
            self.edits_applied = 0

    def _set_next_run(self, xml):
        for c in list(xml):
            if local(c) == "NextRun":
                xml.remove(c)
        nr = seed.compute_next_run(xml, self.clock)
        if nr is not None:
            xml.append(E("NextRun", text=fmt_dt(nr)))
        new = ordered_copy(xml, JOB)
        xml[:] = list(new)

    # ------------------------------------------------------------------ backups
    def add_backup(self, rec, repo_id=None):
        """The backup a run of ``rec`` writes to its repository (created by its first run); None for replicas."""
        repo_id = repo_id or rec.repo_id
        if repo_id is None or rec.job_type == "Replica":
            return None
        for b in self.backups.values():
            if b["job_id"] == rec.id and b["repo_id"] == repo_id:
                return b
        bid = seed.backup_id(self.server_name(rec.server_id), rec.uid + "/" + repo_id)
        self.backups[bid] = {"id": bid, "server_id": rec.server_id, "job_id": rec.id, "job_name": rec.name,
                             "repo_id": repo_id, "platform": rec.platform or "VMware", "backup_type": "Standard"}
        return self.backups[bid]

    def backup_job_name(self, b):
        """A backup is named after its job: the job's current name, or the last one known once it is deleted."""
        rec = self.jobs.get(b["job_id"])
        if rec is not None:
            b["job_name"] = rec.name
        return b["job_name"]

    # ------------------------------------------------------------------ lookup helpers
    def server_name(self, sid):
        s = self.servers.get(sid)
        return s["name"] if s else ""

    def known_job_uids(self):
        return {j.uid.lower(): j.server_id for j in self.jobs.values()}

    def job(self, jid):
        return self.jobs.get((jid or "").lower())

    # ------------------------------------------------------------------ tasks
    def new_task(self, session, operation, job_id=None, precheck=None, commit=None, ok_message="Ok", quick=False):
        """Create a task; ``quick`` (run triggers): Running at most 0.5 s, completed even when not polled."""
        with self.lock:
            session.task_counter += 1
            tid = "task-%d" % session.task_counter
            t = Task(tid, session, operation, job_id=job_id, precheck=precheck, commit=commit,
                     ok_message=ok_message, never=self.faults.task_never_finishes,
                     fail_message=self.faults.take_task_failure(job_id, operation))
            if quick:
                t.running_seconds = min(self.config.task_running_seconds, TRIGGER_RUNNING_SECONDS)
                t.auto_complete = True
                t.commit_at_opfinished = True
            session.tasks[tid] = t
            self.all_tasks.append(t)
            return t

    def edit_task(self, session, rec, patch):
        cfg = self.config
        merge_mode, absent_bool = cfg.merge, cfg.absent_bool
        jid = rec.id

        def precheck():
            cur = self.jobs.get(jid)
            if cur is None:
                return "Job %s was deleted" % jid
            merged = merge(cur.xml, patch, merge_mode, absent_bool)
            return check_patch(cur.xml, patch, merged, cur.uid, cur.server_id, self.known_job_uids())

        def commit():
            cur = self.jobs.get(jid)
            if cur is None:
                return "Job %s was deleted" % jid
            merged = merge(cur.xml, patch, merge_mode, absent_bool)
            self._set_next_run(merged)
            cur.xml = merged
            self.edits_applied += 1
            return None

        return self.new_task(session, "EditJob", jid, precheck, commit)

    def apply_now(self, task):
        """Carry a task out at once (a write answered 200): its checks and commit; the failure message or None."""
        with self.lock:
            task.complete_in_background(self.config, 0.0, force=True)
            self.all_tasks.remove(task)
            task.session.tasks.pop(task.task_id, None)
            return None if task.success else task.message

    def delete_task(self, session, task):
        """DELETE /tasks/{id}: the record goes; under task_delete=cancel a task still Running stops unmade."""
        with self.lock:
            if self.config.task_delete == "cancel":
                task.cancel()
            task.deleted = True
            del session.tasks[task.task_id]

    def tick(self):
        """Background progress: orphaned tasks (deleted, session ended, request faulted) complete; run triggers
        leave Running on their own (their job starts) and then wait in OperationFinished for a poll."""
        with self.lock:
            idle = self.config.idle_timeout
            for t in self.all_tasks:
                if t.state == "Finished":
                    continue
                if t.deleted or t.background or not t.session.alive(idle):
                    t.complete_in_background(self.config, ORPHAN_GRACE_SECONDS)
                elif t.auto_complete:
                    t.leave_running_in_background(self.config)

    # ------------------------------------------------------------------ request log
    def add_log(self, entry, generation=None):
        with self.lock:
            if generation is not None and generation != self.generation:
                return
            self.seq += 1
            entry = dict(entry, seq=self.seq, time=datetime.now(timezone.utc).isoformat())
            self.log.append(entry)
            if len(self.log) > 100000:
                del self.log[:50000]
            if self.log_file:
                try:
                    with open(self.log_file, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps(entry) + "\n")
                except OSError:
                    pass
            return entry


def now_mono():
    return time.monotonic()
