#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: backup_server_info
short_description: List the Veeam backup servers an Enterprise Manager knows
version_added: 1.0.0
description:
  - Returns the backup servers (Veeam Backup & Replication servers) connected to Enterprise Manager,
    read with one query (C(GET /api/query?type=BackupServer&format=Entities)).
author:
  - veeam_em.core contributors (@veeam-em-core)
extends_documentation_fragment:
  - veeam_em.core.connection
  - veeam_em.core.attributes.INFO_MODULE
options:
  name:
    description:
      - A backup server name, or a shell-style pattern such as C(vbr*). Matching is case-sensitive.
    type: str
'''

EXAMPLES = r'''
- name: Every backup server
  veeam_em.core.backup_server_info:
  register: servers

- name: Backup servers whose name starts with vbr0
  veeam_em.core.backup_server_info:
    name: "vbr0*"
'''

RETURN = r'''
backup_servers:
  description: The matching backup servers, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The server's name in EM.
      type: str
      sample: vbr01
    id:
      description: Its UUID.
      type: str
      sample: 45f83a0f-6939-5133-9b79-cd7c5a8c93df
    uid:
      description: Its UID.
      type: str
      sample: urn:veeam:BackupServer:45f83a0f-6939-5133-9b79-cd7c5a8c93df
    description:
      description: Its description.
      type: str
      sample: Main backup server
    port:
      description: The port EM uses to reach it.
      type: int
      sample: 9392
    version:
      description: Its Veeam Backup & Replication version.
      type: str
      sample: 13.0.0.1420
'''

from ansible_collections.veeam_em.core.plugins.module_utils._infra import list_backup_servers
from ansible_collections.veeam_em.core.plugins.module_utils._module import VeeamEmModule


def main():
    module = VeeamEmModule(dict(name=dict(type='str')), supports_check_mode=True)
    module.run_safely(lambda client: {'changed': False,
                                      'backup_servers': list_backup_servers(client, module.params['name'])})


if __name__ == '__main__':
    main()
