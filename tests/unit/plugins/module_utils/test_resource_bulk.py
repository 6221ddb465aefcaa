# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bulk runner for engine resources, with the credentials-record declaration against the in-memory EM of
test_resource (vendor XML, body order checked, every request recorded)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import threading
import time

import pytest

from ansible_collections.veeam_em.core.plugins.module_utils import _resource_bulk
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ApiError, ValidationError
from ansible_collections.veeam_em.core.plugins.module_utils._resource_models import CREDENTIAL, ENCRYPTION_PASSWORD
from ansible_collections.veeam_em.core.tests.unit.plugins.module_utils.test_resource import (
    SECRET, VBR01, VBR02, FakeEm,
)


def converge(em, config, check_mode=False, max_in_flight=10):
    wanted = _resource_bulk.check_config(CREDENTIAL, config, max_in_flight)
    return _resource_bulk.converge(em, CREDENTIAL, config, wanted, check_mode=check_mode, with_diff=True,
                                   wait_timeout=3, max_in_flight=max_in_flight, sleep=lambda s: None,
                                   clock=iter(range(100000)).__next__)


def lists(em):
    """The reads of a credentials collection, per backup server."""
    return [r[1] for r in em.requests if r[0] == 'GET' and r[1].endswith('/credentials')]


def estate():
    em = FakeEm()
    em.add_cred(VBR01, 'CORP\\svc_sql', 'SQL guest processing', 'old')
    em.add_cred(VBR01, 'CORP\\svc_exch', 'Exchange', 'old')
    em.add_cred(VBR02, 'BRANCH\\svc_files', 'Files', 'old')
    return em


def test_the_list_is_checked_whole_before_any_request():
    em = FakeEm()
    bad = [{'credential_username': 'a', 'backup_server': 'vbr01'},
           {'credential_username': 'x' * 256, 'backup_server': 'vbr01'}]
    with pytest.raises(ValidationError) as err:
        _resource_bulk.check_config(CREDENTIAL, bad)
    assert err.value.msg.startswith('config[1] (%s (vbr01)): credential_username: EM keeps at most 255' % ('x' * 256))
    assert err.value.option == 'credential_username'
    twice = [{'credential_username': 'CORP\\svc_sql', 'backup_server': 'vbr01'},
             {'credential_username': 'corp\\SVC_SQL', 'backup_server': 'VBR01', 'description': None}]
    with pytest.raises(ValidationError) as err:
        _resource_bulk.check_config(CREDENTIAL, twice)
    assert 'config[1]' in err.value.msg and 'same credentials record as config[0]' in err.value.msg
    with pytest.raises(ValidationError) as err:
        _resource_bulk.check_config(CREDENTIAL, [], max_in_flight=0)
    assert err.value.option == 'max_in_flight'
    assert em.requests == []


def test_one_read_per_backup_server_and_a_write_only_where_an_entry_differs():
    em = estate()
    config = [{'credential_username': 'CORP\\svc_sql', 'description': 'SQL guest processing', 'backup_server': 'vbr01'},
              {'credential_username': 'CORP\\svc_exch', 'description': 'Exchange', 'backup_server': 'vbr01'},
              {'credential_username': 'CORP\\svc_new', 'description': 'New', 'backup_server': 'vbr01',
               'credential_password': SECRET},
              {'credential_username': 'BRANCH\\svc_files', 'description': 'Files', 'backup_server': 'vbr02'}]
    out = converge(em, config)
    assert out['changed'] is True
    assert [r['name'] for r in out['credentials']] == ['CORP\\svc_sql (vbr01)', 'CORP\\svc_exch (vbr01)',
                                                       'CORP\\svc_new (vbr01)', 'BRANCH\\svc_files (vbr02)']
    assert [r['changed'] for r in out['credentials']] == [False, False, True, False]
    # Before the writes, one read per backup server; the create lists its server again to find the new record.
    assert lists(em)[:2] == ['backupServers/%s/credentials' % VBR01, 'backupServers/%s/credentials' % VBR02]
    assert [(w[0], w[1]) for w in em.writes] == [('POST', 'backupServers/%s/credentials' % VBR01)]
    assert len([r for r in em.requests if r[1] == 'query']) == 1  # the backup servers read once, for every entry
    assert em.secrets[[c for c in em.creds[VBR01] if c['Username'] == 'CORP\\svc_new'][0]['Id']] == SECRET
    assert out['credentials'][2]['secrets_sent'] == ['credential_password']
    assert SECRET not in json.dumps(out)
    # The same list again: nothing to send.
    em.requests = []
    again = converge(em, config)
    assert again['changed'] is False and em.writes == []
    assert not any(r['failed'] for r in again['credentials'])


def test_check_mode_sends_no_write_and_reports_each_difference():
    em = estate()
    config = [{'credential_username': 'CORP\\svc_sql', 'description': 'SQL, renamed', 'backup_server': 'vbr01'},
              {'credential_username': 'CORP\\svc_exch', 'description': 'Exchange', 'backup_server': 'vbr01'},
              {'credential_username': 'BRANCH\\svc_files', 'backup_server': 'vbr02', 'state': 'absent'}]
    out = converge(em, config, check_mode=True)
    assert em.writes == []
    assert [r['changed'] for r in out['credentials']] == [True, False, True]
    assert out['credentials'][0]['diff'] == {'before': {'description': 'SQL guest processing'},
                                             'after': {'description': 'SQL, renamed'}}
    assert out['credentials'][2]['diff']['after'] == {}
    assert [d['before_header'] for d in out['diff']] == ['CORP\\svc_sql (vbr01)', 'BRANCH\\svc_files (vbr02)']


def test_a_failing_entry_does_not_stop_the_others():
    em = estate()
    em.delete_status = 500
    config = [{'credential_username': 'CORP\\svc_sql', 'description': 'SQL v2', 'backup_server': 'vbr01'},
              {'credential_username': 'CORP\\svc_x', 'description': 'X', 'backup_server': 'vbr09',
               'credential_password': SECRET},
              {'credential_username': 'CORP\\svc_exch', 'backup_server': 'vbr01', 'state': 'absent'},
              {'credential_username': 'BRANCH\\svc_files', 'description': 'Files v2', 'backup_server': 'vbr02'}]
    with pytest.raises(_resource_bulk.BulkFailed) as err:
        converge(em, config)
    out = err.value.result
    assert err.value.msg.startswith('2 of 4 credentials records failed: CORP\\svc_x (vbr09): backup_server: no backup '
                                    'server \'vbr09\' in EM')
    assert 'CORP\\svc_exch (vbr01): EM refused the deletion' in err.value.msg
    outcome = [(r['changed'], r['failed']) for r in out['credentials']]
    assert outcome == [(True, False), (False, True), (False, True), (True, False)]
    assert [c['Description'] for c in em.creds[VBR01] if c['Username'] == 'CORP\\svc_sql'] == ['SQL v2']
    assert em.creds[VBR02][0]['Description'] == 'Files v2'
    assert SECRET not in json.dumps(out) + err.value.msg


class SlowEm(FakeEm):
    """Each write takes a while; counts how many are in flight at once."""

    def __init__(self):
        super(SlowEm, self).__init__()
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def write(self, method, path, body_el=None, params=None):
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(0.05)
        try:
            with self.lock:
                return super(SlowEm, self).write(method, path, body_el, params)
        finally:
            with self.lock:
                self.now -= 1


@pytest.mark.parametrize('limit', [1, 3])
def test_writes_in_flight_are_bounded(limit):
    em = SlowEm()
    for n in range(8):
        em.add_cred(VBR01, 'svc%d' % n, 'old')
    config = [{'credential_username': 'svc%d' % n, 'description': 'new', 'backup_server': 'vbr01'} for n in range(8)]
    out = converge(em, config, max_in_flight=limit)
    assert [r['changed'] for r in out['credentials']] == [True] * 8
    assert len([w for w in em.writes if w[0] == 'PUT']) == 8
    assert em.peak == limit


def test_the_read_cache_sends_each_read_once_and_keeps_its_error():
    em = estate()
    reads = _resource_bulk.ReadCache(em)
    first = reads.get('backupServers/%s/credentials' % VBR01)
    assert reads.get('backupServers/%s/credentials' % VBR01) is first
    assert reads.query('BackupServer', filter='Name=="vbr01"') == reads.query('BackupServer', filter='Name=="vbr01"')
    with pytest.raises(KeyError):
        reads.get('backupServers/nope/credentials')  # not an EM error: never kept
    missing = 'backupServers/%s/credentials/%s' % (VBR01, '0' * 8 + '-0000-0000-0000-' + '0' * 12)
    for _twice in range(2):
        with pytest.raises(ApiError):
            reads.get(missing)  # EM's answer, kept: asked once
    assert len(em.requests) == 4 and reads.sent == 4
    assert reads.writes == []  # anything but a read is the client's own


def test_each_record_is_decoded_a_bounded_number_of_times_whatever_the_number_of_entries(monkeypatch):
    em = FakeEm()
    for n in range(300):
        em.add_cred(VBR01, 'svc%03d' % n, 'old')
    config = [{'credential_username': 'svc%03d' % n, 'description': 'old', 'backup_server': 'vbr01'} for n in range(300)]
    config.append({'credential_username': 'svc_new', 'description': 'new', 'backup_server': 'vbr01',
                   'credential_password': SECRET})
    calls = []
    real = CREDENTIAL.read
    monkeypatch.setattr(CREDENTIAL, 'read', lambda entity, *a: calls.append(1) or real(entity, *a))
    out = converge(em, config)
    assert [r['changed'] for r in out['credentials']] == [False] * 300 + [True]
    assert len(calls) < 5 * len(config), len(calls)  # not one decode of every record per entry
    assert len(em.creds[VBR01]) == 301 and em.writes[0][0] == 'POST' and len(em.writes) == 1


def test_wait_false_leaves_each_entry_with_its_accepted_task():
    """The bulk module's wait: false is the single module's, per entry: the last write's task as EM accepted it."""
    em = FakeEm(create_answer='running')
    config = [{'hint': 'Offsite', 'backup_server': 'vbr01', 'key_password': SECRET},
              {'hint': 'Tape', 'backup_server': 'vbr02', 'key_password': SECRET}]
    wanted = _resource_bulk.check_config(ENCRYPTION_PASSWORD, config)
    out = _resource_bulk.converge(em, ENCRYPTION_PASSWORD, config, wanted, wait_timeout=3, sleep=lambda s: None,
                                  clock=iter(range(100000)).__next__, wait=False)
    assert out['changed'] is True
    for entry in out['encryption_passwords']:
        assert entry['changed'] and not entry['failed']
        assert entry['task']['state'] == 'Running' and entry['tasks'] == [entry['task']]
    # nothing followed a POST: no task poll and no read back
    assert [r[0] for r in em.requests if r[0] != 'GET' or 'tasks' in r[1]] == ['POST', 'POST']
    assert SECRET not in json.dumps(out)
