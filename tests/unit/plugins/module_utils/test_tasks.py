# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest
import responses

from ansible_collections.veeam_em.core.plugins.module_utils import _client, _tasks, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import (
    ApiError,
    TaskFailed,
    TaskLost,
    TaskPollError,
    TaskTimeout,
    TransportError,
    VeeamEmError,
)

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'xml')
TASK_HREF = 'https://em01.example.com:9398/api/tasks/task-1'


def load(name):
    with open(os.path.join(FIXTURES, name), 'rb') as f:
        return f.read()


def el(name):
    return _xml.parse(load(name))


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


class FakeClient:
    """Answers task GETs from a script: fixture names, exceptions, or a callable."""

    def __init__(self, script, repeat_last=True):
        self.script = list(script)
        self.repeat_last = repeat_last
        self.gets = []
        self.deletes = []

    def get(self, href):
        self.gets.append(href)
        if len(self.script) > 1 or not self.repeat_last:
            item = self.script.pop(0)
        else:
            item = self.script[0]
        if isinstance(item, Exception):
            raise item
        return el(item)

    def delete(self, href):
        self.deletes.append(href)


def wait(client, task, fake, **kwargs):
    return _tasks.wait_for_task(client, task, sleep=fake.sleep, clock=fake.clock, **kwargs)


def test_task_to_dict_and_related_links():
    task = _tasks.task_to_dict(el('task_finished_ok.xml'))
    assert task == {'id': 'task-1', 'state': 'Finished', 'operation': 'EditJob', 'success': True,
                    'message': 'Ok', 'href': TASK_HREF, 'related': _tasks.related_links(el('task_finished_ok.xml'))}
    assert task['related'] and task['related'][0]['type'] == 'Job'
    running = _tasks.task_to_dict(el('task_running.xml'))
    assert running['success'] is None and running['message'] is None and running['state'] == 'Running'
    assert _tasks.related_links(el('task_finished_ok.xml')) == [{
        'href': 'https://em01.example.com:9398/api/jobs/5658281f-dd52-4cc4-bd12-1c4a4ca5ad7b?format=Entity',
        'type': 'Job', 'name': 'SQL Backup (clone)'}]
    assert _tasks.related_links(el('task_running.xml')) == []
    assert 'href' not in _tasks.public_task(task)


def test_running_opfinished_finished_success():
    fake = FakeTime()
    client = FakeClient(['task_running.xml', 'task_opfinished.xml', 'task_finished_ok.xml'])
    result = wait(client, el('task_running.xml'), fake)
    assert result['state'] == 'Finished' and result['success'] is True and result['message'] == 'Ok'
    assert client.gets == [TASK_HREF] * 3
    assert fake.sleeps == [1.0, 1.5, 2.25]
    assert client.deletes == [TASK_HREF]


def test_already_finished_no_poll():
    fake = FakeTime()
    client = FakeClient(['task_finished_ok.xml'])
    result = wait(client, el('task_finished_ok.xml'), fake)
    assert result['success'] is True
    assert client.gets == [] and fake.sleeps == []
    assert client.deletes == [TASK_HREF]


def test_failure_message():
    fake = FakeTime()
    client = FakeClient(['task_running.xml', 'task_failed.xml'])
    with pytest.raises(TaskFailed) as exc:
        wait(client, el('task_running.xml'), fake)
    assert 'FullPeriod value 25 is out of range (1-24).' in exc.value.msg
    assert 'task-1' in exc.value.msg
    assert exc.value.task['success'] is False
    assert exc.value.task['state'] == 'Finished'
    assert exc.value.to_fail_kwargs()['task']['id'] == 'task-1'
    assert client.deletes == [TASK_HREF]


def test_operation_finished_failure_is_terminal():
    fake = FakeTime()
    client = FakeClient(['task_running.xml', 'task_opfinished_failed.xml', 'task_finished_ok.xml'])
    with pytest.raises(TaskFailed) as exc:
        wait(client, el('task_running.xml'), fake)
    assert 'Backup server is not available.' in exc.value.msg
    assert exc.value.task['state'] == 'OperationFinished'
    assert len(client.gets) == 2


def test_operation_finished_success_is_not_done_until_settled():
    fake = FakeTime()
    client = FakeClient(['task_opfinished.xml'])
    result = wait(client, el('task_running.xml'), fake, settle_seconds=60)
    assert result['state'] == 'OperationFinished' and result['success'] is True
    # first seen after 1 s; accepted once 60 s more have passed, never before
    assert fake.now >= 61.0
    assert fake.now < 61.0 + 10.0 + 0.001
    assert client.deletes == []


def test_operation_finished_then_finished_within_settle():
    fake = FakeTime()
    client = FakeClient(['task_opfinished.xml', 'task_opfinished.xml', 'task_finished_ok.xml'])
    result = wait(client, el('task_running.xml'), fake)
    assert result['state'] == 'Finished'
    assert len(client.gets) == 3


def test_timeout_message_names_id_and_state():
    fake = FakeTime()
    client = FakeClient(['task_running.xml'])
    with pytest.raises(TaskTimeout) as exc:
        wait(client, el('task_running.xml'), fake, timeout=30)
    assert 'task-1' in exc.value.msg
    assert 'Running' in exc.value.msg
    assert '30 s' in exc.value.msg
    assert exc.value.task['state'] == 'Running'
    assert fake.now == pytest.approx(30.0)
    assert sum(fake.sleeps) == pytest.approx(30.0)
    assert client.deletes == []


def test_timeout_in_operation_finished_names_state():
    fake = FakeTime()
    client = FakeClient(['task_opfinished.xml'])
    with pytest.raises(TaskTimeout) as exc:
        wait(client, el('task_running.xml'), fake, timeout=20, settle_seconds=60)
    assert 'OperationFinished' in exc.value.msg


def test_poll_intervals_capped():
    fake = FakeTime()
    client = FakeClient(['task_running.xml'])
    with pytest.raises(TaskTimeout):
        wait(client, el('task_running.xml'), fake, timeout=100)
    expected = [1.0, 1.5, 2.25, 3.375, 5.0625, 7.59375, 10.0, 10.0]
    assert fake.sleeps[:8] == pytest.approx(expected)
    assert max(fake.sleeps) == 10.0
    assert fake.now <= 100.0 + 1e-9


@pytest.mark.parametrize('duration,polls', [(3, 3), (30, 7), (120, 16)])
def test_poll_count_matches_model(duration, polls):
    fake = FakeTime()

    class TimedClient(FakeClient):
        def get(self, href):
            self.gets.append(href)
            return el('task_finished_ok.xml' if fake.now >= duration else 'task_running.xml')

    client = TimedClient([])
    wait(client, el('task_running.xml'), fake)
    assert len(client.gets) == polls


@pytest.mark.parametrize('error', [
    TransportError('connection refused'),
    ApiError('HTTP 503', status=503, message='busy'),
    ApiError('HTTP 500', status=500, message='boom'),
])
def test_three_poll_errors_tolerated(error):
    fake = FakeTime()
    client = FakeClient([error, error, error, 'task_finished_ok.xml'])
    result = wait(client, el('task_running.xml'), fake)
    assert result['success'] is True
    assert len(client.gets) == 4


def test_fourth_consecutive_poll_error_fails():
    fake = FakeTime()
    err = TransportError('connection refused')
    client = FakeClient([err, err, 'task_running.xml', err, err, err, err, 'task_finished_ok.xml'])
    with pytest.raises(TaskPollError) as exc:
        wait(client, el('task_running.xml'), fake)
    assert '4 times in a row' in exc.value.msg
    assert 'connection refused' in exc.value.msg
    assert len(client.gets) == 7
    assert isinstance(exc.value, VeeamEmError)


def test_404_is_task_lost():
    fake = FakeTime()
    client = FakeClient(['task_running.xml', ApiError('HTTP 404', status=404, message='not found')])
    with pytest.raises(TaskLost) as exc:
        wait(client, el('task_running.xml'), fake)
    assert exc.value.task['id'] == 'task-1'


def test_other_4xx_propagates():
    fake = FakeTime()
    client = FakeClient([ApiError('HTTP 403', status=403, message='denied')])
    with pytest.raises(ApiError):
        wait(client, el('task_running.xml'), fake)


def test_task_given_as_dict():
    fake = FakeTime()
    client = FakeClient(['task_finished_ok.xml'])
    result = wait(client, {'id': 'task-7', 'state': None}, fake)
    assert client.gets == ['tasks/task-7']
    assert result['id'] == 'task-1'


def test_task_without_id_refused():
    with pytest.raises(VeeamEmError):
        _tasks.wait_for_task(FakeClient([]), {}, sleep=lambda s: None, clock=lambda: 0)


def test_with_real_client_same_session():
    fake = FakeTime()
    base = 'https://em.test:9398/api/'
    token = 'sid-CANARY-task-session'
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, base + 'sessionMngr/?v=v1_7', body=load('logon.xml'), status=201,
                 headers={'X-RestSvcSessionId': token})
        rsps.add(responses.PUT, base + 'jobs/abc?action=edit', body=load('task_running.xml'), status=202)
        rsps.add(responses.GET, base + 'tasks/task-1', body=load('task_running.xml'))
        rsps.add(responses.GET, base + 'tasks/task-1', body=load('task_opfinished.xml'))
        rsps.add(responses.GET, base + 'tasks/task-1', body=load('task_finished_ok.xml'))
        rsps.add(responses.DELETE, base + 'tasks/task-1', status=204)
        rsps.add(responses.DELETE, base + 'logonSessions/7686d89e-26fd-48e6-963c-c9dbce802981', status=204)
        client = _client.EmClient('em.test', 'u', 'p', sleep=fake.sleep, clock=fake.clock)
        with client:
            body = _xml.element('Job')
            task = client.put('jobs/abc', body, params={'action': 'edit'})
            result = _tasks.wait_for_task(client, task, sleep=fake.sleep, clock=fake.clock)
        assert result['success'] is True
        calls = [(c.request.method, c.request.url.replace(base, '/')) for c in rsps.calls]
        assert calls == [
            ('POST', '/sessionMngr/?v=v1_7'), ('PUT', '/jobs/abc?action=edit'),
            ('GET', '/tasks/task-1'), ('GET', '/tasks/task-1'), ('GET', '/tasks/task-1'),
            ('DELETE', '/tasks/task-1'), ('DELETE', '/logonSessions/7686d89e-26fd-48e6-963c-c9dbce802981'),
        ]
        assert all(c.request.headers['X-RestSvcSessionId'] == token for c in rsps.calls[1:])
        assert client.requests_sent == 7


def test_task_lost_after_relogon_with_real_client():
    fake = FakeTime()
    base = 'https://em.test:9398/api/'
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, base + 'sessionMngr/?v=v1_7', body=load('logon.xml'), status=201,
                 headers={'X-RestSvcSessionId': 'sid-one'})
        rsps.add(responses.POST, base + 'sessionMngr/?v=v1_7', body=load('logon.xml'), status=201,
                 headers={'X-RestSvcSessionId': 'sid-two'})
        rsps.add(responses.GET, base + 'tasks/task-1', body=load('error_401.xml'), status=401)
        rsps.add(responses.GET, base + 'tasks/task-1', body=load('error_404.xml'), status=404)
        rsps.add(responses.DELETE, base + 'logonSessions/7686d89e-26fd-48e6-963c-c9dbce802981', status=204)
        with _client.EmClient('em.test', 'u', 'p', sleep=fake.sleep, clock=fake.clock) as client:
            with pytest.raises(TaskLost):
                _tasks.wait_for_task(client, el('task_running.xml'), sleep=fake.sleep, clock=fake.clock)
        assert [c.request.method for c in rsps.calls].count('POST') == 2


@pytest.mark.parametrize('script,error', [
    (['task_running.xml'], TaskTimeout),
    (['task_opfinished.xml'], TaskTimeout),
    ([ApiError('gone', status=404)], TaskLost),
    ([ApiError('down', status=501)] * 4, TaskPollError),
])
def test_a_task_not_finished_is_never_deleted(script, error):
    """DELETE /tasks/{id} stops a running task (delete_task_id.md): deleting one on the way out could leave
    unmade a change the run reports as made, so only a Finished task is deleted."""
    fake = FakeTime()
    client = FakeClient(script)
    with pytest.raises(error):
        wait(client, el('task_running.xml'), fake, timeout=20, settle_seconds=60)
    assert client.deletes == []


def test_operation_finished_accepted_after_settling_is_not_deleted():
    fake = FakeTime()
    client = FakeClient(['task_opfinished.xml'])
    result = wait(client, el('task_running.xml'), fake, timeout=300, settle_seconds=60)
    assert result['state'] == 'OperationFinished' and client.deletes == []
