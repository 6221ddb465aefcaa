# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""Finding jobs and converging one job's settings: the logic every job module shares.

``JobIndex`` answers "which job is this?" from one bulk read or from targeted
queries; ``Plan``, ``refresh()``, ``submit()`` and ``finish()`` read, diff, write at most once, wait and verify.
``_job_resource.JOB`` puts them on the resource engine (the ``job`` module); ``_bulk`` runs them for many jobs.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

from ansible_collections.veeam_em.core.plugins.module_utils import _diff, _tasks, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._client import quote_filter_value
from ansible_collections.veeam_em.core.plugins.module_utils._errors import (
    AmbiguousNameError, AmbiguousWriteError, NotFoundError, TaskLost, ValidationError, VeeamEmError,
)
from ansible_collections.veeam_em.core.plugins.module_utils._infra import job_repositories, list_repositories
from ansible_collections.veeam_em.core.plugins.module_utils._job_models import JOB_MODEL
from ansible_collections.veeam_em.core.plugins.module_utils._model import child, children, resolve
from ansible_collections.veeam_em.core.plugins.module_utils._resource import VerifyFailed, close_names, _reread as reread


_UUID = r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'
_ID_RE = re.compile(r'^(?:urn:veeam:Job:)?(%s)$' % _UUID)

JOB_TYPES = {'backup': 'Backup', 'backup_copy': 'BackupCopy', 'immediate_backup_copy': 'ImmediateBackupCopy',
             'replica': 'Replica'}


class JobNotFound(NotFoundError):
    """No job has that name or id (on that backup server); the message lists close names."""


def parse_job_id(value):
    """Bare UUID or ``urn:veeam:Job:<uuid>`` -> lowercase UUID; anything else is refused offline."""
    m = _ID_RE.match(value.strip()) if isinstance(value, str) else None
    if not m:
        raise ValidationError('id: %r is not a job id; accepted: a UUID or urn:veeam:Job:<UUID>' % (value,), option='id')
    return m.group(1).lower()


def job_summary(entity):
    """Identity fields of a Job entity (or reference)."""
    server = None
    links = child(entity, 'Links')
    for link in children(entity if links is None else links, 'Link'):
        if link.get('Rel') == 'Up' and (link.get('Type') or '').startswith('BackupServer'):
            server = link.get('Name')
    uid = entity.get('UID') or ''
    jt = resolve(entity, ('JobType',))
    pf = resolve(entity, ('Platform',))
    return {
        'id': uid.rsplit(':', 1)[-1].lower() if uid else None,
        'uid': uid,
        'name': entity.get('Name'),
        'job_type': jt.text if jt is not None else None,
        'platform': pf.text if pf is not None else None,
        'backup_server': server,
    }


def _server_of(item):
    """Backup server name of a job summary dict or a Job entity."""
    return item['backup_server'] if isinstance(item, dict) else job_summary(item)['backup_server']


class JobIndex:
    """Looks jobs up; with ``preload`` it reads every job with one paged query.

    A preloaded index keeps the identity of every job (for name lookups and
    ``after_job``) but the full entity only of the jobs ``keep(summary)``
    selects, copied out of their page so that each page can be freed.
    """

    def __init__(self, client, preload=False, page_size=None, query_filter=None, keep=None):
        self.client = client
        self.entities = None
        self.summaries = None
        self.complete = preload and not query_filter
        self._names = {}
        self._by_name = {}
        if preload:
            self.entities, self.summaries = {}, {}
            for page in client.query_pages('Job', filter=query_filter, fmt='Entities', page_size=page_size):
                for entity in page:
                    self.add(entity, keep)

    def add(self, entity, keep=None):
        """Index one Job entity of a bulk read, keeping it whole when ``keep(summary)`` says so; return its summary."""
        summary = job_summary(entity)
        if summary['id'] not in self.summaries:  # a job a shifting page shows twice is still one job
            self._by_name.setdefault(summary['name'], []).append(summary)
        self.summaries[summary['id']] = summary
        self._names[(entity.get('UID') or '').lower()] = summary['name']
        if keep is None or keep(summary):
            # Kept as bytes (a tenth of a parsed tree), parsed again when used.
            self.entities[summary['id']] = _xml.to_bytes(entity)
        return summary

    def _entity(self, summary):
        stored = self.entities.get(summary['id'])
        if stored is None:
            entity = self.client.get('jobs/%s' % summary['id'], params={'format': 'Entity'})
            self.entities[summary['id']] = _xml.to_bytes(entity)
            return entity
        return _xml.reparse(stored)

    def kept(self):
        """The kept Job entities, parsed one at a time."""
        for stored in self.entities.values():
            yield _xml.reparse(stored)

    # -- lookups ------------------------------------------------------------

    def _query_name(self, name, backup_server=None):
        flt = 'Name==%s' % quote_filter_value(name)
        if backup_server:
            flt += ';BackupServerName==%s' % quote_filter_value(backup_server)
        return self.client.query('Job', filter=flt, fmt='Entities')

    def find(self, name=None, job_id=None, backup_server=None):
        """The Job entity for a name or an id.

        Raises JobNotFound (with close names) when there is none, and AmbiguousNameError (with the backup
        servers) when the name is taken on several servers and ``backup_server`` does not pick one.
        """
        if job_id:
            uuid = parse_job_id(job_id)
            if self.summaries is not None:
                if uuid not in self.summaries:
                    raise JobNotFound('job with id %s not found' % uuid)
                return self._entity(self.summaries[uuid])
            try:
                return self.client.get('jobs/%s' % uuid, params={'format': 'Entity'})
            except VeeamEmError as exc:
                if getattr(exc, 'status', None) == 404:
                    raise JobNotFound('job with id %s not found' % uuid)
                raise
        if self.summaries is not None:
            exact = list(self._by_name.get(name, ()))
        else:
            exact = [e for e in self._query_name(name, backup_server) if e.get('Name') == name]
        if backup_server:
            exact = [e for e in exact if (_server_of(e) or '').lower() == backup_server.lower()]
        if len(exact) == 1:
            return self._entity(exact[0]) if self.summaries is not None else exact[0]
        if len(exact) > 1:
            servers = sorted(_server_of(e) or '?' for e in exact)
            raise AmbiguousNameError('job name %r is ambiguous: it exists on backup servers %s; set backup_server'
                                     % (name, ', '.join(servers)), candidates=servers)
        close = close_names(name, self.all_names())
        where = ' on backup server %s' % backup_server if backup_server else ''
        hint = ('; close names: %s' % ', '.join(sorted(set(close)))) if close else ''
        raise JobNotFound('job %r not found%s%s' % (name, where, hint))

    def all_names(self):
        if self.summaries is not None:
            return sorted(self._by_name)
        refs = self.client.query('Job', fmt=None)
        return sorted(set(r.get('Name') for r in refs if r.get('Name')))

    def resolver(self, entity):
        return _Resolver(self, entity)


class _Resolver:
    """Job name <-> UID on one backup server, for ``schedule.after_job``."""

    def __init__(self, index, entity):
        self.index = index
        self._entity = entity

    @property
    def backup_server(self):
        """The job's backup server, found when a name is looked up (a bulk plan seldom needs it)."""
        return _server_of(self._entity)

    def job_uid(self, name):
        try:
            entity = self.index.find(name=name, backup_server=self.backup_server)
        except (JobNotFound, AmbiguousNameError) as exc:
            raise ValidationError('schedule.after_job: %s' % exc.msg, option='schedule.after_job')
        return entity.get('UID')

    def job_name(self, uid):
        key = (uid or '').lower()
        if key in self.index._names:
            return self.index._names[key]
        name = None
        if not self.index.complete:
            try:
                name = self.index.client.get('jobs/%s' % parse_job_id(uid)).get('Name')
            except (VeeamEmError, ValidationError):
                name = None
        self.index._names[key] = name or uid
        return self.index._names[key]


def job_result(entity, values, resolver, model=JOB_MODEL):
    out = job_summary(entity)
    out['settings'] = model.settings(values, entity, resolver)
    return out


class Plan:
    """What one job needs: the current and target values and what differs.

    A ``partial`` plan reads only the blocks it manages (the declared ones and those the rules add, such as
    the other schedule kinds' switches): enough to tell whether anything must be sent, and what, but not
    for a diff or the job's settings, which show every block.
    """

    def __init__(self, entity, wanted, index, model=JOB_MODEL, partial=False):
        self.entity = entity
        self.first = entity  # the job as the module first read it (refresh() keeps it)
        self.wanted = wanted
        self.index = index
        self.model = model
        self.resolver = index.resolver(entity)
        self.current = model.read(entity, set(k[0] for k in wanted) if partial else None)
        self.target, self.managed = model.desired(wanted, self.current, entity, self.resolver)
        more = set(k[0] for k in self.managed) - set(k[0] for k in wanted) if partial else ()
        if more:
            self.current.update(model.read(entity, more))
            self.target, self.managed = model.desired(wanted, self.current, entity, self.resolver)
        self.changes = _diff.changed_keys(self.current, self.target, self.managed, model.rank)

    @property
    def before(self):
        return self.model.settings(self.current, self.entity, self.resolver)

    @property
    def after(self):
        return self.model.settings(self.target, self.entity, self.resolver)

    @property
    def changed(self):
        return bool(self.changes)

    def diff(self):
        before, after = _diff.prune(self.before, self.after)
        return {'before': before, 'after': after}

    def blocks(self):
        """The blocks the PUT sends whole: each one that holds a change."""
        blocks = []
        for key in self.changes:
            block = self.model.by_key[key[0]]
            if block not in blocks:
                blocks.append(block)
        return blocks

    def body(self):
        return self.model.encode(self.entity, self.target, self.blocks())

    def option_names(self):
        """``{element path below Job: option name}`` for the settings this job has (see :func:`flatten`)."""
        names = {}
        for block in self.model.available(self.entity):
            base = self.model.block_path(block, self.entity)
            for leaf in block.leaves:
                if leaf.option:
                    names[_path_text(base + leaf.xml)] = '.'.join(leaf.option)
        return names

    def mismatches(self, entity):
        """Changed keys that the entity read after the write does not show."""
        found = self.model.read(entity)
        bad = []
        for key in self.changes:
            if not _diff.equal(found.get(key), self.target.get(key)):
                bad.append((key, self.target.get(key), found.get(key)))
        return bad

    def describe(self, key):
        block = self.model.by_key[key[0]]
        for leaf in block.leaves:
            if leaf.xml == key[1]:
                if leaf.option:
                    return '.'.join(leaf.option)
                return '%s/%s' % ('/'.join(self.model.block_path(block, self.entity) or block.paths[0]),
                                  '/'.join(s if isinstance(s, str) else s[0] for s in key[1]))
        return str(key)


# Elements EM changes by itself (NextRun follows the schedule and the clock) or that are not settings.
_NOT_SETTINGS = ('Links', 'NextRun')


def _path_text(path):
    """A path below Job as text: ``JobScheduleOptions/Standart/OptionsDaily/@Enabled``, ``Schedule/Day[Monday]``."""
    return '/'.join(step if isinstance(step, str) else '%s[%s]' % step for step in path)


def flatten(entity):
    """``{path below Job: text}`` of every element and attribute of a Job entity but Links and NextRun.

    A repeated element gets ``[n]`` from its second occurrence; a named ``Day`` is ``Day[Monday]``.
    """
    out = {'@Name': entity.get('Name')}

    def walk(el, path):
        seen = {}
        for c in el.iterchildren('*'):
            name = _xml.localname(c.tag)
            if name in _NOT_SETTINGS:
                continue
            step = '%s[%s]' % (name, c.get('Name')) if name == 'Day' and c.get('Name') else name
            seen[step] = seen.get(step, 0) + 1
            if seen[step] > 1:
                step = '%s[%d]' % (step, seen[step])
            here = path + '/' + step if path else step
            out[here] = (c.text or '').strip()
            for attr, value in sorted(c.attrib.items()):
                out['%s/@%s' % (here, attr)] = value
            walk(c, here)
    walk(entity, '')
    return out


def refresh(client, plan, read_again=None):
    """Read the job again just before its PUT, since EM has no ETag or version to make the write conditional.

    When the job changed since ``plan`` was made (a console edit meanwhile), plan again from this read, so the
    blocks the PUT sends whole carry what the job holds now; otherwise keep ``plan``. ``read_again(plan)``,
    when given, makes that read (the bulk path reads many jobs with one query); it returns None for a job
    that is gone.
    """
    if read_again is None:
        fresh = client.get('jobs/%s' % job_summary(plan.entity)['id'], params={'format': 'Entity'})
    else:
        fresh = read_again(plan)
        if fresh is None:
            raise JobNotFound('job %r was deleted after it was read, before its edit was sent' % plan.entity.get('Name'))
    if flatten(fresh) == flatten(plan.entity):
        return plan
    again = Plan(fresh, plan.wanted, plan.index, plan.model)
    again.first = plan.first
    return again


def changed_elsewhere(plan, first, after):
    """What changed between the module's first read and the job after its write, outside the blocks it sent.

    Those changes are someone else's (EM keeps what a PUT does not send); returned as option names where the
    collection has one, else as element paths below Job.
    """
    sent = [_path_text(plan.model.block_path(b, plan.entity)) for b in plan.blocks()]
    before, now = flatten(first), flatten(after)
    names = plan.option_names()
    found = []
    for path in sorted(set(before) | set(now)):
        if before.get(path) == now.get(path) or any(path == s or path.startswith(s + '/') for s in sent):
            continue
        base = re.sub(r'\[[0-9]+\]$', '', path)
        label = names.get(base) or names.get(re.sub(r'\[[0-9]+\](?=/)', '', base)) or path
        if label not in found:
            found.append(label)
    return found


def warn_changed_elsewhere(client, plan, first, after, limit=10):
    found = changed_elsewhere(plan, first, after)
    if found:
        more = ' and %d more' % (len(found) - limit) if len(found) > limit else ''
        client.warn('job %r was changed by someone else while the module worked on it, outside the settings it '
                    'sent: %s%s. EM has no lock, so these changes were kept as they are now; check that the job is '
                    'as you want it.' % (plan.entity.get('Name'), ', '.join(found[:limit]), more))


def submit(client, plan, body=None):
    """Send the one PUT for ``plan`` (``body``, else the plan's); return its answer (a WriteOutcome, not waited on),
    or None when unknown."""
    job_id = job_summary(plan.entity)['id']
    try:
        status, element = client.write('PUT', 'jobs/%s' % job_id, plan.body() if body is None else body,
                                       params={'action': 'edit'})
    except AmbiguousWriteError:
        return None
    return _tasks.classify_answer(status, element, ('Job',))


def finish(client, plan, answer, wait=True, wait_timeout=900, sleep=None, clock=None, read_later=None):
    """Wait for the edit to end and verify the job; return ``(task dict or None, after entity)``.

    ``answer`` is what submit() returned. A task is waited on; a PUT done at
    once (200 with the job, 200/204 with no body) is verified from the job in
    the body when it shows the change, else by reading the job again. Raises
    TaskFailed/TaskTimeout from the waiter and VerifyFailed when the job does
    not hold the values that were sent. When the edit cannot be followed (no
    clear answer, a 202 without a task, or a new logon session that cannot see
    the task), the job itself is watched on the same schedule instead.
    With a list as ``read_later``, a task followed to its end adds the plan to
    it instead of reading the job: the caller reads many jobs back at once and
    checks each with :func:`verify`.
    """
    job_id = job_summary(plan.entity)['id']
    task = answer.task if answer is not None else None
    if task is not None and not wait:
        return task, None
    watch = answer is None or answer.pending
    if task is not None:
        try:
            task = answer.wait(client, timeout=wait_timeout, sleep=sleep, clock=clock).task
        except TaskLost:
            watch = True
            task = dict(task, state='Unknown',
                        message='task not visible in the new logon session; the job was read to verify')
    if answer is not None and answer.resource is not None and not plan.mismatches(answer.resource):
        return task, answer.resource
    if read_later is not None and not watch:
        read_later.append(plan)
        return task, None

    def read():
        entity = client.get('jobs/%s' % job_id, params={'format': 'Entity'})
        return entity, plan.mismatches(entity)
    # A followed edit is read once; one that could not be followed is watched until the job shows the change or
    # time is up (the engine's re-read): the PUT is never sent again.
    after, bad = reread(read, wait_timeout, sleep, clock, once=not watch)
    if bad and watch:
        raise VerifyFailed('the edit of job %r could not be followed to its end and the job does not show the '
                           'change after %s s: %s' % (plan.entity.get('Name'), wait_timeout, _mismatch_text(plan, bad)))
    verify(plan, after, bad)
    return task, after


def _mismatch_text(plan, bad):
    return '; '.join('%s: expected %r, found %r' % (plan.describe(k), want, got) for k, want, got in bad)


def verify(plan, after, bad=None):
    """Raise VerifyFailed unless ``after``, the job read after its edit task finished, holds what was sent."""
    bad = plan.mismatches(after) if bad is None else bad
    if bad:
        raise VerifyFailed('EM did not take the change to job %r: %s' % (plan.entity.get('Name'), _mismatch_text(plan, bad)))


def entry_spec():
    """Options that identify one job plus every settings option: the ``job`` module and ``jobs`` entries."""
    spec = dict(
        name=dict(type='str'),
        id=dict(type='str'),
        backup_server=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        clone_from=dict(type='raw'),
    )
    spec.update(JOB_MODEL.argument_spec())
    return spec


def check_entry(params):
    """Validate one entry offline (before any request); return its wanted values."""
    if params.get('id'):
        parse_job_id(params['id'])
    wanted = JOB_MODEL.check_input(params)
    if params.get('clone_from') is not None:
        clone_spec(params)
    if params.get('state') == 'absent' and params.get('clone_from') is not None:
        raise ValidationError('clone_from: only used with state present (it creates the job when it is missing)',
                              option='clone_from')
    if params.get('state') == 'absent' and wanted:
        names = sorted(set(k for k in JOB_MODEL.argument_spec() if params.get(k) is not None))
        raise ValidationError('state: absent deletes the job; remove the settings given with it (%s)'
                              % ', '.join(names), option='state')
    return wanted


def remove(client, index, params, check_mode=False, with_diff=False, wait=True, wait_timeout=900, sleep=None,
           clock=None):
    """``state: absent``: delete the job if it exists; a missing job is already as declared."""
    try:
        entity = index.find(name=params.get('name'), job_id=params.get('id'), backup_server=params.get('backup_server'))
    except JobNotFound:
        return {'changed': False, 'job': {}}
    resolver = index.resolver(entity)
    result = {'changed': True, 'job': {}}
    if with_diff:
        result['diff'] = {'before': job_result(entity, JOB_MODEL.read(entity), resolver), 'after': {}}
    if check_mode:
        return result
    task = delete(client, entity, result, wait, wait_timeout, sleep, clock)
    if task is not None:
        result['task'] = _tasks.public_task(task)
    return result


def delete(client, entity, result, wait=True, wait_timeout=900, sleep=None, clock=None, exists=None):
    """Send the job's DELETE and watch the job go (``exists(job_id)``, by default a GET of the job); return EM's
    task (None: answered at once). With ``wait`` false a task is returned at once, not followed. An error raised
    after the write carries ``result`` with the task."""
    exists_now = exists or (lambda job_id: job_exists(client, job_id))
    job_id = job_summary(entity)['id']
    try:
        status, element = client.write('DELETE', 'jobs/%s' % job_id)
        answer = _tasks.classify_answer(status, element)
    except AmbiguousWriteError:
        answer = None
    task = answer.task if answer is not None else None
    if task is not None and not wait:
        return task
    try:
        if task is not None:
            task = answer.wait(client, timeout=wait_timeout, sleep=sleep, clock=clock).task
        exists = exists_now(job_id)
        if exists and (answer is None or answer.pending):
            # The outcome is unknown or comes later: watch the job, never resend the DELETE.
            exists = not _tasks.watch_until(lambda: not exists_now(job_id), wait_timeout, sleep, clock)
        if exists:
            raise VerifyFailed('job %r still exists after its deletion was accepted' % entity.get('Name'))
    except VeeamEmError as exc:
        carry_result(exc, result, task)
        raise
    return task


def carry_result(exc, result, task):
    """Let ``exc``, raised after a write, carry the result so far with the task (the one that failed, else ``task``)."""
    exc.result = dict(result, task=_tasks.public_task(getattr(exc, 'task', None) or task or {}))


def job_exists(client, job_id):
    try:
        client.get('jobs/%s' % job_id)
    except VeeamEmError as exc:
        if getattr(exc, 'status', None) == 404:
            return False
        raise
    return True


def prepare(index, params, wanted):
    """Find the job and plan what it needs."""
    entity = index.find(name=params.get('name'), job_id=params.get('id'), backup_server=params.get('backup_server'))
    return Plan(entity, wanted, index)


def apply(client, plan, check_mode=False, with_diff=False, wait=True, wait_timeout=900, sleep=None, clock=None,
          with_job=True, read_again=None, read_later=None):
    """Carry a plan out: nothing, a prediction (check mode), or one PUT, a wait and a verification.

    Returns the module result. An error raised after a write carries
    ``result`` with ``changed: true`` and the task, so the caller reports it.
    ``read_again`` is passed to :func:`refresh`, ``read_later`` to :func:`finish`.
    """
    if plan.changed and not check_mode:
        plan = refresh(client, plan, read_again)
    result = {'changed': plan.changed}
    if with_diff:
        result['diff'] = plan.diff()
    if not plan.changed or check_mode:
        if with_job:
            result['job'] = job_result(plan.entity, plan.target if plan.changed else plan.current, plan.resolver)
        return result
    answer = submit(client, plan)
    task = answer.task if answer is not None else None
    try:
        task, after = finish(client, plan, answer, wait=wait, wait_timeout=wait_timeout, sleep=sleep, clock=clock,
                             read_later=read_later)
    except VeeamEmError as exc:
        carry_result(exc, result, task)
        raise
    if task is not None:
        result['task'] = _tasks.public_task(task)
    if after is not None:
        warn_changed_elsewhere(client, plan, plan.first, after)
    if after is None:
        result['job'] = job_result(plan.entity, plan.target, plan.resolver)
    else:
        result['job'] = job_result(after, JOB_MODEL.read(after), plan.resolver)
    return result


CLONE_INFO = {
    # source job type: (clone info element, its children in schema order)
    'Backup': ('BackupJobCloneInfo', ('JobName', 'FolderName', 'RepositoryUid')),
    'Replica': ('ReplicaJobCloneInfo', ('JobName', 'VmSuffix')),
    'BackupCopy': ('BackupCopyJobCloneInfo', ('JobName', 'JobFileName', 'RepositoryUid')),
    'ImmediateBackupCopy': ('ImmediateBackupCopyJobCloneInfo', ('JobName', 'JobFileName', 'RepositoryUid')),
}
CLONE_KEYS = ('job', 'repository', 'folder_name', 'vm_suffix')


def _clone_keys(children):
    """The ``clone_from`` keys that mean something for a clone info with these children."""
    keys = ['job']
    if 'RepositoryUid' in children:
        keys.append('repository')
    if 'FolderName' in children or 'JobFileName' in children:
        keys.append('folder_name')
    if 'VmSuffix' in children:
        keys.append('vm_suffix')
    return keys


def clone_spec(params):
    """Validate ``clone_from`` offline; return it as a dict."""
    spec = params['clone_from']
    if isinstance(spec, str):
        spec = {'job': spec}
    if not isinstance(spec, dict) or not isinstance(spec.get('job'), str) or not spec['job'].strip():
        raise ValidationError('clone_from: give a job name or id, or a dict with job and optionally %s'
                              % ', '.join(CLONE_KEYS[1:]), option='clone_from')
    unknown = sorted(set(spec) - set(CLONE_KEYS))
    if unknown:
        raise ValidationError('clone_from: unknown keys %s; accepted: %s' % (', '.join(unknown), ', '.join(CLONE_KEYS)),
                              option='clone_from')
    if not params.get('name'):
        raise ValidationError('clone_from: the new job needs a name', option='name')
    if len(params['name']) > 50:
        raise ValidationError('name: EM allows job names of at most 50 characters for a clone (%d given)'
                              % len(params['name']), option='name')
    return spec


def clone_repository(client, name, src):
    """The repository a clone of job ``src`` (a job summary) writes to: the one named, else the source's own.

    EM shows a job's repository only through its backup, so a source that never ran (or whose backups sit in
    several repositories) needs ``clone_from.repository``; that is refused here, before any write.
    """
    server = src['backup_server']
    if not name:
        found = job_repositories(client, src['uid'], server)
        if len(found) == 1:
            return found[0]
        there = ', '.join(sorted(r['name'] for r in list_repositories(client, None, server)))
        if found:
            why = 'its backups are in several repositories (%s)' % ', '.join(r['name'] for r in found)
        else:
            why = 'it has no backup yet, and only its backup shows EM where it writes'
        raise ValidationError('clone_from.repository: required to clone %s job %r: %s; repositories on backup '
                              'server %s: %s' % (src['job_type'], src['name'], why, server, there),
                              option='clone_from.repository')
    repos = [r for r in list_repositories(client, name, server) if r['name'] == name]
    if len(repos) != 1:
        names = sorted(r['name'] for r in list_repositories(client, None, server))
        raise ValidationError('clone_from.repository: no single repository %r on backup server %s; there: %s'
                              % (name, server, ', '.join(names)), option='clone_from.repository')
    return repos[0]


class Clone:
    """The clone that creates a missing job: its source (a Job entity), the clone info element and its values, the
    repository and the plan of the declared settings on the source (what the new job is predicted to hold)."""

    def __init__(self, source, element, children, values, repo, predicted):
        self.source = source
        self.src = job_summary(source)
        self.element = element
        self.children = children
        self.values = values
        self.repo = repo
        self.predicted = predicted

    def info(self):
        """The result's ``clone``: the source job and the repository."""
        return {'job': self.src['name'], 'id': self.src['id'], 'repository': self.repo and self.repo['name']}

    def settings(self, name):
        """The new job as predicted: the source's settings with the declared ones, the new name, no id yet."""
        return dict(job_result(self.source, self.predicted.target, self.predicted.resolver), name=name, id=None,
                    uid=None)


def clone(client, index, params, wanted, check_mode=False, with_diff=False, wait=True, wait_timeout=900, sleep=None,
          clock=None):
    """Create the missing job by cloning ``clone_from``, then apply the declared settings."""
    planned = plan_clone(client, index, params, wanted)
    result = {'changed': True, 'clone': planned.info()}
    settings = planned.settings(params['name'])
    if with_diff:
        result['diff'] = {'before': {}, 'after': settings['settings']}
    if check_mode:
        result['job'] = settings
        return result
    return write_clone(client, index, planned, params, wanted, result, wait, wait_timeout, sleep, clock)


def plan_clone(client, index, params, wanted):
    """Find the source of ``clone_from`` and check what the clone needs (its repository), before any write."""
    spec = clone_spec(params)
    src_id = spec['job'] if _ID_RE.match(spec['job'].strip()) else None
    source = index.find(name=None if src_id else spec['job'], job_id=src_id, backup_server=params.get('backup_server'))
    src = job_summary(source)
    element, children = CLONE_INFO.get(src['job_type'], (None, ()))
    if element is None:
        raise ValidationError('clone_from: EM cannot clone %s job %r' % (src['job_type'], src['name']), option='clone_from')
    for key, child in (('repository', 'RepositoryUid'), ('vm_suffix', 'VmSuffix'), ('folder_name', None)):
        takes = ('FolderName' in children or 'JobFileName' in children) if child is None else child in children
        if spec.get(key) and not takes:
            raise ValidationError('clone_from.%s: a clone of %s job %r has none; accepted keys for it: %s'
                                  % (key, src['job_type'], src['name'], ', '.join(_clone_keys(children))),
                                  option='clone_from.%s' % key)
    values = {'JobName': params['name'], 'FolderName': spec.get('folder_name') or params['name'],
              'JobFileName': spec.get('folder_name') or params['name'], 'VmSuffix': spec.get('vm_suffix') or '_replica'}
    repo = None
    if 'RepositoryUid' in children:
        repo = clone_repository(client, spec.get('repository'), src)
        values['RepositoryUid'] = repo['uid']
    return Clone(source, element, children, values, repo, Plan(source, wanted, index))


def write_clone(client, index, planned, params, wanted, result, wait=True, wait_timeout=900, sleep=None, clock=None):
    """Send the clone's POST, find the new job and apply the declared settings to it; ``result`` completed (the
    clone's ``task``, the edit's ``edit_task``, the ``job``). An error carries ``result`` so far."""
    src = planned.src
    body = _xml.element('JobCloneSpec')
    info = _xml.sub(body, planned.element)
    for name in planned.children:
        _xml.sub(info, name, planned.values[name])
    status, element = client.write('POST', 'jobs/%s' % src['id'], body, params={'action': 'clone'})
    answer = _tasks.classify_answer(status, element, ('Job',))
    try:
        answer.wait(client, timeout=wait_timeout, sleep=sleep, clock=clock)
    except VeeamEmError as exc:
        carry_result(exc, result, answer.task)
        raise
    if answer.task is not None:
        result['task'] = answer.public_task()
    new = _cloned_job(client, answer, params['name'], src['backup_server'], wait_timeout, sleep, clock)
    plan = Plan(new, wanted, index)
    if not plan.changed:
        result['job'] = job_result(new, plan.current, plan.resolver)
        return result
    try:
        edit = apply(client, plan, wait=wait, wait_timeout=wait_timeout, sleep=sleep, clock=clock)
    except VeeamEmError as exc:
        # The job exists now whatever happened to the edit: say so, with its id and the clone's task.
        edit = getattr(exc, 'result', None) or {}
        how = ('EM task %s %s' % (answer.task.get('id'), answer.task.get('operation')) if answer.task is not None
               else 'answered at once, HTTP %s' % answer.status)
        exc.msg = ('job %r was created by cloning %r (id %s, %s), but applying the declared settings to it failed: '
                   '%s' % (params['name'], src['name'], job_summary(new)['id'], how, exc.msg))
        exc.result = dict(result, job=job_result(new, JOB_MODEL.read(new), index.resolver(new)))
        if edit.get('task'):
            exc.result['edit_task'] = edit['task']
        raise
    result['job'] = edit['job']
    if 'task' in edit:
        result['edit_task'] = edit['task']
    return result


def _cloned_job(client, answer, name, backup_server, wait_timeout, sleep, clock):
    """The new job of a clone: from the task's Related link, the job in the answer, or found by its name."""
    hrefs = [link['href'] for link in (answer.task or {}).get('related') or []
             if (link.get('type') or '').startswith('Job') and link.get('href')]
    if answer.resource is not None and answer.resource.get('Href'):
        hrefs.append(answer.resource.get('Href'))
    if hrefs:
        return client.get(hrefs[-1].split('?')[0], params={'format': 'Entity'})
    found = []

    def appeared():
        try:
            found.append(JobIndex(client).find(name=name, backup_server=backup_server))
        except JobNotFound:
            if not answer.pending:
                raise
        return bool(found)
    # 202 without a task: EM creates the job later; look for it on the poll schedule, never clone again.
    if appeared() or _tasks.watch_until(appeared, wait_timeout, sleep, clock):
        return found[-1]
    raise VerifyFailed('the clone %r was accepted but did not appear within %s s' % (name, wait_timeout))
