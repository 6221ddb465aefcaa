# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""Many jobs in one run: what the ``jobs`` module does.

One paged read of every job, a plan per entry, the entries with nothing to
send settled at once, and the writes sent with at most ``max_in_flight`` of
them at a time. An entry that fails does not stop the others.

The read is a pipeline: the next page is fetched (and parsed) in a thread
while the entries of the current one are planned, and an entry that names its
job by id is settled as soon as its page arrives, so that its entity can go
with the page; that first plan reads only the blocks the entry manages, and
an entry it finds something to send for is planned again in full. Entries by
name wait for the last page (a name is only known to be unique then), as do
the ones that need other jobs (``schedule.after_job``) or a diff (whose view
names other jobs).

The writes keep the single-job safety of reading the job again just before
its PUT, but a query reads every 25 jobs in line (``_batch.ReadAhead``), and
the jobs whose edit tasks finished are read back with one query per 25 at the
end, instead of two GETs per changed job.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.veeam_em.core.plugins.module_utils._batch import ReadAhead, query_by_uid
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError, VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._jobs import (
    JobIndex, JobNotFound, Plan, apply, check_entry, clone, entry_spec, parse_job_id, prepare, remove, verify,
    warn_changed_elsewhere,
)
from ansible_collections.veeam_em.core.plugins.module_utils._resource_bulk import check_in_flight, in_flight, mark_failed, summarise
from ansible_collections.veeam_em.core.plugins.module_utils import _resource_bulk

# One failure, one bounded pool of writes and one run summary serve ``jobs`` and every engine resource's bulk module.
BulkFailed = _resource_bulk.BulkFailed


def argument_spec():
    """The ``jobs`` module's own options (the connection and wait options are added by VeeamEmModule)."""
    return dict(
        config=dict(type='list', elements='dict', required=True, options=entry_spec(),
                    required_one_of=[('name', 'id')], mutually_exclusive=[('name', 'id')]),
        max_in_flight=dict(type='int', default=10),
        page_size=dict(type='int', default=500),
    )


def entry_label(entry):
    """How an entry is named in results and messages: its name (or id), with its backup server."""
    label = entry.get('name') or entry.get('id') or '?'
    if entry.get('backup_server'):
        label += ' (%s)' % entry['backup_server']
    return label


def check_config(config, max_in_flight=1, page_size=500):
    """Validate every entry offline (before any request); return each entry's wanted values."""
    wanted = []
    seen = {}
    for i, entry in enumerate(config):
        try:
            wanted.append(check_entry(entry))
        except ValidationError as exc:
            raise ValidationError('config[%d] (%s): %s' % (i, entry_label(entry), exc.msg), option=exc.option)
        # Two entries for one job would send two writes at once, each undoing the other's.
        key = ('id', parse_job_id(entry['id'])) if entry.get('id') else ('name', entry.get('name'), entry.get('backup_server'))
        if key in seen:
            raise ValidationError('config[%d] (%s): names the same job as config[%d]; merge the two entries'
                                  % (i, entry_label(entry), seen[key]), option='config')
        seen[key] = i
    check_in_flight(max_in_flight)
    if page_size is not None and page_size < 1:
        raise ValidationError('page_size: %d jobs per page; accepted: 1 or more' % page_size, option='page_size')
    return wanted


def wanted_jobs(config):
    """A ``keep(summary)`` test for the jobs the entries name: themselves and the jobs clones come from."""
    ids = set(parse_job_id(e['id']) for e in config if e.get('id'))
    names = set(e['name'] for e in config if e.get('name'))
    sources = set()
    for entry in config:
        if entry.get('clone_from') is not None:
            src = entry['clone_from'] if isinstance(entry['clone_from'], str) else entry['clone_from'].get('job')
            sources.add(src)
    return lambda s: s['id'] in ids or s['name'] in names or s['name'] in sources or s['id'] in sources


def _early(entry, want, with_diff):
    """Whether the entry can be settled when its job's page arrives, before the index is complete."""
    return (not with_diff and bool(entry.get('id')) and entry['state'] != 'absent'
            and not any(key[0] == 'after_job' for key in want))


def converge_all(client, config, wanted, check_mode=False, with_diff=False, wait=True, wait_timeout=900,
                 max_in_flight=10, page_size=500):
    """Bring every entry of ``config`` to its ``wanted`` values; return the module result.

    Raises BulkFailed, carrying the whole result, when any entry failed.
    """
    options = dict(check_mode=check_mode, with_diff=with_diff, wait=wait, wait_timeout=wait_timeout)
    results = [{'name': entry_label(entry), 'changed': False, 'failed': False, 'msg': ''} for entry in config]
    plans = [None] * len(config)
    early = {}
    for i, (entry, want) in enumerate(zip(config, wanted)):
        if _early(entry, want, with_diff):
            early.setdefault(parse_job_id(entry['id']), []).append(i)
    keep = wanted_jobs([entry for entry, want in zip(config, wanted) if not _early(entry, want, with_diff)])

    def settle(i, plan):
        """Settle an entry with nothing to send; False when its plan has a write to send."""
        if not (check_mode or plan.changed):
            results[i].update(apply(client, plan, with_job=False, **options))
            plans[i] = 'done'
        return plans[i] == 'done'

    index = JobIndex(client)
    index.entities, index.summaries = {}, {}  # filled page by page below
    for page in client.query_pages('Job', fmt='Entities', page_size=page_size):
        for entity in page:
            summary = index.add(entity, keep)
            waiting = False
            for i in early.pop(summary['id'], ()):
                try:
                    waiting = not settle(i, Plan(entity, wanted[i], index, partial=True)) or waiting
                except VeeamEmError as exc:
                    results[i].update(failed=True, msg=exc.msg)
                    plans[i] = 'failed'
            if waiting and summary['id'] not in index.entities:
                index.add(entity)  # planned again below, from this copy
    index.complete = True
    for i, (entry, want) in enumerate(zip(config, wanted)):
        if plans[i] is not None:
            continue
        result = results[i]
        try:
            plan = 'absent' if entry['state'] == 'absent' else prepare(index, entry, want)
            if plan != 'absent' and settle(i, plan):
                continue  # nothing to send: settled now, and its entity let go
            plans[i] = plan
        except JobNotFound as exc:
            if entry.get('clone_from') is not None:
                plans[i] = 'clone'
            else:
                plans[i] = 'failed'
                result.update(failed=True, msg=exc.msg)
        except VeeamEmError as exc:
            plans[i] = 'failed'
            result.update(failed=True, msg=exc.msg)

    todo = [i for i, plan in enumerate(plans) if plan not in ('failed', 'done')]
    busy = [i for i in todo if not check_mode and (plans[i] in ('absent', 'clone') or plans[i].changed)]
    # The jobs to edit are read again just before their PUTs, a query for every few (see _batch), in the
    # order the pool takes them; those whose edit task finished are read back together at the end.
    ahead = ReadAhead(client, 'Job', [plans[i].entity.get('UID') for i in busy if isinstance(plans[i], Plan)])
    edited = []  # (entry, plan as sent)

    def one(i):
        try:
            if plans[i] == 'absent':
                results[i].update(remove(client, index, config[i], **options))
            elif plans[i] == 'clone':
                results[i].update(clone(client, index, config[i], wanted[i], **options))
            else:
                later = []
                results[i].update(apply(client, plans[i], with_job=False, read_later=later,
                                        read_again=lambda plan: ahead.get(plan.entity.get('UID')), **options))
                edited.extend((i, plan) for plan in later)
        except VeeamEmError as exc:
            mark_failed(results[i], exc)

    idle = set(todo) - set(busy)
    for i in todo:
        if i in idle:
            one(i)
    in_flight(one, busy, max_in_flight)
    read_back(client, edited, results)
    for result in results:  # the entry results of the interface; job_info reads whole jobs
        result.pop('job', None)
    return summarise(results, 'job', 'jobs', with_diff)


def read_back(client, edited, results):
    """Read the jobs of ``edited`` (``(entry, plan)`` pairs) back after their edit tasks finished, with a query for
    every few of them, and check each: an entry whose job does not show its change, or could not be read, fails;
    a change made by someone else meanwhile, outside the blocks sent, is warned of as :func:`apply` does."""
    try:
        found = query_by_uid(client, 'Job', [plan.entity.get('UID') for _i, plan in edited])
    except VeeamEmError as exc:
        for i, _plan in edited:
            results[i].update(failed=True, msg='the job could not be read back after its edit: %s' % exc.msg)
        return
    for i, plan in edited:
        after = found.get((plan.entity.get('UID') or '').lower())
        if after is None:
            results[i].update(failed=True, msg='job %r was not found when read back after its edit'
                              % plan.entity.get('Name'))
            continue
        try:
            verify(plan, after)
        except VeeamEmError as exc:
            results[i].update(failed=True, msg=exc.msg)
            continue
        warn_changed_elsewhere(client, plan, plan.first, after)
