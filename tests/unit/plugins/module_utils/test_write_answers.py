# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every answer EM may give a write (put_method.md, http_response_codes.md), through the one write path."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest
import responses

from ansible_collections.veeam_em.core.plugins.module_utils import _client, _jobs, _resource, _runs, _tasks, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._job_resource import JOB as JOB_RESOURCE, JobPlan
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ApiError
from ansible_collections.veeam_em.core.tests.unit.plugins.module_utils.test_client import FakeTime

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'xml')
BASE = 'https://em.test:9398/api/'
JOB_ID = '11111111-1111-1111-1111-111111111111'
JOB = BASE + 'jobs/' + JOB_ID
LOGOFF = BASE + 'logonSessions/7686d89e-26fd-48e6-963c-c9dbce802981'
NS = 'http://www.veeam.com/ent/v1.0'


def load(name):
    with open(os.path.join(FIXTURES, name), 'rb') as f:
        return f.read()


def job_xml(description):
    return load('job_entity.xml').replace(b'Nightly SQL backup', description.encode('utf-8'))


@pytest.fixture
def em():
    fake = FakeTime()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, BASE + 'sessionMngr/?v=v1_7', body=load('logon.xml'), status=201,
                 headers={'X-RestSvcSessionId': 'sid-write-answers'})
        rsps.add(responses.DELETE, LOGOFF, status=204)
        client = _client.EmClient('em.test', 'u', 'p', sleep=fake.sleep, clock=fake.clock, request_deadline=1000)
        with client:
            yield client, rsps, fake


def calls(rsps):
    return [(c.request.method, c.request.url.replace(BASE, '/')) for c in rsps.calls
            if 'sessionMngr' not in c.request.url and 'logonSessions' not in c.request.url]


# ---- classify_answer: the root element and its namespace decide --------------------------------------------------

def el(text):
    return _xml.parse(text.encode('utf-8'))


@pytest.mark.parametrize('status', [200, 201, 202])
def test_a_task_is_a_task_whatever_the_status(status):
    outcome = _tasks.classify_answer(status, _xml.parse(load('task_running.xml')), ('Job',))
    assert outcome.kind == _tasks.TASK
    assert outcome.task['id'] == 'task-1' and outcome.task['state'] == 'Running'
    assert not outcome.pending


@pytest.mark.parametrize('status', [200, 201])
def test_the_written_resource_is_complete_at_once(status):
    outcome = _tasks.classify_answer(status, _xml.parse(job_xml('new')), ('Job',))
    assert outcome.kind == _tasks.RESOURCE
    assert outcome.task is None and outcome.public_task() is None
    assert outcome.resource.get('Name') == 'SQL Backup'


@pytest.mark.parametrize('status', [200, 201, 204])
def test_no_body_is_complete_at_once(status):
    outcome = _tasks.classify_answer(status, None, ('Job',))
    assert outcome.kind == _tasks.DONE and not outcome.pending and outcome.task is None


def test_202_without_a_task_is_accepted_for_later():
    outcome = _tasks.classify_answer(202, None, ('Job',))
    assert outcome.kind == _tasks.ACCEPTED and outcome.pending


def test_a_resource_with_a_task_like_href_is_still_the_resource():
    body = job_xml('x').replace(('jobs/%s?format=Entity' % JOB_ID).encode(), b'tasks/task-7')
    outcome = _tasks.classify_answer(200, _xml.parse(body), ('Job',))
    assert outcome.kind == _tasks.RESOURCE


def test_a_task_outside_the_em_namespace_is_not_a_task():
    outcome = _tasks.classify_answer(200, el('<Task xmlns="urn:other"><TaskId>task-1</TaskId>'
                                             '<State>Running</State></Task>'), ('Job',))
    assert outcome.kind == _tasks.DONE


def test_a_resource_root_not_expected_is_done_and_kept():
    ref = el('<EntityRef xmlns="%s" Type="JobReference" Href="https://em/api/jobs/%s" Name="j"/>' % (NS, JOB_ID))
    outcome = _tasks.classify_answer(201, ref, ('Job',))
    assert outcome.kind == _tasks.DONE and outcome.element is ref


def test_an_error_under_2xx_is_a_failure():
    with pytest.raises(ApiError, match='job is locked') as exc:
        _tasks.classify_answer(200, el('<Error xmlns="%s" Message="job is locked" StatusCode="500"/>' % NS))
    assert exc.value.status == 200


# ---- perform_write: through the real client, for each method the collection sends ----------------------------------

@pytest.mark.parametrize('method', ['PUT', 'POST', 'DELETE'])
def test_perform_write_waits_for_a_202_task(em, method):
    client, rsps, fake = em
    rsps.add(method, JOB, body=load('task_running.xml'), status=202)
    rsps.add(responses.GET, BASE + 'tasks/task-1', body=load('task_finished_ok.xml'))
    rsps.add(responses.DELETE, BASE + 'tasks/task-1', status=204)
    outcome = _tasks.perform_write(client, method, JOB, sleep=fake.sleep, clock=fake.clock)
    assert outcome.kind == _tasks.TASK and outcome.task['state'] == 'Finished' and outcome.task['success'] is True
    assert calls(rsps) == [(method, '/jobs/' + JOB_ID), ('GET', '/tasks/task-1'), ('DELETE', '/tasks/task-1')]


@pytest.mark.parametrize('method,status,body', [
    ('PUT', 200, 'job'), ('PUT', 200, None), ('PUT', 204, None),
    ('POST', 201, None), ('POST', 201, 'job'), ('POST', 200, None), ('DELETE', 204, None), ('DELETE', 200, None),
])
def test_perform_write_answered_at_once_polls_nothing(em, method, status, body):
    client, rsps, fake = em
    rsps.add(method, JOB, body=job_xml('new') if body else b'', status=status)
    outcome = _tasks.perform_write(client, method, JOB, resources=('Job',), sleep=fake.sleep, clock=fake.clock)
    assert outcome.kind == (_tasks.RESOURCE if body else _tasks.DONE)
    assert outcome.status == status
    assert calls(rsps) == [(method, '/jobs/' + JOB_ID)]
    assert fake.sleeps == []


def test_a_500_on_a_task_poll_is_retried(em):
    client, rsps, fake = em
    rsps.add(responses.PUT, JOB, body=load('task_running.xml'), status=202)
    rsps.add(responses.GET, BASE + 'tasks/task-1', body=load('error_500.xml'), status=500)
    rsps.add(responses.GET, BASE + 'tasks/task-1', body=load('task_finished_ok.xml'))
    rsps.add(responses.DELETE, BASE + 'tasks/task-1', status=204)
    outcome = _tasks.perform_write(client, 'PUT', JOB, sleep=fake.sleep, clock=fake.clock)
    assert outcome.task['success'] is True
    assert calls(rsps).count(('GET', '/tasks/task-1')) == 2
    assert calls(rsps).count(('PUT', '/jobs/' + JOB_ID)) == 1


# ---- the job edit: every answer ends converged, verified, without polling the job as a task ----------------------

def plan_for(client, description):
    index = _jobs.JobIndex(client)
    return _jobs.Plan(_xml.parse(load('job_entity.xml')), {('description', ()): description}, index)


EDIT = '/jobs/%s?action=edit' % JOB_ID
READ = '/jobs/%s?format=Entity' % JOB_ID


# Every edit reads the job once more just before its PUT (no ETag in EM), then answers as EM did.
@pytest.mark.parametrize('answer,expected', [
    ('202', [('GET', READ), ('PUT', EDIT), ('GET', '/tasks/task-1'), ('DELETE', '/tasks/task-1'), ('GET', READ)]),
    ('200-resource', [('GET', READ), ('PUT', EDIT)]),
    ('200-stale-resource', [('GET', READ), ('PUT', EDIT), ('GET', READ)]),
    ('200-empty', [('GET', READ), ('PUT', EDIT), ('GET', READ)]),
    ('204', [('GET', READ), ('PUT', EDIT), ('GET', READ)]),
    ('202-no-task', [('GET', READ), ('PUT', EDIT), ('GET', READ), ('GET', READ)]),
])
def test_job_edit_under_each_answer(em, answer, expected):
    client, rsps, fake = em
    rsps.add(responses.GET, JOB, body=load('job_entity.xml'))         # the read just before the PUT
    if answer == '202':
        rsps.add(responses.PUT, JOB, body=load('task_running.xml'), status=202)
        rsps.add(responses.GET, BASE + 'tasks/task-1', body=load('task_finished_ok.xml'))
        rsps.add(responses.DELETE, BASE + 'tasks/task-1', status=204)
    elif answer == '200-resource':
        rsps.add(responses.PUT, JOB, body=job_xml('new text'), status=200)
    elif answer == '200-stale-resource':
        rsps.add(responses.PUT, JOB, body=job_xml('Nightly SQL backup'), status=200)
    elif answer == '202-no-task':
        rsps.add(responses.PUT, JOB, status=202)
        rsps.add(responses.GET, JOB, body=load('job_entity.xml'))     # not yet
    else:
        rsps.add(responses.PUT, JOB, status=int(answer[:3]))
    rsps.add(responses.GET, JOB, body=job_xml('new text'))
    plan = plan_for(client, 'new text')
    result = _jobs.apply(client, plan, sleep=fake.sleep, clock=fake.clock)
    assert result['changed'] is True
    assert result['job']['settings']['description'] == 'new text'
    assert ('task' in result) == (answer == '202')
    assert calls(rsps) == expected


def test_job_edit_200_resource_not_showing_the_change_fails_verification(em):
    client, rsps, fake = em
    rsps.add(responses.PUT, JOB, status=200, body=job_xml('Nightly SQL backup'))
    rsps.add(responses.GET, JOB, body=load('job_entity.xml'))
    with pytest.raises(_resource.VerifyFailed, match="the edit of the job 'SQL Backup': EM did not keep description") as exc:
        _jobs.apply(client, plan_for(client, 'new text'), sleep=fake.sleep, clock=fake.clock)
    assert exc.value.result['changed'] is True
    # EM answered with the job not showing the change: it is read once more (not watched), never sent again
    assert calls(rsps).count(('PUT', EDIT)) == 1 and calls(rsps).count(('GET', READ)) == 2


def test_a_500_on_the_verify_read_after_the_put_is_retried(em):
    """Before the fix: changed true, failed true, although EM made the change."""
    client, rsps, fake = em
    rsps.add(responses.PUT, JOB, body=load('task_running.xml'), status=202)
    rsps.add(responses.GET, BASE + 'tasks/task-1', body=load('task_finished_ok.xml'))
    rsps.add(responses.DELETE, BASE + 'tasks/task-1', status=204)
    rsps.add(responses.GET, JOB, body=load('job_entity.xml'))         # the read just before the PUT
    rsps.add(responses.GET, JOB, body=load('error_500.xml'), status=500)
    rsps.add(responses.GET, JOB, body=job_xml('new text'))
    result = _jobs.apply(client, plan_for(client, 'new text'), sleep=fake.sleep, clock=fake.clock)
    assert result['changed'] is True and result['job']['settings']['description'] == 'new text'
    assert calls(rsps).count(('GET', READ)) == 3
    assert calls(rsps).count(('PUT', EDIT)) == 1


# ---- the other writes of the collection ----------------------------------------------------------------------------

def job_ref():
    return {'id': JOB_ID, 'uid': 'urn:veeam:Job:' + JOB_ID, 'name': 'SQL Backup', 'job_type': 'Backup'}


@pytest.mark.parametrize('status', [200, 204])
def test_job_run_done_at_once_reports_no_task(em, status):
    client, rsps, fake = em
    rsps.add(responses.GET, BASE + 'query', body=load('query_refs_empty.xml'))
    rsps.add(responses.POST, JOB, status=status)
    result = _runs.run_action(client, job_ref(), 'start', wait=False, sleep=fake.sleep, clock=fake.clock)
    assert result['changed'] is True and 'task' not in result
    assert [c for c in calls(rsps) if c[0] == 'POST'] == [('POST', '/jobs/%s?action=start' % JOB_ID)]


@pytest.mark.parametrize('status,exists_after', [(204, False), (200, False), (202, True)])
def test_job_delete_each_answer(em, status, exists_after):
    client, rsps, fake = em
    rsps.add(responses.GET, JOB, body=load('job_entity.xml'))          # the module finds the job
    rsps.add(responses.DELETE, JOB, status=status)
    if exists_after:     # 202 without a task: EM deletes it later; the module watches, never deletes again
        rsps.add(responses.GET, JOB, body=load('job_entity.xml'))
    rsps.add(responses.GET, JOB, body=load('error_404.xml'), status=404)
    result = _jobs.remove(client, _jobs.JobIndex(client), {'id': JOB_ID}, sleep=fake.sleep, clock=fake.clock)
    assert result == {'changed': True, 'job': {}}
    assert [c for c in calls(rsps) if c[0] == 'DELETE'] == [('DELETE', '/jobs/' + JOB_ID)]
    # one read to find it, then one read per check until EM answers 404
    assert len([c for c in calls(rsps) if c[0] == 'GET']) == (3 if exists_after else 2)


class CloneEm:
    """EM after a clone POST: the new job shows in the query only from the ``appears_at``-th query on."""

    def __init__(self, appears_at=1):
        self.appears_at = appears_at
        self.queries = 0
        self.gets = []

    def query(self, qtype, filter=None, fmt='Entities', page_size=None):  # pylint: disable=redefined-builtin
        if fmt is None:
            return []
        self.queries += 1
        return [_xml.parse(job_xml('clone'))] if self.queries >= self.appears_at else []

    def get(self, path, params=None):
        self.gets.append(path)
        return _xml.parse(job_xml('clone'))


def found_clone(client, answer, fake=None):
    """The new job of a clone as the engine finds it after the POST's ``answer`` (``_resource._verify``)."""
    plan = JobPlan(JOB_RESOURCE, {'name': 'SQL Backup', 'backup_server': 'vbr01', 'clone_from': 'src'}, {}, None)
    fake = fake or FakeTime()
    return _resource._verify(client, plan, answer, None, 'the creation', 30, fake.sleep, fake.clock, names=())


def test_clone_answered_201_with_the_job_takes_it_from_the_answer():
    client = CloneEm()
    new = found_clone(client, _resource.Answer(entity=_xml.parse(job_xml('clone'))))
    assert new.get('Name') == 'SQL Backup' and client.gets == [] and client.queries == 0


def test_clone_task_links_the_new_job():
    client = CloneEm()
    task = {'id': 'task-1', 'related': [{'type': 'Job', 'href': 'https://em01.example.com:9398/api/jobs/%s?format=Entity'
                                         % JOB_ID}]}
    new = found_clone(client, _resource.Answer(task=task))
    assert new.get('Name') == 'SQL Backup' and client.gets == ['https://em01.example.com:9398/api/jobs/%s?format=Entity'
                                                               % JOB_ID]


def test_clone_done_at_once_without_body_is_found_by_name():
    client = CloneEm()
    new = found_clone(client, _resource.Answer())
    assert new.get('Name') == 'SQL Backup' and client.queries == 1


def test_clone_accepted_without_task_is_watched_until_it_appears():
    fake = FakeTime()
    client = CloneEm(appears_at=3)
    new = found_clone(client, _resource.Answer(), fake)
    assert new.get('Name') == 'SQL Backup' and client.queries == 3 and len(fake.sleeps) == 2


def test_clone_that_never_appears_is_watched_then_fails_never_sent_again():
    client = CloneEm(appears_at=99)
    with pytest.raises(_resource.VerifyFailed, match='no new job shows after 30 s'):
        found_clone(client, _resource.Answer())
    assert client.queries > 1
