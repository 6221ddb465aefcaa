"""PUT /jobs/{id} processing: strict parsing with the schema cursor walk, merge, completion checks.

Three phases:

1. :func:`analyse_put` (synchronous, before the 202): checks the root, walks
   every level with a cursor over the schema sequence, parses every accepted
   value strictly and builds a *patch* tree.  Misordered/unknown elements are
   dropped and recorded (``order_violation=ignore``) or raise a 400
   (``order_violation=reject``); read-only elements are recorded as ignored.
2. :func:`check_patch` (when the task completes): range and cross-field rules;
   a message means the task fails and the job stays unchanged.
3. :func:`merge` (when the task reaches Finished): applies the patch to the
   stored tree under the configured ``merge`` and ``absent_bool`` readings.
"""

from __future__ import annotations

import copy

from .schema import JOB, Node, parse_value
from .xmlutil import E, NS, in_ns, local, qn


class PutError(Exception):
    def __init__(self, message, status=400):
        super().__init__(message)
        self.message = message
        self.status = status


def analyse_put(root, order_violation="ignore"):
    """Return (patch element, dropped list) or raise PutError."""
    if root.tag != qn("Job"):
        if local(root) == "Job":
            raise PutError("The root element <Job> must be in the namespace %s" % NS)
        raise PutError("Unexpected root element <%s>; expected <Job> in namespace %s" % (local(root) or root.tag, NS))
    dropped = []
    patch = _walk(root, JOB, "Job", dropped, order_violation)
    return patch, dropped


def _drop(dropped, mode, path, reason):
    if mode == "reject" and not reason.startswith("read-only"):
        raise PutError("Element '%s' was rejected: %s (elements must follow the schema order)" % (path, reason))
    dropped.append({"path": path, "element": path.rsplit("/", 1)[-1], "reason": reason})


def _walk(el, node: Node, path, dropped, mode):
    out = E(node.name)
    for aname, (atype, aenum) in node.attrs.items():
        if aname in el.attrib:
            try:
                out.set(aname, parse_value(atype, el.get(aname), aenum))
            except ValueError as exc:
                raise PutError("Invalid value of attribute '%s' on '%s': %s" % (aname, path, exc)) from None
    if node.type != "group":
        if any(isinstance(c.tag, str) for c in el):
            raise PutError("Element '%s' must contain a simple value, not child elements" % path)
        try:
            out.text = parse_value(node.type, el.text, node.enum)
        except ValueError as exc:
            raise PutError("Invalid value of element '%s': %s" % (path, exc)) from None
        return out
    cursor = -1
    chosen = None
    for c in el:
        if not isinstance(c.tag, str):
            continue
        name = local(c)
        cpath = path + "/" + name
        if not in_ns(c):
            _drop(dropped, mode, cpath, "element not in the EM namespace")
            continue
        i = node.index(name)
        if i < 0:
            _drop(dropped, mode, cpath, "unknown element")
            continue
        cn = node.children[i]
        if node.choice and chosen is not None and chosen != name:
            _drop(dropped, mode, cpath, "only one of the JobInfo alternatives is allowed")
            continue
        if i < cursor:
            _drop(dropped, mode, cpath, "out of order (after %s)" % node.children[cursor].name)
            continue
        if i == cursor and not cn.repeated:
            _drop(dropped, mode, cpath, "duplicate element")
            continue
        cursor = i
        chosen = name
        if cn.ro:
            _drop(dropped, mode, cpath, "read-only (ignored)")
            continue
        out.append(_walk(c, cn, cpath, dropped, mode))
    return out


# ---------------------------------------------------------------------------
# merge


def merge(stored, patch, merge_mode="deep", absent_bool="keep"):
    """Return a new stored tree = ``stored`` with ``patch`` applied."""
    return _merge(stored, patch, JOB, merge_mode, absent_bool, top=True)


def _apply_attrs(new, stored, patch, node, absent_bool):
    if stored is not None:
        for k, v in stored.attrib.items():
            new.set(k, v)
    for aname in node.attrs:
        if aname in patch.attrib:
            new.set(aname, patch.get(aname))
        elif absent_bool == "false" and node.attrs[aname][0] == "bool":
            new.set(aname, "false")


def _merge(stored, patch, node: Node, mode, absent_bool, top=False):
    new = E(node.name)
    if node.type != "group":
        for k, v in patch.attrib.items():
            new.set(k, v)
        new.text = patch.text
        return new
    if stored is None or node.listwrap or (mode == "replace" and node.block and not top):
        # the sent element replaces the stored one entirely (unsent children become absent)
        for aname, (atype, _enum) in node.attrs.items():
            if aname in patch.attrib:
                new.set(aname, patch.get(aname))
            elif absent_bool == "false" and atype == "bool":
                new.set(aname, "false")
            elif stored is not None and aname in stored.attrib:
                new.set(aname, stored.get(aname))
        for c in patch:
            new.append(copy.deepcopy(c))
        return new
    _apply_attrs(new, stored, patch, node, absent_bool)
    for cn in node.children:
        p_items = [c for c in patch if local(c) == cn.name]
        s_items = [c for c in stored if local(c) == cn.name]
        if not p_items:
            for c in s_items:
                new.append(copy.deepcopy(c))
        elif cn.repeated:
            for c in p_items:
                new.append(copy.deepcopy(c))
        elif cn.type == "group":
            new.append(_merge(s_items[0] if s_items else None, p_items[0], cn, mode, absent_bool))
        else:
            new.append(copy.deepcopy(p_items[0]))
    return new


# ---------------------------------------------------------------------------
# completion checks


def _c(el, *names):
    for n in names:
        if el is None:
            return None
        el = next((x for x in el if local(x) == n), None)
    return el


def _int(el, *names):
    c = _c(el, *names)
    if c is None or c.text is None or c.text == "":
        return None
    try:
        return int(c.text)
    except ValueError:
        return None


def check_patch(stored, patch, merged, job_uid, server_id, known_jobs):
    """Return None if the edit may be committed, else the failure message.

    ``known_jobs`` maps lowercase job UID -> backup server id.
    """
    name = stored.get("Name", "")
    sso = _c(stored, "JobScheduleOptions")
    pso = _c(patch, "JobScheduleOptions")
    if pso is not None:
        have = {local(x) for x in sso} if sso is not None else set()
        for w in pso:
            if local(w) not in have:
                return ("Failed to edit job \"%s\": schedule options <%s> do not apply to this job (it uses <%s>)"
                        % (name, local(w), "/".join(sorted(have)) or "none"))
    pji = _c(patch, "JobInfo")
    sji = _c(stored, "JobInfo")
    if pji is not None and len(pji):
        have = {local(x) for x in sji} if sji is not None else set()
        for w in pji:
            if local(w) not in have:
                return ("Failed to edit job \"%s\": <%s> does not match the job type (the job has <%s>)"
                        % (name, local(w), "/".join(sorted(have)) or "none"))

    st = _c(merged, "JobScheduleOptions", "Standart")
    rules = [
        (("RetryOptions", "RetryTimes"), 1, 100, "RetryTimes"),
        (("RetryOptions", "RetryTimeout"), 1, 1440, "RetryTimeout"),
        (("BackupCompetitionWaitingPeriodMin",), 1, 1440, "BackupCompetitionWaitingPeriodMin"),
        (("OptionsDaily", "TimeOffsetUtc"), -14, 14, "OptionsDaily/TimeOffsetUtc"),
        (("OptionsMonthly", "TimeOffsetUtc"), -14, 14, "OptionsMonthly/TimeOffsetUtc"),
        (("OptionsMonthly", "DayOfMonth"), 1, 31, "DayOfMonth"),
    ]
    if st is not None:
        for p, lo, hi, label in rules:
            v = _int(st, *p)
            if v is not None and not lo <= v <= hi:
                return "Failed to edit job \"%s\": %s must be between %d and %d (got %d)" % (name, label, lo, hi, v)
        per = _c(st, "OptionsPeriodically")
        if per is not None:
            kind = (_c(per, "Kind").text if _c(per, "Kind") is not None else "Hours")
            fp = _int(per, "FullPeriod")
            hi = 24 if kind == "Hours" else 60
            if fp is not None and not 1 <= fp <= hi:
                return ("Failed to edit job \"%s\": FullPeriod must be between 1 and %d for Kind %s (got %d)"
                        % (name, hi, kind, fp))
        daily = _c(st, "OptionsDaily")
        if daily is not None and daily.get("Enabled") == "true":
            kind = _c(daily, "Kind")
            days = [x for x in daily if local(x) == "Days"]
            if kind is not None and kind.text == "SelectedDays" and not days:
                return "Failed to edit job \"%s\": daily schedule with SelectedDays needs at least one day" % name
    for wrapper in _iter_named(merged, ("Schedule", "TimePeriods")):
        names = [d.get("Name") for d in wrapper if local(d) == "Day"]
        if len(names) != len(set(names)):
            return "Failed to edit job \"%s\": a day appears twice in <%s>" % (name, local(wrapper))
    for dc in _iter_named(merged, ("OptionsDaisyChaining",)):
        prev = _c(dc, "PreviousJobUid")
        uid = (prev.text or "").strip() if prev is not None else ""
        if dc.get("Enabled") == "true" and not uid:
            return "Failed to edit job \"%s\": daisy chaining is enabled but PreviousJobUid is empty" % name
        if uid:
            if uid.lower() == job_uid.lower():
                return "Failed to edit job \"%s\": a job cannot be chained after itself" % name
            if known_jobs.get(uid.lower()) != server_id:
                return "Failed to edit job \"%s\": previous job %s was not found on this backup server" % (name, uid)
    bji = _c(merged, "JobInfo", "BackupJobInfo")
    if bji is not None:
        for p, label in ((("SimpleRetentionPolicy", "RetainCycles"), "RetainCycles"),
                         (("SimpleRetentionPolicy", "RetainDaysToKeep"), "RetainDaysToKeep"),
                         (("GfsRetentionPolicy", "Weekly", "RetentionPeriod"), "Weekly/RetentionPeriod"),
                         (("GfsRetentionPolicy", "Monthly", "RetentionPeriod"), "Monthly/RetentionPeriod"),
                         (("GfsRetentionPolicy", "Yearly", "RetentionPeriod"), "Yearly/RetentionPeriod")):
            v = _int(bji, *p)
            if v is not None and not 1 <= v <= 9999:
                return "Failed to edit job \"%s\": %s must be between 1 and 9999 (got %d)" % (name, label, v)
    for sql in _iter_named(merged, ("SqlBackupOptions",)):
        for label in ("BackupLogsFrequencyMin", "RetainDays"):
            v = _int(sql, label)
            if v is not None and v < 1:
                return "Failed to edit job \"%s\": SqlBackupOptions/%s must be at least 1 (got %d)" % (name, label, v)
    return None


def _iter_named(el, names):
    for x in el.iter():
        if isinstance(x.tag, str) and local(x) in names:
            # skip include-level copies (read-only, not edited here)
            yield x


def walk_spec(el, node: Node, path, order_violation="ignore"):
    """Strictly parse a request body element against ``node`` (as the PUT does).

    Returns (parsed element, dropped list); raises PutError (400) on a value
    that does not parse, or on an unknown/misordered element under
    ``order_violation=reject``.
    """
    dropped = []
    return _walk(el, node, path, dropped, order_violation), dropped
