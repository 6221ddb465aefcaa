# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Includes: per-object guest processing, what drifts, and the body sent to add an object."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.veeam_em.core.plugins.module_utils import _includes, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError

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

    def post(self, path, body):
        self.posted.append((path, _xml.reparse(_xml.to_bytes(body))))
        return None


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
