# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The job module, run in-process with EM mocked at the HTTP layer: the exact call sequence."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import json
import os

import pytest
import responses

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.veeam_em.core.plugins.module_utils import _xml
from ansible_collections.veeam_em.core.plugins.module_utils._model import resolve
from ansible_collections.veeam_em.core.plugins.modules import job as job_module

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'xml')
HOST = 'em01.example.com'
BASE = 'https://%s:9398/api/' % HOST
TOKEN = 'Q2FuYXJ5VG9rZW4xMjM0NQ=='
JOB_ID = '5658281f-625e-4627-89dd-d2a0c48be99e'
LOGOFF = BASE + 'logonSessions/7686d89e-26fd-48e6-963c-c9dbce802981'


def load(name):
    with open(os.path.join(FIXTURES, name), 'rb') as f:
        return f.read()


def query_result(entity):
    root = _xml.element('QueryResult')
    jobs = _xml.sub(_xml.sub(root, 'Entities'), 'Jobs')
    jobs.append(copy.deepcopy(entity))
    _xml.sub(root, 'PagingInfo', attrib={'PageNum': '1', 'PageSize': '1', 'PagesCount': '1'})
    return _xml.to_bytes(root)


@pytest.fixture
def entity():
    return _xml.parse(load('job_backup_full.xml'))


@pytest.fixture
def em(monkeypatch):
    monkeypatch.setattr('time.sleep', lambda s: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, BASE + 'sessionMngr/?v=v1_7', body=load('logon.xml'), status=201,
                 headers={'X-RestSvcSessionId': TOKEN}, content_type='application/xml')
        rsps.add(responses.DELETE, LOGOFF, status=204)
        yield rsps


def run_module(args):
    args = dict({'server': HOST, 'username': 'admin', 'password': 'pw-CANARY-unit', '_ansible_check_mode': False}, **args)
    payload = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    old = basic._ANSIBLE_ARGS
    basic._ANSIBLE_ARGS = payload
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core >= 2.19
    except ImportError:
        patch_module_args = None
    captured = {}

    def exit_json(self, **kwargs):
        captured.update(kwargs)
        raise SystemExit(0)

    def fail_json(self, **kwargs):
        captured.update(kwargs, failed=True)
        raise SystemExit(1)

    original = (basic.AnsibleModule.exit_json, basic.AnsibleModule.fail_json)
    basic.AnsibleModule.exit_json, basic.AnsibleModule.fail_json = exit_json, fail_json
    try:
        if patch_module_args is not None:
            with patch_module_args(args):
                with pytest.raises(SystemExit):
                    job_module.main()
        else:
            with pytest.raises(SystemExit):
                job_module.main()
    finally:
        basic._ANSIBLE_ARGS = old
        basic.AnsibleModule.exit_json, basic.AnsibleModule.fail_json = original
    return captured


def calls(rsps):
    return [(c.request.method, c.request.url.replace(BASE, '/api/')) for c in rsps.calls]


def add_query(em, entity):
    em.add(responses.GET, BASE + 'query', body=query_result(entity), content_type='application/xml')


def test_equal_settings_send_no_write(em, entity):
    add_query(em, entity)
    result = run_module({'name': 'DB Backup', 'schedule': {'daily': {'time': '22:00'}},
                         'retention': {'restore_points': 7}})
    assert result['changed'] is False and not result.get('failed')
    seq = calls(em)
    assert [m for m, _u in seq] == ['POST', 'GET', 'DELETE']  # the no-op budget: logon, one query, logoff
    assert seq[1][1].startswith('/api/query?type=Job&format=Entities&filter=Name%3D%3D%22DB%20Backup%22')
    assert result['job']['settings']['schedule']['daily']['time'] == '22:00'


def test_one_change_one_put_then_poll_verify_logoff(em, entity):
    add_query(em, entity)
    after = copy.deepcopy(entity)
    resolve(after, ('JobScheduleOptions', 'Standart', 'RetryOptions', 'RetryTimes')).text = '6'
    em.add(responses.GET, BASE + 'jobs/%s?format=Entity' % JOB_ID, body=_xml.to_bytes(entity),
           content_type='application/xml')  # read again just before the PUT: unchanged
    em.add(responses.PUT, BASE + 'jobs/%s?action=edit' % JOB_ID, body=load('task_running.xml'), status=202,
           content_type='application/xml')
    em.add(responses.GET, BASE + 'tasks/task-1', body=load('task_running.xml'), content_type='application/xml')
    em.add(responses.GET, BASE + 'tasks/task-1', body=load('task_finished_ok.xml'), content_type='application/xml')
    em.add(responses.DELETE, BASE + 'tasks/task-1', status=204)
    em.add(responses.GET, BASE + 'jobs/%s?format=Entity' % JOB_ID, body=_xml.to_bytes(after),
           content_type='application/xml')
    result = run_module({'name': 'DB Backup', 'schedule': {'retry': {'times': 6}}, '_ansible_diff': True})
    assert result['changed'] is True and not result.get('failed'), result
    assert [m for m, _u in calls(em)] == ['POST', 'GET', 'GET', 'PUT', 'GET', 'GET', 'DELETE', 'GET', 'DELETE']
    assert calls(em)[2] == ('GET', '/api/jobs/%s?format=Entity' % JOB_ID)
    put = [c for c in em.calls if c.request.method == 'PUT'][0].request
    assert put.headers['Content-Type'].startswith('application/xml')
    body = _xml.parse(put.body)
    retry = resolve(body, ('JobScheduleOptions', 'Standart', 'RetryOptions'))
    expected = [('RetryTimes', '6'), ('RetryTimeout', '10'), ('RetrySpecified', 'true')]
    assert [(c.tag.split('}')[1], c.text) for c in retry] == expected
    assert [c.tag.split('}')[1] for c in body] == ['JobScheduleOptions']
    assert result['diff'] == {'before': {'schedule': {'retry': {'times': 3}}}, 'after': {'schedule': {'retry': {'times': 6}}}}
    task = dict((k, result['task'][k]) for k in ('id', 'state', 'operation', 'success', 'message'))
    assert task == {'id': 'task-1', 'state': 'Finished', 'operation': 'EditJob', 'success': True, 'message': 'Ok'}
    assert 'href' not in result['task']
    assert calls(em)[-1] == ('DELETE', LOGOFF.replace(BASE, '/api/'))


def test_check_mode_has_no_put_route(em, entity):
    add_query(em, entity)  # no PUT registered: any write would fail the run
    result = run_module({'name': 'DB Backup', 'description': 'new', '_ansible_check_mode': True,
                         '_ansible_diff': True})
    assert result['changed'] is True and not result.get('failed'), result
    assert [m for m, _u in calls(em)] == ['POST', 'GET', 'DELETE']
    assert result['job']['settings']['description'] == 'new'
    assert result['diff']['after'] == {'description': 'new'}


def test_server_did_not_take_the_change(em, entity):
    add_query(em, entity)
    em.add(responses.PUT, BASE + 'jobs/%s?action=edit' % JOB_ID, body=load('task_finished_ok.xml'), status=202,
           content_type='application/xml')
    em.add(responses.DELETE, BASE + 'tasks/task-1', status=204)
    em.add(responses.GET, BASE + 'jobs/%s?format=Entity' % JOB_ID, body=_xml.to_bytes(entity),
           content_type='application/xml')
    result = run_module({'name': 'DB Backup', 'gfs': {'monthly': {'keep': 24}}})
    assert result['failed'] is True and result['changed'] is True
    assert 'gfs.monthly.keep' in result['msg'] and '24' in result['msg']
    assert len([c for c in em.calls if c.request.method == 'PUT']) == 1


@pytest.mark.parametrize('args,option', [
    ({'schedule': {'daily': {'time': '7pm'}}}, 'schedule.daily.time'),
    # issue 12 #3: checks that need only the options never log on
    ({'schedule': {'periodically': {'kind': 'hours', 'full_period': 25}}}, 'schedule.periodically.full_period'),
    ({'schedule': {'periodically': {'full_period': 90}}}, 'schedule.periodically.full_period'),
    ({'schedule': {'after_job': 'DB Backup'}}, 'schedule.after_job'),
    ({'state': 'absent', 'clone_from': 'Other Job'}, 'clone_from'),
    ({'description': 'x', 'wait_timeout': -1}, 'wait_timeout'),
])
def test_bad_input_sends_nothing(em, args, option):
    result = run_module(dict({'name': 'DB Backup'}, **args))
    assert result['failed'] is True and option in result['msg'] and result['option'] == option
    assert calls(em) == []


def test_absent_job_whose_name_says_ambiguous_is_left_alone(em):
    """Issue 12 #5: "not found" is told from "ambiguous" by the error's type, not by words in the message."""
    em.add(responses.GET, BASE + 'query', body=load('query_refs_empty.xml'), content_type='application/xml')
    result = run_module({'name': 'Not an ambiguous job', 'state': 'absent'})
    assert result['changed'] is False and not result.get('failed'), result
    assert [m for m, _u in calls(em)] == ['POST', 'GET', 'GET', 'DELETE']  # logon, the query, the names, logoff


def test_a_name_on_two_servers_is_ambiguous_even_for_absent(em, entity):
    other = copy.deepcopy(entity)
    other.set('UID', 'urn:veeam:Job:00000000-0000-4000-8000-000000000002')
    for link in other.iter('{*}Link'):
        if link.get('Rel') == 'Up':
            link.set('Name', 'vbr02')
    both = _xml.parse(query_result(entity))
    both.find('{*}Entities/{*}Jobs').append(other)
    em.add(responses.GET, BASE + 'query', body=_xml.to_bytes(both), content_type='application/xml')
    result = run_module({'name': 'DB Backup', 'state': 'absent'})
    assert result['failed'] is True and 'vbr01, vbr02' in result['msg'] and 'backup_server' in result['msg']
    assert [m for m, _u in calls(em)] == ['POST', 'GET', 'DELETE']
