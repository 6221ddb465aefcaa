# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The jobs module's logic: offline checks, one read of every job, writes only where needed, failures collected."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import os
import uuid

import pytest

from ansible_collections.veeam_em.core.plugins.module_utils import _bulk, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ApiError, ValidationError
from ansible_collections.veeam_em.core.plugins.module_utils._jobs import entry_spec

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'xml')
TEMPLATE = 'job_backup_full.xml'
NS = '{http://www.veeam.com/ent/v1.0}'


def load(name):
    with open(os.path.join(FIXTURES, name), 'rb') as f:
        return f.read()


def make_job(name):
    job = _xml.parse(load(TEMPLATE))
    job_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, name))
    job.set('Name', name)
    job.set('UID', 'urn:veeam:Job:%s' % job_id)
    return job_id, job


class FakeEm:
    """Just enough of EmClient for the bulk path: paged query, PUT as a finished task, GET, DELETE."""

    def __init__(self, names, fail_put=(), ignore_put=()):
        self.jobs = dict(make_job(n) for n in names)
        self.calls = []
        self.fail_put = set(fail_put)
        self.ignore_put = set(ignore_put)
        self.warnings = []
        self.console = []  # callables run once, just before the second query: someone at the console meanwhile

    def warn(self, msg):
        self.warnings.append(msg)

    def query_pages(self, qtype, filter=None, fmt='Entities', page_size=None):  # pylint: disable=redefined-builtin
        self.calls.append(('QUERY', qtype, filter))
        if len([c for c in self.calls if c[0] == 'QUERY']) == 2:
            for edit in self.console:
                edit(self.jobs)
        jobs = [copy.deepcopy(j) for j in self.jobs.values()]
        if filter:  # only the form the read-back sends: UID=="..." joined by "," (or)
            uids = set(part.split('==', 1)[1].strip('"') for part in filter.split(','))
            jobs = [j for j in jobs if j.get('UID') in uids]
        size = page_size or len(jobs) or 1
        for start in range(0, len(jobs), size):
            yield jobs[start:start + size]

    def query(self, qtype, filter=None, fmt='Entities', page_size=None):  # pylint: disable=redefined-builtin
        return [e for page in self.query_pages(qtype, filter, fmt, page_size) for e in page]

    def get(self, path, params=None):
        self.calls.append(('GET', path))
        if path.startswith('tasks/'):
            return _xml.parse(load('task_finished_ok.xml'))
        return copy.deepcopy(self.jobs[path.split('/')[1]])

    def put(self, path, body, params=None):
        self.calls.append(('PUT', path))
        job_id = path.split('/')[1]
        if job_id in self.fail_put:
            raise ApiError('PUT %s: HTTP 400' % path, status=400, message='refused', method='PUT', path=path)
        job = self.jobs[job_id]
        if job_id in self.ignore_put:  # EM answers with a task that succeeds, but the job keeps its values
            return _xml.parse(load('task_finished_ok.xml'))
        for block in body:  # a block sent replaces the job's block of the same name
            old = job.find(block.tag)
            job.replace(old, copy.deepcopy(block))
        return _xml.parse(load('task_finished_ok.xml'))

    def delete(self, path):
        self.calls.append(('DELETE', path))

    def write(self, method, path, body=None, params=None):
        """EmClient.write(): a PUT is answered 202 with a task that has already finished."""
        assert method == 'PUT', method
        return 202, self.put(path, body, params)

    def writes(self):
        return [c for c in self.calls if c[0] in ('PUT', 'POST')]


JOB_UUID = '5658281f-625e-4627-89dd-d2a0c48be99e'


def entries(*items):
    """Entries as Ansible hands them to the module: every option present, defaults filled in."""
    out = []
    for item in items:
        entry = dict((k, v.get('default')) for k, v in entry_spec().items())
        entry.update(item)
        out.append(entry)
    return out


def run(client, config, **kwargs):
    wanted = _bulk.check_config(config, kwargs.get('max_in_flight', 1))
    kwargs.setdefault('wait_timeout', 5)
    return _bulk.converge_all(client, config, wanted, **kwargs)


def test_bad_entry_is_named_by_index_and_label_before_any_request():
    config = entries({'name': 'A'}, {'name': 'B', 'backup_server': 'vbr02', 'schedule': {'daily': {'time': '7pm'}}})
    with pytest.raises(ValidationError) as err:
        _bulk.check_config(config)
    assert err.value.msg.startswith('config[1] (B (vbr02)): schedule.daily.time')


def test_max_in_flight_below_one_is_refused():
    with pytest.raises(ValidationError) as err:
        _bulk.check_config(entries({'name': 'A'}), max_in_flight=0)
    assert err.value.option == 'max_in_flight' and 'accepted: 1 or more' in err.value.msg


@pytest.mark.parametrize('config,kwargs,option', [
    # issue 12 #3: decided by the options alone, so refused before the logon
    (entries({'name': 'A', 'description': 'x'}, {'name': 'A', 'description': 'y'}), {}, 'config'),
    (entries({'id': JOB_UUID}, {'id': 'urn:veeam:Job:' + JOB_UUID.upper(), 'description': 'y'}), {}, 'config'),
    (entries({'name': 'A'}), {'page_size': 0}, 'page_size'),
])
def test_options_alone_refused(config, kwargs, option):
    with pytest.raises(ValidationError) as err:
        _bulk.check_config(config, **kwargs)
    assert err.value.option == option and option in err.value.msg


def test_one_name_on_two_servers_is_two_entries():
    assert len(_bulk.check_config(entries({'name': 'A', 'backup_server': 'vbr01'}, {'name': 'A', 'backup_server': 'vbr02'}))) == 2


def test_only_named_jobs_and_clone_sources_are_kept():
    keep = _bulk.wanted_jobs(entries({'name': 'A'}, {'id': 'urn:veeam:Job:' + '1' * 8 + '-1111-1111-1111-' + '1' * 12},
                                     {'name': 'C', 'clone_from': {'job': 'Template'}}))
    assert keep({'id': 'x', 'name': 'A'}) and keep({'id': 'x', 'name': 'Template'})
    assert keep({'id': '11111111-1111-1111-1111-111111111111', 'name': 'other'})
    assert not keep({'id': 'x', 'name': 'B'})


def test_noop_reads_once_and_writes_nothing():
    em = FakeEm(['A', 'B', 'C'])
    out = run(em, entries({'name': 'A', 'schedule_enabled': True}, {'name': 'C', 'retention': {'restore_points': 7}}))
    assert out == {'changed': False, 'jobs': [{'name': 'A', 'changed': False, 'failed': False, 'msg': ''},
                                              {'name': 'C', 'changed': False, 'failed': False, 'msg': ''}]}
    assert em.calls == [('QUERY', 'Job', None)]


def test_check_mode_predicts_with_diff_and_sends_nothing():
    em = FakeEm(['A', 'B'])
    out = run(em, entries({'name': 'A'}, {'name': 'B', 'description': 'new'}), check_mode=True, with_diff=True)
    assert [r['changed'] for r in out['jobs']] == [False, True] and out['changed'] is True
    assert out['diff'] == [{'before': {'description': 'Created by SRV12\\Administrator.'}, 'after': {'description': 'new'},
                            'before_header': 'B', 'after_header': 'B'}]
    assert em.writes() == []


def test_one_write_per_changed_job_and_the_rest_untouched():
    em = FakeEm(['A', 'B', 'C'])
    out = run(em, entries({'name': 'A', 'description': 'a'}, {'name': 'B'}, {'name': 'C', 'description': 'c'}),
              max_in_flight=2)
    assert [r['changed'] for r in out['jobs']] == [True, False, True]
    assert sorted(c[1] for c in em.writes()) == sorted('jobs/%s' % make_job(n)[0] for n in 'AC')
    assert [r['task']['state'] for r in out['jobs'] if r['changed']] == ['Finished', 'Finished']
    assert all('job' not in r for r in out['jobs'])
    assert _xml.findtext(em.jobs[make_job('A')[0]], 'Description') == 'a'
    reads = [c for c in em.calls if c[0] in ('QUERY', 'GET') and not c[1].startswith('tasks/')]
    uids = sorted('UID=="urn:veeam:Job:%s"' % make_job(n)[0] for n in 'AC')
    assert len(reads) == 3 and reads[0] == ('QUERY', 'Job', None)
    # the changed jobs, read again with one query just before their PUTs, and read back with one after them
    assert sorted(reads[1][2].split(',')) == uids and sorted(reads[2][2].split(',')) == uids
    at = dict((kind, [n for n, c in enumerate(em.calls) if c[0] == kind]) for kind in ('QUERY', 'PUT'))
    assert at['QUERY'][1] < min(at['PUT']) and at['QUERY'][2] > max(at['PUT'])
    assert em.warnings == []


def _set(job_name, tag, value):
    def edit(jobs):
        _xml.find(jobs[make_job(job_name)[0]], tag).text = value
    return edit


def test_a_console_edit_before_the_writes_is_seen_by_the_read_just_before_them():
    em = FakeEm(['A', 'B', 'C'])
    # A: someone sets the same description meanwhile, so there is nothing left to send; B: someone changes a
    # setting the entry does not send, which the PUT keeps and the module warns of after reading B back.
    em.console = [_set('A', 'Description', 'a'), _set('B', 'JobScheduleOptions/Standart/RetryOptions/RetryTimes', '9')]
    out = run(em, entries({'name': 'A', 'description': 'a'}, {'name': 'B', 'description': 'b'}), max_in_flight=2)
    assert [r['changed'] for r in out['jobs']] == [False, True]
    assert [c[1] for c in em.writes()] == ['jobs/%s' % make_job('B')[0]]
    assert _xml.findtext(em.jobs[make_job('B')[0]], 'JobScheduleOptions/Standart/RetryOptions/RetryTimes') == '9'
    assert len(em.warnings) == 1 and "job 'B' was changed by someone else" in em.warnings[0]
    assert 'schedule.retry.times' in em.warnings[0]
    assert not [c for c in em.calls if c[0] == 'GET' and c[1].startswith('jobs/')]


def test_a_job_deleted_before_its_write_fails_its_entry_without_a_write():
    em = FakeEm(['A', 'B'])
    em.console = [lambda jobs: jobs.pop(make_job('A')[0])]
    with pytest.raises(_bulk.BulkFailed) as err:
        run(em, entries({'name': 'A', 'description': 'a'}, {'name': 'B', 'description': 'b'}))
    jobs = err.value.result['jobs']
    assert [(r['changed'], r['failed']) for r in jobs] == [(False, True), (True, False)]
    assert jobs[0]['msg'] == "job 'A' was deleted after it was read, before its edit was sent"
    assert [c[1] for c in em.writes()] == ['jobs/%s' % make_job('B')[0]]


def test_read_back_finds_a_job_that_did_not_take_its_change():
    em = FakeEm(['A', 'B'], ignore_put=[make_job('B')[0]])
    with pytest.raises(_bulk.BulkFailed) as err:
        run(em, entries({'id': make_job('A')[0], 'description': 'a'}, {'id': make_job('B')[0], 'description': 'b'}))
    jobs = err.value.result['jobs']
    assert [(r['changed'], r['failed']) for r in jobs] == [(True, False), (True, True)]
    assert jobs[1]['msg'].startswith("the edit of the job 'B': EM did not keep description (sent 'b', found 'Created")
    assert jobs[1]['task']['state'] == 'Finished'


def test_entries_by_id_are_settled_page_by_page_and_their_entities_not_kept(monkeypatch):
    names = ['J%d' % n for n in range(7)]
    em = FakeEm(names)
    seen = {}
    original = _bulk.JobIndex.add

    def add(index, entity, keep=None):
        seen['index'] = index
        return original(index, entity, keep)

    monkeypatch.setattr(_bulk.JobIndex, 'add', add)
    config = entries(*[{'id': make_job(n)[0], 'description': 'Created by SRV12\\Administrator.'} for n in names[:6]])
    config[2]['description'] = 'changed'
    config.append(entries({'name': 'J6'})[0])
    out = run(em, config, page_size=2)
    assert [r['changed'] for r in out['jobs']] == [False, False, True, False, False, False, False]
    assert set(seen['index'].entities) == set(make_job(n)[0] for n in ('J2', 'J6'))  # the changed one, the one named
    assert [c[1] for c in em.writes()] == ['jobs/%s' % make_job('J2')[0]]
    assert not [c for c in em.calls if c[0] == 'GET' and c[1].startswith('jobs/')]


def test_failures_are_collected_with_every_result_as_a_declared_attribute():
    em = FakeEm(['A', 'B'], fail_put=[make_job('B')[0]])
    config = entries({'name': 'A', 'description': 'a'}, {'name': 'B', 'description': 'b'}, {'name': 'Missing'})
    with pytest.raises(_bulk.BulkFailed) as err:
        run(em, config)
    exc = err.value
    assert exc.msg.startswith('2 of 3 jobs failed: B: PUT') and "Missing: job 'Missing' not found" in exc.msg
    jobs = exc.result['jobs']
    expected = [('A', True, False), ('B', False, True), ('Missing', False, True)]
    assert [(r['name'], r['changed'], r['failed']) for r in jobs] == expected
    assert exc.result['changed'] is True
    assert exc.to_fail_kwargs() == {'msg': exc.msg}  # the result travels beside, through run_safely


@pytest.mark.parametrize('settings', [
    {'description': 'Created by SRV12\\Administrator.'},
    {'description': 'new'},
    {'schedule': {'daily': {'time': '22:00'}}},
    {'schedule': {'periodically': {'kind': 'hours', 'full_period': 4}}},
    {'schedule': {'retry': {'times': 3}}, 'schedule_enabled': False},
    {'gfs': {'weekly': {'enabled': True, 'keep': 4}}},
    {'retention': {'type': 'days', 'days': 14}},
    {'schedule': {'backup_window': {'monday': '0-6'}}},
])
def test_partial_plan_finds_the_same_changes_and_body_as_a_full_one(settings):
    from ansible_collections.veeam_em.core.plugins.module_utils._jobs import Plan

    class Index:
        complete = True
        _names = {}

        def resolver(self, entity):
            return None

    entity = make_job('A')[1]
    want = _bulk.check_config(entries(dict(settings, name='A')))[0]
    full, partial = Plan(entity, want, Index()), Plan(entity, want, Index(), partial=True)
    assert partial.changes == full.changes
    if full.changed:
        assert _xml.canonical(partial.body()) == _xml.canonical(full.body())
    assert len(partial.current) < len(full.current)
