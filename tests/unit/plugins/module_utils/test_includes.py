# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Includes: per-object guest processing, what drifts, and the body sent to add an object."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

import pytest

from ansible_collections.veeam_em.core.plugins.module_utils import _includes, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError, VeeamEmError

NS = 'xmlns="http://www.veeam.com/ent/v1.0"'
GPO = (b'<GuestProcessingOptions>'
       b'<VssSnapshotOptions><VssSnapshotMode>RequireSuccess</VssSnapshotMode><IsCopyOnly>false</IsCopyOnly>'
       b'<UsePersistentGuestAgent>true</UsePersistentGuestAgent></VssSnapshotOptions>'
       b'<WindowsGuestFSIndexingOptions><FileSystemIndexingMode>ExceptSpecifiedFolders</FileSystemIndexingMode>'
       b'<IncludedIndexingFolders/><ExcludedIndexingFolders><Path>%windir%</Path></ExcludedIndexingFolders>'
       b'</WindowsGuestFSIndexingOptions>'
       b'<SqlBackupOptions><TransactionLogsProcessing>OnlyOnSuccessJob</TransactionLogsProcessing>'
       b'<BackupLogsFrequencyMin>15</BackupLogsFrequencyMin><UseDbBackupRetention>true</UseDbBackupRetention>'
       b'<RetainDays>15</RetainDays></SqlBackupOptions>'
       b'<WindowsCredentialsId>cred-1</WindowsCredentialsId></GuestProcessingOptions>')
REF = 'urn:VMware:Vm:root.vm-1'


def oij(gpo=GPO, order=None):
    extra = b'<Order>%s</Order>' % order.encode() if order else b''
    return _xml.parse(b'<ObjectInJob ' + NS.encode() + b' Type="ObjectInJob"><ObjectInJobId>oid-1</ObjectInJobId>'
                      b'<HierarchyObjRef>' + REF.encode() + b'</HierarchyObjRef><Name>vm1</Name>'
                      b'<DisplayName>vm1</DisplayName>' + extra + (gpo or b'') + b'</ObjectInJob>')


def job_info(gpo=GPO):
    return _xml.parse(b'<BackupJobInfo ' + NS.encode() + b'><Includes/>' + gpo + b'</BackupJobInfo>')


class Client:
    def __init__(self):
        self.posted = []

    def write(self, method, path, body=None, params=None):
        assert method == 'POST'
        self.posted.append((path, _xml.reparse(_xml.to_bytes(body))))
        return 204, None


def wanted(**guest):
    return _includes.check_guest([{'name': 'vm1', 'guest_processing': guest}])[0]


def leaves(el):
    return dict((_xml.localname(e.tag), e.text) for e in el.iter() if len(e) == 0)


def test_check_guest_names_the_object_and_option():
    with pytest.raises(ValidationError) as err:
        _includes.check_guest([{'name': 'a'}, {'name': 'b', 'guest_processing': {'sql': {'retain_days': 0}}}])
    assert str(err.value).startswith('objects[1].guest_processing.sql.retain_days') and err.value.option == 'objects'


def test_drift_compares_only_declared_settings():
    current = _includes.describe(oij())
    assert _includes.guest_drift(current, wanted(app_aware={'mode': 'require_success'})) == []
    drift = _includes.guest_drift(current, wanted(app_aware={'mode': 'disabled', 'copy_only': False}))
    assert drift == [('app_aware', ('VssSnapshotMode',))]


def test_include_without_guest_processing_is_not_reincluded_every_run():
    current = _includes.describe(oij(gpo=None))
    obj = {'ref': REF.upper(), 'name': 'vm1', 'wanted': wanted(sql={'transaction_logs': 'never'})}
    assert _includes.plan([current], [obj], 'present', False) == ([], [], [])


def test_plan_orders_additions_reinclusions_and_removals():
    a = _includes.describe(oij())
    b = dict(_includes.describe(oij()), ref='urn:VMware:Vm:root.vm-2', name='vm2')
    new = {'ref': 'urn:VMware:Vm:root.vm-3', 'name': 'vm3', 'wanted': {}}
    changed = {'ref': REF, 'name': 'vm1', 'wanted': wanted(app_aware={'copy_only': True})}
    to_add, to_reinclude, to_remove = _includes.plan([a, b], [changed, new], 'present', True)
    assert to_add == [new] and to_reinclude == [(a, changed)] and to_remove == [b]
    assert _includes.plan([a, b], [changed], 'absent', False) == ([], [], [a])


def test_new_object_gets_declared_blocks_filled_from_the_job():
    client = Client()
    obj = {'ref': REF, 'name': 'vm1', 'wanted': wanted(app_aware={'copy_only': True})}
    _includes.add(client, 'job-1', obj, job_info())
    path, body = client.posted[0]
    assert path == 'jobs/job-1/includes'
    assert [_xml.localname(c.tag) for c in body] == ['HierarchyObjRef', 'HierarchyObjName', 'GuestProcessingOptions']
    gpo = _xml.find(body, 'GuestProcessingOptions')
    assert [_xml.localname(c.tag) for c in gpo] == ['VssSnapshotOptions']
    assert leaves(gpo) == {'VssSnapshotMode': 'RequireSuccess', 'IsCopyOnly': 'true', 'UsePersistentGuestAgent': 'true'}


def test_new_object_without_guest_processing_sends_none():
    client = Client()
    _includes.add(client, 'job-1', {'ref': REF, 'name': 'vm1', 'wanted': {}}, job_info())
    assert [_xml.localname(c.tag) for c in client.posted[0][1]] == ['HierarchyObjRef', 'HierarchyObjName']


def test_object_added_back_keeps_everything_it_had():
    client = Client()
    old = oij(order='3')
    obj = {'ref': REF, 'name': 'vm1', 'wanted': wanted(sql={'transaction_logs': 'never'})}
    _includes.add(client, 'job-1', obj, old)
    body = client.posted[0][1]
    assert [_xml.localname(c.tag) for c in body] == ['HierarchyObjRef', 'HierarchyObjName', 'Order',
                                                     'GuestProcessingOptions']
    sent = _xml.find(body, 'GuestProcessingOptions')
    before = _xml.find(old, 'GuestProcessingOptions')
    assert [_xml.localname(c.tag) for c in sent] == [_xml.localname(c.tag) for c in before]
    expected = leaves(before)
    expected['TransactionLogsProcessing'] = 'Never'
    assert leaves(sent) == expected


# -- converge(): what the job_include module does --------------------------------------------------------------

JOB = (b'<Job ' + NS.encode() + b' Type="Job" Name="SQL Backup" UID="urn:veeam:Job:11111111-2222-3333-4444-555555555555">'
       b'<Links><Link Rel="Up" Type="BackupServerReference" Name="vbr01"/></Links>'
       b'<JobType>Backup</JobType><Platform>VMware</Platform>'
       b'<JobInfo><BackupJobInfo><Includes/>' + GPO + b'</BackupJobInfo></JobInfo></Job>')
JOB_ID = '11111111-2222-3333-4444-555555555555'
TASK = (b'<Task ' + NS.encode() + b' Type="Task" Href="https://em/api/tasks/%s"><TaskId>%s</TaskId><State>%s</State>'
        b'<Operation>UpdateJob</Operation><Result Success="%s"><Message>%s</Message></Result></Task>')


def task(tid, success=True):
    return _xml.parse(TASK % (tid, tid, b'Finished', b'true' if success else b'false', b'Ok' if success else b'refused'))


class FakeEm:
    """Just enough of EmClient for job_include: one job, one root, a lookup, includes added and removed by tasks."""

    def __init__(self, included=('vm1',), inventory=('vm1', 'vm2', 'vm3'), fail_adds=()):
        self.included = [self._oij(n) for n in included]
        self.inventory = inventory
        self.fail_adds = fail_adds
        self.writes = []
        self.tasks = 0

    def _oij(self, name, gpo=GPO):
        return _xml.parse(b'<ObjectInJob ' + NS.encode() + b' Type="ObjectInJob"><ObjectInJobId>oid-' + name.encode()
                          + b'</ObjectInJobId><HierarchyObjRef>urn:VMware:Vm:root.' + name.encode()
                          + b'</HierarchyObjRef><Name>' + name.encode() + b'</Name>' + (gpo or b'') + b'</ObjectInJob>')

    def query(self, qtype, filter=None, fmt='Entities', page_size=None):  # pylint: disable=redefined-builtin
        if qtype == 'Job':
            return [_xml.parse(JOB)]
        return [_xml.parse(b'<HierarchyRoot ' + NS.encode() + b' Name="vc01" UID="urn:veeam:HierarchyRoot:r1">'
                           b'<Links><Link Rel="Up" Type="BackupServerReference" Name="vbr01"/></Links></HierarchyRoot>')]

    def get(self, path, params=None):
        if path == 'jobs/%s/includes' % JOB_ID:
            root = _xml.element('ObjectsInJob')
            for oij_el in self.included:
                root.append(copy.deepcopy(oij_el))
            return root
        if path == 'lookup':
            name = dict(params)['name']
            items = _xml.element('HierarchyItems')
            if name in self.inventory:
                item = _xml.sub(items, 'HierarchyItem')
                _xml.sub(item, 'ObjectRef', 'urn:VMware:Vm:root.%s' % name)
                _xml.sub(item, 'ObjectName', name)
            return items
        raise AssertionError('unexpected GET %s' % path)

    def _task(self, ok):
        self.tasks += 1
        return task(b'task-%d' % self.tasks, ok)

    def post(self, path, body):
        name = _xml.findtext(body, 'HierarchyObjName')
        self.writes.append(('POST', path, name))
        ok = name not in self.fail_adds
        if ok:
            self.included.append(self._oij(name))
        return self._task(ok)

    def delete(self, path):
        if '/tasks/' in path:  # a finished task is deleted: not a write to the job
            return None
        self.writes.append(('DELETE', path))
        self.included = [o for o in self.included if 'oid-' + _xml.findtext(o, 'Name') != path.rsplit('/', 1)[1]]
        return self._task(True)

    def write(self, method, path, body=None, params=None):
        """EmClient.write(): every include write is answered 202 with a task."""
        return 202, (self.post(path, body) if method == 'POST' else self.delete(path))


def params(*names, **kw):
    p = dict(name='SQL Backup', id=None, backup_server=None, state='present', purge=False, wait=True, wait_timeout=5,
             objects=[{'name': n, 'type': 'vm', 'root': None, 'guest_processing': None} for n in names])
    p.update(kw)
    return p


def converge(em, p, **kw):
    return _includes.converge(em, p, _includes.check_options(p), **kw)


@pytest.mark.parametrize('p, option', [
    (params('vm1', state='absent', purge=True), 'purge'),
    (params(purge=True), 'objects'),
    (params('vm1', id='not-a-uuid'), 'id'),
    (params('vm1', 'vm2', 'vm1'), 'objects'),  # issue 12 #3: EM would fail the second addition, after the first
])
def test_options_alone_refused(p, option):
    with pytest.raises(ValidationError) as err:
        _includes.check_options(p)
    assert err.value.option == option


def test_one_name_in_two_roots_is_not_a_repeat():
    p = params('fs01', 'fs01')
    p['objects'][0]['root'], p['objects'][1]['root'] = 'vc01', 'vc02'
    assert len(_includes.check_options(p)) == 2


def test_adds_only_what_is_missing_and_reports_the_objects_after():
    em = FakeEm()
    result = converge(em, params('vm1', 'vm2'))
    assert em.writes == [('POST', 'jobs/%s/includes' % JOB_ID, 'vm2')]
    assert result['changed'] is True and result['added'] == ['vm2'] and result['removed'] == []
    assert [o['name'] for o in result['objects']] == ['vm1', 'vm2'] and [t['id'] for t in result['tasks']] == ['task-1']
    assert converge(em, params('vm1', 'vm2'))['changed'] is False and len(em.writes) == 1


def test_check_mode_predicts_and_writes_nothing():
    em = FakeEm()
    result = converge(em, params('vm2', purge=True), check_mode=True)
    assert em.writes == [] and result['added'] == ['vm2'] and result['removed'] == ['vm1']
    assert [(o['name'], o['id']) for o in result['objects']] == [('vm2', '')]


def test_removing_the_last_object_fails_before_any_write():
    em = FakeEm()
    with pytest.raises(ValidationError) as err:
        converge(em, params('vm1', state='absent'))
    assert 'no object' in err.value.msg and em.writes == []


def test_unknown_object_fails_before_any_write_even_for_the_ones_found():
    em = FakeEm()
    with pytest.raises(ValidationError) as err:
        converge(em, params('vm2', 'nope'))
    assert 'objects[1] (vm nope): not found in vc01' in err.value.msg and em.writes == []


def test_failed_step_is_named_and_the_tasks_so_far_are_the_declared_result():
    em = FakeEm(fail_adds=('vm3',))
    with pytest.raises(VeeamEmError) as err:
        converge(em, params('vm2', 'vm3'))
    exc = err.value
    assert exc.msg.startswith('adding vm3: ')
    assert exc.result['changed'] is True and exc.result['added'] == ['vm2', 'vm3']
    assert [(t['id'], t['success']) for t in exc.result['tasks']] == [('task-1', True), ('task-2', False)]


def test_include_shown_without_guest_processing_warns_instead_of_reincluding():
    em = FakeEm(included=())
    em.included = [em._oij('vm1', gpo=None)]
    warnings = []
    result = converge(em, params('vm1', objects=[{'name': 'vm1', 'type': 'vm', 'root': None,
                                                  'guest_processing': {'sql': {'transaction_logs': 'never'}}}]),
                      warn=warnings.append)
    assert result['changed'] is False and em.writes == []
    assert len(warnings) == 1 and warnings[0].startswith('objects[0] (vm1): EM shows no guest processing')


class AnsweredAtOnce(FakeEm):
    """EM answering an include write at once: 201 with the new ObjectInJob, 204 for a removal."""

    def write(self, method, path, body=None, params=None):
        if method == 'POST':
            self.post(path, body)
            return 201, copy.deepcopy(self.included[-1])
        self.delete(path)
        return 204, None


class AcceptedWithoutTask(FakeEm):
    """EM answering 202 with no body: the include shows only after the job has been read twice more."""

    def __init__(self, **kw):
        super(AcceptedWithoutTask, self).__init__(**kw)
        self.pending = []
        self.reads = 0

    def write(self, method, path, body=None, params=None):
        self.pending.append((method, path, body))
        return 202, None

    def get(self, path, params=None):
        if path.endswith('/includes'):
            self.reads += 1
            if self.reads == 3:
                for method, wpath, body in self.pending:
                    if method == 'POST':
                        FakeEm.post(self, wpath, body)
                    else:
                        FakeEm.delete(self, wpath)
                self.pending = []
        return FakeEm.get(self, path, params)


def test_include_writes_done_at_once_report_no_task():
    em = AnsweredAtOnce()
    result = converge(em, params('vm2', purge=True))
    assert em.writes == [('POST', 'jobs/%s/includes' % JOB_ID, 'vm2'), ('DELETE', 'jobs/%s/includes/oid-vm1' % JOB_ID)]
    assert result['changed'] is True and result['tasks'] == []
    assert [o['name'] for o in result['objects']] == ['vm2']


def test_include_accepted_without_task_is_watched_not_resent(monkeypatch):
    monkeypatch.setattr(_includes._tasks.time, 'sleep', lambda s: None)
    em = AcceptedWithoutTask()
    result = converge(em, params('vm1', 'vm2'))
    assert em.writes == [('POST', 'jobs/%s/includes' % JOB_ID, 'vm2')]
    assert result['changed'] is True and result['tasks'] == []
    assert [o['name'] for o in result['objects']] == ['vm1', 'vm2']
