# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cloud_hardware_plan, cloud_gateway, cloud_gateway_pool and cloud_info through ansible-playbook against the emulator.

One run holds the whole lifecycle (one logon session per task); the emulator's log, split per session, says what
each task sent: check mode sends no write, a second run sends nothing, bad input fails before any write.
"""

from __future__ import (absolute_import, division, print_function)

from conftest import em_writes, run_tasks


def writes(session):
    return [(e['method'], e['path'].split('?')[0]) for e in em_writes(session)]


def gw(**kw):
    return {'veeam_em.core.cloud_gateway': dict({'backup_server': 'vbr01', 'name': 'gw04.provider.example'}, **kw)}


def pool(**kw):
    return {'veeam_em.core.cloud_gateway_pool': dict({'backup_server': 'vbr01', 'name': 'E2E pool'}, **kw)}


def plan(**kw):
    return {'veeam_em.core.cloud_hardware_plan': dict({'backup_server': 'vbr01', 'name': 'E2E plan'}, **kw)}


PLAN = dict(platform='vmware', host='Cluster01', cpu_mhz=4000, memory_mb='unlimited',
            storage=[{'datastore': 'datastore1', 'quota_gb': 100}], networks={'with_internet': 1, 'without_internet': 1})

LIFECYCLE = [
    dict(gw(network_mode='nat', external_ip='203.0.113.40', description='E2E'), check_mode=True),  # 0
    gw(network_mode='nat', external_ip='203.0.113.40', description='E2E'),                          # 1
    gw(network_mode='nat', external_ip='203.0.113.40', description='E2E'),                          # 2
    gw(enabled=False),                                                                              # 3
    gw(name='not-managed.example'),                                                                 # 4
    pool(gateways=['gw04.provider.example', 'gw01.provider.example']),                              # 5
    pool(gateways=['gw01.provider.example', 'gw04.provider.example']),                              # 6
    pool(gateways=['gw99']),                                                                        # 7
    {'veeam_em.core.cloud_gateway_pool': {'backup_server': 'vbr01', 'name': 'EU gateways',          # 8
                                          'gateways': ['gw01.provider.example']}},
    dict(plan(**PLAN), check_mode=True),                                                            # 9
    plan(**PLAN),                                                                                   # 10
    plan(**PLAN),                                                                                   # 11
    plan(storage=[{'datastore': 'datastore1', 'quota_gb': 150}, {'datastore': 'vsanDatastore', 'quota_gb': 50}]),  # 12
    plan(networks={'with_internet': 2, 'without_internet': 1}),                                     # 13
    plan(host='Cluster99'),                                                                         # 14
    plan(cpu_mhz='lots'),                                                                           # 15
    {'veeam_em.core.cloud_hardware_plan': {'backup_server': 'vbr01', 'name': 'Silver VMware',       # 16
                                           'state': 'absent'}},
    {'veeam_em.core.cloud_info': {'backup_server': 'vbr01'}},                                       # 17
    gw(name='gw05.provider.example', enabled=False),                                                # 18
    plan(platform='hyperv'),                                                                        # 19
    dict(pool(description='checked', state='present'), check_mode=True),                            # 20
    dict(gw(state='absent'), check_mode=True),                                                      # 21
    plan(storage=[{'datastore': 'vsanDatastore', 'quota_gb': 50}]),                                 # 22
    plan(storage=[{'datastore': 'vsanDatastore', 'quota_gb': 50}]),                                 # 23
]


def test_lifecycle(em):
    run = run_tasks(em, LIFECYCLE, diff=True)
    r = run.results
    before_logon = [15]   # its options alone show the mistake
    logged_on = [i for i in range(len(LIFECYCLE)) if i not in before_logon]
    assert len(run.sessions()) == len(logged_on)
    sent = dict(zip(logged_on, [writes(s) for s in run.sessions()]))
    sent[15] = []
    assert all(not x.get('failed') for i, x in enumerate(r) if i not in (4, 7, 13, 14, 15, 16, 19)), \
        [(i, x.get('msg')) for i, x in enumerate(r)]

    # gateway: check mode predicts and sends nothing; the create is one POST; the re-run sends nothing
    assert r[0]['changed'] and r[0]['diff']['after']['external_ip'] == '203.0.113.40' and sent[0] == []
    assert r[1]['changed'] and [m for m, _p in sent[1]] == ['POST'] and r[1]['gateway']['network_mode'] == 'nat'
    assert r[1]['gateway']['external_port'] == 6180 and len(r[1]['gateway']['id']) == 36
    sessions = dict(zip(logged_on, run.sessions()))
    # the finished task's Related link (Type CloudGateway) names the new gateway: it is read there
    assert ('GET', '/api/cloud/gateways/' + r[1]['gateway']['id']) in [(e['method'], e['path']) for e in sessions[1]]
    assert not r[2]['changed'] and sent[2] == []
    # an edit of one setting keeps every other
    assert r[3]['changed'] and [m for m, _p in sent[3]] == ['PUT'] and r[3]['diff'] == {
        'before': {'enabled': True}, 'after': {'enabled': False}}
    assert r[3]['gateway']['external_ip'] == '203.0.113.40' and r[3]['gateway']['description'] == 'E2E'
    assert r[4]['failed'] and 'not a managed server' in r[4]['msg']

    # pool: gateways by name, in any order; unknown names fail before any write, listing the known ones
    assert r[5]['changed'] and r[5]['gateway_pool']['gateways'] == ['gw01.provider.example', 'gw04.provider.example']
    assert not r[6]['changed'] and sent[6] == []
    assert r[7]['failed'] and r[7]['option'] == 'gateways' and 'gw02.provider.example' in r[7]['msg'] and sent[7] == []
    # the seeded EU pool is assigned to a tenant: the PUT carries that list back unchanged
    assert r[8]['changed'] and [m for m, _p in sent[8]] == ['PUT']

    # plan: created once with its datastore, host and network counts
    assert r[9]['changed'] and sent[9] == []
    assert r[10]['changed'] and [m for m, _p in sent[10]] == ['POST']
    got = r[10]['hardware_plan']
    assert got['host'] == 'Cluster01' and got['platform'] == 'vmware' and got['memory_mb'] == 'unlimited'
    assert got['storage'] == [{'datastore': 'datastore1', 'quota_gb': 100, 'friendly_name': 'datastore1'}]
    assert not r[11]['changed'] and sent[11] == []
    assert r[12]['changed'] and [m for m, _p in sent[12]] == ['PUT']
    assert [s['quota_gb'] for s in r[12]['hardware_plan']['storage']] == [150, 50]
    assert r[12]['hardware_plan']['cpu_mhz'] == 4000   # nothing else changed
    assert r[13]['failed'] and r[13]['option'] == 'networks' and sent[13] == []
    assert r[14]['failed'] and r[14]['option'] == 'host' and 'Cluster01' in r[14]['msg'] and sent[14] == []
    assert r[15]['failed'] and r[15]['option'] == 'cpu_mhz'
    assert r[16]['failed'] and 'tenants subscribe to it: globex' in r[16]['msg']
    assert [m for m, _p in sent[16]] == ['DELETE']

    # EM creates gateways enabled: a disabled one is created, then edited in the same run
    assert r[18]['changed'] and [m for m, _p in sent[18]] == ['POST', 'PUT'] and r[18]['gateway']['enabled'] is False
    assert r[19]['failed'] and r[19]['option'] == 'platform' and sent[19] == []
    # check mode predicts an edit and a deletion and sends neither
    assert r[20]['changed'] and r[20]['diff']['after'] == {'description': 'checked'} and sent[20] == []
    assert r[21]['changed'] and r[21]['diff']['after'] == {} and sent[21] == []
    # an EM that replaces the storage list (the default reading): a removal is one PUT, kept by the re-run
    assert r[22]['changed'] and [m for m, _p in sent[22]] == ['PUT'] and r[22]['hardware_plan']['storage'] == [
        {'datastore': 'vsanDatastore', 'quota_gb': 50, 'friendly_name': 'vsanDatastore'}]
    assert r[22]['hardware_plan']['cpu_mhz'] == 4000 and not r[23]['changed'] and sent[23] == []

    info = r[17]
    assert {g['name'] for g in info['gateways']} >= {'gw04.provider.example', 'gw01.provider.example'}
    assert 'E2E plan' in [p['name'] for p in info['hardware_plans']]
    assert info['wan_accelerators'] and info['public_ip_addresses'] and info['vlans']


def test_info_round_trips(em):
    """Every plan, gateway and pool cloud_info returns, fed back to its module, changes nothing and sends nothing."""
    first = run_tasks(em, [{'veeam_em.core.cloud_info': {'gather_subset': ['hardware_plans', 'gateways',
                                                                           'gateway_pools']}}])
    info = first.results[0]
    tasks = []
    for subset, module in (('hardware_plans', 'cloud_hardware_plan'), ('gateways', 'cloud_gateway'),
                           ('gateway_pools', 'cloud_gateway_pool')):
        assert info[subset], subset
        tasks += [{'veeam_em.core.' + module: entry} for entry in info[subset]]
    run = run_tasks(em, tasks)
    assert [x.get('msg') for x in run.results if x.get('failed')] == []
    assert not any(x['changed'] for x in run.results)
    assert all(writes(s) == [] for s in run.sessions())


def eu_tenants(em):
    return sorted(t['name'] for t in em.control('GET', 'tenants').json() if 'EU gateways' in t['gateway_pools'])


def test_every_answer_and_reading_em_may_give(em):
    """Edits answered at once with the entity, creates whose task links the wrong type, strict element order, an
    EM that clears a pool's tenants when the list is left out, and one that merges a plan's storage list into the
    plan's: the modules converge and never lose the tenants; a datastore replaced by another goes under either
    reading, and one only removed (EM offers no other way) fails with nothing changed."""
    em.reset(async_put_answer='200_body', create_related_link='doc_literal', order_violation='reject',
             pool_put_absent_tenants='clear', hwplan_storage_list='merge')
    tenants_before = eu_tenants(em)
    assert tenants_before
    tasks = [gw(network_mode='direct', external_port=6190), gw(description='edited'),
             plan(**PLAN), plan(cpu_mhz='unlimited', storage=[{'datastore': 'vsanDatastore', 'quota_gb': 10}]),
             {'veeam_em.core.cloud_gateway_pool': {'backup_server': 'vbr01', 'name': 'EU gateways',
                                                   'description': 'edited', 'gateways': ['gw02.provider.example']}},
             plan(cpu_mhz='unlimited', storage=[{'datastore': 'vsanDatastore', 'quota_gb': 10}]),
             plan(storage=[{'datastore': 'datastore1', 'quota_gb': 20}, {'datastore': 'vsanDatastore', 'quota_gb': 10}]),
             plan(cpu_mhz=1234, storage=[{'datastore': 'vsanDatastore', 'quota_gb': 10}]),
             plan(cpu_mhz='unlimited', storage=[{'datastore': 'datastore1', 'quota_gb': 20},
                                                {'datastore': 'vsanDatastore', 'quota_gb': 10}])]
    run = run_tasks(em, tasks)
    r = run.results
    sent = [writes(s) for s in run.sessions()]
    assert [i for i, x in enumerate(r) if x.get('failed')] == [7], [x.get('msg') for x in r]
    assert [x['changed'] for x in r] == [True, True, True, True, True, False, True, False, False]
    # the removal: one PUT that leaves out just that datastore (EM keeps it and changes nothing), then the run stops
    assert "EM kept the datastore 'datastore1'" in r[7]['msg'] and 'merges' in r[7]['msg'], r[7]['msg']
    assert [m for m, _p in sent[7]] == ['PUT']
    assert r[8]['hardware_plan']['cpu_mhz'] == 'unlimited' and sent[8] == []   # nothing had changed
    assert r[1]['gateway']['external_port'] == 6190 and r[1]['gateway']['description'] == 'edited'
    assert r[3]['hardware_plan']['storage'] == [{'datastore': 'vsanDatastore', 'quota_gb': 10,
                                                 'friendly_name': 'vsanDatastore'}]
    assert eu_tenants(em) == tenants_before
