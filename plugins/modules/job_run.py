#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: job_run
short_description: Start, stop, retry or sync a Veeam job and wait for the result of its session
version_added: 1.0.0
description:
  - Triggers a job through Enterprise Manager (C(POST /api/jobs/{id}?action=start|stop|retry|sync)), waits for
    EM's task, then follows the job session that runs (C(BackupJobSession), or C(ReplicaJobSession) for
    replication jobs) until it stops, and reports its result.
  - C(start), C(stop) and C(retry) are for backup and replication jobs, C(sync) for backup copy jobs.
  - C(start) (or C(sync)) while the job is already running sends nothing and, with O(wait), waits for the
    running session. C(stop) with nothing running sends nothing.
  - Fails when the session ends C(Failed), or C(Warning) unless O(allow_warning). C(stop) succeeds once the
    session has stopped, whatever result EM records for it.
author:
  - veeam_em.core contributors (@veeam-em-core)
extends_documentation_fragment:
  - veeam_em.core.job_identity
  - veeam_em.core.connection
  - veeam_em.core.attributes
options:
  action:
    description:
      - What to do. C(retry) re-runs the job for what failed in its last session, and is refused unless that
        session failed.
    type: str
    required: true
    choices: [start, stop, retry, sync]
  wait:
    description:
      - Wait for the job session to end, and fail unless it succeeded.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the session; past it the module fails, naming the session and its state.
    type: int
    default: 3600
  allow_warning:
    description:
      - Count a session that ends with C(Warning) as a success.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Back up the SQL servers before patching, and fail unless it worked
  veeam_em.core.job_run:
    name: SQL Backup
    action: start
    allow_warning: true
    wait_timeout: 7200
  register: backup

- name: Report the session
  ansible.builtin.debug:
    msg: "{{ backup.session.name }} ended {{ backup.session.result }} at {{ backup.session.end_time }}"

- name: Stop a replication job if it runs
  veeam_em.core.job_run:
    name: DC Replication
    action: stop
'''

RETURN = r'''
session:
  description:
    - The job session that was started, followed or stopped (empty when there was none, or with O(wait=false)
      before EM created it).
  returned: always
  type: dict
  contains:
    id:
      description: The session's id.
      type: str
      sample: 2bd4a4a6-4b3b-4a9c-9c0e-2a55f6d8b1a3
    name:
      description: EM's name for it, C(<job>@<start time>).
      type: str
      sample: SQL Backup@2026-12-02 01:30:00
    state:
      description: C(Starting), C(Working), C(Stopping) or C(Stopped).
      type: str
      sample: Stopped
    result:
      description: C(Success), C(Warning), C(Failed), or C(None) while it runs.
      type: str
      sample: Success
    start_time:
      description: When it started (UTC).
      type: str
      sample: '2026-12-02T01:30:00Z'
    end_time:
      description: When it ended (UTC); empty while it runs.
      type: str
      sample: '2026-12-02T01:42:17Z'
task:
  description: EM's task for the action; an action EM answers at once (C(200), C(204)) has none.
  returned: when an action was sent and EM answered it with a task
  type: dict
  sample: {id: task-1, state: Finished, operation: StartJob, success: true, message: Job "SQL Backup" triggered to start.}
'''

from ansible_collections.veeam_em.core.plugins.module_utils import _runs
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError
from ansible_collections.veeam_em.core.plugins.module_utils._jobs import JobIndex, job_summary, parse_job_id
from ansible_collections.veeam_em.core.plugins.module_utils._module import VeeamEmModule


def main():
    module = VeeamEmModule(dict(
        name=dict(type='str'),
        id=dict(type='str'),
        backup_server=dict(type='str'),
        action=dict(type='str', required=True, choices=['start', 'stop', 'retry', 'sync']),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=3600),
        allow_warning=dict(type='bool', default=False),
    ), supports_check_mode=True, required_one_of=[('name', 'id')], mutually_exclusive=[('name', 'id')])
    p = module.params
    try:
        if p['id']:
            parse_job_id(p['id'])
    except ValidationError as exc:
        module.fail_from(exc)

    def run(client):
        job = job_summary(JobIndex(client).find(name=p['name'], job_id=p['id'], backup_server=p['backup_server']))
        return _runs.run_action(client, job, p['action'], check_mode=module.check_mode, wait=p['wait'],
                                wait_timeout=p['wait_timeout'], allow_warning=p['allow_warning'])

    module.run_safely(run)


if __name__ == '__main__':
    main()
