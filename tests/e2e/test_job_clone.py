# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veeam_em.core.job's clone_from against the emulator."""

from __future__ import (absolute_import, division, print_function)

from conftest import run_tasks


def test_clone_creates_then_applies_settings_then_is_idempotent(em):
    task = {'veeam_em.core.job': {'name': 'SQL Backup Clone', 'description': 'cloned by Ansible',
                                  'clone_from': {'job': 'SQL Backup', 'repository': 'Backup Volume 01'},
                                  'retention': {'type': 'restore_points', 'restore_points': 5}}}
    check = run_tasks(em, [task], check=True, diff=True)
    c = check.results[0]
    assert c['changed'] is True and not c.get('failed'), c.get('msg')
    assert c['job']['name'] == 'SQL Backup Clone' and c['job']['settings']['retention']['restore_points'] == 5
    assert check.writes() == [] and 'SQL Backup Clone' not in [j['name'] for j in em.jobs()]
    run = run_tasks(em, [task, task])
    first, second = run.results
    assert not first.get('failed'), first.get('msg')
    assert first['changed'] is True and first['task']['operation'] == 'CloneJob'
    assert first['job']['name'] == 'SQL Backup Clone' and first['job']['settings']['description'] == 'cloned by Ansible'
    assert first['job']['settings']['retention']['restore_points'] == 5
    assert second['changed'] is False and not second.get('failed')
    clones = [j for j in em.jobs() if j['name'] == 'SQL Backup Clone']
    assert len(clones) == 1 and clones[0]['backup_server'] == 'vbr01'
    assert len([e for e in run.log if 'action=clone' in (e.get('query') or '')]) == 1


def test_clone_replica_and_refusals(em):
    run = run_tasks(em, [
        {'veeam_em.core.job': {'name': 'DC Replication DR', 'clone_from': 'DC Replication'}},
        {'veeam_em.core.job': {'name': 'No Repo Clone', 'clone_from': 'SQL Backup'}},
        {'veeam_em.core.job': {'name': 'X' * 51, 'clone_from': 'SQL Backup'}},
        {'veeam_em.core.job': {'name': 'SQL Backup', 'clone_from': 'Exchange Backup', 'description': 'exists'}},
    ])
    replica, no_repo, too_long, existing = run.results
    assert not replica.get('failed'), replica.get('msg')
    assert replica['job']['job_type'] == 'Replica'
    meta = [j for j in em.jobs() if j['name'] == 'DC Replication DR'][0].get('meta') or {}
    assert '_replica' in str(meta)
    assert no_repo['failed'] is True and 'clone_from.repository' in no_repo['msg']
    assert too_long['failed'] is True and '50' in too_long['msg']
    assert existing['changed'] is True and not existing.get('failed')
    assert len([e for e in run.log if 'action=clone' in (e.get('query') or '')]) == 1
