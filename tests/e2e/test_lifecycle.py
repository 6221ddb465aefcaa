# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veeam_em.core.job_include, veeam_em.core.job_run and job's clone_from against the emulator."""

from __future__ import (absolute_import, division, print_function)

from conftest import run_tasks


def writes(run):
    return [e for e in run.log if e['path'].startswith('/api/') and e['method'] in ('POST', 'PUT', 'DELETE')
            and '/sessionMngr' not in e['path'] and '/logonSessions/' not in e['path']
            and not e['path'].startswith('/api/tasks/')]


def include(**args):
    return {'veeam_em.core.job_include': args}


def names(result):
    return sorted(o['name'] for o in result['objects'])


# -- includes ----------------------------------------------------------------


def test_include_add_is_idempotent_and_check_mode_writes_nothing(em):
    check = run_tasks(em, [include(name='SQL Backup', objects=[{'name': 'web01'}])], check=True)
    c = check.results[0]
    assert c['changed'] is True and c['added'] == ['web01'] and writes(check) == []
    assert names(c) == ['sql01', 'sql02', 'web01']
    run = run_tasks(em, [include(name='SQL Backup', objects=[{'name': 'web01', 'root': 'vc01'}]),
                         include(name='SQL Backup', objects=[{'name': 'web01'}, {'name': 'sql01'}])])
    first, second = run.results
    assert not first.get('failed'), first.get('msg')
    assert first['changed'] is True and first['added'] == ['web01'] and first['removed'] == []
    assert names(first) == ['sql01', 'sql02', 'web01']
    assert first['tasks'][0]['operation'] == 'UpdateJob' and first['tasks'][0]['state'] == 'Finished'
    web01 = [o for o in first['objects'] if o['name'] == 'web01'][0]
    assert web01['type'] == 'vm' and web01['ref'].lower().endswith('.vm-6001') and web01['id']
    assert second['changed'] is False and second['added'] == [] and second['tasks'] == []
    s1, s2 = run.sessions()
    assert len([e for e in s1 if e['method'] == 'POST' and e['path'].endswith('/includes')]) == 1
    assert not [e for e in s2 if e['method'] in ('POST', 'DELETE') and '/includes' in e['path']]


def test_include_purge_adds_before_removing_and_absent_removes(em):
    run = run_tasks(em, [
        include(name='Chained Backup', objects=[{'name': 'web02'}], purge=True),
        include(name='Chained Backup', objects=[{'name': 'web02'}], purge=True),
        include(name='Exchange Backup', objects=[{'name': 'exch02'}], state='absent'),
    ])
    purge, again, absent = run.results
    assert not purge.get('failed'), purge.get('msg')
    assert purge['added'] == ['web02'] and purge['removed'] == ['app01'] and names(purge) == ['web02']
    ops = [e for e in run.sessions()[0] if '/includes' in e['path'] and e['method'] in ('POST', 'DELETE')]
    assert [e['method'] for e in ops] == ['POST', 'DELETE'], 'additions go first, so the last object can be replaced'
    assert again['changed'] is False
    assert absent['removed'] == ['exch02'] and names(absent) == ['exch01']


def test_include_unresolvable_object_writes_nothing(em):
    run = run_tasks(em, [include(name='SQL Backup', objects=[{'name': 'web01'}, {'name': 'no-such-vm'},
                                                             {'name': 'Production', 'type': 'folder', 'root': 'vc9'}])])
    r = run.results[0]
    assert r['failed'] is True
    assert 'no-such-vm' in r['msg'] and 'not found' in r['msg'] and 'vc9' in r['msg']
    assert writes(run) == []


def test_include_never_removes_the_last_object(em):
    run = run_tasks(em, [include(name='DC Replication', objects=[{'name': 'dc01'}], state='absent')])
    r = run.results[0]
    assert r['failed'] is True and 'no object' in r['msg'] and 'dc01' in r['msg']
    assert writes(run) == []


def test_include_other_object_types_and_copy_jobs(em):
    run = run_tasks(em, [
        include(name='SQL Backup', objects=[{'name': 'Production', 'type': 'folder'}, {'name': 'Gold', 'type': 'tag'}]),
        include(name='Periodic Copy', objects=[{'name': 'web01'}]),
    ])
    containers, copy_job = run.results
    assert not containers.get('failed'), containers.get('msg')
    assert sorted((o['name'], o['type']) for o in containers['objects'] if o['name'] in ('Production', 'Gold')) == [
        ('Gold', 'tag'), ('Production', 'folder')]
    assert copy_job['failed'] is True and 'BackupCopy' in copy_job['msg']


# -- runs --------------------------------------------------------------------


def run_job(**args):
    return {'veeam_em.core.job_run': args}


def test_run_start_waits_for_success(em):
    em.control('PATCH', 'config', json={'session_seconds': 2})
    run = run_tasks(em, [run_job(name='SQL Backup', action='start')])
    r = run.results[0]
    assert not r.get('failed'), r.get('msg')
    assert r['changed'] is True and r['task']['operation'] == 'StartJob'
    assert r['session']['state'] == 'Stopped' and r['session']['result'] == 'Success'
    assert r['session']['name'].startswith('SQL Backup@') and r['session']['end_time']


def test_run_warning_and_failure(em):
    em.control('PATCH', 'config', json={'session_seconds': 1})
    em.fault(next_session_result='Warning')
    warned = run_tasks(em, [run_job(name='SQL Backup', action='start')]).results[0]
    assert warned['failed'] is True and 'Warning' in warned['msg'] and 'allow_warning' in warned['msg']
    em.fault(next_session_result='Warning')
    allowed = run_tasks(em, [run_job(name='SQL Backup', action='start', allow_warning=True)]).results[0]
    assert not allowed.get('failed') and allowed['session']['result'] == 'Warning'
    em.fault(next_session_result='Failed')
    run = run_tasks(em, [run_job(name='Exchange Backup', action='start'),
                         run_job(name='Exchange Backup', action='retry')])
    failed, retried = run.results
    assert failed['failed'] is True and failed['changed'] is True and failed['session']['result'] == 'Failed'
    assert not retried.get('failed'), retried.get('msg')
    assert retried['task']['operation'] == 'RetryJob' and retried['session']['result'] == 'Success'


def test_run_retry_refused_after_success(em):
    em.control('PATCH', 'config', json={'session_seconds': 1})
    run = run_tasks(em, [run_job(name='HV Backup', action='start'), run_job(name='HV Backup', action='retry')])
    ok, retry = run.results
    assert not ok.get('failed'), ok.get('msg')
    assert retry['failed'] is True and 'retry' in retry['msg'] and 'Success' in retry['msg']
    assert len([e for e in run.log if 'action=retry' in (e.get('query') or '')]) == 0


def test_run_start_twice_and_stop(em):
    em.control('PATCH', 'config', json={'session_seconds': 6})
    run = run_tasks(em, [
        run_job(name='SQL Backup', action='start', wait=False),
        run_job(name='SQL Backup', action='start', wait=False),
        run_job(name='SQL Backup', action='stop'),
        run_job(name='SQL Backup', action='stop'),
    ])
    started, again, stopped, nothing = run.results
    assert started['changed'] is True and not started.get('failed'), started.get('msg')
    starts = [e for e in run.log if e['method'] == 'POST' and 'action=start' in (e.get('query') or '')]
    assert len(starts) == 1, 'a running job is not started twice'
    assert again['changed'] is False and again['session']['state'] != 'Stopped'
    assert stopped['changed'] is True and not stopped.get('failed'), stopped.get('msg')
    assert stopped['session']['state'] == 'Stopped'
    assert nothing['changed'] is False and not nothing.get('failed')


def test_run_actions_by_job_type_and_timeout(em):
    em.control('PATCH', 'config', json={'session_seconds': 30})
    run = run_tasks(em, [
        run_job(name='Periodic Copy', action='start'),
        run_job(name='SQL Backup', action='sync'),
        run_job(name='Periodic Copy', action='sync', wait_timeout=3),
    ])
    start_copy, sync_backup, slow = run.results
    assert start_copy['failed'] is True and 'sync' in start_copy['msg']
    assert sync_backup['failed'] is True and 'start, stop, retry' in sync_backup['msg']
    assert slow['failed'] is True and slow['changed'] is True
    assert 'Periodic Copy@' in slow['msg'] and ('Working' in slow['msg'] or 'Starting' in slow['msg'])
    assert len([e for e in run.log if e['method'] == 'POST' and 'action=' in (e.get('query') or '')]) == 1


# -- clone -------------------------------------------------------------------


def test_clone_creates_then_applies_settings_then_is_idempotent(em):
    task = {'veeam_em.core.job': {'name': 'SQL Backup Clone', 'description': 'cloned by Ansible',
                                  'clone_from': {'job': 'SQL Backup', 'repository': 'Backup Volume 01'},
                                  'retention': {'type': 'restore_points', 'restore_points': 5}}}
    check = run_tasks(em, [task], check=True, diff=True)
    c = check.results[0]
    assert c['changed'] is True and not c.get('failed'), c.get('msg')
    assert c['job']['name'] == 'SQL Backup Clone' and c['job']['settings']['retention']['restore_points'] == 5
    assert writes(check) == [] and 'SQL Backup Clone' not in [j['name'] for j in em.jobs()]
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
