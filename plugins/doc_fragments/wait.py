# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    """Options for waiting on EM tasks."""

    DOCUMENTATION = r'''
options:
  wait:
    description:
      - Wait for the EM task of every change to finish, then read the job back and check it.
      - With C(false) the module returns the task as EM accepted it (state C(Running)). A write EM answers at once
        (C(200), C(201), C(204)) has no task and is checked either way.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for a task. Past it the module fails, naming the task and its last state.
      - Tasks are polled after 1 second, then 1.5 times longer each time, at most every 10 seconds.
    type: int
    default: 900
'''
