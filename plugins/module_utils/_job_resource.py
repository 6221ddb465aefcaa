# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""The job on the resource engine: ``JOB``, a :class:`_resource.Resource` whose hooks carry what is a job's own, so
that the ``job`` module is ``run_module(JOB)``. Its writes take the engine's one path (``_resource._sent``, the
answer, ``_verify``/``_delete`` and their watch): only what is truly a job's differs, as small hooks:

* find: a job is looked up by name (and backup server) with a query, or by id with a GET (``JobIndex``);
* plan: the settings are ``JOB_MODEL``'s blocks, with cross-block rules and ``after_job`` names (``_jobs.Plan``);
* before_write: the job is read again just before its PUT and planned again when it moved (``_jobs.refresh``);
* edit_body: the whole changed blocks (``_jobs.Plan.body``);
* after_write: a warning names what someone else changed meanwhile (``_jobs.warn_changed_elsewhere``);
* create: ``clone_from`` clones its source (``_jobs.plan_clone``), then one edit applies the settings;
* exists: a GET of the job (after its DELETE);
* report and failed: ``{'job': ...}`` with ``task`` (no ``tasks``), and a clone's ``clone`` and ``edit_task``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.veeam_em.core.plugins.module_utils import _jobs, _resource, _tasks
from ansible_collections.veeam_em.core.plugins.module_utils._errors import VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._job_models import JOB_MODEL
from ansible_collections.veeam_em.core.plugins.module_utils._resource import Identity, NotFollowed, Resource


class JobPlan:
    """One run of the ``job`` module in the engine's terms (what :class:`_resource.Plan` offers the engine).

    ``job`` is the ``_jobs.Plan`` of an existing job, ``clone`` the ``_jobs.Clone`` that creates a missing one, and
    ``extra`` what the result carries besides (the ``clone``, the clone's edit ``edit_task``).
    """

    secrets = ()
    child_writes = ()
    parent_id = None
    context = None

    def __init__(self, resource, params, wanted, index, entity=None, job=None, clone=None):
        self.resource = resource
        self.params = params
        self.wanted = wanted
        self.index = index
        self.job = job
        self.clone = clone
        self.deleting = params.get('state') == 'absent'
        self._entity = entity
        self.before_ids = set()
        self.sent = 0
        self.last_write = None
        self.read_again = None  # see _jobs.refresh
        self.read_later = None  # see _resource._verify
        self.extra = {'clone': clone.info()} if clone is not None else {}
        self.cloned = None  # the new job's result, once the clone is written

    @property
    def entity(self):
        return self.job.entity if self.job is not None else self._entity

    @property
    def action(self):
        if self.deleting:
            return 'delete' if self.entity is not None else None
        if self.clone is not None:
            return 'create'
        return 'edit' if self.job.changed else None

    @property
    def changed(self):
        return self.action is not None

    @property
    def send(self):
        """What the PUT sends: the changed blocks (the engine asks only whether there are any)."""
        return self.job.blocks() if self.action == 'edit' else ()

    def _label(self):
        return repr(self.params.get('name') if self.entity is None else self.entity.get('Name'))

    def _where(self):
        return ''

    def mismatches(self, entity, names=None):
        """What the job read after its edit does not show (``names`` is the engine's for a create: none to check)."""
        return self.job.mismatches(entity) if self.job is not None and names is None else []

    def not_kept(self, bad):
        return self.job.not_kept(bad)

    def diff(self):
        if self.deleting:
            if self.entity is None:
                return None
            resolver = self.index.resolver(self.entity)
            return {'before': _jobs.job_result(self.entity, JOB_MODEL.read(self.entity), resolver), 'after': {}}
        if self.clone is not None:
            return {'before': {}, 'after': self.clone.settings(self.params['name'])['settings']}
        return self.job.diff()

    def target(self):
        if self.clone is not None or self.deleting:
            return None
        return self.job.target if self.job.changed else self.job.current

    def view(self, entity, values):
        if self.clone is not None:
            return self.clone.settings(self.params['name'])
        return _jobs.job_result(entity, values, self.job.resolver)

    def shown(self, entity):
        """The job read back after the write; the new one (``cloned``) after a clone; {} when gone."""
        if self.clone is not None:
            if self.cloned is None and entity is not None:
                self.cloned = _jobs.job_result(entity, JOB_MODEL.read(entity), self.index.resolver(entity))
            return self.cloned
        if entity is None:
            return {}
        return _jobs.job_result(entity, JOB_MODEL.read(entity), self.job.resolver)


class JobResource(Resource):
    """A Veeam job: a :class:`Resource` whose hooks are the job's own (see the module docstring)."""

    def argument_spec(self):
        return _jobs.entry_spec()

    def module_kwargs(self):
        return {'with_wait': True, 'required_one_of': [('name', 'id')], 'mutually_exclusive': [('name', 'id')]}

    def check_input(self, params):
        return _jobs.check_entry(params)

    def find(self, client, params, parent_id=None, index=None):
        """``[the Job entity]`` the options name, or ``[]`` for a job to delete or to clone that does not exist."""
        index = index or _jobs.JobIndex(client)
        try:
            return [index.find(name=params.get('name'), job_id=params.get('id'), backup_server=params.get('backup_server'))]
        except _jobs.JobNotFound:
            if params.get('state') != 'absent' and params.get('clone_from') is None:
                raise
            return []

    def match(self, records, params):
        """``find`` found the job itself."""
        return list(records), list(records)

    def plan(self, client, params, wanted, parent=(None, None), index=None):
        index = index or _jobs.JobIndex(client)
        found = self.find(client, params, index=index)
        if params.get('state') == 'absent':
            return JobPlan(self, params, wanted, index, entity=found[0] if found else None)
        if not found:
            return JobPlan(self, params, wanted, index, clone=_jobs.plan_clone(client, index, params, wanted))
        return JobPlan(self, params, wanted, index, job=_jobs.Plan(found[0], wanted, index))

    def before_write(self, client, plan):
        if plan.action == 'edit':
            plan.job = _jobs.refresh(client, plan.job, plan.read_again)
        return plan

    def edit_body(self, plan):
        return plan.job.body()

    def after_write(self, client, plan, entity):
        if plan.action == 'edit':
            _jobs.warn_changed_elsewhere(client, plan.job, plan.job.first, entity)

    def create(self, client, plan, tasks, result, wait_timeout, sleep, clock):
        """Clone the source (its task followed, the new job found), then apply the declared settings to the new job
        with one edit: the engine's create and edit, each write sent once. The clone's task is ``task``, the edit's
        ``edit_task``."""
        clone = plan.clone
        if plan.last_write is not None:
            plan.last_write = 2  # wait: false leaves the edit that follows the clone unfollowed, never the clone
        what = _resource._what(plan)
        try:
            answer = _resource._sent(client, plan, tasks, 'POST', 'jobs/%s' % clone.src['id'], clone.body(),
                                     self.create_params, what, wait_timeout, sleep, clock)
        except VeeamEmError as exc:
            _resource.made_anyway(client, plan, exc)
            raise
        new = _resource._verify(client, plan, answer, None, what, wait_timeout, sleep, clock, names=())
        plan.shown(new)
        edit = JobPlan(self, plan.params, plan.wanted, plan.index, job=_jobs.Plan(new, plan.wanted, plan.index))
        if not edit.changed:
            return new
        edit.sent, edit.last_write = plan.sent, plan.last_write
        done = []
        try:
            after = self.edit(client, self.before_write(client, edit), done, result, wait_timeout, sleep, clock)
        except NotFollowed as accepted:
            plan.extra['edit_task'] = _tasks.public_task(accepted.task)
            plan.cloned = edit.view(edit.entity, edit.target())
            return None
        except VeeamEmError as exc:
            # The job exists now whatever happened to the edit: say so, with its id and the clone's task.
            done = _resource.failed_tasks(exc, done)
            if done:
                plan.extra['edit_task'] = done[-1]
            how = 'EM task %s %s' % (tasks[-1]['id'], tasks[-1]['operation']) if tasks else 'answered at once'
            exc.msg = ('job %r was created by cloning %r (id %s, %s), but applying the declared settings to it '
                       'failed: %s' % (plan.params['name'], clone.src['name'], _jobs.job_summary(new)['id'], how,
                                       exc.msg))
            exc.entity = new
            raise
        if done:
            plan.extra['edit_task'] = done[-1]
        self.after_write(client, edit, after)
        plan.cloned = edit.shown(after)
        return None  # the new job is shown as read after its edit (cloned)

    def exists(self, client, plan, record_id):
        return _jobs.job_exists(client, record_id)

    def report(self, result, plan, tasks):
        if tasks:
            result['task'] = tasks[-1]
        result.update(plan.extra)
        return result

    def failed(self, exc, plan, result, tasks):
        """The engine's error result, in the job's shape: its write's ``task`` (a clone's, with the edit's
        ``edit_task``), no ``tasks``."""
        Resource.failed(self, exc, plan, result, tasks)
        done = exc.result.pop('tasks', None)
        if done:
            exc.result['task'] = done[0]
        exc.result.update(plan.extra)


JOB = JobResource(
    'job', 'job', 'job', (), Identity('@UID', ('name',)), entity_root='Job', create_root='JobCloneSpec',
    edit_root='Job', collection='jobs', item='jobs/{id}', create_params={'action': 'clone'},
    edit_params={'action': 'edit'}, get_params={'format': 'Entity'},
    answers={'create': 'a task (a clone)', 'edit': 'a task or at once', 'delete': 'a task or at once'},
    in_use=False, created_type='Job',
)
