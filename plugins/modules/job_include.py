#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: job_include
short_description: Keep the VMs and containers a Veeam backup or replication job protects as declared
version_added: 0.1.0
description:
  - Adds objects to a job's includes (C(POST /api/jobs/{id}/includes)) or removes them
    (C(DELETE /api/jobs/{id}/includes/{objectInJobId})), waiting for EM's task of each.
  - Objects are found by name through EM's lookup service in the hierarchy roots (vCenter, ESXi or Hyper-V
    hosts) of the job's backup server. An object that cannot be found, or that several roots or places hold,
    fails the run before anything is written, even the objects that did resolve.
  - Additions are sent before removals, so that O(purge) can replace a job's only object; a run that would
    leave the job with no object at all fails before any write, since EM refuses to remove the last one.
  - Backup and replication jobs only; backup copy jobs take their sources from linked jobs instead.
author:
  - veeam_em.core contributors (@veeam-em-core)
extends_documentation_fragment:
  - veeam_em.core.job_identity
  - veeam_em.core.connection
  - veeam_em.core.wait
  - veeam_em.core.attributes
options:
  objects:
    description:
      - The objects to include (or, with O(state=absent), to remove).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The object's name as the hypervisor shows it (exact, case-sensitive).
        type: str
        required: true
      type:
        description:
          - What kind of object it is.
        type: str
        default: vm
        choices: [vm, folder, host, cluster, datacenter, datastore, resource_pool, vapp, tag]
      root:
        description:
          - The hierarchy root (vCenter Server, ESXi or Hyper-V host, as registered in Veeam) to look in,
            needed when several roots hold an object of that name.
        type: str
  state:
    description:
      - C(present) includes the objects; C(absent) removes those of them that are included.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also remove every included object that O(objects) does not list.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Protect two more VMs with the SQL backup job
  veeam_em.core.job_include:
    name: SQL Backup
    objects:
      - name: web01
      - name: web02
        root: vc01

- name: Protect exactly one folder, removing everything else
  veeam_em.core.job_include:
    name: Exchange Backup
    objects:
      - {name: Production, type: folder}
    purge: true

- name: Stop protecting a VM
  veeam_em.core.job_include:
    name: SQL Backup
    objects:
      - name: sql02
    state: absent
'''

RETURN = r'''
objects:
  description: The job's included objects after the run (in check mode, the ones it would have).
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The object's name.
      type: str
      sample: sql01
    type:
      description: Its kind (C(vm), C(folder), ...), from its reference.
      type: str
      sample: vm
    ref:
      description: Its hierarchy reference in EM.
      type: str
      sample: urn:VMware:Vm:7f6b6270-1f3b-4dc6-872f-2d1dfc519c00.vm-1401
    id:
      description: The include's id in the job (C(ObjectInJobId)); empty for one only predicted in check mode.
      type: str
      sample: c0a8e1f4-8e7b-4d2a-9c1e-3f0b8a7d6e51
added:
  description: Names of the objects added.
  returned: always
  type: list
  elements: str
  sample: [sql02]
removed:
  description: Names of the objects removed.
  returned: always
  type: list
  elements: str
  sample: []
tasks:
  description: The EM task of each addition and removal, in the order sent.
  returned: always
  type: list
  elements: dict
  sample: [{id: task-1, state: Finished, operation: UpdateJob, success: true, message: Ok}]
'''

from ansible_collections.veeam_em.core.plugins.module_utils import _includes
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError, VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._jobs import JobIndex, job_summary, parse_job_id
from ansible_collections.veeam_em.core.plugins.module_utils._module import VeeamEmModule


def main():
    module = VeeamEmModule(dict(
        name=dict(type='str'),
        id=dict(type='str'),
        backup_server=dict(type='str'),
        objects=dict(type='list', elements='dict', required=True, options=dict(
            name=dict(type='str', required=True),
            type=dict(type='str', default='vm', choices=sorted(_includes.OBJECT_TYPES)),
            root=dict(type='str'),
        )),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        purge=dict(type='bool', default=False),
    ), with_wait=True, supports_check_mode=True, required_one_of=[('name', 'id')], mutually_exclusive=[('name', 'id')])
    p = module.params
    try:
        if p['id']:
            parse_job_id(p['id'])
        if p['purge'] and p['state'] == 'absent':
            raise ValidationError('purge: only used with state present', option='purge')
        if not p['objects'] and p['state'] == 'present' and p['purge']:
            raise ValidationError('objects: a job cannot be left with no object (EM refuses to remove the last one)',
                                  option='objects')
    except ValidationError as exc:
        module.fail_from(exc)

    def run(client):
        entity = JobIndex(client).find(name=p['name'], job_id=p['id'], backup_server=p['backup_server'])
        job = job_summary(entity)
        if job['job_type'] not in ('Backup', 'Replica'):
            raise ValidationError('job %r is a %s job: only backup and replication jobs have includes'
                                  % (job['name'], job['job_type']), option='name')
        current = _includes.included(client, job['id'])
        resolved = _includes.resolve_objects(client, p['objects'], job['backup_server'])
        to_add, to_remove = _includes.plan(current, resolved, p['state'], p['purge'])
        remaining = len(current) + len(to_add) - len(to_remove)
        if to_remove and remaining < 1:
            raise ValidationError('removing %s would leave job %r with no object, which EM refuses; include '
                                  'another object first' % (', '.join(o['name'] for o in to_remove), job['name']),
                                  option='objects')
        result = {'changed': bool(to_add or to_remove), 'added': [o['name'] for o in to_add],
                  'removed': [o['name'] for o in to_remove], 'tasks': []}
        if module.check_mode or not result['changed']:
            kept = [c for c in current if not any(c['ref'] == r['ref'] for r in to_remove)]
            result['objects'] = kept + [dict(o, id='') for o in to_add]
            for obj in result['objects']:
                obj.pop('root', None)
            return result
        try:
            for obj in to_add:
                result['tasks'].append(_includes.run_task(client, _includes.add(client, job['id'], obj), p['wait'],
                                                          p['wait_timeout'], 'adding %s' % obj['name']))
            for obj in to_remove:
                result['tasks'].append(_includes.run_task(client, _includes.remove(client, job['id'], obj), p['wait'],
                                                          p['wait_timeout'], 'removing %s' % obj['name']))
        except VeeamEmError as exc:
            task = getattr(exc, 'task', None)
            if task:
                result['tasks'].append(dict((k, v) for k, v in task.items() if k != 'href'))
            exc.result = result
            raise
        result['objects'] = _includes.included(client, job['id'])
        return result

    module.run_safely(run)


if __name__ == '__main__':
    main()
