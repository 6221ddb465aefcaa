#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: job_info
short_description: Read Veeam jobs and their settings from Enterprise Manager
version_added: 1.0.0
description:
  - Returns the jobs that match the filters, each with its settings in exactly the shape the
    M(veeam_em.core.job) module takes, so a job's RV(jobs[].settings) can be fed back to it unchanged.
  - All jobs are read with one paged query (C(GET /api/query?type=Job&format=Entities)), never one request per job.
author:
  - veeam_em.core contributors (@veeam-em-core)
extends_documentation_fragment:
  - veeam_em.core.connection
  - veeam_em.core.attributes.INFO_MODULE
options:
  name:
    description:
      - A job name, or a shell-style pattern such as C(SQL*) or C(*Backup?). Matching is case-sensitive.
    type: str
  id:
    description:
      - A job id, a bare UUID or C(urn:veeam:Job:<UUID>).
    type: str
  backup_server:
    description:
      - Only jobs of this backup server (its name).
    type: str
  job_type:
    description:
      - Only jobs of this type.
    type: str
    choices: [backup, backup_copy, immediate_backup_copy, replica]
  page_size:
    description:
      - Jobs per page of the query service; pages are followed until the last.
    type: int
    default: 500
'''

EXAMPLES = r'''
- name: Every job of the backup server vbr01
  veeam_em.core.job_info:
    backup_server: vbr01
  register: vbr01_jobs

- name: Backup jobs whose name starts with SQL
  veeam_em.core.job_info:
    name: "SQL*"
    job_type: backup
  register: sql_jobs

- name: Show each job's schedule
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.settings.schedule | default('not scheduled') }}"
  loop: "{{ sql_jobs.jobs }}"
  loop_control:
    label: "{{ item.name }}"
'''

RETURN = r'''
jobs:
  description:
    - The matching jobs, sorted by name and backup server, each as the M(veeam_em.core.job) module returns it.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The job's UUID.
      type: str
      sample: 9d0f5c41-2a55-5a2b-b0bc-1c4e52a1d2f7
    uid:
      description: The job's UID.
      type: str
      sample: urn:veeam:Job:9d0f5c41-2a55-5a2b-b0bc-1c4e52a1d2f7
    name:
      description: The job's name.
      type: str
      sample: SQL Backup
    job_type:
      description: C(Backup), C(Replica), C(BackupCopy) or C(ImmediateBackupCopy).
      type: str
      sample: Backup
    platform:
      description: C(VMware), C(HyperV), C(vCloud) or C(CustomPlatform).
      type: str
      sample: VMware
    backup_server:
      description: The backup server that owns the job.
      type: str
      sample: vbr01
    settings:
      description: The job's settings, in the option shape of M(veeam_em.core.job).
      type: dict
      sample:
        description: Nightly SQL backup
        schedule_enabled: true
        schedule:
          daily: {kind: everyday, days: [], time: "22:30"}
'''

from ansible_collections.veeam_em.core.plugins.module_utils._client import quote_filter_value
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError
from ansible_collections.veeam_em.core.plugins.module_utils._job_models import JOB_MODEL
from ansible_collections.veeam_em.core.plugins.module_utils._jobs import (
    JOB_TYPES, JobIndex, job_result, parse_job_id,
)
from ansible_collections.veeam_em.core.plugins.module_utils._infra import name_filter, name_matches
from ansible_collections.veeam_em.core.plugins.module_utils._module import VeeamEmModule


def query_filter(params):
    """The query service filter for what EM can select itself; patterns are matched here."""
    parts = [p for p in (name_filter(params['name']), name_filter(params['backup_server'], 'BackupServerName')) if p]
    if params['job_type']:
        parts.append('JobType==%s' % JOB_TYPES[params['job_type']])
    if params['id']:
        parts.append('UID==%s' % quote_filter_value('urn:veeam:Job:%s' % parse_job_id(params['id'])))
    return ';'.join(parts) or None


def selected(summary, params):
    """Re-check every filter exactly on a job summary: EM's string comparisons may ignore case."""
    if not name_matches(summary['name'], params['name']):
        return False
    if params['backup_server'] and (summary['backup_server'] or '').lower() != params['backup_server'].lower():
        return False
    if params['job_type'] and summary['job_type'] != JOB_TYPES[params['job_type']]:
        return False
    if params['id'] and summary['id'] != parse_job_id(params['id']):
        return False
    return True


def main():
    module = VeeamEmModule(dict(
        name=dict(type='str'),
        id=dict(type='str'),
        backup_server=dict(type='str'),
        job_type=dict(type='str', choices=sorted(JOB_TYPES)),
        page_size=dict(type='int', default=500),
    ), supports_check_mode=True)
    try:
        flt = query_filter(module.params)
    except ValidationError as exc:
        module.fail_from(exc)

    def run(client):
        index = JobIndex(client, preload=True, page_size=module.params['page_size'], query_filter=flt,
                         keep=lambda summary: selected(summary, module.params))
        jobs = [job_result(entity, JOB_MODEL.read(entity), index.resolver(entity)) for entity in index.kept()]
        jobs.sort(key=lambda j: (j['name'] or '', j['backup_server'] or ''))
        return {'changed': False, 'jobs': jobs}

    module.run_safely(run)


if __name__ == '__main__':
    main()
