# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' drift report and fleet summary filters."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.veeam_em.core.plugins.filter.report import FilterModule, drift_report, fleet_summary

RESULT = {'changed': True, 'jobs': [
    {'name': 'SQL Backup (vbr01)', 'changed': True, 'failed': False, 'task': {'id': 'task-7'},
     'diff': {'before': {'schedule': {'daily': {'time': '22:00', 'kind': 'everyday'}}, 'retention': {'restore_points': 14}},
              'after': {'schedule': {'daily': {'time': '23:05', 'kind': 'everyday'}}, 'retention': {'restore_points': 12}}}},
    {'name': 'HV Backup (vbr01)', 'changed': False, 'failed': False},
    {'name': 'DC Replication (vbr02)', 'changed': True, 'failed': False,
     'diff': {'before': {'description': '', 'gfs': None}, 'after': {'description': 'x', 'gfs': {'weekly': True}}}},
]}


def test_drift_report_lists_changed_entries_and_only_the_leaves_that_differ():
    assert drift_report(RESULT, 'jobs', True) == [
        'Drift (check mode, nothing changed):',
        'SQL Backup (vbr01) [task task-7]',
        '  schedule.daily.time: "22:00" -> "23:05"',
        '  retention.restore_points: 14 -> 12',
        'DC Replication (vbr02)',
        '  description: "" -> "x"',
        '  gfs: null -> {"weekly": true}',
    ]


def test_drift_report_names_every_task_of_an_entry_and_says_changed_outside_check_mode():
    result = {'tenants': [{'name': 'acme', 'changed': True, 'tasks': [{'id': 'task-1'}, {'id': 'task-2'}]}]}
    assert drift_report(result, 'tenants') == ['Changed:', 'acme [task task-1, task-2]']


def test_drift_report_refuses_a_result_without_its_list():
    with pytest.raises(AnsibleFilterError, match="'tenants' list"):
        drift_report({'failed': True, 'msg': 'logon refused'}, 'tenants')


def test_fleet_summary_one_line_per_host():
    hostvars = {
        'em-east': {'r': {'jobs': [{'name': 'A', 'changed': False}]}},
        'em-west': {'r': {'jobs': [{'name': 'A', 'changed': True}, {'name': 'B', 'changed': False, 'failed': True}]}},
        'em-north': {'r': {'failed': True, 'msg': 'cannot reach https://em-north:9398'}},
        'em-south': {},
    }
    assert fleet_summary(['em-east', 'em-west', 'em-north', 'em-south'], hostvars, 'r', 'jobs', True) == [
        'Drift over 4 EM hosts (jobs):',
        'em-east: no difference',
        'em-west: A (failed: B)',
        'em-north: not applied: cannot reach https://em-north:9398',
        'em-south: not applied (failed or unreachable before the role ran, or exported)',
    ]
    assert fleet_summary([], {}, 'r', 'jobs') == ['Changed over 0 EM hosts (jobs):']


def test_the_filters_are_exported():
    assert set(FilterModule().filters()) == {'drift_report', 'fleet_summary'}
