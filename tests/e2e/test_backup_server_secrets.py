# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""credential, encryption_password, backup_server and their _info modules, through ansible-playbook against the emulator.

Each run batches many cases (one module run, one logon session each); the emulator's log, split per session, says
what each case sent. Every managed secret starts with the sweep's canary and is noted for it, so the verbose run
proves none reaches any output.
"""

from __future__ import (absolute_import, division, print_function)

import json
import time

import pytest

from conftest import _note_secrets, em_writes, run_tasks

CRED_PW = 'pw-CANARY-cred-5e1f'
CRED_PW2 = 'pw-CANARY-cred-rotated-77a2'
KEY_PW = 'pw-CANARY-key-0b9c'
VBR_PW = 'pw-CANARY-vbr-c3d8'
SECRETS = {'cred_password': CRED_PW, 'cred_password2': CRED_PW2, 'key_password': KEY_PW, 'vbr_password': VBR_PW}


@pytest.fixture(autouse=True)
def noted():
    _note_secrets(*[{'password': v} for v in SECRETS.values()])


def writes(session):
    return [(e['method'], e['path'].split('?')[0]) for e in em_writes(session)]


def matches(em, kind, record_id, secret):
    """Whether the emulator holds ``secret`` for the record (it keeps salted hashes only)."""
    return em.control('POST', '%s/%s/password_matches' % (kind, record_id), json={'password': secret}).json()['matches']


def no_secret(*results):
    text = json.dumps(results)
    return not any(v in text for v in SECRETS.values())


def cred(**kw):
    return {'veeam_em.core.credential': dict({'backup_server': 'vbr01', 'credential_username': 'CORP\\svc_e2e'}, **kw)}


def key(**kw):
    return {'veeam_em.core.encryption_password': dict({'backup_server': 'vbr01', 'hint': 'E2E key'}, **kw)}


def server(**kw):
    return {'veeam_em.core.backup_server': dict({'name': 'vbr-e2e.example.com'}, **kw)}


LIFECYCLE = [
    dict(cred(description='E2E', credential_password='{{ cred_password }}'), check_mode=True),        # 0
    cred(description='E2E', credential_password='{{ cred_password }}'),                                # 1
    cred(description='E2E', credential_password='{{ cred_password }}'),                                # 2
    cred(credential_password='{{ cred_password2 }}', update_password='always'),                        # 3
    {'veeam_em.core.credential_info': {'backup_server': 'vbr01', 'credential_username': '*svc_e2e'}},  # 4
    cred(credential_username='u' * 256, credential_password='{{ cred_password }}'),                    # 5
    cred(backup_server='vbr99', credential_password='{{ cred_password }}'),                            # 6
    key(key_password='{{ key_password }}'),                                                            # 7
    key(key_password='{{ key_password }}'),                                                            # 8
    key(key_password='{{ cred_password2 }}', update_password='always'),                                # 9
    {'veeam_em.core.encryption_password_info': {'hint': 'e2e*'}},                                      # 10
    server(description='E2E', server_username='CORP\\svc_em', server_password='{{ vbr_password }}'),   # 11
    server(description='E2E', server_username='CORP\\svc_em', server_password='{{ vbr_password }}'),   # 12
    server(server_port=9393),                                                                          # 13
]


def test_lifecycle_then_removal(em):
    run = run_tasks(em, LIFECYCLE, diff=True, extra_vars=dict(SECRETS))
    r = run.results
    # task 5 fails on its options alone, before the logon: every other task is one logon session
    logged_on = [i for i in range(len(LIFECYCLE)) if i != 5]
    assert len(run.sessions()) == len(logged_on)
    sent = dict(zip(logged_on, [writes(s) for s in run.sessions()]))
    sent[5] = []
    assert all(not x.get('failed') for i, x in enumerate(r) if i not in (5, 6, 9)), [x.get('msg') for x in r]

    # credential: check mode predicts and sends nothing; create is one POST; the re-run sends nothing
    assert r[0]['changed'] and r[0]['diff']['after']['credential_username'] == 'CORP\\svc_e2e' and sent[0] == []
    assert r[1]['changed'] and [m for m, _p in sent[1]] == ['POST'] and len(r[1]['credential']['id']) == 36
    assert not r[2]['changed'] and sent[2] == []
    assert r[3]['changed'] and r[3]['secrets_sent'] == ['credential_password'] and [m for m, _p in sent[3]] == ['PUT']
    assert [c['description'] for c in r[4]['credentials']] == ['E2E']
    stored = [c for c in em.control('GET', 'credentials').json() if c['id'] == r[1]['credential']['id']][0]
    assert stored['password_set'] and stored['password_writes'] == 1 and stored['description'] == 'E2E'
    assert matches(em, 'credentials', stored['id'], CRED_PW2) and not matches(em, 'credentials', stored['id'], CRED_PW)
    # bad input: failed before any write, naming the option
    assert r[5]['failed'] and r[5]['option'] == 'credential_username' and sent[5] == []
    assert r[6]['failed'] and r[6]['option'] == 'backup_server' and 'vbr01' in r[6]['msg'] and sent[6] == []

    # encryption password: created once, a new key for it refused before any write
    assert r[7]['changed'] and not r[8]['changed'] and sent[8] == []
    assert r[9]['failed'] and 'new record' in r[9]['msg'] and sent[9] == []
    assert [k['hint'] for k in r[10]['encryption_passwords']] == ['E2E key']
    assert matches(em, 'passwords', r[7]['encryption_password']['id'], KEY_PW)

    # backup server: registered once, its port edited by one PUT carrying the address
    assert r[11]['changed'] and r[11]['backup_server']['server_port'] == 9392 and not r[12]['changed']
    assert r[13]['changed'] and r[13]['diff'] == {'before': {'server_port': 9392}, 'after': {'server_port': 9393}}
    assert [m for m, _p in sent[13]] == ['PUT']
    vbr = [s for s in em.control('GET', 'backup_servers').json() if s['dns_name_or_ip'] == 'vbr-e2e.example.com'][0]
    assert vbr['port'] == 9393 and vbr['description'] == 'E2E' and vbr['username'] == 'CORP\\svc_em'
    assert matches(em, 'backup_servers', vbr['id'], VBR_PW) and vbr['account_writes'] == 0
    assert no_secret(r) and not any(v in run.output for v in SECRETS.values())

    # removal: a record a job uses is refused and kept; the others go, and a re-run is unchanged
    em.control('POST', 'credentials/%s/in_use' % r[1]['credential']['id'], json={'in_use': True, 'by': 'SQL Backup'})
    em.control('PATCH', 'config', json={'in_use_delete_status': '409'})  # the pages give no status; 500 is the default
    removal = [cred(state='absent'), key(state='absent'), key(state='absent'), server(state='absent'),
               server(state='absent'),
               cred(credential_username='LAB\\Administrator'),                  # two seeded records hold it
               cred(credential_username='LAB\\sqladmin', state='absent')]        # the seeded SQL Backup job uses it
    run2 = run_tasks(em, removal)
    r2 = run2.results
    assert r2[5]['failed'] and 'ambiguous' in r2[5]['msg'] and 'Domain administrator (guest processing)' in r2[5]['msg']
    assert r2[6]['failed'] and 'SQL Backup' in r2[6]['msg'] and 'kept' in r2[6]['msg']
    assert [writes(s) for s in run2.sessions()][5] == []
    assert r2[0]['failed'] and 'kept' in r2[0]['msg'] and 'SQL Backup' in r2[0]['msg']
    assert [c['id'] for c in em.control('GET', 'credentials').json()].count(r[1]['credential']['id']) == 1
    assert r2[1]['changed'] and not r2[2]['changed'] and r2[3]['changed'] and not r2[4]['changed']
    assert [writes(s) for s in run2.sessions()][4] == []
    assert not [s for s in em.control('GET', 'backup_servers').json() if s['dns_name_or_ip'] == 'vbr-e2e.example.com']


def test_every_other_answer_em_may_give(em):
    """Creates answered with a body, a task or a bare 202; edits answered 200 with the entity; a server EM names
    by its host name, not by the address it was registered with."""
    em.reset(order_violation='reject', merge='replace', cred_create_answer='201_body',
             password_create_answer='202_task', backupserver_create_answer='202_empty', sync_put_answer='200_body',
             backupserver_name_source='hostname')
    tasks = [cred(description='E2E', credential_password='{{ cred_password }}'),
             cred(description='E2E edited'),
             key(key_password='{{ key_password }}'),
             key(hint='E2E key', key_password='{{ key_password }}'),
             server(description='E2E', server_username='CORP\\svc_em', server_password='{{ vbr_password }}'),
             server(description='E2E edited', server_username='CORP\\svc_em', server_password='{{ vbr_password }}',
                    update_password='always'),
             # wait: false, in each module: a task-answered create returns its task still running and unverified;
             # writes EM answers at once are verified either way
             key(hint='E2E key (no wait)', key_password='{{ key_password }}', wait=False),
             cred(description='E2E no wait', wait=False),
             server(description='E2E no wait', wait=False)]
    run = run_tasks(em, tasks, extra_vars=dict(SECRETS))
    r = run.results
    assert [x.get('failed', False) for x in r] == [False] * 9, [x.get('msg') for x in r]
    assert [x['changed'] for x in r] == [True, True, True, False, True, True, True, True, True]
    assert r[2]['tasks'] == [r[2]['task']]
    assert r[6]['task']['state'] != 'Finished' and r[6]['tasks'] == [r[6]['task']]
    assert r[6]['encryption_password']['id'] is None and r[6]['encryption_password']['hint'] == 'E2E key (no wait)'
    assert r[7]['credential']['description'] == 'E2E no wait' and 'task' not in r[7]
    assert r[8]['backup_server']['description'] == 'E2E no wait' and 'task' not in r[8]
    assert [len(writes(s)) for s in run.sessions()][6:] == [1, 1, 1]
    # the accepted create does finish on EM, once its task has run
    deadline = time.time() + 30
    while 'E2E key (no wait)' not in [k['hint'] for k in em.control('GET', 'passwords').json()]:
        assert time.time() < deadline, 'the create accepted with wait: false never finished'
        time.sleep(0.2)
    assert r[1]['credential']['description'] == 'E2E edited'
    assert r[2]['task']['state'] == 'Finished' and r[2]['encryption_password']['hint'] == 'E2E key'
    assert r[5]['backup_server']['description'] == 'E2E edited' and r[5]['backup_server']['em_name'] == 'VBR-E2E'
    assert sorted(r[5]['secrets_sent']) == ['server_password', 'server_username']
    assert [len(writes(s)) for s in run.sessions()][:6] == [1, 1, 1, 0, 1, 1]
    assert no_secret(r)
