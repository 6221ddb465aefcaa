# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veeam_em.core.jobs against the emulator."""

from __future__ import (absolute_import, division, print_function)

from conftest import run_tasks


def api(run):
    return [e for e in run.log if e['path'].startswith('/api')]


def test_jobs_converges_in_one_session(em):
    config = [
        {'name': 'SQL Backup', 'description': 'bulk one', 'retention': {'type': 'restore_points', 'restore_points': 19}},
        {'name': 'Exchange Backup', 'schedule': {'retry': {'enabled': True, 'times': 9}}},
        {'name': 'File Server Backup', 'backup_server': 'vbr02', 'description': 'bulk on vbr02'},
        {'name': 'DC Replication'},
    ]
    check = run_tasks(em, [{'veeam_em.core.jobs': {'config': config}}], check=True, diff=True)
    c = check.results[0]
    assert c['changed'] is True and not c.get('failed'), c.get('msg')
    assert [j['changed'] for j in c['jobs']] == [True, True, True, False]
    assert check.writes() == []

    # the same values as strings ansible converts: the entries go through ansible's whole validation, same outcome
    converted = [dict(config[0], retention={'type': 'restore_points', 'restore_points': '19'}),
                 {'name': 'Exchange Backup', 'schedule': {'retry': {'enabled': 'yes', 'times': '9'}}}] + config[2:]
    run = run_tasks(em, [{'veeam_em.core.jobs': {'config': config}}, {'veeam_em.core.jobs': {'config': config}},
                         {'veeam_em.core.jobs': {'config': converted}}], diff=True)
    first, second, third = run.results
    assert third['changed'] is False and not third.get('failed'), third.get('msg')
    assert [j['changed'] for j in third['jobs']] == [False] * 4
    assert not first.get('failed'), first.get('msg')
    assert [j['name'] for j in first['jobs']] == ['SQL Backup', 'Exchange Backup', 'File Server Backup (vbr02)',
                                                  'DC Replication']
    assert [j['changed'] for j in first['jobs']] == [True, True, True, False]
    assert all(j['task']['state'] == 'Finished' for j in first['jobs'][:3])
    s1, s2, s3 = run.sessions()
    assert len([e for e in s1 if e['method'] == 'PUT']) == 3
    assert second['changed'] is False and [e for e in s2 if e['method'] == 'PUT'] == []
    assert [e for e in s3 if e['method'] == 'PUT'] == []
    reads = [e for e in s2 if e['method'] == 'GET' and e['path'].startswith('/api/')]
    assert len([e for e in reads if e['path'].rstrip('/') == '/api/query']) == 1
    assert first['jobs'][0]['diff']['after'] == {'description': 'bulk one', 'retention': {'restore_points': 19}}


def test_jobs_one_failure_does_not_stop_the_others(em):
    run = run_tasks(em, [{'veeam_em.core.jobs': {'config': [
        {'name': 'No Such Job', 'description': 'x'},
        {'name': 'SQL Backup', 'description': 'still done'},
    ]}}])
    r = run.results[0]
    assert r['failed'] is True and 'No Such Job' in r['msg'] and '1 of 2' in r['msg']
    assert r['jobs'][0]['failed'] is True and r['jobs'][1]['changed'] is True
    assert b'still done' in em.raw_xml(em.job('SQL Backup')['id'])


def test_jobs_bad_entry_fails_before_any_request(em):
    run = run_tasks(em, [{'veeam_em.core.jobs': {'config': [
        {'name': 'SQL Backup', 'description': 'fine'},
        {'name': 'Exchange Backup', 'schedule': {'daily': {'time': '99:00'}}},
    ]}}])
    r = run.results[0]
    assert r['failed'] is True and 'config[1]' in r['msg'] and 'schedule.daily.time' in r['msg']
    assert api(run) == []


def test_jobs_deletes_entries_with_state_absent(em):
    doomed = em.job('Chained Backup')
    run = run_tasks(em, [{'veeam_em.core.jobs': {'config': [
        {'name': 'Chained Backup', 'state': 'absent'},
        {'name': 'No Such Job Either', 'state': 'absent'},
        {'name': 'SQL Backup', 'description': 'kept'},
    ]}}])
    r = run.results[0]
    assert not r.get('failed'), r.get('msg')
    assert [j['changed'] for j in r['jobs']] == [True, False, True]
    assert doomed['id'] not in [j['id'] for j in em.jobs()]


def test_jobs_creates_a_missing_job_by_cloning(em):
    config = [{'name': 'Bulk Clone', 'clone_from': {'job': 'SQL Backup', 'repository': 'Default Backup Repository'},
               'description': 'made by jobs'},
              # issue 12 #4 and #5: the source's repository by default; "ambiguous" in a name means nothing
              {'name': 'An ambiguous clone', 'clone_from': 'Exchange Backup'}]
    run = run_tasks(em, [{'veeam_em.core.jobs': {'config': config}}, {'veeam_em.core.jobs': {'config': config}}])
    first, second = run.results
    assert not first.get('failed'), first.get('msg')
    assert first['jobs'][0]['changed'] is True and first['jobs'][0]['task']['operation'] == 'CloneJob'
    assert first['jobs'][1]['changed'] is True and first['jobs'][1]['clone']['repository'] == 'Backup Volume 01'
    assert second['changed'] is False
    assert [j['name'] for j in em.jobs()].count('Bulk Clone') == 1
    assert em.job('An ambiguous clone')['meta']['repository_uid'].endswith(
        [b['repository_id'] for b in em.control('GET', 'backups').json() if b['job_name'] == 'Exchange Backup'][0])
