# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veeam_em.core.job_run against the emulator."""

from __future__ import (absolute_import, division, print_function)

from conftest import run_tasks


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
    # The job session must outlast the two starts, however busy the machine: the stop ends it, so a long
    # one costs nothing (12 s was not enough for a -vvv run beside other lanes on two cores).
    em.control('PATCH', 'config', json={'session_seconds': 300})
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
    # the start task showed OperationFinished (as in the vendor's StartJob example) and was followed to Finished
    assert started['task']['state'] == 'Finished' and started['task']['success'] is True
    start_task = [t for t in em.control('GET', 'tasks').json() if t['operation'] == 'StartJob'][0]
    assert start_task['history'] == ['Running', 'OperationFinished', 'Finished']


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
