# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""job and jobs under each way EM may answer a PUT (put_method.md): 202 with a task, or 200 at once.

One ansible-playbook run per module and answer: a check-mode task, the change, and the same again.
"""

from __future__ import (absolute_import, division, print_function)

import pytest

from conftest import run_tasks

ANSWERS = ['202', '200-empty', '200-resource']


def api(session, method):
    return [e for e in session if e['method'] == method and e['path'].startswith('/api/')]


def polls(session):
    return [e for e in api(session, 'GET') if e['path'].startswith('/api/tasks/')]


@pytest.mark.parametrize('answer', ANSWERS)
def test_job_under_each_put_answer(em, answer):
    em.control('PATCH', 'config', json={'put_answer': answer})
    job = {'name': 'SQL Backup', 'description': 'answered %s' % answer, 'schedule': {'retry': {'times': 7}},
           'wait_timeout': 30}
    run = run_tasks(em, [{'veeam_em.core.job': job, 'check_mode': True},
                         {'veeam_em.core.job': job}, {'veeam_em.core.job': job}])
    check, first, second = run.results
    s_check, s1, s2 = run.sessions()
    assert check['changed'] is True and not check.get('failed') and api(s_check, 'PUT') == []
    assert first['changed'] is True and not first.get('failed'), first.get('msg')
    assert first['job']['settings']['description'] == 'answered %s' % answer
    assert len(api(s1, 'PUT')) == 1
    if answer == '202':
        assert first['task']['state'] == 'Finished' and first['task']['success'] is True and polls(s1)
    else:
        assert 'task' not in first and polls(s1) == []
    assert second['changed'] is False and not second.get('failed') and api(s2, 'PUT') == []
    stored = em.raw_xml(em.job('SQL Backup')['id'])
    assert b'<Description>answered %s</Description>' % answer.encode() in stored
    assert b'<RetryTimes>7</RetryTimes>' in stored


@pytest.mark.parametrize('answer', ANSWERS)
def test_jobs_under_each_put_answer(em, answer):
    em.control('PATCH', 'config', json={'put_answer': answer})
    config = [{'name': 'SQL Backup', 'description': 'bulk %s' % answer},
              {'name': 'Exchange Backup', 'retention': {'type': 'restore_points', 'restore_points': 21}},
              {'name': 'DC Replication'}]
    args = {'config': config, 'wait_timeout': 30}
    run = run_tasks(em, [{'veeam_em.core.jobs': args, 'check_mode': True},
                         {'veeam_em.core.jobs': args}, {'veeam_em.core.jobs': args}])
    check, first, second = run.results
    s_check, s1, s2 = run.sessions()
    assert check['changed'] is True and api(s_check, 'PUT') == []
    assert [j['changed'] for j in check['jobs']] == [True, True, False]
    assert first['changed'] is True and not first.get('failed'), first.get('msg')
    assert [j['changed'] for j in first['jobs']] == [True, True, False]
    assert len(api(s1, 'PUT')) == 2
    if answer == '202':
        assert all(j['task']['state'] == 'Finished' for j in first['jobs'][:2]) and polls(s1)
    else:
        assert all('task' not in j for j in first['jobs']) and polls(s1) == []
    assert second['changed'] is False and not second.get('failed') and api(s2, 'PUT') == []
    assert b'<Description>bulk %s</Description>' % answer.encode() in em.raw_xml(em.job('SQL Backup')['id'])
    assert b'<RetainCycles>21</RetainCycles>' in em.raw_xml(em.job('Exchange Backup')['id'])
