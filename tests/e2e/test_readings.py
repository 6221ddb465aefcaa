# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection under the readings of the vendor pages no other e2e test selects (docs/emulator-readings.md).

Two ansible-playbook runs. Each sets many switches at once (they govern different requests, so they do not mix),
runs the modules those readings touch, and checks what a user would: the module converges or fails naming the
option, sends one write, and a second run sends nothing. The first runs its cases side by side (``run_cases``, one
EM object per case, so each object's writes in the log are that case's); the second runs in order, because it
switches the Cloud Connect licence off mid-play (control API through ``uri``) to see both undocumented statuses of an
unlicensed ``/cloud``. A third run is against an emulator whose Hrefs name another host.
"""

from __future__ import (absolute_import, division, print_function)

import json

import pytest

from conftest import _note_secrets, em_writes, launch_emulator, run_cases, run_tasks

CRED_PW = 'pw-CANARY-readings-cred-2d4e'
KEY_PW = 'pw-CANARY-readings-key-81f0'
VBR_PW = 'pw-CANARY-readings-vbr-5a7c'
TENANT_PW = 'pw-CANARY-readings-tenant-c019'
PORTAL = {'name': 'e2e-readings-portal', 'password': 'pw-CANARY-readings-portal-9e3b', 'role': 'portal'}
SECRETS = {'cred_password': CRED_PW, 'key_password': KEY_PW, 'vbr_password': VBR_PW, 'tenant_password': TENANT_PW,
           'portal_password': PORTAL['password']}

# Run A: the first non-default value of every switch the other e2e tests leave at its default
READINGS_A = {
    'order_violation': 'reject', 'merge': 'replace', 'absent_bool': 'false', 'task_delete': 'ignore',
    'error_status_attr': True, 'session_result': 'Warning', 'session_seconds': 1,
    'sync_put_answer': '200_empty', 'password_create_answer': '202_empty', 'backupserver_create_answer': '202_task',
    'in_use_delete_status': '400', 'username_max': 'reject', 'empty_password': 'blank',
    'secret_query_wrapper': 'resources', 'portal_user_unlisted': 'allow', 'async_put_answer': '200_task',
    'partial_group': 'replace', 'tenant_type_missing': '400', 'tenant_put_compute': 'ignore',
    'tenant_put_throttling': 'apply', 'failover_element': 'Others', 'lease_put_shape': 'flat',
    'create_task_timeout': 'on', 'cloud_plan_create_seconds': 0.5, 'create_related_link': 'off',
    'hwplan_network_change': 'ignore',
}
# Run B: the remaining values of the three-valued ones (licence-less statuses are switched in the play)
READINGS_B = {
    'order_violation': 'reject', 'empty_password': 'reject', 'tenant_type_missing': 'accept',
    'tenant_put_compute': 'fail', 'lease_put_shape': 'any', 'session_result': 'Failed', 'session_seconds': 1,
    'task_opfinished_polls': 0,   # tasks go from Running straight to Finished, as in the edit examples
}


@pytest.fixture(autouse=True)
def noted():
    _note_secrets(*[{'password': v} for v in SECRETS.values()])


def writes(session):
    return [(e['method'], e['path'].split('?')[0].rsplit('/api/', 1)[-1]) for e in em_writes(session)]


def no_secret(results):
    text = json.dumps(results)
    return not any(v in text for v in SECRETS.values())


def cred(**kw):
    return {'veeam_em.core.credential': dict({'backup_server': 'vbr01', 'credential_username': 'CORP\\svc_readings'},
                                             **kw)}


def tenant(name, **kw):
    return {'veeam_em.core.cloud_tenant': dict({'name': name, 'backup_server': 'vbr01'}, **kw)}


def emu_tenant(em, name, server='vbr01'):
    return [t for t in em.control('GET', 'tenants').json() if t['name'] == name and t['backup_server'] == server][0]


def config(em, **values):
    """A play task that changes the emulator's switches between two module runs."""
    return {'ansible.builtin.uri': {'url': em.url + '/_emulator/config', 'method': 'PATCH', 'ca_path': em.ca_file,
                                    'body_format': 'json', 'body': values}}


GLOBEX_APPLIANCE = {'hardware_plan': 'Silver VMware', 'network_extension': {
    'ip': {'address': '192.168.60.20', 'netmask': '255.255.255.0', 'gateway': '192.168.60.1'}}}
SUB_QUOTA = {'veeam_em.core.cloud_subtenant': {'tenant': 'globex', 'backup_server': 'vbr01', 'name': 'globex-hr',
                                               'quota': {'backup_resource': 'Default Backup Repository', 'quota_gb': 25}}}
NEW_PLAN = {'veeam_em.core.cloud_hardware_plan': {
    'backup_server': 'vbr01', 'name': 'E2E readings plan', 'platform': 'vmware', 'host': 'Cluster01', 'cpu_mhz': 2000,
    'memory_mb': 'unlimited', 'storage': [{'datastore': 'datastore1', 'quota_gb': 20}],
    'networks': {'with_internet': 1, 'without_internet': 0}}}


def play(em, named, extra_vars):
    """Run ``named`` ((key, task) pairs; a key None for a control-API step) in one play.

    Returns ({key: result}, {key: the writes of its logon session}) -- a task that fails before its logon, or a
    control step, has no session."""
    run = run_tasks(em, [t for _k, t in named], extra_vars=extra_vars)
    results = dict((k, r) for (k, _t), r in zip(named, run.results) if k)
    logged_on = [k for k, t in named if k and not k.endswith('before logon') and 'ansible.builtin.uri' not in t]
    sessions = run.sessions()
    assert len(sessions) == len(logged_on), (logged_on, [[e['path'] for e in s] for s in sessions])
    return results, dict(zip(logged_on, sessions)), run


def first_cases(em, job):
    """The cases of the first play, one inventory host each (they touch different EM objects): (key, task) pairs."""
    sched = {'veeam_em.core.job': {'name': job['name'], 'schedule': {'daily': {'time': '23:30'}}}}
    key = {'veeam_em.core.encryption_password': {'backup_server': 'vbr01', 'hint': 'E2E readings key',
                                                 'key_password': '{{ key_password }}'}}
    vbr = {'veeam_em.core.backup_server': {'name': 'vbr-readings.example.com', 'description': 'E2E',
                                           'server_username': 'CORP\\svc_em', 'server_password': '{{ vbr_password }}'}}
    initech = tenant('initech', description='Initech (readings)', failover_to_other_gateways=True)
    acme = tenant('acme', backup_resources=[{'repository': 'Backup Volume 01', 'quota_gb': 120}])
    slow = tenant('e2e-slow', tenant_password='{{ tenant_password }}', compute_resources=[{
        'hardware_plan': 'Silver VMware'}], backup_resources=[{'repository': 'Backup Volume 01', 'quota_gb': 5}])
    gw = {'veeam_em.core.cloud_gateway': {'backup_server': 'vbr01', 'name': 'gw01.provider.example',
                                          'description': 'readings'}}
    more_networks = {'with_internet': 2, 'without_internet': 0}
    return {
        'job': [('job', sched), ('job again', sched),
                ('run warning', {'veeam_em.core.job_run': {'name': job['name'], 'action': 'start',
                                                           'wait_timeout': 60}})],
        'credentials': [
            ('cred', cred(description='E2E', credential_password='{{ cred_password }}')),
            ('cred edit', cred(description='E2E edited')), ('cred edit again', cred(description='E2E edited')),
            ('cred in use', {'veeam_em.core.credential': {'backup_server': 'vbr01', 'state': 'absent',
                                                          'credential_username': 'LAB\\sqladmin'}}),
            ('cred info', {'veeam_em.core.credential_info': {'backup_server': 'vbr01'}}),
            ('long username', cred(credential_username='x' * 256, credential_password='{{ cred_password }}'))],
        'key': [('key', key), ('key again', key)],
        'backup server': [('vbr', vbr), ('vbr again', vbr)],
        'portal user': [('portal info', {'veeam_em.core.cloud_tenant_info': {
            'backup_server': 'vbr01', 'subtenants': True, 'username': PORTAL['name'],
            'password': '{{ portal_password }}'}})],
        'initech': [('initech', initech), ('initech again', initech)],
        'globex': [('appliance ignored', tenant('globex', compute_resources=[GLOBEX_APPLIANCE])),
                   (None, config(em, tenant_put_compute='apply')),   # only this case depends on it
                   ('appliance', tenant('globex', compute_resources=[GLOBEX_APPLIANCE])),
                   ('appliance again', tenant('globex', compute_resources=[GLOBEX_APPLIANCE])),
                   ('lease flat', tenant('globex', lease_expiration='2029-03-31T00:00:00Z'))],
        'acme': [('acme quota', acme), ('acme quota again', acme),
                 ('throttling', tenant('acme', throttling={'enabled': True, 'speed': 10, 'unit': 'Mbps'}))],
        'slow create': [('slow create', slow), ('slow create again', slow)],
        'subtenant': [('subtenant quota', SUB_QUOTA), ('subtenant quota again', SUB_QUOTA)],
        'gateway': [('gateway', gw), ('gateway again', gw)],
        'plan': [('plan', NEW_PLAN), ('plan again', NEW_PLAN),
                 ('plan networks', {'veeam_em.core.cloud_hardware_plan': dict(
                     NEW_PLAN['veeam_em.core.cloud_hardware_plan'], networks=more_networks)})],
    }


def writes_to(log, *fragments):
    """The writes (method, path) of the whole play whose path holds every fragment, in order."""
    return [(m, p) for m, p in writes(log) if all(f in p for f in fragments)]


def test_first_readings(em):
    em.reset(**READINGS_A)
    em.control('POST', 'users', json=PORTAL)
    job = em.control('POST', 'jobs/%s/copy' % em.job('SQL Backup')['id'], json={'name': 'e2e readings'}).json()
    cases = first_cases(em, job)
    sub_before = [x for x in emu_tenant(em, 'globex')['subtenants'] if x['name'] == 'globex-hr'][0]
    runs = run_cases(em, dict((c, [t for _k, t in named]) for c, named in cases.items()), extra_vars=dict(SECRETS))
    r = {}
    for c, named in cases.items():
        assert len(runs[c].results) == len(named), c
        r.update((k, x) for (k, _t), x in zip(named, runs[c].results) if k)
    log = next(iter(runs.values())).log
    errors = dict((k, x.get('msg')) for k, x in r.items() if x.get('failed'))
    assert sorted(errors) == ['appliance ignored', 'cred in use', 'lease flat', 'long username', 'plan networks',
                              'run warning', 'slow create', 'throttling'], errors
    ids = dict((t['name'], t['id']) for t in em.control('GET', 'tenants').json() if t['backup_server'] == 'vbr01')

    # job: absent_bool=false, merge=replace, strict order: one PUT, then nothing but the run's start
    assert r['job']['changed'] and not r['job again']['changed']
    assert [m for m, _p in writes_to(log, 'jobs/' + job['id'])] == ['PUT', 'POST']
    assert b'<Time>23:30:00' in em.raw_xml(job['id'])
    # a run that ends Warning (session_result) fails unless allowed, naming allow_warning
    assert 'Warning' in errors['run warning'] and 'allow_warning' in errors['run warning']
    # credentials: an edit answered 200 with no body is verified by a re-read; empty_password=blank never matters
    # (the module never sends an empty Password); a refused delete (400 with Error@Status) names the users, once
    mine = [c for c in em.control('GET', 'credentials').json() if c['username'] == 'CORP\\svc_readings']
    assert len(mine) == 1 and mine[0]['password_writes'] == 0
    assert em.control('POST', 'credentials/%s/password_matches' % mine[0]['id'],
                      json={'password': CRED_PW}).json()['matches']
    assert [m for m, _p in writes_to(log, '/credentials')] == ['POST', 'PUT', 'DELETE']
    assert r['cred edit']['credential']['description'] == 'E2E edited' and not r['cred edit again']['changed']
    assert 'HTTP 400' in errors['cred in use'] and 'SQL Backup' in errors['cred in use'] and 'kept' in errors['cred in use']
    assert 'CORP\\svc_readings' in [c['credential_username'] for c in r['cred info']['credentials']]
    # a Username over EM's 255 characters fails before any request, under username_max=reject as under accept
    assert 'credential_username' in errors['long username'] and '255' in errors['long username']
    # creates answered 202 without a body, or with a task: each found, once; the re-runs send nothing
    assert r['key']['changed'] and not r['key again']['changed'] and len(writes_to(log, '/passwords')) == 1
    assert [k['hint'] for k in em.control('GET', 'passwords').json()].count('E2E readings key') == 1
    assert r['vbr']['changed'] and not r['vbr again']['changed']
    assert [w for w in writes(log) if w[1].split('/')[0] == 'backupServers' and w[1].count('/') < 2] == \
        [('POST', 'backupServers')]
    assert r['vbr']['backup_server']['description'] == 'E2E'
    # Portal User where EM allows the unlisted CloudSubtenant query: the module uses it, and finds the subtenant
    portal = r['portal info']
    assert 'globex-hr' in [x['name'] for t in portal['tenants'] for x in t.get('subtenants', [])]
    assert runs['portal user'].sessions('CloudSubtenant')
    # tenant PUTs answered 200 with a task; TenantType echoed (a PUT without it would be a 400); the failover
    # flag under the JSON spelling EM shows; a quota resized under partial_group=replace keeps its name and accelerator
    assert r['initech']['changed'] and not r['initech again']['changed']
    assert [m for m, _p in writes_to(log, ids['initech'])] == ['PUT']
    initech_now = emu_tenant(em, 'initech')
    assert initech_now['failover_to_other_gateways'] is True and initech_now['description'] == 'Initech (readings)'
    assert r['acme quota']['changed'] and not r['acme quota again']['changed']
    assert [m for m, _p in writes_to(log, ids['acme'])] == ['PUT']       # the throttling change sent nothing
    quota = emu_tenant(em, 'acme')['resources'][0]
    assert quota['quota_mb'] == 120 * 1024 and quota['wan_accelerator_uid'] and quota['display_name']
    # throttling stays create-time only even where EM would apply it
    assert 'throttling' in errors['throttling']
    # a subscription EM does not change through the tenant PUT: fails naming it, after that one PUT; once EM takes
    # it (apply), the appliance sent whole keeps its name and network under partial_group=replace; then a lease
    # shape EM does not take (flat): one PUT, failing naming lease_expiration
    assert 'compute_resources' in errors['appliance ignored'] and 'lease_expiration' in errors['lease flat']
    assert r['appliance']['changed'] and not r['appliance again']['changed']
    assert [m for m, p in writes_to(log, ids['globex']) if 'subtenants' not in p] == ['PUT', 'PUT', 'PUT']
    appliance = emu_tenant(em, 'globex')['compute_resources'][0]['appliance']
    assert (appliance['ip'], appliance['name'], appliance['network']) == ('192.168.60.20', 'globex-nea', 'VM Network')
    # a tenant create whose task times out while EM still makes the tenant: EM's message, one POST, no re-POST;
    # the next run finds the tenant as asked
    assert 'timed out' in errors['slow create'] and not r['slow create again']['changed']
    assert [w for w in writes(log) if w[1] == 'cloud/tenants'] == [('POST', 'cloud/tenants')]
    assert emu_tenant(em, 'e2e-slow')['compute_resources']
    # a gateway edit answered 200 with a task; a plan create whose task has no Related link: found by name;
    # network counts EM might silently ignore: refused before any write, naming the option
    assert r['gateway']['changed'] and not r['gateway again']['changed'] and len(writes_to(log, 'cloud/gateways')) == 1
    assert r['plan']['changed'] and not r['plan again']['changed'] and r['plan']['hardware_plan']['id']
    assert writes_to(log, 'cloud/hardwarePlans') == [('POST', 'cloud/hardwarePlans')]
    assert 'networks' in errors['plan networks']
    # a subtenant's quota resized under partial_group=replace: its RepositoryQuota travels whole, so the quota keeps
    # its name
    sub = [x for x in emu_tenant(em, 'globex')['subtenants'] if x['name'] == 'globex-hr'][0]
    assert r['subtenant quota']['changed'] and not r['subtenant quota again']['changed']
    assert [m for m, _p in writes_to(log, ids['globex'], 'subtenants')] == ['PUT']
    assert sub['quota_mb'] == 25 * 1024 and sub['quota_name'] == sub_before['quota_name'], (sub, sub_before)
    output = next(iter(runs.values())).output
    assert no_secret(list(r.values())) and not any(v in output for v in SECRETS.values())


def test_remaining_readings(em):
    em.reset(**READINGS_B)
    job = em.control('POST', 'jobs/%s/copy' % em.job('SQL Backup')['id'], json={'name': 'e2e readings b'}).json()
    initech = tenant('initech', description='Initech (accept)')
    lease = tenant('globex', lease_expiration='2029-03-31T00:00:00Z')
    named = [
        ('cred', cred(description='E2E', credential_password='{{ cred_password }}')),
        ('cred edit', cred(description='E2E edited')),
        ('initech', initech), ('initech again', initech),
        ('appliance refused', tenant('globex', compute_resources=[GLOBEX_APPLIANCE])),
        ('lease', lease), ('lease again', lease),
        ('run failed', {'veeam_em.core.job_run': {'name': job['name'], 'action': 'start', 'wait_timeout': 60,
                                                  'allow_warning': True}}),
        (None, config(em, cloud_licence='absent', cloud_absent_status='403')),
        ('no licence 403', {'veeam_em.core.cloud_info': {'backup_server': 'vbr01'}}),
        (None, config(em, cloud_absent_status='500')),
        ('no licence 500', {'veeam_em.core.cloud_tenant_info': {'backup_server': 'vbr01'}}),
    ]
    r, s, run = play(em, named, dict(SECRETS))
    sent = dict((k, writes(v)) for k, v in s.items())
    errors = dict((k, x.get('msg')) for k, x in r.items() if x.get('failed'))
    assert sorted(errors) == ['appliance refused', 'no licence 403', 'no licence 500', 'run failed'], errors
    # empty_password=reject: the module never sends an empty Password, so the edit goes through, the secret kept
    assert r['cred edit']['changed'] and len(sent['cred edit']) == 1
    mine = [c for c in em.control('GET', 'credentials').json() if c['username'] == 'CORP\\svc_readings'][0]
    assert em.control('POST', 'credentials/%s/password_matches' % mine['id'], json={'password': CRED_PW}).json()['matches']
    # tenant_type_missing=accept changes nothing for a module that always echoes TenantType
    assert r['initech']['changed'] and len(sent['initech']) == 1 and sent['initech again'] == []
    assert emu_tenant(em, 'initech')['type_ignored'] == 0
    # a subscription the tenant PUT refuses (the task fails): EM's message, nothing deleted or re-created
    assert [m for m, _p in sent['appliance refused']] == ['PUT'] and 'ComputeResources' in errors['appliance refused']
    assert emu_tenant(em, 'globex')['compute_resources'][0]['appliance']['ip'] != '192.168.60.20'
    # EM that takes every lease shape: converges, then nothing
    assert r['lease']['changed'] and len(sent['lease']) == 1 and sent['lease again'] == []
    assert emu_tenant(em, 'globex')['lease']['expiration'].startswith('2029-03-31')
    # a run that ends Failed fails even with allow_warning
    assert 'Failed' in errors['run failed']
    # without the licence, /cloud answering 403 or 500: fails naming the licence and EM's status, having asked for
    # nothing but /api/cloud (a 500 to a GET is retried like any server error)
    for k, status in (('no licence 403', '403'), ('no licence 500', '500')):
        assert 'licence' in errors[k] and 'HTTP ' + status in errors[k], errors[k]
        assert set(e['path'] for e in s[k] if e['path'].startswith('/api/cloud')) == {'/api/cloud'}
    assert [e['path'] for e in s['no licence 403'] if e['path'].startswith('/api/cloud')] == ['/api/cloud']
    assert 'role' in errors['no licence 403'] or 'Portal' in errors['no licence 403']
    assert no_secret(list(r.values())) and not any(v in run.output for v in SECRETS.values())


def test_hrefs_naming_another_host():
    """em-api.md section 10.1: EM's Hrefs carry its own FQDN, which the client cannot reach (connecting by IP or
    alias): every Href the modules follow (task polls, Related links, logoff) is rebased onto ``server``."""
    emu = launch_emulator('advertised_', args=['--advertised-url', 'https://em.example.test:9398'])
    try:
        emu.control('PATCH', 'config', json={'order_violation': 'reject'})
        job = {'veeam_em.core.job': {'name': 'SQL Backup', 'description': 'rebased'}}
        gw = {'veeam_em.core.cloud_gateway': {'backup_server': 'vbr01', 'name': 'gw04.provider.example',
                                              'network_mode': 'direct'}}
        named = [('job', job), ('job again', job), ('gateway', gw), ('gateway again', gw),
                 ('run', {'veeam_em.core.job_run': {'name': 'SQL Backup', 'action': 'start', 'wait_timeout': 60}})]
        r, s, run = play(emu, named, {})
        assert [k for k, x in r.items() if x.get('failed')] == [], [x.get('msg') for x in r.values()]
        assert [r[k]['changed'] for k in ('job', 'job again', 'gateway', 'gateway again', 'run')] == \
            [True, False, True, False, True]
        assert [len(writes(s[k])) for k in ('job', 'job again', 'gateway', 'gateway again')] == [1, 0, 1, 0]
        # the edit's task was polled, the created gateway read through its Related link, every session logged off
        assert any(e['path'].startswith('/api/tasks/') for e in s['job'])
        assert r['gateway']['gateway']['id'] and r['run']['session']['result'] == 'Success'
        assert all(e['method'] == 'DELETE' and e['path'].startswith('/api/logonSessions/') for e in
                   [session[-1] for session in s.values()])
        # No message or warning names the host the client cannot reach. (A task's ``related`` links are returned as
        # EM wrote them, its FQDN included: they are EM's own data, which -vvv prints with the results.)
        told = [x.get('msg') or '' for x in r.values()] + [w for x in r.values() for w in x.get('warnings') or []]
        assert not [t for t in told if 'em.example.test' in t], told
        assert not [line for line in run.output.splitlines() if 'em.example.test' in line and '"href"' not in line]
    finally:
        emu.stop()


def test_create_timed_out_reports_the_tenant_em_made(em):
    """A tenant create with a hardware plan whose task times out while EM still makes the tenant: the module (which
    rightly sends no second POST) should look the tenant up and say it exists, with its id."""
    em.reset(create_task_timeout='on', cloud_plan_create_seconds=0.5)
    run = run_tasks(em, [tenant('e2e-slow', tenant_password='{{ tenant_password }}', compute_resources=[{
        'hardware_plan': 'Silver VMware'}], backup_resources=[{'repository': 'Backup Volume 01', 'quota_gb': 5}])],
        extra_vars=dict(SECRETS))
    res = run.results[0]
    made = emu_tenant(em, 'e2e-slow')
    assert [m for m, _p in writes(run.sessions()[0])] == ['POST']
    assert res['changed'] and res['tenant'].get('id') == made['id'], res
