# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    """How modules that act on one job find it."""

    DOCUMENTATION = r'''
options:
  name:
    description:
      - The exact job name, as the Veeam console shows it.
      - Job names are unique per backup server only; when several backup servers have a job of that name, set
        O(backup_server). A name that matches no job fails with the close names listed.
      - Exactly one of O(name) and O(id) is required.
    type: str
  id:
    description:
      - The job's id, a bare UUID or C(urn:veeam:Job:<UUID>).
    type: str
  backup_server:
    description:
      - Name of the backup server the job belongs to, to tell apart jobs that share a name.
    type: str
'''
