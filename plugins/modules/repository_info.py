#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: repository_info
short_description: List Veeam backup repositories through Enterprise Manager
version_added: 1.0.0
description:
  - Returns backup repositories with their capacity and free space, read with one query
    (C(GET /api/query?type=Repository&format=Entities)).
author:
  - veeam_em.core contributors (@veeam-em-core)
extends_documentation_fragment:
  - veeam_em.core.connection
  - veeam_em.core.attributes.INFO_MODULE
options:
  name:
    description:
      - A repository name, or a shell-style pattern such as C(Backup Volume*). Matching is case-sensitive.
    type: str
  backup_server:
    description:
      - Only repositories of this backup server (its name).
    type: str
'''

EXAMPLES = r'''
- name: Repositories of vbr01
  veeam_em.core.repository_info:
    backup_server: vbr01
  register: repos

- name: Fail when a repository is over 90 percent full
  ansible.builtin.assert:
    that: item.free_space > item.capacity * 0.1
    fail_msg: "{{ item.name }} on {{ item.backup_server }} is almost full"
  loop: "{{ repos.repositories }}"
  loop_control:
    label: "{{ item.name }}"
'''

RETURN = r'''
repositories:
  description: The matching repositories, sorted by backup server and name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The repository's name.
      type: str
      sample: Backup Volume 01
    id:
      description: Its UUID.
      type: str
      sample: 0c6a1b0e-3b1d-5a49-9a52-4b7f3c2e1d10
    uid:
      description: Its UID, as a clone specification takes it (C(RepositoryUid)).
      type: str
      sample: urn:veeam:Repository:0c6a1b0e-3b1d-5a49-9a52-4b7f3c2e1d10
    backup_server:
      description: The backup server it belongs to.
      type: str
      sample: vbr01
    kind:
      description: EM's repository kind (C(WindowsLocal), C(LinuxLocal), C(CifsShare), ...), where EM shows it.
      type: str
      sample: WindowsLocal
    capacity:
      description: Capacity in bytes.
      type: int
      sample: 4398046511104
    free_space:
      description: Free space in bytes.
      type: int
      sample: 1649267441664
'''

from ansible_collections.veeam_em.core.plugins.module_utils._infra import list_repositories
from ansible_collections.veeam_em.core.plugins.module_utils._module import VeeamEmModule


def main():
    module = VeeamEmModule(dict(name=dict(type='str'), backup_server=dict(type='str')), supports_check_mode=True)
    module.run_safely(lambda client: {'changed': False, 'repositories': list_repositories(
        client, module.params['name'], module.params['backup_server'])})


if __name__ == '__main__':
    main()
