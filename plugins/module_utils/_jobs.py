# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""Finding jobs and converging one job's settings: the logic every job module shares.

``JobIndex`` answers "which job is this?" from one bulk read or from targeted
queries; ``Plan`` and ``refresh()`` read and diff; the writes, their waits and verification are the engine's
(``_resource``), through ``apply()``, ``remove()`` and ``clone()``.
``_job_resource.JOB`` puts them on the resource engine (the ``job`` module); ``_bulk`` runs them for many jobs.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

from ansible_collections.veeam_em.core.plugins.module_utils import _diff, _resource, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._client import quote_filter_value
from ansible_collections.veeam_em.core.plugins.module_utils._errors import (
    AmbiguousNameError, NotFoundError, ValidationError, VeeamEmError,
)
from ansible_collections.veeam_em.core.plugins.module_utils._infra import job_repositories, list_repositories
from ansible_collections.veeam_em.core.plugins.module_utils._job_models import JOB_MODEL
from ansible_collections.veeam_em.core.plugins.module_utils._model import child, children, resolve
from ansible_collections.veeam_em.core.plugins.module_utils._resource import close_names, not_kept


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

    def not_kept(self, bad):
        """The mismatches as said in an error (see ``_resource.not_kept``)."""
        return '; '.join('%s (sent %r, found %r)' % (self.describe(k), want, got) for k, want, got in bad)

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


def verify(plan, after, bad=None):
    """Raise VerifyFailed unless ``after``, the job read after its edit task finished, holds what was sent (the
    ``jobs`` module reads many back at once; the message is the engine's)."""
    bad = plan.mismatches(after) if bad is None else bad
    if bad:
        raise not_kept(plan, bad, 'the edit of the job %r' % plan.entity.get('Name'))


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
    """``state: absent``: delete the job if it exists (a missing job is already as declared), on the engine's path."""
    job = _job_resource().JOB
    plan = job.plan(client, dict(params, state='absent'), {}, index=index)
    return _resource.apply(client, plan, check_mode, with_diff, wait_timeout, sleep, clock, wait=wait)


def _job_resource():
    """``_job_resource`` (imported when used: it builds on this module)."""
    from ansible_collections.veeam_em.core.plugins.module_utils import _job_resource
    return _job_resource


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
    """Carry a job's plan out on the engine's path: nothing, a prediction (check mode), or one PUT, a wait and a
    verification; the module result. An error raised after a write carries its result.

    ``read_again(plan)`` is the read just before the PUT (see :func:`refresh`); with a list as ``read_later``, a
    plan whose edit task finished joins it instead of being read back: the caller reads many jobs back at once and
    checks each with :func:`verify`.
    """
    job = _job_resource()
    run = job.JobPlan(job.JOB, {}, plan.wanted, plan.index, job=plan)
    run.read_again = read_again
    run.read_later = [] if read_later is not None else None
    result = _resource.apply(client, run, check_mode, with_diff, wait_timeout, sleep, clock, wait=wait)
    if read_later is not None:
        read_later.extend(p.job for p in run.read_later)
    if not with_job:
        result.pop('job', None)
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

    def body(self):
        """The clone's POST body: ``JobCloneSpec`` with the clone info of the source's type."""
        body = _xml.element('JobCloneSpec')
        info = _xml.sub(body, self.element)
        for name in self.children:
            _xml.sub(info, name, self.values[name])
        return body

    def settings(self, name):
        """The new job as predicted: the source's settings with the declared ones, the new name, no id yet."""
        return dict(job_result(self.source, self.predicted.target, self.predicted.resolver), name=name, id=None,
                    uid=None)


def clone(client, index, params, wanted, check_mode=False, with_diff=False, wait=True, wait_timeout=900, sleep=None,
          clock=None):
    """Create the missing job by cloning ``clone_from``, then apply the declared settings (the engine's path)."""
    job = _job_resource()
    plan = job.JobPlan(job.JOB, params, wanted, index, clone=plan_clone(client, index, params, wanted))
    return _resource.apply(client, plan, check_mode, with_diff, wait_timeout, sleep, clock, wait=wait)


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
