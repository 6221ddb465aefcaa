# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cloud_tenant, cloud_subtenant and cloud_tenant_info through ansible-playbook against the emulator's /cloud tree.

Five playbook runs: a provider's whole lifecycle as EM's Portal User (check mode, create, idempotence, grow and
add quotas, purge, password rotation, subtenants, errors before any write, offboarding); every seeded tenant's
``settings`` fed back unchanged; the readings where the vendor pages disagree (a quota PUT EM ignores or refuses,
the lease shape, answers with the entity, a create task without its link, the includeBackups default); and EM
without the service-provider licence. The managed passwords carry the sweep's canary.
"""

from __future__ import (absolute_import, division, print_function)

import json
import time

import pytest

from conftest import PASSWORD, _note_secrets, em_writes, module_defaults, run_cases, run_tasks

TENANT_PW = 'pw-CANARY-tenant-4a1b'
TENANT_PW2 = 'pw-CANARY-tenant-rotated-9c3e'
SUB_PW = 'pw-CANARY-subtenant-77d0'
SECRETS = {'tenant_password': TENANT_PW, 'tenant_password2': TENANT_PW2, 'sub_password': SUB_PW}
PORTAL = {'name': 'EM\\portal.e2e', 'password': 'pw-CANARY-portal-3f10', 'role': 'portal'}


@pytest.fixture(autouse=True)
def noted():
    _note_secrets(*[{'password': v} for v in list(SECRETS.values()) + [PORTAL['password']]])


def writes(session):
    return [(e['method'], e['path'].split('?')[0].rsplit('/api/', 1)[-1]) for e in em_writes(session)]


def shape(path):
    """A write's path with EM's ids replaced by their kind: cloud/tenants/{id}/resources/{id}."""
    parts = path.split('/')
    return '/'.join('{id}' if len(p) == 36 and p.count('-') == 4 else p for p in parts)


def tenant(**kw):
    return {'veeam_em.core.cloud_tenant': dict({'name': 'e2e-co', 'backup_server': 'vbr01'}, **kw)}


def sub(**kw):
    return {'veeam_em.core.cloud_subtenant': dict({'tenant': 'e2e-co', 'name': 'e2e-hr'}, **kw)}


def emu_tenant(em, name, server='vbr01'):
    found = [t for t in em.control('GET', 'tenants').json() if t['name'] == name and t['backup_server'] == server]
    return found[0] if found else None


def matches(em, path, secret):
    return em.control('POST', path + '/password_matches', json={'password': secret}).json()['matches']


def no_secret(*results):
    text = json.dumps(results)
    return not any(v in text for v in SECRETS.values())


CREATE = dict(tenant_password='{{ tenant_password }}', description='E2E customer', lease_expiration='2027-12-31',
              max_concurrent_tasks=3, backup_protection={'enabled': True, 'days': 10},
              backup_resources=[{'repository': 'Backup Volume 01', 'quota_gb': 100, 'wan_accelerator': 'wan01.lab.local'}])

# a vCloud Director organization of the emulator's vcd01 root (tests/emulator/veeam_em_emulator/inventory.py)
VCD = dict(name='umbrella', type='vcd', vcd_organization='Umbrella', description='vCD customer',
           backup_resources=[{'repository': 'Backup Volume 01', 'quota_gb': 10}],
           vcd_compute_resources=[{'vdc': 'umbrella-vdc1', 'network_extension': {
               'enabled': True, 'name': 'umbrella-nea', 'production_network': 'VM Network', 'ip': 'dhcp'}}])

LIFECYCLE = [
    dict(tenant(**CREATE), check_mode=True),                                                            # 0
    tenant(**CREATE),                                                                                   # 1
    tenant(**CREATE),                                                                                   # 2
    tenant(enabled=False, backup_resources=[{'repository': 'backup volume 01', 'quota_gb': 250},
                                            {'repository': 'Default Backup Repository', 'quota_mb': 2048}],
           compute_resources=[{'hardware_plan': 'Silver VMware', 'network_extension': {
               'enabled': True, 'name': 'e2e-nea', 'production_network': 'VM Network', 'ip': 'dhcp'}}]),  # 3
    tenant(backup_resources=[{'repository': 'Default Backup Repository', 'quota_mb': 2048}],
           purge_backup_resources=True),                                                                # 4
    tenant(tenant_password='{{ tenant_password2 }}', update_password='always'),                         # 5
    sub(subtenant_password='{{ sub_password }}', description='HR',
        quota={'backup_resource': 'Default Backup Repository', 'quota_gb': 1}),                         # 6
    sub(subtenant_password='{{ sub_password }}', description='HR',
        quota={'backup_resource': 'Default Backup Repository', 'quota_gb': 1}),                         # 7
    sub(quota={'backup_resource': 'Default Backup Repository', 'unlimited': True}, enabled=False),      # 8
    {'veeam_em.core.cloud_tenant_info': {'backup_server': 'VBR01'}},                                    # 9
    tenant(backup_resources=[{'repository': 'Backup Volume 10', 'quota_gb': 5}]),                       # 10
    tenant(type='vcd'),                                                                                 # 11
    tenant(lease_expiration='end of march'),                                                            # 12
    sub(name='e2e-new', subtenant_password='{{ sub_password }}',
        quota={'backup_resource': 'no such quota', 'quota_gb': 2}),                                     # 13
    tenant(name='e2e-other', backup_server='vbr99', tenant_password='{{ tenant_password }}'),           # 14
    sub(tenant='globex', name='globex-hr', state='absent'),                                             # 15
    tenant(name='acme', backup_server='vbr02', state='absent'),                                         # 16
    tenant(name='acme', backup_server='vbr02', state='absent'),                                         # 17
]

# vCloud Director tenants and wait: false, in the same run after LIFECYCLE (their index: len(LIFECYCLE) + n)
VCD_CASES = [
    dict(tenant(**VCD), check_mode=True),                                                               # +0
    tenant(**VCD),                                                                                      # +1
    tenant(**VCD),                                                                                      # +2
    tenant(name='umbrella', vcd_compute_resources=[{'vdc': 'umbrella-vdc2', 'wan_accelerator': 'wan01.lab.local'}]),  # +3
    tenant(name='umbrella', vcd_compute_resources=[{'vdc': 'umbrella-vdc9'}]),                          # +4
    {'veeam_em.core.cloud_tenant': dict(VCD, name='umbrela', vcd_organization='umbrela', backup_server='vbr01')},  # +5
    tenant(name='e2e-dr', tenant_password='{{ tenant_password }}', wait=False,
           compute_resources=[{'hardware_plan': 'Silver VMware'}]),                                     # +6
]


def test_provider_lifecycle_as_portal_user(em):
    em.control('POST', 'users', json=PORTAL)
    defaults = module_defaults(em, username=PORTAL['name'], password=PORTAL['password'])
    tasks = LIFECYCLE + VCD_CASES
    run = run_tasks(em, tasks, diff=True, defaults=defaults, extra_vars=dict(SECRETS))
    r = run.results
    assert len(r) == len(tasks)
    # task 12 fails on its options alone, before the logon: every other task is one logon session
    sessions = run.sessions()
    assert len(sessions) == len(tasks) - 1
    by_task = dict(zip([i for i in range(len(tasks)) if i != 12], sessions))
    wrote = dict((i, [(m, shape(p)) for m, p in writes(s)]) for i, s in by_task.items())
    for i, session in by_task.items():
        assert session[0]['method'] == 'POST' and 'sessionMngr' in session[0]['path'], i
        assert session[1]['path'] == '/api/cloud', i  # the licence probe comes first

    # check mode predicts the tenant and writes nothing
    assert r[0]['changed'] and wrote[0] == []
    after = r[0]['diff']['after']
    assert after['id'] is None and after['name'] == 'e2e-co' and after['type'] == 'standalone'
    assert after['settings']['backup_resources'] == [{'repository': 'Backup Volume 01', 'quota_mb': 102400,
                                                      'display_name': 'Backup Volume 01',
                                                      'wan_accelerator': 'wan01.lab.local'}]
    # the create: one POST with the proven elements, then one PUT for the recycle bin
    assert r[1]['changed'] and wrote[1] == [('POST', 'cloud/tenants'), ('PUT', 'cloud/tenants/{id}')]
    assert [t['operation'] for t in r[1]['tasks']] == ['CreateCloudTenant', 'EditCloudTenant']
    assert r[1]['secrets_sent'] == ['tenant_password']
    made = emu_tenant(em, 'e2e-co')  # as the run left it
    assert r[1]['tenant']['id'] == made['id'] and r[1]['tenant']['uid'] == 'urn:veeam:CloudTenant:' + made['id']
    settings = r[1]['tenant']['settings']
    assert settings['lease_expiration'] == '2027-12-31T00:00:00Z' and settings['max_concurrent_tasks'] == 3
    assert settings['backup_protection'] == {'enabled': True, 'days': 10}
    assert settings['description'] == 'E2E customer' and settings['enabled'] is True
    # idempotence: the same task again reads and writes nothing
    assert not r[2]['changed'] and wrote[2] == [] and r[2]['diff'] == {'before': {}, 'after': {}}
    # growing one quota (inside the tenant's PUT) and adding another (POST to its resources); never a DELETE
    assert r[3]['changed'] and wrote[3] == [('PUT', 'cloud/tenants/{id}'), ('POST', 'cloud/tenants/{id}/resources'),
                                            ('POST', 'cloud/tenants/{id}/computeResources')]
    assert r[3]['tenant']['settings']['compute_resources'] == [{
        'hardware_plan': 'Silver VMware', 'wan_accelerator': None,
        'network_extension': {'enabled': True, 'name': 'e2e-nea', 'production_network': 'VM Network', 'ip': 'dhcp'}}]
    assert r[3]['diff']['before']['settings']['enabled'] is True and r[3]['diff']['after']['settings']['enabled'] is False
    now = r[3]['tenant']['settings']  # as EM showed it after the writes
    quotas = sorted((q['repository'], q['quota_mb'], q['display_name']) for q in now['backup_resources'])
    assert quotas == [('Backup Volume 01', 256000, 'Backup Volume 01'),
                      ('Default Backup Repository', 2048, 'Default Backup Repository')]
    assert dict(now, enabled=True, backup_resources=None, compute_resources=[]) == \
        dict(settings, backup_resources=None)  # nothing else moved
    assert now['backup_resources'][0]['wan_accelerator'] == 'wan01.lab.local'
    # purge removes the unlisted quota, and only it
    assert r[4]['changed'] and wrote[4] == [('DELETE', 'cloud/tenants/{id}/resources/{id}')]
    assert r[4]['diff']['after']['settings']['backup_resources'] == now['backup_resources'][1:]
    assert [q['repository'] for q in made['resources']] == ['Default Backup Repository']
    # the password goes only under update_password=always, and the run says so
    assert r[5]['changed'] and r[5]['secrets_sent'] == ['tenant_password'] and wrote[5] == [('PUT', 'cloud/tenants/{id}')]
    assert matches(em, 'tenants/' + made['id'], TENANT_PW2)
    assert emu_tenant(em, 'e2e-co')['type_ignored'] == 0  # the type block went back exactly as read
    # subtenants: created (found by name), idempotent, made unlimited
    assert r[6]['changed'] and wrote[6] == [('POST', 'cloud/tenants/{id}/subtenants')]
    assert r[6]['subtenant']['quota'] == {'backup_resource': 'Default Backup Repository', 'quota_mb': 1024,
                                          'unlimited': False}
    assert not r[7]['changed'] and wrote[7] == []
    assert r[8]['changed'] and wrote[8] == [('PUT', 'cloud/tenants/{id}/subtenants/{id}')]
    hr = emu_tenant(em, 'e2e-co')['subtenants'][0]
    assert hr['name'] == 'e2e-hr' and hr['unlimited'] is True and hr['enabled'] is False
    assert matches(em, 'tenants/%s/subtenants/%s' % (made['id'], hr['id']), SUB_PW)
    # the info module: the tenant in cloud_tenant's shape, with its subtenant; one tenant list, no writes
    assert wrote[9] == [] and {'e2e-co', 'globex'} <= set(t['name'] for t in r[9]['tenants'])
    assert set(t['backup_server'] for t in r[9]['tenants']) == {'vbr01'}
    info = [t for t in r[9]['tenants'] if t['name'] == 'e2e-co'][0]
    # Portal User may not query CloudSubtenant (403): each tenant's list is read instead, with the same result
    assert [[s['name'] for s in t['subtenants']] for t in r[9]['tenants'] if t['name'] == 'globex'] == [['globex-hr']]
    queried = [e for e in by_task[9] if e['path'] == '/api/query' and 'CloudSubtenant' in str(e.get('query'))]
    assert [e.get('status') for e in queried] == [403]
    lists = [e for e in by_task[9] if e['path'].endswith('/subtenants')]
    assert len(lists) == len(r[9]['tenants']) and all(e.get('status') == 200 for e in lists)
    assert info['settings'] == dict(r[5]['tenant']['settings'])
    assert [s['name'] for s in info['subtenants']] == ['e2e-hr'] and info['usage']['last_active'] is None
    assert sum(1 for e in by_task[9] if e['path'] == '/api/cloud/tenants') == 1
    # names that do not resolve, a type change, a bad lease: fail naming the option, nothing written
    assert r[10]['failed'] and r[10]['option'] == 'backup_resources[0].repository' and wrote[10] == []
    assert 'Backup Volume 01' in r[10]['msg']  # the close names EM knows on vbr01
    assert r[11]['failed'] and r[11]['option'] == 'type' and wrote[11] == []
    assert r[12]['failed'] and r[12]['option'] == 'lease_expiration'
    assert r[13]['failed'] and r[13]['option'] == 'quota.backup_resource' and wrote[13] == []
    assert 'Default Backup Repository' in r[13]['msg']
    assert r[14]['failed'] and r[14]['option'] == 'backup_server' and wrote[14] == []
    # offboarding: a subtenant, then a tenant with its backups kept, said explicitly; then nothing to do
    assert r[15]['changed'] and wrote[15] == [('DELETE', 'cloud/tenants/{id}/subtenants/{id}')]
    assert [s['name'] for s in emu_tenant(em, 'globex')['subtenants']] == []
    assert r[16]['changed'] and wrote[16] == [('DELETE', 'cloud/tenants/{id}')]
    delete = [e for e in by_task[16] if e['method'] == 'DELETE' and '/cloud/' in e['path']][0]
    assert 'includeBackups=false' in (delete.get('query') or delete['path'])
    assert emu_tenant(em, 'acme', 'vbr02') is None and emu_tenant(em, 'acme', 'vbr01') is not None
    gone = [d for d in em.control('GET', 'deleted_tenants').json() if d['name'] == 'acme']
    assert gone and gone[0]['include_backups'] is False and gone[0]['include_backups_sent'] is True
    assert not r[17]['changed'] and wrote[17] == []
    assert no_secret(r) and PORTAL['password'] not in json.dumps(r)
    assert all(v not in run.output for v in SECRETS.values())
    vcd_and_wait_checks(em, r[len(LIFECYCLE):], dict((i - len(LIFECYCLE), w) for i, w in wrote.items()),
                        dict((i - len(LIFECYCLE), b) for i, b in by_task.items()))


def vcd_and_wait_checks(em, r, wrote, by_task):
    """The results of VCD_CASES (``r``, ``wrote`` and ``by_task`` indexed from the first of them)."""
    # vCloud Director: check mode writes nothing; the create is one POST with the organization and its VDC looked up
    assert r[0]['changed'] and wrote[0] == [] and r[0]['tenant']['id'] is None
    assert r[0]['tenant']['type'] == 'vcd' and r[0]['tenant']['settings']['vcd_organization'] == 'Umbrella'
    assert r[1]['changed'] and wrote[1] == [('POST', 'cloud/tenants')], r[1].get('msg')
    assert [t['operation'] for t in r[1]['tasks']] == ['CreateCloudTenant']
    assert any(e['path'] == '/api/lookup' for e in by_task[1]) and r[1].get('secrets_sent') is None
    umbrella = emu_tenant(em, 'umbrella')
    assert umbrella['type'] == 'vcd' and umbrella['organization_ref'].startswith('urn:vCloud:Organization:')
    assert r[1]['tenant']['settings']['vcd_organization'] == 'umbrella'  # as EM shows it
    assert r[1]['tenant']['settings']['vcd_compute_resources'] == [{
        'vdc': 'umbrella-vdc1', 'wan_accelerator': None,
        'network_extension': {'enabled': True, 'name': 'umbrella-nea', 'production_network': 'VM Network', 'ip': 'dhcp'}}]
    assert not r[2]['changed'] and wrote[2] == []
    # a VDC added to the existing tenant goes through its vCloudComputeResources collection; the other one is kept
    assert r[3]['changed'] and wrote[3] == [('POST', 'cloud/tenants/{id}/vCloudComputeResources')]
    assert [(v['vdc'], v['wan_accelerator']) for v in r[3]['tenant']['settings']['vcd_compute_resources']] == [
        ('umbrella-vdc1', None), ('umbrella-vdc2', 'wan01.lab.local')]
    # names the lookup does not know fail before any write, listing what exists
    assert r[4]['failed'] and r[4]['option'] == 'vcd_compute_resources[0].vdc' and wrote[4] == []
    assert 'close names: umbrella-vdc1, umbrella-vdc2' in r[4]['msg']
    assert r[5]['failed'] and r[5]['option'] == 'vcd_organization' and wrote[5] == []
    assert 'umbrella' in r[5]['msg'] and emu_tenant(em, 'umbrela') is None
    # wait: false: the slow create (a hardware plan) is sent, its task returned Running, never polled nor verified
    assert r[6]['changed'] and wrote[6] == [('POST', 'cloud/tenants')]
    assert r[6]['task']['state'] == 'Running' and r[6]['task']['operation'] == 'CreateCloudTenant'
    assert r[6]['tenant']['id'] is None and r[6]['tenant']['settings']['compute_resources'][0]['hardware_plan'] == \
        'Silver VMware'
    assert not any(e['path'].startswith('/api/tasks/') for e in by_task[6])
    assert [e['method'] for e in by_task[6] if '/cloud/tenants' in e['path']] == ['GET', 'POST']
    deadline = time.time() + 30
    while emu_tenant(em, 'e2e-dr') is None and time.time() < deadline:
        time.sleep(0.5)
    assert emu_tenant(em, 'e2e-dr')['compute_resources'], 'the create EM accepted went on without the module'


INFO_FIELDS = ('description', 'enabled', 'lease_expiration', 'backup_resources', 'max_concurrent_tasks',
               'backup_protection', 'throttling', 'public_ip_count', 'ad_domain', 'gateway_pools',
               'failover_to_other_gateways', 'compute_resources', 'vcd_organization', 'vcd_compute_resources')


def test_every_seeded_tenant_fed_back_is_unchanged(em):
    item = dict(('%s' % k, "{{ item.settings.%s }}" % k) for k in INFO_FIELDS)
    item.update(name='{{ item.name }}', backup_server='{{ item.backup_server }}', type='{{ item.type }}')
    run = run_tasks(em, [{'veeam_em.core.cloud_tenant_info': {}},
                         {'veeam_em.core.cloud_tenant': item, 'loop': '{{ r0.tenants }}'},
                         {'veeam_em.core.cloud_tenant_info': {'backup_server': 'VBR02', 'type': 'standalone'}},
                         {'veeam_em.core.cloud_tenant_info': {'type': 'active_directory'}},
                         {'veeam_em.core.cloud_tenant_info': {'subtenants': False}}], diff=True)
    listed, fed, branch, ad, bare = run.results
    # every tenant's subtenants come from one CloudSubtenant query, none from a list per tenant
    first = run.sessions()[0]
    assert [e['path'] for e in first if 'subtenants' in e['path'].lower()] == []
    assert len([e for e in first if e['path'] == '/api/query' and 'CloudSubtenant' in str(e.get('query'))]) == 1, \
        [(e['path'], e.get('query')) for e in first]
    subs = dict(((t['backup_server'], t['name']), [s['name'] for s in t['subtenants']]) for t in listed['tenants'])
    others = [names for key, names in subs.items() if key[1] != 'globex']
    assert subs[('vbr01', 'globex')] == ['globex-hr'] and others and all(n == [] for n in others)
    # subtenants: false leaves them out, and the rest as it was
    assert [dict(t, subtenants=subs[(t['backup_server'], t['name'])]) for t in bare['tenants']] == \
        [dict(t, subtenants=[s['name'] for s in t['subtenants']]) for t in listed['tenants']]
    assert all('subtenants' not in t for t in bare['tenants'])
    assert [(t['backup_server'], t['name']) for t in branch['tenants']] == [('vbr02', 'acme')]
    assert [t['name'] for t in ad['tenants']] == ['tech\\william.fox']
    assert ad['tenants'][0]['settings']['ad_domain'] == {'name': 'tech.local', 'account': 'tech\\william.fox', 'port': 389}
    names = [(t['backup_server'], t['name']) for t in listed['tenants']]
    assert names == sorted(names, key=lambda n: (n[0].lower(), n[1].lower()))
    assert len(names) == len(em.control('GET', 'tenants').json()) >= 5
    types = set(t['type'] for t in listed['tenants'])
    assert types == {'standalone', 'vcd', 'active_directory'}
    assert len(fed['results']) == len(names)
    for one in fed['results']:
        assert not one.get('failed') and not one['changed'], (one['item']['name'], one.get('msg'), one.get('diff'))
    assert run.writes() == []


AD_TENANT = {'name': 'tech\\ann.lee', 'backup_server': 'vbr01', 'type': 'active_directory',
             'ad_domain': {'name': 'tech.local', 'account': 'tech\\ann.lee'}, 'gateway_pools': ['EU gateways'],
             'failover_to_other_gateways': True, 'throttling': {'enabled': True, 'speed': 50, 'unit': 'Mbps'},
             'backup_resources': [{'repository': 'Backup Volume 01', 'quota_gb': 10}]}


def reading_cases():
    return {
        'resize ignored': [{'veeam_em.core.cloud_tenant': {
            'name': 'acme', 'backup_server': 'vbr01',
            'backup_resources': [{'repository': 'Backup Volume 01', 'quota_gb': 150}]}}],
        'lease ignored': [{'veeam_em.core.cloud_tenant': {
            'name': 'globex', 'lease_expiration': '2028-01-31T12:00:00+02:00'}}],
        'edit answered with the entity': [{'veeam_em.core.cloud_tenant': {
            'name': 'initech', 'description': 'Initech, renewed', 'max_concurrent_tasks': 5}}],
        'create without the link, delete under includeBackups=true by default': [
            {'veeam_em.core.cloud_tenant': {'name': 'e2e-nolink', 'backup_server': 'vbr02',
                                            'tenant_password': '{{ tenant_password }}'}},
            {'veeam_em.core.cloud_tenant': {'name': 'e2e-nolink', 'backup_server': 'vbr02', 'state': 'absent'}}],
        'active directory tenant with pools': [
            {'veeam_em.core.cloud_tenant': dict(AD_TENANT)},
            {'veeam_em.core.cloud_tenant': dict(AD_TENANT)}],
        'appliance address changed': [{'veeam_em.core.cloud_tenant': {
            'name': 'globex', 'compute_resources': [{'hardware_plan': 'Silver VMware', 'network_extension': {
                'ip': {'address': '192.168.50.20', 'netmask': '255.255.255.0', 'gateway': '192.168.50.1'}}}]}}],
        'subtenant edit answered with the entity': [{'veeam_em.core.cloud_subtenant': {
            'tenant': 'globex', 'name': 'globex-hr', 'description': 'HR, renewed'}}],
    }


def test_readings_where_the_pages_disagree(em):
    em.reset(tenant_put_resources='ignore', lease_put_shape='elements', async_put_answer='200_body',
             create_related_link='off', include_backups_default='true')
    before = dict((t['id'], t) for t in em.control('GET', 'tenants').json())
    runs = run_cases(em, reading_cases(), extra_vars=dict(SECRETS))
    # EM ignores a quota in the tenant's PUT: the module fails and says so; no quota was deleted or added
    res = runs['resize ignored'].results[0]
    assert res['failed'] and 'backup_resources' in res['msg'] and 'does not delete a quota' in res['msg']
    acme = emu_tenant(em, 'acme')
    assert [(q['repository'], q['quota_mb']) for q in acme['resources']] == [('Backup Volume 01', 102400)]
    assert acme['resources'][0]['id'] == before[acme['id']]['resources'][0]['id']
    acme_writes = [w for s in runs['resize ignored'].sessions(acme['id']) for w in writes(s)]
    assert [m for m, _p in acme_writes] == ['PUT']
    # a lease shape EM does not take: fails naming lease_expiration
    res = runs['lease ignored'].results[0]
    assert res['failed'] and 'lease_expiration' in res['msg']
    # a PUT answered 200 with the tenant: verified from that answer
    res = runs['edit answered with the entity'].results[0]
    assert res['changed'] and not res.get('failed') and res['tenant']['settings']['max_concurrent_tasks'] == 5
    initech = emu_tenant(em, 'initech')
    assert initech['description'] == 'Initech, renewed' and initech['type_ignored'] == 0
    assert initech['vcd_resources'] == before[initech['id']]['vcd_resources']
    # a create task without the Related link: found by name; the delete still says includeBackups=false
    made, gone = runs['create without the link, delete under includeBackups=true by default'].results
    assert made['changed'] and made['tenant']['backup_server'] == 'vbr02' and made['tenant']['id']
    assert not made['tasks'][0].get('related')
    assert gone['changed']
    deleted = [d for d in em.control('GET', 'deleted_tenants').json() if d['name'] == 'e2e-nolink']
    assert deleted[0]['include_backups'] is False
    # an Active Directory tenant: created with its domain, then its pools and failover flag in one more write
    made, again = runs['active directory tenant with pools'].results
    assert made['changed'] and [t['operation'] for t in made['tasks']] == ['CreateCloudTenant']  # the edit: 200 + entity
    ann_writes = [w for s in runs['active directory tenant with pools'].sessions(made['tenant']['id']) for w in writes(s)]
    assert [(m, shape(p)) for m, p in ann_writes] == [('POST', 'cloud/tenants'), ('PUT', 'cloud/tenants/{id}')]
    assert made['tenant']['type'] == 'active_directory' and made['tenant']['settings']['gateway_pools'] == ['EU gateways']
    assert made['tenant']['settings']['ad_domain'] == {'name': 'tech.local', 'account': 'tech\\ann.lee', 'port': 389}
    assert made['tenant']['settings']['throttling'] == {'enabled': True, 'speed': 50, 'unit': 'Mbps'}
    assert not again['changed']
    ann = emu_tenant(em, 'tech\\ann.lee')
    assert ann['gateway_pools'] == ['EU gateways'] and ann['failover_to_other_gateways'] is True
    res = runs['appliance address changed'].results[0]
    assert res['changed'] and not res.get('failed'), res.get('msg')
    appliance = emu_tenant(em, 'globex')['compute_resources'][0]['appliance']
    assert appliance['ip'] == '192.168.50.20' and appliance['name'] == 'globex-nea' and appliance['network'] == 'VM Network'
    res = runs['subtenant edit answered with the entity'].results[0]
    assert res['changed'] and res['subtenant']['description'] == 'HR, renewed'
    for case in runs.values():
        assert no_secret(case.results)


def test_quota_put_refused_and_no_licence(em):
    em.reset(tenant_put_resources='fail')
    runs = run_cases(em, {'refused': [{'veeam_em.core.cloud_tenant': {
        'name': 'globex', 'backup_resources': [{'repository': 'Default Backup Repository', 'quota_gb': 60}]}}]})
    res = runs['refused'].results[0]
    assert res['failed'] and 'Resources' in res['msg']
    globex = emu_tenant(em, 'globex')
    assert sorted(q['quota_mb'] for q in globex['resources']) == [51200, 204800]
    em.reset(cloud_licence='absent', cloud_absent_status='404')
    run = run_tasks(em, [tenant(tenant_password='{{ tenant_password }}'),
                         sub(subtenant_password='{{ sub_password }}', quota={'backup_resource': 'x', 'quota_gb': 2}),
                         {'veeam_em.core.cloud_tenant_info': {}}], extra_vars=dict(SECRETS))
    for res, session in zip(run.results, run.sessions()):
        assert res['failed'] and 'service-provider licence' in res['msg'] and 'HTTP 404' in res['msg']
        assert [e['path'] for e in session if e['path'].startswith('/api/cloud')] == ['/api/cloud']
    assert run.writes() == [] and no_secret(run.results) and PASSWORD not in json.dumps(run.results)
