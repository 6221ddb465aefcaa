#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: cloud_info
short_description: Read a Veeam Cloud Connect provider's infrastructure
version_added: 1.0.0
description:
  - Reads hardware plans, cloud gateways, gateway pools, WAN accelerators, public IP addresses and VLAN
    configurations through Enterprise Manager (EM), one list per subset.
  - Hardware plans, gateways and gateway pools come in the option shape of M(veeam_em.core.cloud_hardware_plan),
    M(veeam_em.core.cloud_gateway) and M(veeam_em.core.cloud_gateway_pool), so an entry fed back to its module
    changes nothing.
author:
  - veeam_em.core contributors (@veeam-em-core)
extends_documentation_fragment:
  - veeam_em.core.connection
  - veeam_em.core.attributes.INFO_MODULE
options:
  gather_subset:
    description:
      - What to read; all of it when left out.
    type: list
    elements: str
    choices: [hardware_plans, gateways, gateway_pools, wan_accelerators, public_ip_addresses, vlans]
  backup_server:
    description:
      - Only what this backup server (as EM lists it) holds; every backup server's when left out.
    type: str
notes:
  - Veeam Cloud Connect needs a Windows EM with the Cloud Connect service-provider licence; without it the module
    fails at once, saying so. It runs as Portal Administrator or Portal User.
seealso:
  - module: veeam_em.core.cloud_hardware_plan
  - module: veeam_em.core.cloud_gateway
  - module: veeam_em.core.cloud_gateway_pool
'''

EXAMPLES = r'''
- name: Read the gateways and pools of vbr01
  veeam_em.core.cloud_info:
    backup_server: vbr01
    gather_subset: [gateways, gateway_pools]
  register: infra

- name: Apply them again as they are (changes nothing)
  veeam_em.core.cloud_gateway_pool: "{{ item }}"
  loop: "{{ infra.gateway_pools }}"
'''

RETURN = r'''
hardware_plans:
  description: The hardware plans, in the option shape of M(veeam_em.core.cloud_hardware_plan) (with C(id)).
  returned: when gathered
  type: list
  elements: dict
gateways:
  description: The cloud gateways, in the option shape of M(veeam_em.core.cloud_gateway) (with C(id)).
  returned: when gathered
  type: list
  elements: dict
gateway_pools:
  description: The gateway pools, in the option shape of M(veeam_em.core.cloud_gateway_pool) (with C(id)).
  returned: when gathered
  type: list
  elements: dict
wan_accelerators:
  description: The WAN accelerators (C(id), C(uid), C(name), C(backup_server), C(description), C(capacity_gb),
    C(traffic_port), C(connections), C(cache_path), C(high_bandwidth), C(version)).
  returned: when gathered
  type: list
  elements: dict
public_ip_addresses:
  description: The public IP addresses of the provider (C(id), C(uid), C(backup_server), C(ip_address)).
  returned: when gathered
  type: list
  elements: dict
vlans:
  description: The VLAN configurations (C(id), C(uid), C(name), C(backup_server), and EM's elements as EM names
    them, such as C(HostRef), C(SwitchName), C(VlanIdsWithInternetLeftBound)).
  returned: when gathered
  type: list
  elements: dict
'''

from ansible_collections.veeam_em.core.plugins.module_utils._cloud_infra_models import SUBSETS, gather
from ansible_collections.veeam_em.core.plugins.module_utils._module import VeeamEmModule


def main():
    module = VeeamEmModule({'gather_subset': {'type': 'list', 'elements': 'str', 'choices': list(SUBSETS)},
                            'backup_server': {'type': 'str'}}, supports_check_mode=True)
    subsets = [s for s in SUBSETS if s in (module.params['gather_subset'] or SUBSETS)]
    module.run_safely(lambda client: dict(gather(client, subsets, module.params['backup_server']), changed=False))


if __name__ == '__main__':
    main()
