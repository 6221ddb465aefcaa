# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    """Connection options shared by every module of the collection."""

    DOCUMENTATION = r'''
options:
  server:
    description:
      - The Enterprise Manager to talk to, as C(host), C(host:port) or C(https://host:port).
      - If not set, the value of the E(VEEAM_EM_SERVER) environment variable is used.
    type: str
    required: true
  port:
    description:
      - TCP port of the EM REST API; ignored when O(server) carries a port.
      - If not set, the value of the E(VEEAM_EM_PORT) environment variable is used, then C(9398).
    type: int
  username:
    description:
      - An EM account with the Portal Administrator role, for example C(DOMAIN\\user).
      - If not set, the value of the E(VEEAM_EM_USERNAME) environment variable is used.
    type: str
    required: true
  password:
    description:
      - The account's password. It never appears in results, warnings or errors.
      - If not set, the value of the E(VEEAM_EM_PASSWORD) environment variable is used.
    type: str
    required: true
  validate_certs:
    description:
      - Verify the EM's TLS certificate. Only set C(false) for a throwaway test server.
      - If not set, the value of the E(VEEAM_EM_VALIDATE_CERTS) environment variable is used, then C(true).
    type: bool
  ca_path:
    description:
      - A PEM file of CA certificates to trust for the EM's certificate, instead of the system store.
      - If not set, the value of the E(VEEAM_EM_CA_PATH) environment variable is used.
    type: path
  request_timeout:
    description:
      - Seconds to wait for each HTTP answer. Reads are retried on transport errors and
        HTTP 429, 502, 503 and 504 with jittered backoff; writes are never sent twice.
    type: float
    default: 30
notes:
  - Every run logs on to EM once, and logs off at the end, also when it fails.
  - All modules of the collection form the action group C(veeam_em.core.em), so
    C(module_defaults) can set these options once for all of them.
requirements:
  - requests
  - lxml
'''
