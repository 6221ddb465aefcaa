# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veeam_em.core.job_info against the emulator."""

from __future__ import (absolute_import, division, print_function)

from conftest import run_tasks


def api(run):
    return [e for e in run.log if e['path'].startswith('/api')]


def test_job_info_reads_all_jobs_with_one_query(em):
    run = run_tasks(em, [{'veeam_em.core.job_info': {}}])
    r = run.results[0]
    assert not r.get('failed'), r.get('msg')
    seeded = sorted((j['name'], j['backup_server']) for j in em.jobs())
    assert sorted((j['name'], j['backup_server']) for j in r['jobs']) == seeded
    queries = [e for e in api(run) if e['path'].rstrip('/') == '/api/query']
    assert len(queries) == 1
    assert not [e for e in api(run) if e['path'].startswith('/api/jobs')], 'no per-job GET'
    for job in r['jobs']:
        assert set(job) == {'id', 'uid', 'name', 'job_type', 'platform', 'backup_server', 'settings'}


def test_job_info_filters(em):
    run = run_tasks(em, [
        {'veeam_em.core.job_info': {'name': '*Backup', 'job_type': 'backup', 'backup_server': 'vbr01'}},
        {'veeam_em.core.job_info': {'name': 'File Server Backup'}},
        {'veeam_em.core.job_info': {'id': em.job('DC Replication')['id']}},
        {'veeam_em.core.job_info': {'job_type': 'replica'}},
        {'veeam_em.core.job_info': {'name': 'sql backup'}},
    ])
    pattern, exact, by_id, replicas, wrong_case = run.results
    assert pattern['jobs'] and all(j['name'].endswith('Backup') and j['job_type'] == 'Backup'
                                   and j['backup_server'] == 'vbr01' for j in pattern['jobs'])
    assert sorted(j['backup_server'] for j in exact['jobs']) == ['vbr01', 'vbr02']
    assert [j['name'] for j in by_id['jobs']] == ['DC Replication']
    assert replicas['jobs'] and all(j['job_type'] == 'Replica' for j in replicas['jobs'])
    assert wrong_case['jobs'] == []


def test_job_info_paging_follows_next_links(em):
    run = run_tasks(em, [{'veeam_em.core.job_info': {'page_size': 2}}])
    r = run.results[0]
    assert len(r['jobs']) == len(em.jobs())
    pages = [e for e in api(run) if e['path'].rstrip('/') == '/api/query']
    assert len(pages) == -(-len(em.jobs()) // 2)
