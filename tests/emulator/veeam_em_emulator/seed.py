"""Seed data: backup servers, repositories and jobs (all IDs deterministic via uuid5).

Everything the emulator serves after start or ``POST /_emulator/reset`` comes
from :func:`build_seed`.  Job entities are stored WITHOUT Links/Href (those are
added when rendering, from the advertised URL); element order follows
:mod:`veeam_em_emulator.schema`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from .schema import DAYS, MONTHS, JOB, ordered_copy
from .xmlutil import E, local

SEED_NS = uuid.UUID("5b0c1e9e-6a3f-4c59-9f36-0e1d2c7a4b11")
TIME_OFFSET = "+01:00"     # the emulated EM host's UTC offset
TIME_OFFSET_HOURS = 1


def guid(*parts) -> str:
    return str(uuid.uuid5(SEED_NS, "/".join(parts)))


def server_id(name):
    return guid("server", name)


def job_id(server, name):
    return guid("job", server, name)


def repo_id(server, name):
    return guid("repository", server, name)


SERVERS = [
    # name, description, version, dns name
    ("vbr01", "Primary backup server", "13.0.0.1420", "vbr01.lab.local"),
    ("vbr02", "Branch office backup server", "12.3.1.1139", "vbr02.lab.local"),
]

REPOSITORIES = [
    # server, name, kind, capacity, free
    ("vbr01", "Default Backup Repository", "WindowsLocal", 536870912000, 322122547200),
    ("vbr01", "Backup Volume 01", "WindowsLocal", 2199023255552, 1099511627776),
    ("vbr02", "Default Backup Repository", "LinuxLocal", 1099511627776, 805306368000),
]

# Where each seed job writes its backups: (server, job name) -> repository name. Replicas write none.
JOB_REPOSITORIES = {
    ("vbr01", "SQL Backup"): "Backup Volume 01",
    ("vbr01", "HV Backup"): "Default Backup Repository",
    ("vbr01", "Exchange Backup"): "Backup Volume 01",
    ("vbr01", "Periodic Copy"): "Default Backup Repository",
    ("vbr01", "Immediate Copy"): "Backup Volume 01",
    ("vbr01", "Chained Backup"): "Default Backup Repository",
    ("vbr01", "File Server Backup"): "Default Backup Repository",
    ("vbr02", "File Server Backup"): "Default Backup Repository",
}
NEVER_RAN = {("vbr01", "Chained Backup")}   # configured, but no run yet: no backup


def job_repository(server, name):
    """The repository name a seed job (generated ones too) writes to, or None."""
    if name.startswith("Generated Job "):
        return "Backup Volume 01" if int(name.rsplit(" ", 1)[1]) % 2 else "Default Backup Repository"
    return JOB_REPOSITORIES.get((server, name))


def backup_id(server, job_uid):
    return guid("backup", server, job_uid)


FULL_MASK = ",".join(["1"] * 24)
NIGHT_MASK = ",".join(["1"] * 6 + ["0"] * 16 + ["1"] * 2)


def t(hhmm: str) -> str:
    return "%s:00.0000000%s" % (hhmm, TIME_OFFSET)


def day_masks(wrapper: str, masks=None):
    masks = masks or {}
    return E(wrapper, [E("Day", text=masks.get(d, FULL_MASK), attrs=[("Name", d)]) for d in DAYS])


def _en(v):
    return [("Enabled", "true" if v else "false")]


def standart(*, daily=None, monthly=None, periodic=None, continuous=False, window=None,
             chain=None, retry=(3, 10, True), wait=(False, 180)):
    """Build a complete ``Standart`` block (all nine children, every Options* with Enabled)."""
    d = {"enabled": False, "kind": "Everyday", "days": DAYS, "time": "22:00"}
    d.update(daily or {})
    m = {"enabled": False, "time": "22:00", "number": "Fourth", "dow": "Saturday", "months": MONTHS, "dom": 1}
    m.update(monthly or {})
    p = {"enabled": False, "kind": "Hours", "period": 1, "masks": None}
    p.update(periodic or {})
    return E(
        "Standart",
        E("RetryOptions", E("RetryTimes", text=retry[0]), E("RetryTimeout", text=retry[1]),
          E("RetrySpecified", text="true" if retry[2] else "false")),
        E("WaitForBackupCompletion", text="true" if wait[0] else "false"),
        E("BackupCompetitionWaitingPeriodMin", text=wait[1]),
        E("OptionsDaily", E("Kind", text=d["kind"]), [E("Days", text=x) for x in d["days"]],
          E("Time", text=t(d["time"])), E("TimeOffsetUtc", text=TIME_OFFSET_HOURS), attrs=_en(d["enabled"])),
        E("OptionsMonthly", E("Time", text=t(m["time"])), E("TimeOffsetUtc", text=TIME_OFFSET_HOURS),
          E("DayNumberInMonth", text=m["number"]), E("DayOfWeek", text=m["dow"]),
          [E("Months", text=x) for x in m["months"]], E("DayOfMonth", text=m["dom"]), attrs=_en(m["enabled"])),
        E("OptionsPeriodically", E("Kind", text=p["kind"]), E("FullPeriod", text=p["period"]),
          day_masks("Schedule", p["masks"]), attrs=_en(p["enabled"])),
        E("OptionsContinuous", day_masks("Schedule"), attrs=_en(continuous)),
        E("OptionsBackupWindow", day_masks("TimePeriods", window), attrs=_en(bool(window))),
        E("OptionsDaisyChaining", E("PreviousJobUid", text=chain), attrs=_en(bool(chain))),
    )


WIN_EXCLUDES = ["%windir%", "%ProgramFiles%", "%ProgramFiles(x86)%", "%ProgramW6432%", "%TEMP%"]
LINUX_EXCLUDES = ["/cdrom", "/dev", "/media", "/mnt", "/proc", "/tmp", "/lost+found"]


def paths(wrapper, items):
    return E(wrapper, [E("Path", text=p) for p in items])


def guest(*, vss="RequireSuccess", copy_only=False, persistent=None, win_mode="EveryFolders", win_ex=(),
          lin_mode="ExceptSpecifiedFolders", lin_ex=(), sql=("OnlyOnSuccessJob", 15, True, 15),
          win_creds="", lin_creds="", fs_exclude=None):
    sql_el = E("SqlBackupOptions", E("TransactionLogsProcessing", text=sql[0]),
               E("BackupLogsFrequencyMin", text=sql[1]), E("UseDbBackupRetention", text="true" if sql[2] else "false"),
               E("RetainDays", text=sql[3]))
    return E(
        "GuestProcessingOptions",
        E("VssSnapshotOptions", E("VssSnapshotMode", text=vss), E("IsCopyOnly", text="true" if copy_only else "false"),
          None if persistent is None else E("UsePersistentGuestAgent", text="true" if persistent else "false")),
        E("WindowsGuestFSIndexingOptions", E("FileSystemIndexingMode", text=win_mode),
          E("IncludedIndexingFolders"), paths("ExcludedIndexingFolders", win_ex)),
        E("LinuxGuestFSIndexingOptions", E("FileSystemIndexingMode", text=lin_mode),
          E("IncludedIndexingFolders"), paths("ExcludedIndexingFolders", lin_ex)),
        sql_el,
        E("WindowsCredentialsId", text=win_creds),
        E("LinuxCredentialsId", text=lin_creds),
        fs_exclude,
    )


def includes(jid, platform, root, vms):
    objs = []
    for vm, moref in vms:
        oij = guid("oij", jid, vm)
        objs.append(E("ObjectInJob",
                      E("ObjectInJobId", text=oij),
                      E("HierarchyObjRef", text="urn:%s:Vm:%s.%s" % (platform, root, moref)),
                      E("Name", text=vm), E("DisplayName", text=vm),
                      guest(persistent=False, win_mode="ExceptSpecifiedFolders", win_ex=WIN_EXCLUDES,
                            lin_ex=LINUX_EXCLUDES),
                      attrs=[("Type", "ObjectInJob")]))
    return E("Includes", objs)


def gfs(enabled, weekly=(True, 2, "Sunday"), monthly=(True, 3, "First"), yearly=(False, 1, "January")):
    def part(name, sel, v):
        return E(name, E("Enabled", text="true" if v[0] else "false"), E("RetentionPeriod", text=v[1]),
                 E(sel, text=v[2]))
    return E("GfsRetentionPolicy", part("Weekly", "SelectedDay", weekly), part("Monthly", "SelectedWeek", monthly),
             part("Yearly", "SelectedMonth", yearly), attrs=_en(enabled))


def simple(cycles=7, days=7, kind="Cycles"):
    return E("SimpleRetentionPolicy", E("RetainCycles", text=cycles), E("RetainDaysToKeep", text=days),
             E("RetainLimitType", text=kind))


def job_el(server, name, jtype, platform, description, sched_conf, sched_en, schedule, jobinfo):
    jid = job_id(server, name)
    el = E("Job", E("JobType", text=jtype), E("Platform", text=platform), E("Description", text=description),
           E("ScheduleConfigured", text="true" if sched_conf else "false"),
           E("ScheduleEnabled", text="true" if sched_en else "false"),
           E("JobScheduleOptions", schedule), E("JobInfo", jobinfo),
           attrs=[("Type", "Job"), ("Name", name), ("UID", "urn:veeam:Job:" + jid)])
    return jid, el


VC_ROOT = guid("root", "vbr01", "vc01")
VC2_ROOT = guid("root", "vbr02", "vc02")
HV_ROOT = guid("root", "vbr01", "hv01")
VCD_ROOT = guid("root", "vbr01", "vcd01")


def seed_jobs(extra_jobs=0):
    """Return a list of (job_id, server_name, stored Job element)."""
    out = []

    def add(server, name, *a):
        jid, el = job_el(server, name, *a)
        out.append((jid, server, ordered_copy(el, JOB)))
        return jid

    sql_id = job_id("vbr01", "SQL Backup")
    add("vbr01", "SQL Backup", "Backup", "VMware", "Nightly backup of the SQL servers", True, True,
        standart(daily={"enabled": True, "kind": "Everyday", "time": "22:00"}),
        E("BackupJobInfo",
          includes(sql_id, "VMware", VC_ROOT, [("sql01", "vm-1021"), ("sql02", "vm-1022")]),
          guest(sql=("Backup", 60, False, 5), win_creds=guid("creds", "vbr01", "sqladmin"),
                win_ex=("%TEMP%",), win_mode="ExceptSpecifiedFolders"),
          E("AdvancedStorageOptions", E("PasswordKeyId", text="")),
          gfs(True), simple(14, 7, "Cycles")))
    hv_id = job_id("vbr01", "HV Backup")
    add("vbr01", "HV Backup", "Backup", "HyperV", "", True, True,
        standart(monthly={"enabled": True, "time": "23:30", "number": "Last", "dow": "Sunday"}),
        E("BackupJobInfo",
          includes(hv_id, "HyperV", HV_ROOT, [("hvfile01", "2c1d7a4e-43b7-4d6a-9d9c-6a3b7f5e0c11")]),
          guest(vss="IgnoreFailures"),
          E("AdvancedStorageOptions", E("PasswordKeyId", text=guid("key", "vbr01", "hv"))),
          gfs(False), simple(30, 30, "Days")))
    ex_id = job_id("vbr01", "Exchange Backup")
    add("vbr01", "Exchange Backup", "Backup", "VMware", "Exchange mailbox servers", True, True,
        standart(periodic={"enabled": True, "kind": "Hours", "period": 4,
                           "masks": {"Saturday": NIGHT_MASK, "Sunday": NIGHT_MASK}},
                 retry=(5, 15, True), wait=(True, 120)),
        E("BackupJobInfo",
          includes(ex_id, "VMware", VC_ROOT, [("exch01", "vm-2001"), ("exch02", "vm-2002")]),
          guest(copy_only=True),
          E("AdvancedStorageOptions", E("PasswordKeyId", text="")),
          gfs(False), simple(7, 7, "Cycles")))
    dc_id = job_id("vbr01", "DC Replication")
    add("vbr01", "DC Replication", "Replica", "VMware", "Replicate the domain controllers to DR", True, True,
        standart(daily={"enabled": True, "kind": "WeekDays",
                        "days": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"), "time": "20:00"},
                 window={"Monday": NIGHT_MASK}),
        E("ReplicaJobInfo",
          includes(dc_id, "VMware", VC_ROOT, [("dc01", "vm-3001")]),
          guest()))
    add("vbr01", "Periodic Copy", "BackupCopy", "CustomPlatform", "Legacy periodic backup copy", True, True,
        standart(daily={"enabled": True, "time": "06:00"}),
        E("BackupCopyJobInfo",
          E("Includes"),
          E("LinkedJobIncludes", E("LinkedJobObject", E("ObjectInJobId", text=guid("oij", "pc", "sql")),
                                   E("LinkedJobUid", text="urn:veeam:Job:" + sql_id))),
          E("AdvancedStorageOptions", E("PasswordKeyId", text="")),
          E("LinkedBackupIncludes")))
    add("vbr01", "Immediate Copy", "ImmediateBackupCopy", "CustomPlatform", "Created by LAB\\veeamadmin", True, True,
        E("ImmediateCopyMode", E("OptionsContinuous", day_masks("Schedule", {"Tuesday": NIGHT_MASK}),
                                 attrs=_en(True))),
        E("ImmediateBackupCopyJobInfo",
          E("LinkedJobIncludes", E("LinkedJobObject", E("ObjectInJobId", text=guid("oij", "ic", "ex")),
                                   E("LinkedJobUid", text="urn:veeam:Job:" + ex_id))),
          E("LinkedBackupIncludes"),
          E("LinkedBackupRepositoryIncludes")))
    ch_id = job_id("vbr01", "Chained Backup")
    add("vbr01", "Chained Backup", "Backup", "VMware", "Runs after SQL Backup", True, True,
        standart(chain="urn:veeam:Job:" + sql_id),
        E("BackupJobInfo",
          includes(ch_id, "VMware", VC_ROOT, [("app01", "vm-4001")]),
          guest(vss="Disabled"),
          E("AdvancedStorageOptions", E("PasswordKeyId", text="")),
          gfs(False), simple(3, 7, "Cycles")))
    for srv, root in (("vbr01", VC_ROOT), ("vbr02", VC2_ROOT)):
        fid = job_id(srv, "File Server Backup")
        add(srv, "File Server Backup", "Backup", "VMware", "File servers on %s" % srv, True, srv == "vbr01",
            standart(daily={"enabled": True, "kind": "SelectedDays", "days": ("Monday", "Thursday"),
                            "time": "21:15"}),
            E("BackupJobInfo",
              includes(fid, "VMware", root, [("fs01", "vm-5001")]),
              guest(win_mode="ExceptSpecifiedFolders", win_ex=WIN_EXCLUDES),
              E("AdvancedStorageOptions", E("PasswordKeyId", text="")),
              gfs(False), simple(10, 7, "Cycles")))
    for n in range(1, extra_jobs + 1):
        name = "Generated Job %04d" % n
        gid = job_id("vbr01", name)
        kind = n % 4
        sched = standart(
            daily={"enabled": kind == 0, "time": "%02d:%02d" % (n % 24, (n * 7) % 60)},
            monthly={"enabled": kind == 1, "number": ("First", "Second", "Third", "Fourth", "Last")[n % 5]},
            periodic={"enabled": kind == 2, "kind": "Hours" if n % 2 else "Minutes", "period": 1 + n % 12},
            retry=(1 + n % 5, 5 + n % 20, bool(n % 2)))
        add("vbr01", name, "Backup", "VMware", "Generated job number %d" % n, kind != 3, kind != 3, sched,
            E("BackupJobInfo",
              includes(gid, "VMware", VC_ROOT, [("gen%04d" % n, "vm-%d" % (9000 + n))]),
              guest(copy_only=bool(n % 3 == 0)),
              E("AdvancedStorageOptions", E("PasswordKeyId", text="")),
              gfs(n % 5 == 0), simple(3 + n % 20, 7, "Cycles")))
    return out


# ---------------------------------------------------------------------------
# NextRun


def _child(el, *names):
    for n in names:
        if el is None:
            return None
        el = next((c for c in el if local(c) == n), None)
    return el


def _text(el, *names):
    c = _child(el, *names)
    return None if c is None else (c.text or "")


def _enabled(el):
    return el is not None and el.get("Enabled") == "true"


def _wall(timestr):
    # "22:00:00.0000000+01:00" -> (hours, minutes, offset minutes)
    hh, mm = int(timestr[0:2]), int(timestr[3:5])
    off = 0
    rest = timestr[16:] if len(timestr) > 16 else ""
    if rest and rest != "Z":
        sign = -1 if rest[0] == "-" else 1
        off = sign * (int(rest[1:3]) * 60 + int(rest[4:6]))
    return hh, mm, off


def compute_next_run(job, base: datetime):
    """NextRun (UTC) for a stored job, relative to the emulator clock ``base``; None if unscheduled."""
    if _text(job, "ScheduleConfigured") != "true" or _text(job, "ScheduleEnabled") != "true":
        return None
    st = _child(job, "JobScheduleOptions", "Standart")
    if st is None:
        return None
    try:
        daily = _child(st, "OptionsDaily")
        if _enabled(daily):
            hh, mm, off = _wall(_text(daily, "Time") or "22:00:00")
            cand = base.replace(hour=hh, minute=mm, second=0, microsecond=0) - timedelta(minutes=off)
            while cand <= base:
                cand += timedelta(days=1)
            return cand
        monthly = _child(st, "OptionsMonthly")
        if _enabled(monthly):
            hh, mm, off = _wall(_text(monthly, "Time") or "22:00:00")
            nm = (base.replace(day=1) + timedelta(days=32)).replace(day=1)
            return nm.replace(hour=hh, minute=mm, second=0, microsecond=0) - timedelta(minutes=off)
        per = _child(st, "OptionsPeriodically")
        if _enabled(per):
            return base.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    except (ValueError, IndexError):
        return base.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return None


def clock_base() -> datetime:
    now = datetime.now(timezone.utc)
    return now.replace(minute=0, second=0, microsecond=0)
