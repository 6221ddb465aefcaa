"""The v1_7 Job entity tree as ordered data (element, type, enum, occurrence, children).

Written from the collection's contract (em-api.md section 5) and cross-checked
against the 9.5 XSD.  The same table drives three things:

* output: stored jobs are re-emitted in schema order (:func:`ordered_copy`);
* PUT validation: the cursor walk over each level's sequence and the strict
  value parsers (:func:`parse_value`);
* merging: ``block`` marks the groups that ``--merge replace`` replaces whole,
  ``listwrap`` marks wrappers whose only child is a repeated element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .xmlutil import E, local

DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
JOB_TYPES = ("Backup", "Replica", "BackupCopy", "ImmediateBackupCopy")
PLATFORMS = ("VMware", "HyperV", "vCloud", "CustomPlatform")


@dataclass
class Node:
    name: str
    type: str = "group"          # group|string|uid|int|long|bool|time|datetime|enum|mask
    min: int = 0
    max: int | None = 1          # None = unbounded
    children: list = field(default_factory=list)
    enum: tuple = ()
    attrs: dict = field(default_factory=dict)   # attribute name -> (type, enum values)
    ro: bool = False             # read-only: ignored by PUT
    choice: bool = False         # children form an xs:choice (JobInfo)
    block: bool = False          # a settings block: replaced whole by --merge replace
    listwrap: bool = False       # wrapper of a single repeated child (empty wrapper = empty list)

    @property
    def repeated(self) -> bool:
        return self.max is None or self.max > 1

    def child(self, name: str):
        for c in self.children:
            if c.name == name:
                return c
        return None

    def index(self, name: str) -> int:
        for i, c in enumerate(self.children):
            if c.name == name:
                return i
        return -1


def G(name, *children, **kw):
    return Node(name, "group", children=list(children), **kw)


def L(name, type_="string", **kw):
    return Node(name, type_, **kw)


ENABLED = {"Enabled": ("bool", ())}


def _day_list(name):
    # TimePeriods: Day 0..n, @Name required, text = 24 comma separated 0|1
    return G(name, L("Day", "mask", max=None, attrs={"Name": ("enum", DAYS)}), block=True, listwrap=True)


def _path_list(name, min_=0):
    return G(name, L("Path", max=None), min=min_, listwrap=True)


def _fs_indexing(name):
    return G(name,
             L("FileSystemIndexingMode", "enum", min=1,
               enum=("EveryFolders", "SpecifiedFolders", "ExceptSpecifiedFolders", "Disabled")),
             _path_list("IncludedIndexingFolders", 1),
             _path_list("ExcludedIndexingFolders", 1),
             block=True)


def guest_processing(name="GuestProcessingOptions"):
    return G(
        name,
        # v1.0 legacy children (schema-valid, never emitted by v13 servers)
        L("AppAwareProcessingMode"),
        L("FileSystemIndexingMode"),
        _path_list("IncludedIndexingFolders"),
        _path_list("ExcludedIndexingFolders"),
        L("CredentialsId", "uid"),
        G("VssSnapshotOptions",
          L("VssSnapshotMode", "enum", min=1, enum=("RequireSuccess", "IgnoreFailures", "Disabled")),
          L("IsCopyOnly", "bool"),
          L("UsePersistentGuestAgent", "bool"),
          block=True),
        _fs_indexing("WindowsGuestFSIndexingOptions"),
        _fs_indexing("LinuxGuestFSIndexingOptions"),
        G("SqlBackupOptions",
          L("TransactionLogsProcessing", "enum", min=1, enum=("OnlyOnSuccessJob", "Backup", "Never")),
          L("BackupLogsFrequencyMin", "int"),
          L("UseDbBackupRetention", "bool"),
          L("RetainDays", "int"),
          block=True),
        L("WindowsCredentialsId", "uid"),
        L("LinuxCredentialsId", "uid"),
        G("FSFileExcludeOptions",
          L("BackupScope", "int", min=1),
          _path_list("IncludeList", 1),
          _path_list("ExcludeList", 1),
          block=True),
        G("OracleBackupOptions",
          L("BackupLogsEnabled", "bool", min=1),
          L("BackupLogsFrequencyMin", "int"),
          L("UseDbBackupRetention", "bool"),
          L("RetainDays", "int"),
          L("ArchivedLogsTruncation", "enum", min=1, enum=("ByAge", "BySize")),
          L("ArchivedLogsMaxAgeHours", "int"),
          L("ArchivedLogsMaxSizeMb", "int"),
          L("SysdbaCredsId", "uid", min=1),
          L("ProxyAutoSelect", "bool", min=1),
          block=True),
    )


def _includes():
    return G("Includes",
             G("ObjectInJob",
               G("Links", L("Link", max=None)),
               L("ObjectInJobId", "uid", min=1),
               L("HierarchyObjRef", min=1),
               L("Name", min=1),
               L("DisplayName", min=1),
               L("Order", "int"),
               guest_processing(),
               max=None),
             ro=True, listwrap=True)


def _asopts():
    return G("AdvancedStorageOptions", L("PasswordKeyId", "uid"), ro=True)


def _linked_jobs():
    return G("LinkedJobIncludes",
             G("LinkedJobObject", L("ObjectInJobId", "uid", min=1), L("LinkedJobUid", "uid", min=1), max=None),
             ro=True, listwrap=True)


def _linked_backups():
    return G("LinkedBackupIncludes",
             G("LinkedBackup", L("ObjectInJobId", "uid", min=1), L("LinkedBackupUid", "uid", min=1), max=None),
             ro=True, listwrap=True)


def _linked_repos():
    return G("LinkedBackupRepositoryIncludes",
             G("LinkedBackupRepository", L("ObjectInJobId", "uid", min=1),
               L("LinkedBackupRepositoryUid", "uid", min=1), max=None),
             ro=True, listwrap=True)


def _gfs_period(name, sel_name, sel_enum):
    return G(name, L("Enabled", "bool"), L("RetentionPeriod", "long"), L(sel_name, "enum", enum=sel_enum),
             block=True)


def _continuous():
    return G("OptionsContinuous", _day_list("Schedule"), attrs=ENABLED, block=True)


STANDART = G(
    "Standart",
    G("RetryOptions", L("RetryTimes", "long"), L("RetryTimeout", "long"), L("RetrySpecified", "bool"), block=True),
    L("WaitForBackupCompletion", "bool"),
    L("BackupCompetitionWaitingPeriodMin", "long"),
    G("OptionsDaily",
      L("Kind", "enum", enum=("Everyday", "WeekDays", "SelectedDays")),
      L("Days", "enum", max=None, enum=DAYS),
      L("Time", "time"),
      L("TimeOffsetUtc", "int"),
      attrs=ENABLED, block=True),
    G("OptionsMonthly",
      L("Time", "time"),
      L("TimeOffsetUtc", "int"),
      L("DayNumberInMonth", "enum", enum=("First", "Second", "Third", "Fourth", "Last", "OnDay")),
      L("DayOfWeek", "enum", enum=DAYS),
      L("Months", "enum", max=None, enum=MONTHS),
      L("DayOfMonth", "int"),
      attrs=ENABLED, block=True),
    G("OptionsPeriodically",
      L("Kind", "enum", enum=("Hours", "Minutes")),
      L("FullPeriod", "long"),
      _day_list("Schedule"),
      attrs=ENABLED, block=True),
    _continuous(),
    G("OptionsBackupWindow", _day_list("TimePeriods"), attrs=ENABLED, block=True),
    G("OptionsDaisyChaining", L("PreviousJobUid", "uid", min=1), attrs=ENABLED, block=True),
)

JOB = G(
    "Job",
    G("Links", L("Link", max=None), ro=True),
    L("JobType", "enum", enum=JOB_TYPES, ro=True),
    L("Platform", "enum", enum=PLATFORMS, ro=True),
    L("Description"),
    L("ScheduleConfigured", "bool"),
    L("ScheduleEnabled", "bool"),
    L("NextRun", "datetime", ro=True),
    G("JobScheduleOptions",
      STANDART,
      G("ImmediateCopyMode", _continuous())),
    G("JobInfo",
      G("BackupJobInfo",
        _includes(),
        guest_processing(),
        _asopts(),
        G("GfsRetentionPolicy",
          _gfs_period("Weekly", "SelectedDay", DAYS),
          _gfs_period("Monthly", "SelectedWeek", ("First", "Last")),
          _gfs_period("Yearly", "SelectedMonth", MONTHS),
          attrs=ENABLED, block=True),
        G("SimpleRetentionPolicy",
          L("RetainCycles", "long"),
          L("RetainDaysToKeep", "long"),
          L("RetainLimitType", "enum", enum=("Cycles", "Days")),
          block=True)),
      G("FileCopyJobInfo", ro=True),
      G("ReplicaJobInfo", _includes(), guest_processing()),
      G("BackupCopyJobInfo", _includes(), _linked_jobs(), _asopts(), _linked_backups()),
      G("ImmediateBackupCopyJobInfo", _linked_jobs(), _linked_backups(), _linked_repos()),
      choice=True),
)

# Which JobInfo alternative and schedule wrapper each job type normally has.
JOBINFO_FOR_TYPE = {
    "Backup": "BackupJobInfo",
    "Replica": "ReplicaJobInfo",
    "BackupCopy": "BackupCopyJobInfo",
    "ImmediateBackupCopy": "ImmediateBackupCopyJobInfo",
}

# ---------------------------------------------------------------------------
# value parsing

_INT_RE = re.compile(r"^[+-]?[0-9]+$")
_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])(\.([0-9]{1,7}))?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?$")
_DT_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,7})?(Z|[+-][0-9]{2}:[0-9]{2})?$")
_MASK_RE = re.compile(r"^[01](,[01]){23}$")


def parse_value(type_: str, text: str | None, enum=()):
    """Parse ``text`` strictly as ``type_``; return the normalised text or raise ValueError."""
    raw = text if text is not None else ""
    if type_ in ("string", "uid"):
        return raw
    s = raw.strip()
    if type_ in ("int", "long"):
        if not _INT_RE.match(s):
            raise ValueError("'%s' is not a valid %s" % (raw, "Int32" if type_ == "int" else "Int64"))
        v = int(s)
        lim = 2 ** 31 if type_ == "int" else 2 ** 63
        if not -lim <= v < lim:
            raise ValueError("'%s' is out of range for %s" % (raw, "Int32" if type_ == "int" else "Int64"))
        return str(v)
    if type_ == "bool":
        if s in ("true", "1"):
            return "true"
        if s in ("false", "0"):
            return "false"
        raise ValueError("'%s' is not a valid Boolean (expected true, false, 1 or 0)" % raw)
    if type_ == "enum":
        if s not in enum:
            raise ValueError("'%s' is not a valid value (expected one of %s)" % (raw, ", ".join(enum)))
        return s
    if type_ == "time":
        m = _TIME_RE.match(s)
        if not m:
            raise ValueError("'%s' is not a valid xs:time (HH:MM:SS[.fffffff][+hh:mm])" % raw)
        frac = (m.group(5) or "").ljust(7, "0")
        return "%s:%s:%s.%s%s" % (m.group(1), m.group(2), m.group(3), frac, m.group(6) or "")
    if type_ == "datetime":
        if not _DT_RE.match(s):
            raise ValueError("'%s' is not a valid dateTime" % raw)
        return s
    if type_ == "mask":
        if not _MASK_RE.match(s):
            raise ValueError("'%s' is not a valid day mask (24 comma-separated 0 or 1)" % raw)
        return s
    raise ValueError("unknown type %s" % type_)


# ---------------------------------------------------------------------------
# ordered output


def ordered_copy(el, node: Node):
    """Copy ``el`` keeping only schema-known children, in schema order."""
    new = E(node.name)
    for k, v in el.attrib.items():
        new.set(k, v)
    if node.type != "group":
        new.text = el.text if el.text is not None else None
        return new
    by_name = {}  # one pass over the children: every job read copies a tree of some 150 elements
    for c in el:
        by_name.setdefault(local(c), []).append(c)
    for cn in node.children:
        for c in by_name.get(cn.name, ()):
            new.append(ordered_copy(c, cn))
    return new


def walk_order_violations(el, node: Node, path=""):
    """Yield (path, message) for children of ``el`` that are out of schema order or unknown."""
    path = (path + "/" if path else "") + node.name
    cursor = -1
    chosen = None
    for c in el:
        name = local(c)
        if not name:
            continue
        i = node.index(name)
        if i < 0:
            yield (path + "/" + name, "unknown element")
            continue
        cn = node.children[i]
        if node.choice and chosen is not None and chosen != name:
            yield (path + "/" + name, "second choice")
            continue
        if i < cursor or (i == cursor and not cn.repeated):
            yield (path + "/" + name, "out of order")
            continue
        cursor = i
        chosen = name
        if cn.type == "group":
            yield from walk_order_violations(c, cn, path)
