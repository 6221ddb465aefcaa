# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine's hooks (a resource whose lookup, writes or result differ overrides them; ``job`` does) and its watch
of a write whose task EM lost, against the in-memory EM of test_resource."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.veeam_em.core.plugins.module_utils import _resource, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ApiError, VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._resource_models import BACKUP_SERVER, CREDENTIAL
from ansible_collections.veeam_em.core.tests.unit.plugins.module_utils.test_resource import (
    NS, SECRET, VBR01, FakeEm, go, names,
)

RUNNING = ('<Task xmlns="%s" Href="https://em/api/tasks/task-9" Type="Task"><TaskId>task-9</TaskId>'
           '<State>Running</State><Operation>%%s</Operation></Task>' % NS)


class LosingEm(FakeEm):
    """Answers every write with a running task that EM then forgets (404 on its first poll: a new logon session)."""

    def __init__(self, apply_edit=True):
        super(LosingEm, self).__init__()
        self.apply_edit = apply_edit

    def get(self, path, params=None):
        if 'tasks/' in path:
            self.requests.append(('GET', path, params, None))
            raise ApiError('not found', status=404)
        return super(LosingEm, self).get(path, params)

    def write(self, method, path, body_el=None, params=None):
        if method == 'PUT' and not self.apply_edit:
            self._record('PUT', path, body_el, params)
        else:
            super(LosingEm, self).write(method, path, body_el, params)
        return 202, _xml.parse((RUNNING % {'POST': 'Create', 'PUT': 'Edit', 'DELETE': 'Delete'}[method]).encode())


def task_polls(em):
    return [r for r in em.requests if 'tasks/' in r[1]]


# -- a task EM lost: the record is watched, the write never sent again -------------------------------------------


def test_a_create_whose_task_em_lost_is_found_by_reading_again():
    em = LosingEm()
    result = go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', credential_password=SECRET)
    assert result['changed'] and result['credential']['id'] == em.creds[VBR01][0]['Id']
    assert result['task']['state'] == 'Unknown' and 'read to verify' in result['task']['message']
    assert len(em.writes) == 1 and len(task_polls(em)) == 1


def test_an_edit_whose_task_em_lost_is_verified_on_a_backup_server():
    em = LosingEm()
    sid = [s for s, v in em.servers.items() if v['name'] == 'vbr01'][0]
    result = go(em, BACKUP_SERVER, name='vbr01.example.com', server_port=9393)
    assert result['changed'] and result['backup_server']['server_port'] == 9393 and em.servers[sid]['Port'] == '9393'
    assert result['tasks'] == [result['task']] and result['task']['state'] == 'Unknown'
    assert [w[0] for w in em.writes] == ['PUT']


def test_an_edit_whose_task_em_lost_and_that_never_shows_is_watched_then_fails():
    em = LosingEm(apply_edit=False)
    rid = em.add_cred(VBR01, 'CORP\\svc', 'old')
    with pytest.raises(VeeamEmError) as err:
        go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', description='new')
    assert 'did not keep' in err.value.msg and err.value.result['changed'] is True
    assert err.value.result['tasks'][0]['state'] == 'Unknown'
    reads = [r for r in em.requests if r[1].endswith(rid)]
    assert len(reads) > 1  # watched until wait_timeout, not read once
    assert len(em.writes) == 1


def test_a_delete_whose_task_em_lost_is_watched_until_the_record_is_gone():
    em = LosingEm()
    em.add_cred(VBR01, 'CORP\\svc', 'd')
    result = go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', state='absent')
    assert result['changed'] and em.creds[VBR01] == [] and result['task']['state'] == 'Unknown'
    assert len(em.writes) == 1


# -- hooks: each default is the engine's behaviour; an override changes only its own step --------------------------


class Hooked(_resource.Resource):
    """CREDENTIAL's declaration with every hook recorded (and some overridden by the test)."""

    def __init__(self, base, **overrides):  # pylint: disable=super-init-not-called
        self.__dict__.update(base.__dict__)
        self.calls = []
        self.overrides = overrides

    def _call(self, name, default, *args):
        self.calls.append(name)
        hook = self.overrides.get(name)
        return hook(*args) if hook is not None else default(*args)

    def find(self, client, params, parent_id=None):
        return self._call('find', super(Hooked, self).find, client, params, parent_id)

    def before_write(self, client, plan):
        return self._call('before_write', super(Hooked, self).before_write, client, plan)

    def create(self, client, plan, tasks, result, wait_timeout, sleep, clock):
        return self._call('create', super(Hooked, self).create, client, plan, tasks, result, wait_timeout, sleep, clock)

    def edit_body(self, plan):
        return self._call('edit_body', super(Hooked, self).edit_body, plan)

    def exists(self, client, plan, record_id):
        return self._call('exists', super(Hooked, self).exists, client, plan, record_id)

    def after_write(self, client, plan, entity):
        return self._call('after_write', super(Hooked, self).after_write, client, plan, entity)

    def report(self, result, plan, tasks):
        return self._call('report', super(Hooked, self).report, result, plan, tasks)

    def failed(self, exc, plan, result, tasks):
        return self._call('failed', super(Hooked, self).failed, exc, plan, result, tasks)


def test_default_hooks_are_the_engine_and_run_in_order():
    em = FakeEm()
    em.add_cred(VBR01, 'CORP\\svc', 'old')
    res = Hooked(CREDENTIAL)
    plain = go(FakeEm(), CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', description='x',
               check_mode=True)
    result = go(em, res, backup_server='vbr01', credential_username='CORP\\svc', description='new')
    assert result['changed'] and result['credential']['description'] == 'new'
    assert res.calls == ['find', 'before_write', 'edit_body', 'after_write', 'report']
    checked = Hooked(CREDENTIAL)
    assert go(FakeEm(), checked, backup_server='vbr01', credential_username='CORP\\svc', description='x',
              check_mode=True) == plain
    assert checked.calls == ['find', 'report']  # check mode: nothing before a write, nothing after it


def test_find_hook_makes_the_lookup():
    em = FakeEm()
    rid = em.add_cred(VBR01, 'CORP\\svc', 'old')

    def by_id(client, params, parent_id):
        return [client.get('backupServers/%s/credentials/%s' % (parent_id, rid))]
    res = Hooked(CREDENTIAL, find=by_id)
    result = go(em, res, backup_server='vbr01', credential_username='CORP\\svc')
    assert result['credential']['id'] == rid
    assert [r[1] for r in em.requests if r[1] != 'query'] == ['backupServers/%s/credentials/%s' % (VBR01, rid)]


def test_before_write_hook_may_plan_again_from_a_fresh_read():
    em = FakeEm()
    rid = em.add_cred(VBR01, 'CORP\\svc', 'old')

    def moved(client, plan):  # someone set the description meanwhile: planned again, nothing left to send
        em.creds[VBR01][0]['Description'] = 'new'
        return _resource.Plan(plan.resource, plan.params, dict(plan.wanted), plan.resource.list(client, VBR01),
                              (plan.parent_id, plan.parent_name), client=client)
    res = Hooked(CREDENTIAL, before_write=moved)
    result = go(em, res, backup_server='vbr01', credential_username='CORP\\svc', description='new')
    assert not result['changed'] and not em.writes and result['credential']['id'] == rid
    assert result['diff'] == {'before': {}, 'after': {}}


def test_edit_body_hook_writes_the_put():
    em = FakeEm()
    em.add_cred(VBR01, 'CORP\\svc', 'old')

    def whole(plan):  # a plan-level body: every field, changed or not
        return plan.resource.body(plan.resource.edit_root, dict(plan.current, **plan.wanted),
                                  ['credential_username', 'description'], plan.entity)
    go(em, Hooked(CREDENTIAL, edit_body=whole), backup_server='vbr01', credential_username='CORP\\svc',
       description='new')
    assert names(_xml.parse(em.writes[0][3])) == ['Id', 'Username', 'Description']


def test_create_hook_makes_the_record():
    em = FakeEm()

    def imported(client, plan, tasks, result, wait_timeout, sleep, clock):
        rid = em.add_cred(VBR01, 'CORP\\svc', 'imported')
        tasks.append({'id': 'task-3', 'state': 'Finished'})
        return client.get('backupServers/%s/credentials/%s' % (VBR01, rid))
    result = go(em, Hooked(CREDENTIAL, create=imported), backup_server='vbr01', credential_username='CORP\\svc',
                credential_password=SECRET)
    assert result['changed'] and result['credential']['description'] == 'imported' and not em.writes
    assert result['task'] == {'id': 'task-3', 'state': 'Finished'}


def test_exists_hook_checks_a_deletion():
    em = FakeEm()
    rid = em.add_cred(VBR01, 'CORP\\svc', 'd')
    seen = []

    def by_get(client, plan, record_id):
        seen.append(record_id)
        try:
            client.get('backupServers/%s/credentials/%s' % (VBR01, record_id))
        except ApiError:
            return False
        return True
    res = Hooked(CREDENTIAL, exists=by_get)
    assert go(em, res, backup_server='vbr01', credential_username='CORP\\svc', state='absent')['changed']
    assert seen == [rid] and em.requests[-1][1].endswith(rid)


def test_report_and_failed_hooks_shape_the_results():
    em = FakeEm(delete_status=409)
    em.add_cred(VBR01, 'CORP\\svc', 'old')

    def one_task(result, plan, tasks):
        return dict(result, task=tasks[-1]) if tasks else result

    def bare(exc, plan, result, tasks):
        exc.result = {'changed': False, 'note': 'ours'}
    res = Hooked(CREDENTIAL, report=one_task, failed=bare)
    with pytest.raises(VeeamEmError) as err:
        go(em, res, backup_server='vbr01', credential_username='CORP\\svc', state='absent')
    assert err.value.result == {'changed': False, 'note': 'ours'}
    em = FakeEm(create_answer='task')
    result = go(em, Hooked(CREDENTIAL, report=one_task), backup_server='vbr01', credential_username='CORP\\svc',
                credential_password=SECRET)
    assert result['task']['state'] == 'Finished' and 'tasks' not in result


# -- a create whose task failed although EM made the record (em-api-cloud.md 7.2, create_task_timeout) -----------

FAILED = ('<Task xmlns="%s" Href="https://em/api/tasks/task-9" Type="Task"><TaskId>task-9</TaskId>'
          '<State>Finished</State><Operation>Create</Operation><Result Success="false"><Message>The operation has '
          'timed out</Message></Result></Task>' % NS)


class FailingEm(FakeEm):
    """Carries a create out (when ``makes``), then answers with a task that failed."""

    def __init__(self, makes=True):
        super(FailingEm, self).__init__()
        self.makes = makes

    def write(self, method, path, body_el=None, params=None):
        if method != 'POST':
            return super(FailingEm, self).write(method, path, body_el, params)
        if self.makes:
            super(FailingEm, self).write(method, path, body_el, params)
        else:
            self._record(method, path, body_el, params)
        return 200, _xml.parse(FAILED.encode())


def test_a_failed_create_that_em_made_all_the_same_is_found_and_returned_never_resent():
    em = FailingEm()
    with pytest.raises(VeeamEmError) as err:
        go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', credential_password=SECRET)
    made = em.creds[VBR01][0]['Id']
    assert 'timed out' in err.value.msg and 'made the credentials record all the same (id %s)' % made in err.value.msg
    assert err.value.result['changed'] is True and err.value.result['credential']['id'] == made
    assert err.value.result['tasks'][0]['success'] is False
    assert [w[0] for w in em.writes if 'tasks/' not in w[1]] == ['POST']


def test_a_failed_create_that_em_did_not_make_says_only_what_em_said():
    em = FailingEm(makes=False)
    with pytest.raises(VeeamEmError) as err:
        go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', credential_password=SECRET)
    assert 'all the same' not in err.value.msg and err.value.result['credential']['id'] is None
    assert [w[0] for w in em.writes if 'tasks/' not in w[1]] == ['POST']


# -- the one write path's choices, for every resource and job alike -----------------------------------------------

FINISHED = ('<Task xmlns="%s" Href="https://em/api/tasks/task-3" Type="Task"><TaskId>task-3</TaskId>'
            '<State>Finished</State><Operation>Delete</Operation><Result Success="true"/></Task>' % NS)


class StaleAnswerEm(FakeEm):
    """Answers an edit with 200 and the record as it was before the edit, which it does make; keeps what it is
    asked to delete (``keeps``) although its delete task finishes."""

    keeps = False

    def write(self, method, path, body_el=None, params=None):
        if method == 'PUT':
            before = self.get(path)
            self.requests.pop()
            self.put(path, body_el, params)
            return 200, before
        if method == 'DELETE' and self.keeps:
            self._record(method, path, body_el, params)
            return 200, _xml.parse(FINISHED.encode())
        return super(StaleAnswerEm, self).write(method, path, body_el, params)


def test_an_edit_answered_with_the_record_not_showing_it_is_read_once_more_never_resent():
    em = StaleAnswerEm()
    rid = em.add_cred(VBR01, 'CORP\\svc', 'old')
    result = go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', description='new')
    assert result['changed'] and result['credential']['description'] == 'new'
    after_put = em.requests[[r[0] for r in em.requests].index('PUT') + 1:]
    assert [(r[0], r[1].endswith(rid)) for r in after_put] == [('GET', True)]


def test_a_delete_whose_task_finished_but_the_record_stays_fails_at_once():
    em = StaleAnswerEm()
    em.keeps = True
    em.add_cred(VBR01, 'CORP\\svc', 'old')
    with pytest.raises(VeeamEmError) as err:
        go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', state='absent')
    assert "EM accepted it, but the credentials record still exists" in err.value.msg and ' s' not in err.value.msg[-4:]
    assert err.value.result['changed'] is True and err.value.result['tasks'][0]['success'] is True
    after_delete = em.requests[[r[0] for r in em.requests].index('DELETE') + 1:]
    assert [r[0] for r in after_delete if 'tasks/' not in r[1]] == ['GET']  # read once: EM said it was done
