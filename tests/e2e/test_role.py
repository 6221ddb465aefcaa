# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role veeam_em.core.job_config: drift report in check mode, then apply, then quiet."""

from __future__ import (absolute_import, division, print_function)

from conftest import PASSWORD, USER, run_tasks


def role_task(em, jobs, **extra):
    variables = {'veeam_em_server': em.url, 'veeam_em_username': USER, 'veeam_em_password': PASSWORD,
                 'veeam_em_ca_path': em.ca_file, 'veeam_em_jobs': jobs}
    variables.update(extra)
    return {'ansible.builtin.include_role': {'name': 'veeam_em.core.job_config'}, 'vars': variables}


JOBS = [{'name': 'SQL Backup', 'schedule': {'daily': {'time': '23:05'}}, 'retention': {'restore_points': 12}},
        {'name': 'HV Backup', 'description': 'role managed'}]


def test_role_drift_report_then_apply_then_quiet(em):
    check = run_tasks(em, [role_task(em, JOBS)], check=True)
    assert check.rc == 0, check.output
    assert '"Drift (check mode, nothing changed):",' in check.output
    assert '"SQL Backup",' in check.output
    assert '"  schedule.daily.time: \\"22:00\\" -> \\"23:05\\"",' in check.output
    assert '"  retention.restore_points: 14 -> 12"' in check.output
    assert '"  description: \\"\\" -> \\"role managed\\""' in check.output
    assert check.writes() == []

    apply_ = run_tasks(em, [role_task(em, JOBS)])
    assert apply_.rc == 0, apply_.output
    assert len([e for e in apply_.writes() if e['method'] == 'PUT']) == 2
    assert 'Changed:' in apply_.output

    again = run_tasks(em, [role_task(em, JOBS)])
    assert again.rc == 0, again.output
    assert again.writes() == []
    assert 'Drift' not in again.output and 'Changed:' not in again.output


def test_role_validates_its_variables(em):
    run = run_tasks(em, [role_task(em, 'not a list')])
    assert 'veeam_em_jobs' in run.output
    assert [e for e in run.log if e['path'].startswith('/api')] == []
