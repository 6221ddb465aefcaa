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
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError, VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._jobs import (
    JobIndex, JobNotFound, apply, check_entry, clone, parse_job_id, prepare, remove,
)


class BulkFailed(VeeamEmError):
    """Some entries failed; ``result`` holds every entry's result, the ones that worked included."""


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
    if max_in_flight < 1:
        raise ValidationError('max_in_flight: must be at least 1', option='max_in_flight')
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


def converge_all(client, config, wanted, check_mode=False, with_diff=False, wait=True, wait_timeout=900,
                 max_in_flight=10, page_size=500):
    """Bring every entry of ``config`` to its ``wanted`` values; return the module result.

    Raises BulkFailed, carrying the whole result, when any entry failed.
    """
    index = JobIndex(client, preload=True, page_size=page_size, keep=wanted_jobs(config))
    options = dict(check_mode=check_mode, with_diff=with_diff, wait=wait, wait_timeout=wait_timeout)
    results = []
    plans = []
    for entry, want in zip(config, wanted):
        result = {'name': entry_label(entry), 'changed': False, 'failed': False, 'msg': ''}
        results.append(result)
        try:
            plan = 'absent' if entry['state'] == 'absent' else prepare(index, entry, want)
            if plan != 'absent' and (check_mode or not plan.changed):
                # Nothing to send: settle the entry now and let its entity go.
                result.update(apply(client, plan, with_job=False, **options))
                plan = 'done'
            plans.append(plan)
        except JobNotFound as exc:
            if entry.get('clone_from') is not None:
                plans.append('clone')
            else:
                plans.append(None)
                result.update(failed=True, msg=exc.msg)
        except VeeamEmError as exc:
            plans.append(None)
            result.update(failed=True, msg=exc.msg)

    def one(i):
        try:
            if plans[i] == 'absent':
                results[i].update(remove(client, index, config[i], **options))
            elif plans[i] == 'clone':
                results[i].update(clone(client, index, config[i], wanted[i], **options))
            else:
                results[i].update(apply(client, plans[i], with_job=False, **options))
        except VeeamEmError as exc:
            results[i].update(exc.result or {})
            results[i].update(failed=True, msg=exc.msg)

    todo = [i for i, plan in enumerate(plans) if plan not in (None, 'done')]
    busy = [i for i in todo if not check_mode and (plans[i] in ('absent', 'clone') or plans[i].changed)]
    for i in todo:
        if i not in busy:
            one(i)
    if busy:
        with ThreadPoolExecutor(max_workers=min(max_in_flight, len(busy))) as pool:
            list(pool.map(one, busy))
    for result in results:  # the entry results of the interface; job_info reads whole jobs
        result.pop('job', None)
    out = {'changed': any(r['changed'] for r in results), 'jobs': results}
    if with_diff:
        out['diff'] = [dict(r['diff'], before_header=r['name'], after_header=r['name'])
                       for r in results if r.get('diff') and (r['diff']['before'] or r['diff']['after'])]
    failed = [r for r in results if r['failed']]
    if failed:
        raise BulkFailed('%d of %d jobs failed: %s' % (len(failed), len(results), '; '.join(
            '%s: %s' % (r['name'], r['msg']) for r in failed)), result=out)
    return out
