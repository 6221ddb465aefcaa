# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The job on the resource engine (``_job_resource.JOB`` through ``_resource.run``): the requests and results of the
job path, each answer EM may give, through the engine's hooks."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest
import responses

from ansible_collections.veeam_em.core.plugins.module_utils import _resource, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._job_resource import JOB
from ansible_collections.veeam_em.core.tests.unit.plugins.module_utils import test_write_answers as wa

BASE, JOB_URL, JOB_ID, READ, EDIT = wa.BASE, wa.JOB, wa.JOB_ID, wa.READ, wa.EDIT
FIND = READ  # a job named by id is found with a GET of it
em = wa.em  # the fixture: an EmClient logged on to a responses mock, and a fake clock


def params(**kw):
    out = dict((name, spec.get('default')) for name, spec in JOB.argument_spec().items())
    out.update(wait=True, wait_timeout=30, id=JOB_ID)
    out.update(kw)
    return out


def run(em_, check_mode=False, **kw):
    client, _rsps, fake = em_
    p = params(**kw)
    return _resource.run(client, JOB, p, JOB.check_input(p), check_mode=check_mode, with_diff=True,
                         wait_timeout=30, sleep=fake.sleep, clock=fake.clock, wait=p['wait'])


def test_the_module_options_are_the_job_entry_ones():
    spec = JOB.argument_spec()
    assert 'clone_from' in spec and 'schedule' in spec and 'wait' not in spec  # wait comes with with_wait
    assert JOB.module_kwargs()['with_wait'] is True
    with pytest.raises(Exception, match='state: absent deletes the job'):
        JOB.check_input(params(state='absent', description='x'))


@pytest.mark.parametrize('answer,expected', [
    ('202', [('GET', FIND), ('GET', READ), ('PUT', EDIT), ('GET', '/tasks/task-1'), ('DELETE', '/tasks/task-1'),
             ('GET', READ)]),
    ('200-resource', [('GET', FIND), ('GET', READ), ('PUT', EDIT)]),
    ('204', [('GET', FIND), ('GET', READ), ('PUT', EDIT), ('GET', READ)]),
])
def test_an_edit_is_found_read_again_sent_once_and_verified(em, answer, expected):
    _client, rsps, _fake = em
    rsps.add(responses.GET, JOB_URL, body=wa.load('job_entity.xml'))  # found
    rsps.add(responses.GET, JOB_URL, body=wa.load('job_entity.xml'))  # read again just before the PUT
    if answer == '202':
        rsps.add(responses.PUT, JOB_URL, body=wa.load('task_running.xml'), status=202)
        rsps.add(responses.GET, BASE + 'tasks/task-1', body=wa.load('task_finished_ok.xml'))
        rsps.add(responses.DELETE, BASE + 'tasks/task-1', status=204)
    elif answer == '200-resource':
        rsps.add(responses.PUT, JOB_URL, body=wa.job_xml('new text'), status=200)
    else:
        rsps.add(responses.PUT, JOB_URL, status=204)
    rsps.add(responses.GET, JOB_URL, body=wa.job_xml('new text'))
    result = run(em, description='new text')
    assert result['changed'] and result['job']['settings']['description'] == 'new text'
    assert result['diff'] == {'before': {'description': 'Nightly SQL backup'}, 'after': {'description': 'new text'}}
    assert ('task' in result) == (answer == '202') and 'tasks' not in result
    assert wa.calls(rsps) == expected


def test_check_mode_and_no_change_send_nothing(em):
    _client, rsps, _fake = em
    rsps.add(responses.GET, JOB_URL, body=wa.load('job_entity.xml'))
    checked = run(em, check_mode=True, description='new text')
    assert checked['changed'] and checked['job']['settings']['description'] == 'new text' and checked['job']['id'] == JOB_ID
    same = run(em, description='Nightly SQL backup')
    assert same['changed'] is False and 'task' not in same
    assert [c[0] for c in wa.calls(rsps)] == ['GET', 'GET']


def test_an_edit_whose_task_em_lost_is_watched_on_the_job(em):
    _client, rsps, _fake = em
    rsps.add(responses.GET, JOB_URL, body=wa.load('job_entity.xml'))
    rsps.add(responses.GET, JOB_URL, body=wa.load('job_entity.xml'))
    rsps.add(responses.PUT, JOB_URL, body=wa.load('task_running.xml'), status=202)
    rsps.add(responses.GET, BASE + 'tasks/task-1', body=wa.load('error_404.xml'), status=404)
    rsps.add(responses.GET, JOB_URL, body=wa.load('job_entity.xml'))  # not yet
    rsps.add(responses.GET, JOB_URL, body=wa.job_xml('new text'))
    result = run(em, description='new text')
    assert result['task']['state'] == 'Unknown' and result['job']['settings']['description'] == 'new text'
    assert wa.calls(rsps).count(('PUT', EDIT)) == 1 and wa.calls(rsps).count(('GET', READ)) == 4


def test_wait_false_returns_the_running_task_and_the_job_as_the_change_leads_to_it(em):
    _client, rsps, _fake = em
    rsps.add(responses.GET, JOB_URL, body=wa.load('job_entity.xml'))
    rsps.add(responses.PUT, JOB_URL, body=wa.load('task_running.xml'), status=202)
    result = run(em, wait=False, description='new text')
    assert result['task']['state'] == 'Running' and 'tasks' not in result
    assert result['job']['settings']['description'] == 'new text'
    assert wa.calls(rsps)[-1] == ('PUT', EDIT)


def test_an_edit_that_fails_carries_its_task_and_the_job_in_the_engine_shape(em):
    _client, rsps, _fake = em
    rsps.add(responses.GET, JOB_URL, body=wa.load('job_entity.xml'))
    rsps.add(responses.PUT, JOB_URL, body=wa.load('task_running.xml'), status=202)
    rsps.add(responses.GET, BASE + 'tasks/task-1', body=wa.load('task_failed.xml'))
    rsps.add(responses.DELETE, BASE + 'tasks/task-1', status=204)
    with pytest.raises(Exception) as err:
        run(em, description='new text')
    result = err.value.result
    assert result['changed'] is True and result['task']['success'] is False and result['job']['name'] == 'SQL Backup'
    assert 'diff' in result and 'tasks' not in result


@pytest.mark.parametrize('status,exists_after', [(204, False), (202, True)])
def test_a_delete_is_checked_with_a_get_of_the_job(em, status, exists_after):
    _client, rsps, _fake = em
    rsps.add(responses.GET, JOB_URL, body=wa.load('job_entity.xml'))
    rsps.add(responses.DELETE, JOB_URL, status=status)
    if exists_after:
        rsps.add(responses.GET, JOB_URL, body=wa.load('job_entity.xml'))
    rsps.add(responses.GET, JOB_URL, body=wa.load('error_404.xml'), status=404)
    result = run(em, state='absent')
    assert result['changed'] and result['job'] == {} and result['diff']['after'] == {}
    assert result['diff']['before']['id'] == JOB_ID
    assert [c[0] for c in wa.calls(rsps)] == ['GET', 'DELETE'] + ['GET'] * (2 if exists_after else 1)
    gone = run(em, state='absent')
    assert gone == {'changed': False, 'job': {}}  # no diff of a job that is not there


def test_a_refused_delete_says_the_job_is_kept_and_nothing_changed(em):
    _client, rsps, _fake = em
    rsps.add(responses.GET, JOB_URL, body=wa.load('job_entity.xml'))
    rsps.add(responses.DELETE, JOB_URL, body=wa.load('error_500.xml'), status=400)
    with pytest.raises(VeeamEmError) as err:
        run(em, state='absent')
    assert "EM refused the deletion of the job 'SQL Backup' (HTTP 400" in err.value.msg and 'it is kept' in err.value.msg
    assert err.value.result['changed'] is False and [c[0] for c in wa.calls(rsps)].count('DELETE') == 1


def test_a_missing_job_without_clone_from_is_not_found(em):
    _client, rsps, _fake = em
    rsps.add(responses.GET, JOB_URL, body=wa.load('error_404.xml'), status=404)
    with pytest.raises(Exception, match='not found'):
        run(em, description='x')
    assert [c[0] for c in wa.calls(rsps)] == ['GET']


def test_the_job_entity_is_the_engine_identity():
    entity = _xml.parse(wa.load('job_entity.xml'))
    assert JOB.record_id(entity) == JOB_ID
