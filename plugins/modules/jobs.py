#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: jobs
short_description: Keep many Veeam jobs configured as declared, in one task
version_added: 0.1.0
description:
  - The bulk form of M(veeam_em.core.job). Each entry of O(config) takes the same options as that module
    (C(name) or C(id), C(backup_server), and any setting) and is handled by the same code.
  - One logon, one paged read of every job (C(GET /api/query?type=Job&format=Entities)), one PUT for each job that
    differs and none for the others, the edit tasks waited on together with at most O(max_in_flight) at a time,
    one logoff.
  - An entry that fails (job not found, task failed, ...) does not stop the others; the module fails at the end
    and names the entries that failed. Invalid input in any entry fails the module before any request.
author:
  - veeam_em.core contributors (@veeam-em-core)
extends_documentation_fragment:
  - veeam_em.core.connection
  - veeam_em.core.wait
  - veeam_em.core.attributes
options:
  config:
    description:
      - The jobs to manage, each a dict of M(veeam_em.core.job) options without the connection and wait options.
      - See M(veeam_em.core.job) for every setting option; they are validated the same way.
    type: list
    elements: dict
    required: true
  max_in_flight:
    description:
      - How many edits may be running at once (each is a PUT and its task).
    type: int
    default: 5
  page_size:
    description:
      - Jobs per page when reading them all.
    type: int
    default: 500
'''

EXAMPLES = r'''
- name: Keep three jobs as declared
  veeam_em.core.jobs:
    config:
      - name: SQL Backup
        schedule:
          daily: {kind: everyday, time: "22:30"}
        retention: {type: restore_points, restore_points: 14}
      - name: Exchange Backup
        description: Exchange, every four hours
        schedule:
          periodically: {kind: hours, full_period: 4}
      - name: File Server Backup
        backup_server: vbr02
        schedule:
          retry: {enabled: true, times: 3, wait_minutes: 10}
  register: result

- name: Drift report without changing anything
  veeam_em.core.jobs:
    config:
      - name: SQL Backup
        schedule_enabled: true
  check_mode: true
  diff: true
'''

RETURN = r'''
jobs:
  description: One result per entry of O(config), in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The entry's job name (or id when it gave none).
      type: str
      sample: SQL Backup
    changed:
      description: Whether the job was (or, in check mode, would be) changed.
      type: bool
      sample: true
    failed:
      description: Whether this entry failed.
      type: bool
      sample: false
    msg:
      description: Why the entry failed; empty otherwise.
      type: str
      sample: ''
    diff:
      description: Settings before and after, only the keys that differ (with C(--diff)).
      type: dict
      sample: {before: {retention: {restore_points: 7}}, after: {retention: {restore_points: 14}}}
    task:
      description: The EM task of the edit, when one was sent (as in M(veeam_em.core.job)).
      type: dict
      sample: {id: task-3, state: Finished, operation: EditJob, success: true, message: Ok}
    job:
      description: The job after the run, as M(veeam_em.core.job) returns it.
      type: dict
      sample: {id: 9d0f5c41-2a55-5a2b-b0bc-1c4e52a1d2f7, name: SQL Backup, job_type: Backup, settings: {}}
'''

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError, VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._jobs import JobIndex, apply, check_entry, entry_spec, prepare
from ansible_collections.veeam_em.core.plugins.module_utils._module import VeeamEmModule


def entry_label(entry):
    label = entry.get('name') or entry.get('id') or '?'
    if entry.get('backup_server'):
        label += ' (%s)' % entry['backup_server']
    return label


def main():
    module = VeeamEmModule(dict(
        config=dict(type='list', elements='dict', required=True, options=entry_spec(),
                    required_one_of=[('name', 'id')], mutually_exclusive=[('name', 'id')]),
        max_in_flight=dict(type='int', default=5),
        page_size=dict(type='int', default=500),
    ), with_wait=True, supports_check_mode=True)
    config = module.params['config']
    wanted = []
    for i, entry in enumerate(config):
        try:
            wanted.append(check_entry(entry))
        except ValidationError as exc:
            module.fail_json(msg='config[%d] (%s): %s' % (i, entry_label(entry), exc.msg), option=exc.option)
    if module.params['max_in_flight'] < 1:
        module.fail_json(msg='max_in_flight: must be at least 1', option='max_in_flight')

    def run(client):
        index = JobIndex(client, preload=True, page_size=module.params['page_size'])
        results = []
        plans = []
        for entry, want in zip(config, wanted):
            result = {'name': entry_label(entry), 'changed': False, 'failed': False, 'msg': ''}
            results.append(result)
            try:
                plans.append(prepare(index, entry, want))
            except VeeamEmError as exc:
                plans.append(None)
                result.update(failed=True, msg=exc.msg)

        def one(i):
            try:
                results[i].update(apply(client, plans[i], check_mode=module.check_mode, with_diff=module._diff,
                                        wait=module.params['wait'], wait_timeout=module.params['wait_timeout']))
            except VeeamEmError as exc:
                results[i].update(getattr(exc, 'result', None) or {})
                results[i].update(failed=True, msg=exc.msg)

        todo = [i for i, plan in enumerate(plans) if plan is not None]
        busy = [i for i in todo if plans[i].changed and not module.check_mode]
        for i in todo:
            if i not in busy:
                one(i)
        if busy:
            with ThreadPoolExecutor(max_workers=min(module.params['max_in_flight'], len(busy))) as pool:
                list(pool.map(one, busy))
        out = {'changed': any(r['changed'] for r in results), 'jobs': results}
        if module._diff:
            out['diff'] = [dict(r['diff'], before_header=r['name'], after_header=r['name'])
                           for r in results if r.get('diff') and (r['diff']['before'] or r['diff']['after'])]
        failed = [r['name'] for r in results if r['failed']]
        if failed:
            err = VeeamEmError('%d of %d jobs failed: %s' % (len(failed), len(results), '; '.join(
                '%s: %s' % (r['name'], r['msg']) for r in results if r['failed'])))
            err.result = out
            raise err
        return out

    module.run_safely(run)


if __name__ == '__main__':
    main()
