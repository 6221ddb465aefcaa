# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""The job on the resource engine: ``JOB``, a :class:`_resource.Resource` whose hooks carry what a job does its own
way, so that the ``job`` module is ``run_module(JOB)``.

What differs from the engine's defaults, each a hook calling the job logic of ``_jobs``:

* find: a job is looked up by name (and backup server) with a query, or by id with a GET (``JobIndex``);
* plan: the settings are ``JOB_MODEL``'s blocks, with cross-block rules and ``after_job`` names (``_jobs.Plan``);
* before_write: the job is read again just before its PUT and planned again when it moved (``_jobs.refresh``);
* edit and edit_body: one PUT of the whole changed blocks, followed and verified (``_jobs.submit``/``finish``);
* after_write: a warning names what someone else changed meanwhile (``_jobs.warn_changed_elsewhere``);
* create: ``clone_from`` clones its source, then one edit applies the settings (``_jobs.plan_clone``/``write_clone``);
* delete and exists: the DELETE, then a GET of the job until it is gone (``_jobs.delete``);
* report and failed: ``{'job': ...}`` with ``task`` (no ``tasks``); an error carries what the job path says.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.veeam_em.core.plugins.module_utils import _jobs, _tasks
from ansible_collections.veeam_em.core.plugins.module_utils._errors import VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._job_models import JOB_MODEL
from ansible_collections.veeam_em.core.plugins.module_utils._resource import Identity, NotFollowed, Resource


class JobPlan:
    """One run of the ``job`` module in the engine's terms (action, changed, diff, view, target, shown).

    ``job`` is the ``_jobs.Plan`` of an existing job, ``clone`` the ``_jobs.Clone`` that creates a missing one, and
    ``extra`` what the result carries besides (the ``clone``, the clone's ``task``, the ``edit_task``).
    """

    secrets = ()
    send = ()
    child_writes = ()

    def __init__(self, resource, params, wanted, index, entity=None, job=None, clone=None):
        self.resource = resource
        self.params = params
        self.wanted = wanted
        self.index = index
        self.job = job
        self.clone = clone
        self.deleting = params.get('state') == 'absent'
        self._entity = entity
        self.last_write = None
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
        """The job read back after the write; the clone's (its ``cloned``) when the create wrote it; {} when gone."""
        if self.clone is not None:
            return self.cloned
        if entity is None:
            return {}
        return _jobs.job_result(entity, JOB_MODEL.read(entity), self.job.resolver)


def _without_job(result):
    return dict((k, v) for k, v in result.items() if k != 'job')


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

    def plan(self, client, params, wanted, parent=(None, None)):
        index = _jobs.JobIndex(client)
        found = self.find(client, params, index=index)
        if params.get('state') == 'absent':
            return JobPlan(self, params, wanted, index, entity=found[0] if found else None)
        if not found:
            return JobPlan(self, params, wanted, index, clone=_jobs.plan_clone(client, index, params, wanted))
        return JobPlan(self, params, wanted, index, job=_jobs.Plan(found[0], wanted, index))

    def before_write(self, client, plan):
        if plan.action == 'edit':
            plan.job = _jobs.refresh(client, plan.job)
        return plan

    def edit_body(self, plan):
        return plan.job.body()

    def edit(self, client, plan, tasks, result, wait_timeout, sleep, clock):
        answer = _jobs.submit(client, plan.job, self.edit_body(plan))
        task = answer.task if answer is not None else None
        try:
            task, after = _jobs.finish(client, plan.job, answer, wait=plan.last_write is None,
                                       wait_timeout=wait_timeout, sleep=sleep, clock=clock)
        except VeeamEmError as exc:
            _jobs.carry_result(exc, _without_job(result), task)
            raise
        if after is None:
            raise NotFollowed(task)
        if task is not None:
            tasks.append(_tasks.public_task(task))
        return after

    def after_write(self, client, plan, entity):
        if plan.action == 'edit':
            _jobs.warn_changed_elsewhere(client, plan.job, plan.job.first, entity)

    def create(self, client, plan, tasks, result, wait_timeout, sleep, clock):
        done = _jobs.write_clone(client, plan.index, plan.clone, plan.params, plan.wanted,
                                 dict(_without_job(result), **plan.extra), plan.last_write is None, wait_timeout,
                                 sleep, clock)
        plan.cloned = done['job']
        plan.extra.update((k, done[k]) for k in ('task', 'edit_task') if k in done)
        return None  # the clone and its edit are verified (and warned about) by write_clone

    def delete(self, client, plan, tasks, result, wait_timeout, sleep, clock):
        task = _jobs.delete(client, plan.entity, result, plan.last_write is None, wait_timeout, sleep, clock,
                            exists=lambda job_id: self.exists(client, plan, job_id))
        if task is not None and plan.last_write is not None:
            raise NotFollowed(task)
        if task is not None:
            tasks.append(_tasks.public_task(task))
        return None

    def exists(self, client, plan, record_id):
        return _jobs.job_exists(client, record_id)

    def report(self, result, plan, tasks):
        if tasks:
            result['task'] = tasks[-1]
        result.update(plan.extra)
        return result

    def failed(self, exc, plan, result, tasks):
        """The job's writes say themselves what their errors carry (as they did before the engine ran them)."""


JOB = JobResource(
    'job', 'job', 'job', (), Identity('@UID', ('name',)), entity_root='Job', create_root='JobCloneSpec',
    edit_root='Job', collection='jobs', item='jobs/{id}', create_params={'action': 'clone'},
    edit_params={'action': 'edit'}, get_params={'format': 'Entity'},
    answers={'create': 'a task (a clone)', 'edit': 'a task or at once', 'delete': 'a task or at once'},
)
