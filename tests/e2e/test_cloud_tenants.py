# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veeam_em.core.cloud_tenants, the role tenant_config and the provider's quick start, against the emulator.

Few ansible-playbook runs, several tasks each; ``run.sessions()`` tells the module runs apart.
"""

from __future__ import (absolute_import, division, print_function)

import json
import os
import time

import yaml

from conftest import PASSWORD, ROOT, USER, _note_secrets, em_writes, run_tasks

TENANT_SECRET = 'pw-CANARY-tenant-9d41e7'
PORTAL_SECRET = 'pw-CANARY-portal-51c0a2'


def writes(session):
    """The requests of one session that change EM (not the logon, the logoff or a task's clean-up)."""
    return [(e['method'], e['path']) for e in em_writes(session)]


def tenant(em, name, server='vbr01'):
    found = [t for t in em.control('GET', 'tenants').json() if t['name'] == name and t['backup_server'] == server]
    return found[0] if found else None


def quota_gb(t, repository):
    return [q['quota_mb'] // 1024 for q in t['resources'] if q['repository'] == repository]


CONFIG = [
    {'name': 'acme', 'backup_server': 'vbr01', 'description': 'ACME Corp, backup and replicas'},
    {'name': 'globex', 'backup_server': 'vbr01',
     'backup_resources': [{'repository': 'Default Backup Repository', 'quota_gb': 80}]},
    {'name': 'umbrella', 'backup_server': 'vbr01', 'description': 'Umbrella, new customer',
     'tenant_password': '{{ e2e_tenant_password }}',
     'backup_resources': [{'repository': 'Backup Volume 01', 'quota_gb': 20}]},
    {'name': 'initech', 'description': 'Initech vCloud organization'},
    {'name': 'hooli', 'backup_server': 'vbr01', 'tenant_password': '{{ e2e_tenant_password }}',
     'backup_resources': [{'repository': 'No Such Repository', 'quota_gb': 10}]},
]


def test_cloud_tenants_check_apply_rerun_and_one_failing_entry(em):
    _note_secrets({'password': TENANT_SECRET}, {'password': PORTAL_SECRET})
    em.control('POST', 'users', json={'name': 'e2e-portal', 'password': PORTAL_SECRET, 'role': 'portal'})
    task = {'veeam_em.core.cloud_tenants': {'config': CONFIG}, 'diff': True}
    bad = {'veeam_em.core.cloud_tenants': {'config': [{'name': 'acme', 'description': 'never sent'},
                                                      {'name': 'globex', 'backup_resources': [
                                                          {'repository': 'Backup Volume 01', 'quota_gb': 0}]}]}}
    as_portal_user = {'veeam_em.core.cloud_tenants': {'config': CONFIG, 'username': 'e2e-portal',
                                                      'password': '{{ e2e_portal_password }}'}, 'check_mode': True}
    nowait = {'veeam_em.core.cloud_tenants': {'config': [{'name': 'globex', 'backup_server': 'vbr01',
                                                          'description': 'Globex, not waited on'}], 'wait': False}}
    no_slot = {'veeam_em.core.cloud_tenants': {'config': CONFIG[:1], 'max_in_flight': 0}}
    run = run_tasks(em, [dict(task, check_mode=True), task, task, bad, as_portal_user, nowait, no_slot],
                    extra_vars={'e2e_tenant_password': TENANT_SECRET, 'e2e_portal_password': PORTAL_SECRET})
    check, first, again, refused, portal, accepted, zero = run.results
    sessions = run.sessions()
    assert len(sessions) == 5, [len(s) for s in sessions]  # the bad lists never logged on

    # wait: false: the edit's task returned as EM accepted it, not polled, the tenant not read back; EM finishes it.
    entry = accepted['tenants'][0]
    assert accepted['changed'] is True and entry['changed'] and entry['task']['state'] == 'Running'
    after_put = sessions[4][[e['method'] for e in sessions[4]].index('PUT') + 1:]
    assert [e['method'] for e in after_put] == ['DELETE'] and '/logonSessions/' in after_put[0]['path'], after_put
    deadline = time.time() + 30
    while tenant(em, 'globex')['description'] != 'Globex, not waited on' and time.time() < deadline:
        time.sleep(0.5)
    assert tenant(em, 'globex')['description'] == 'Globex, not waited on'
    # max_in_flight below one fails before the logon, naming the option and what it accepts.
    assert zero['failed'] is True and zero['msg'] == 'max_in_flight: 0 writes at a time; accepted: 1 or more', zero['msg']

    # EM's Portal User role is enough: the same reads, the same plan (all applied by now), nothing written.
    assert not portal.get('failed') or portal['msg'].startswith('1 of 5 tenants failed: hooli'), portal['msg']
    assert [t['changed'] for t in portal['tenants']] == [False] * 5
    assert not [e for e in sessions[3] if e['status'] == 403] and writes(sessions[3]) == []

    # Check mode: each difference reported, nothing written, every tenant read by one request.
    names = ['acme (vbr01)', 'globex (vbr01)', 'umbrella (vbr01)', 'initech', 'hooli (vbr01)']
    assert [t['name'] for t in check['tenants']] == names
    assert [t['changed'] for t in check['tenants']] == [True, True, True, False, False]
    assert check['tenants'][0]['diff']['after'] == {'settings': {'description': 'ACME Corp, backup and replicas'}}
    assert writes(sessions[0]) == []
    tenant_lists = [e for e in sessions[0] if e['method'] == 'GET' and e['path'].rstrip('/') == '/api/cloud/tenants']
    assert len(tenant_lists) == 1
    assert not [e for e in sessions[0] if e['path'].startswith('/api/cloud/tenants/')]

    # The run: one write per tenant that differs, the failing entry named, the others done.
    assert first['failed'] is True and '1 of 5 tenants failed: hooli (vbr01)' in first['msg']
    assert 'No Such Repository' in first['tenants'][4]['msg']
    assert [t['changed'] for t in first['tenants']] == [True, True, True, False, False]
    assert [t['failed'] for t in first['tenants']] == [False, False, False, False, True]
    sent = writes(sessions[1])
    assert len([w for w in sent if w[0] == 'PUT']) >= 2 and ('POST', '/api/cloud/tenants') in sent
    assert not [w for w in sent if w[0] == 'DELETE'], sent  # a quota is resized in place, never removed and added
    assert tenant(em, 'acme')['description'] == 'ACME Corp, backup and replicas'
    globex = tenant(em, 'globex')
    assert quota_gb(globex, 'Default Backup Repository') == [80] and quota_gb(globex, 'Backup Volume 01') == [200]
    umbrella = tenant(em, 'umbrella')
    assert umbrella['description'] == 'Umbrella, new customer' and quota_gb(umbrella, 'Backup Volume 01') == [20]
    assert em.control('POST', 'tenants/%s/password_matches' % umbrella['id'],
                      json={'password': TENANT_SECRET}).json()['matches'] is True
    assert tenant(em, 'hooli') is None
    assert tenant(em, 'acme', 'vbr02')['description'] == 'ACME branch (suspended)'  # the other acme untouched

    # The same list again: nothing to send, the failing entry still failing on its own.
    assert [t['changed'] for t in again['tenants']] == [False] * 5
    assert writes(sessions[2]) == []

    # A list that is wrong whatever EM holds fails whole, naming the entry and the option, before the logon.
    assert refused['failed'] is True and refused['msg'].startswith('config[1] (globex): backup_resources'), refused['msg']
    assert TENANT_SECRET not in json.dumps(run.results) + run.output
    assert PORTAL_SECRET not in json.dumps(run.results) + run.output


def test_provider_quick_start_runs_as_written(em):
    with open(os.path.join(ROOT, 'examples', 'cloud_quickstart.yml')) as f:
        play = yaml.safe_load(f)[0]
    tasks = [dict(t, vars=play['vars']) for t in play['tasks']]
    _note_secrets({'password': TENANT_SECRET})
    run = run_tasks(em, tasks, extra_vars={'vault_tenant_password': TENANT_SECRET})
    onboarded, grown, disabled, drift, offboarded = run.results
    for name, result in zip(('onboard', 'grow', 'disable', 'drift', 'offboard'), run.results):
        assert not result.get('failed'), (name, result.get('msg'))
    assert [r['changed'] for r in run.results] == [True, True, True, False, True]
    assert drift['tenants'][0]['changed'] is False
    sessions = run.sessions()
    assert len(sessions) == 5
    assert not [w for w in writes(sessions[1]) if w[0] in ('DELETE', 'POST')], writes(sessions[1])
    assert writes(sessions[3]) == []
    assert tenant(em, 'contoso') is None
    deleted = em.control('GET', 'deleted_tenants').json()
    assert [d for d in deleted if d.get('name') == 'contoso'] and all(
        d.get('include_backups') in (False, 'false') for d in deleted if d.get('name') == 'contoso')
    assert TENANT_SECRET not in json.dumps(run.results) + run.output


def role_task(em, tenants, **extra):
    variables = {'veeam_em_server': em.url, 'veeam_em_username': USER, 'veeam_em_password': PASSWORD,
                 'veeam_em_ca_path': em.ca_file, 'veeam_em_tenants': tenants}
    variables.update(extra)
    return {'ansible.builtin.include_role': {'name': 'veeam_em.core.tenant_config'}, 'vars': variables}


ROLE_TENANTS = [{'name': 'acme', 'backup_server': 'vbr01', 'max_concurrent_tasks': 6},
                {'name': 'globex', 'backup_server': 'vbr01', 'enabled': False},
                {'name': 'initech', 'description': 'Initech vCloud organization'}]


def test_role_drift_report_then_apply_then_quiet(em):
    check = run_tasks(em, [role_task(em, ROLE_TENANTS), role_task(em, 'not a list')], check=True)
    assert '"Drift (check mode, nothing changed):",' in check.output
    assert '"acme (vbr01)' in check.output and '"globex (vbr01)' in check.output
    assert 'max_concurrent_tasks: 4 -> 6' in check.output
    assert 'enabled: true -> false' in check.output
    assert 'initech' not in check.output.split('Drift (check mode')[1].split('TASK')[0]
    assert 'veeam_em_tenants' in check.output  # the second include: its variables refused before any request
    assert len(check.sessions()) == 1 and writes(check.sessions()[0]) == []

    run = run_tasks(em, [role_task(em, ROLE_TENANTS), role_task(em, ROLE_TENANTS)])
    assert run.rc == 0, run.output
    first, second = run.sessions()
    assert len(writes(first)) == 2 and writes(second) == []
    assert '"Changed:",' in run.output
    assert tenant(em, 'acme')['max_concurrent_tasks'] == 6 and tenant(em, 'globex')['enabled'] is False


def test_role_exports_what_em_holds_and_the_export_applies_unchanged(em, tmp_path):
    """Issue 16 for tenants: the export is the role's own input; applied as it is, nothing changes."""
    export = role_task(em, [], veeam_em_export_path=str(tmp_path))
    apply_ = role_task(em, None)
    del apply_['vars']['veeam_em_tenants']  # from the exported file, read by include_vars
    no_licence = {'ansible.builtin.uri': {'url': em.url + '/_emulator/config', 'method': 'PATCH', 'ca_path': em.ca_file,
                                          'body_format': 'json', 'body': {'cloud_licence': 'absent'}}}
    unlicensed = {'veeam_em.core.cloud_tenants': {'config': [{'name': 'acme', 'description': 'never sent'}]}}
    run = run_tasks(em, [export, {'ansible.builtin.include_vars': {'file': str(tmp_path / 'localhost.tenants.yml')}},
                         apply_, no_licence, unlicensed])
    refused = run.results[-1]
    assert refused['failed'] is True and 'service-provider licence' in refused['msg'], refused['msg']
    with open(str(tmp_path / 'localhost.tenants.yml')) as f:
        text = f.read()
    tenants = yaml.safe_load(text)['veeam_em_tenants']
    seeded = sorted((t['name'], t['backup_server']) for t in em.control('GET', 'tenants').json())
    assert sorted((t['name'], t['backup_server']) for t in tenants) == seeded
    assert [t['name'] for t in tenants] == sorted(t['name'] for t in tenants)
    acme = [t for t in tenants if (t['name'], t['backup_server']) == ('acme', 'vbr01')][0]
    assert acme['type'] == 'standalone' and acme['description'] == 'ACME Corp, backup only'
    assert acme['backup_resources'][0]['repository'] == 'Backup Volume 01'
    assert not [k for t in tenants for k in t if 'password' in k] and 'Seed-' not in text  # no secret, none seeded
    export_session, apply_session, unlicensed_session = run.sessions()
    assert writes(export_session) == [] and writes(apply_session) == []
    assert 'Changed:' not in run.output
    # Without the Cloud Connect licence: GET /api/cloud, then nothing but the logoff.
    assert [e['path'] for e in unlicensed_session][1:-1] == ['/api/cloud']
