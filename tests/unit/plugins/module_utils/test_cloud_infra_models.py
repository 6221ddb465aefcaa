# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The provider-infrastructure declarations: offline checks, the codecs (entity -> options, options -> bodies in the
vendor pages' order), and a whole run against an in-memory EM that lists, looks up and records the writes."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.veeam_em.core.plugins.module_utils import _cloud_infra_models as m
from ansible_collections.veeam_em.core.plugins.module_utils import _resource, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError

NS = 'http://www.veeam.com/ent/v1.0'
VBR01 = 'f62624c1-8462-4747-8bd4-d686f99b0540'
B = 'https://em:9398/api'
UP = '<Links><Link Rel="Up" Type="BackupServerReference" Href="%s/backupServers/%s" Name="vbr01"/></Links>' % (B, VBR01)
GW1 = '0eade4fd-0b0c-4ce4-8c1f-ca60ec682d0e'
GW2 = 'd59b541c-c7e0-4179-af6d-e78eac78e893'
TENANT = '5cf540af-512a-5ba8-9f12-77fba51207e0'
CLUSTER = 'urn:VMware:Cluster:root1.domain-c7'
DS1 = 'urn:VMware:Datastore:root1.datastore-21'
DS2 = 'urn:VMware:Datastore:root1.datastore-22'


def el(text):
    return _xml.parse(text.encode())


def names(body):
    return [_xml.localname(c.tag) for c in body]


def gateway(uid=GW1, name='gw01.example', mode='NAT', ip='203.0.113.10', enabled='true'):
    return el('<CloudGateway xmlns="%s" Href="%s/cloud/gateways/%s?format=Entity" Type="CloudGateway" Name="%s" '
              'UID="urn:veeam:CloudGateway:%s">%s<Enabled>%s</Enabled><NetworkMode>%s</NetworkMode>'
              '<ExternalIP>%s</ExternalIP><ExternalPort>6180</ExternalPort><InternalPort>6180</InternalPort>'
              '<Description>d</Description></CloudGateway>' % (NS, B, uid, name, uid, UP, enabled, mode, ip))


def pool(gateways=(GW1,), tenants=(TENANT,)):
    return el('<CloudGatewayPool xmlns="%s" Href="%s/cloud/gatewayPools/p1" Type="CloudGatewayPool" Name="EU" '
              'UID="urn:veeam:CloudGatewayPool:dcdca4d9-f850-4094-813e-f1aa9ba8bcfb">%s<Description>d</Description>'
              '<CloudGateways>%s</CloudGateways><CloudTenants>%s</CloudTenants></CloudGatewayPool>' % (
                  NS, B, UP, ''.join('<CloudGatewayUid>urn:veeam:CloudGateway:%s</CloudGatewayUid>' % g for g in gateways),
                  ''.join('<CloudTenantUid>urn:veeam:CloudTenant:%s</CloudTenantUid>' % t for t in tenants)))


def plan(stores=((DS1, 500, 'ds-id-1'),), cpu=4000):
    ds = ''.join('<Datastore Id="%s"><FriendlyName>F%d</FriendlyName><DatastoreType>Datastore</DatastoreType>'
                 '<Reference>%s</Reference><RootPath>[root%d]</RootPath><QuotaGb>%d</QuotaGb></Datastore>'
                 % (i, n, ref, n, q) for n, (ref, q, i) in enumerate(stores))
    return el('<CloudHardwarePlan xmlns="%s" Href="%s/cloud/hardwarePlans/h1" Type="CloudHardwarePlan" Name="Silver" '
              'UID="urn:veeam:CloudHardwarePlan:0d4fd0a8-1b0e-5e4c-9f3b-2b1d5b8f7c11">%s<Description>d</Description>'
              '<ProcessorUsageLimitMhz>%d</ProcessorUsageLimitMhz><MemoryUsageLimitMb>-1</MemoryUsageLimitMb>'
              '<HardwarePlanDetails><ViCloudHardwarePlan><HypervisorHostRef>%s</HypervisorHostRef>'
              '<ParentType>ClusterComputeResource</ParentType><ParentName>Cluster01</ParentName><Datastores>%s'
              '</Datastores><Network Id="n1"><CountWithInternet>1</CountWithInternet><CountWithoutInternet>0'
              '</CountWithoutInternet></Network></ViCloudHardwarePlan></HardwarePlanDetails></CloudHardwarePlan>'
              % (NS, B, UP, cpu, CLUSTER, ds))


OBJECTS = [{'type': 'Cluster', 'name': 'Cluster01', 'ref': CLUSTER, 'platform': 'vmware'},
           {'type': 'Host', 'name': 'esx01', 'ref': 'urn:VMware:Host:root1.host-11', 'platform': 'vmware'},
           {'type': 'Host', 'name': 'hv01', 'ref': 'urn:HyperV:Host:root2.hv01', 'platform': 'hyperv'},
           {'type': 'Datastore', 'name': 'datastore1', 'ref': DS1, 'platform': 'vmware'},
           {'type': 'Datastore', 'name': 'vsanDatastore', 'ref': DS2, 'platform': 'vmware'}]


# ---------------------------------------------------------------------------- offline checks


@pytest.mark.parametrize('value,expected', [(4000, 4000), ('4000', 4000), ('Unlimited', 'unlimited'), (-1, 'unlimited')])
def test_limits_are_a_number_or_unlimited(value, expected):
    assert m._limit(value, 'cpu_mhz') == expected


@pytest.mark.parametrize('value', [0, -5, 'lots', None, True])
def test_bad_limits_name_the_option(value):
    with pytest.raises(ValidationError) as exc:
        m._limit(value, 'memory_mb')
    assert exc.value.option == 'memory_mb'


@pytest.mark.parametrize('items,platform,message', [
    ([], None, 'at least one'),
    ([{'quota_gb': 5}], None, 'either datastore'),
    ([{'datastore': 'a', 'volume': 'b', 'quota_gb': 5}], None, 'either datastore'),
    ([{'volume': 'D:\\R', 'quota_gb': 5}], 'vmware', 'holds datastores'),
    ([{'datastore': 'a', 'quota_gb': 0}], None, 'at least 1'),
    ([{'datastore': 'a', 'quota_gb': 5, 'size': 1}], None, 'unknown key size'),
    ([{'datastore': 'a', 'quota_gb': 5}, {'datastore': 'A', 'quota_gb': 6}], None, 'listed twice'),
    ([{'datastore': 'a', 'quota_gb': 5}, {'volume': 'b', 'quota_gb': 6}], None, 'cannot be mixed'),
])
def test_storage_checks_name_the_option(items, platform, message):
    with pytest.raises(ValidationError) as exc:
        m._storage_input(items, platform)
    assert exc.value.option == 'storage' and message in str(exc.value)


def test_plan_options_checked_before_any_request():
    with pytest.raises(ValidationError) as exc:
        m.HARDWARE_PLAN.check_input({'name': 'p', 'backup_server': 'vbr01', 'state': 'present',
                                     'networks': {'with_internet': 1, 'wan': 2}})
    assert exc.value.option == 'networks' and 'unknown key wan' in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        m.GATEWAY_POOL.check_input({'name': 'p', 'backup_server': 'vbr01', 'state': 'present', 'gateways': []})
    assert exc.value.option == 'gateways'


# ---------------------------------------------------------------------------- codecs


def with_ctx(res, **ctx):
    res.ctx = dict({'server_id': VBR01, 'params': {'backup_server': 'vbr01'}, 'wanted': {}}, **ctx)
    return res


def test_gateway_create_body_uses_the_create_names_in_page_order():
    res = with_ctx(m.GATEWAY)
    body = res.body('CreateCloudGatewaySpec', {'name': 'gw04', 'network_mode': 'nat', 'external_ip': '203.0.113.4',
                                               'external_port': 6180, 'internal_port': 6181, 'description': 'x'},
                    ['name', 'network_mode', 'external_ip', 'external_port', 'internal_port', 'description'])
    assert names(body) == ['ServerHostName', 'Description', 'ExternalIp', 'ExternalPort', 'NetworkType', 'InternalPort',
                           'BackupServerUid']
    assert _xml.findtext(body, 'NetworkType') == 'NAT' and _xml.findtext(body, 'BackupServerUid').endswith(VBR01)


def test_gateway_nat_create_without_address_fails_before_the_write():
    with pytest.raises(ValidationError) as exc:
        with_ctx(m.GATEWAY).body('CreateCloudGatewaySpec', {'name': 'gw', 'network_mode': 'nat'}, ['name'])
    assert exc.value.option == 'external_ip'


def test_gateway_edit_sends_every_element_keeping_the_others():
    res = with_ctx(m.GATEWAY)
    entity = gateway()
    body = res.body('CloudGateway', {'description': 'new'}, ['description'], entity)
    assert names(body) == ['Enabled', 'NetworkMode', 'ExternalIP', 'ExternalPort', 'InternalPort', 'Description']
    assert [c.text for c in body] == ['true', 'NAT', '203.0.113.10', '6180', '6180', 'new']
    assert res.read(entity) == {'name': 'gw01.example', 'enabled': True, 'network_mode': 'nat',
                                'external_ip': '203.0.113.10', 'external_port': 6180, 'internal_port': 6180,
                                'description': 'd'}


def test_pool_reads_gateway_names_and_echoes_the_tenant_list():
    res = with_ctx(m.GATEWAY_POOL, gateway_names={GW1: 'gw01', GW2: 'gw02'},
                   gateway_uids={'gw01': 'urn:veeam:CloudGateway:' + GW1, 'gw02': 'urn:veeam:CloudGateway:' + GW2})
    entity = pool()
    assert res.read(entity) == {'name': 'EU', 'description': 'd', 'gateways': ['gw01']}
    body = res.body('CloudGatewayPool', {'gateways': ['gw01', 'gw02']}, ['gateways'], entity)
    assert names(body) == ['Description', 'CloudGateways', 'CloudTenants']
    sent = [c.text for c in _xml.find(body, 'CloudGateways')]
    assert sent == ['urn:veeam:CloudGateway:' + GW1, 'urn:veeam:CloudGateway:' + GW2]
    assert [c.text for c in _xml.find(body, 'CloudTenants')] == ['urn:veeam:CloudTenant:' + TENANT]
    empty = res.body('CloudGatewayPool', {'description': 'x'}, ['description'], pool(tenants=()))
    assert _xml.find(empty, 'CloudTenants') is not None and len(_xml.find(empty, 'CloudTenants')) == 0
    create = res.body('CreateCloudGatewayPoolSpec', {'name': 'New', 'gateways': ['gw02']}, ['name', 'gateways'])
    assert names(create) == ['Name', 'CloudGateways', 'BackupServerUid']


def test_plan_reads_names_and_unlimited_and_keeps_ids_in_an_edit():
    res = with_ctx(m.HARDWARE_PLAN, objects=OBJECTS)
    entity = plan()
    got = res.read(entity)
    assert got['host'] == 'Cluster01' and got['cpu_mhz'] == 4000 and got['memory_mb'] == 'unlimited'
    assert got['storage'] == [{'datastore': 'datastore1', 'quota_gb': 500, 'friendly_name': 'F0'}]
    assert got['networks'] == {'with_internet': 1, 'without_internet': 0} and got['platform'] == 'vmware'
    wanted = [{'datastore': 'datastore1', 'quota_gb': 600, 'friendly_name': 'F0'},
              {'datastore': 'vsanDatastore', 'quota_gb': 50, 'friendly_name': 'vsan'}]
    body = res.body('CloudHardwarePlan', {'storage': wanted}, ['storage'], entity)
    assert names(body) == ['Description', 'ProcessorUsageLimitMhz', 'MemoryUsageLimitMb', 'HardwarePlanDetails']
    vi = _xml.find(body, 'HardwarePlanDetails/ViCloudHardwarePlan')
    assert names(vi) == ['HypervisorHostRef', 'ParentType', 'ParentName', 'Datastores']   # never Network
    stores = _xml.findall(vi, 'Datastores/Datastore')
    assert [s.get('Id') for s in stores] == ['ds-id-1', None]
    assert names(stores[0]) == ['FriendlyName', 'DatastoreType', 'Reference', 'RootPath', 'QuotaGb']
    assert names(stores[1]) == ['FriendlyName', 'DatastoreType', 'Reference', 'QuotaGb']
    assert _xml.findtext(body, 'ProcessorUsageLimitMhz') == '4000' and _xml.findtext(body, 'MemoryUsageLimitMb') == '-1'


def test_plan_create_body_in_page_order_with_networks():
    res = with_ctx(m.HARDWARE_PLAN, objects=OBJECTS, host=OBJECTS[1])
    values = {'name': 'P', 'platform': 'vmware', 'host': 'esx01', 'cpu_mhz': 'unlimited', 'memory_mb': 2048,
              'storage': [{'datastore': 'datastore1', 'quota_gb': 10, 'friendly_name': None}],
              'networks': {'with_internet': 1, 'without_internet': 2}}
    body = res.body('CloudHardwarePlanCreateSpec', values, list(values))
    assert names(body) == ['BackupServerUid', 'Name', 'ProcessorUsageLimitMhz', 'MemoryUsageLimitMb',
                           'HardwarePlanDetails']
    vi = _xml.find(body, 'HardwarePlanDetails/ViCloudHardwarePlan')
    assert names(vi) == ['HypervisorHostRef', 'ParentType', 'ParentName', 'Datastores', 'Network']
    assert _xml.findtext(vi, 'ParentType') == 'HostSystem'
    assert _xml.findtext(vi, 'Datastores/Datastore/FriendlyName') == 'datastore1'


def test_names_that_do_not_resolve_list_what_exists():
    with pytest.raises(ValidationError) as exc:
        m._pick(OBJECTS, 'Cluster02', ('Host', 'Cluster'), None, 'host', 'host or cluster')
    assert exc.value.option == 'host' and 'Cluster01' in str(exc.value)
    assert m._pick(OBJECTS, 'HV01', ('Host', 'Cluster'), None, 'host', 'host or cluster')['platform'] == 'hyperv'


def test_on_server_reads_the_up_link():
    assert m.on_server(gateway(), VBR01) and not m.on_server(gateway(), 'fd8fab6c-fca1-4e5c-b485-6d92eb7717bd')


def test_declarations_give_one_line_mains():
    for res in m.RESOURCES:
        spec = res.argument_spec()
        assert spec['backup_server']['required'] and 'state' in spec and 'id' in spec
        assert isinstance(res, _resource.Resource)


# ---------------------------------------------------------------------------- storage removal under either reading


def test_storage_change_pairs_added_items_with_removed_ones():
    cur = [{'datastore': 'a'}, {'datastore': 'B'}, {'datastore': 'c'}]
    assert m.storage_change(cur, [{'datastore': 'a'}, {'datastore': 'd'}], 'datastore') == ({'d': 'b'}, ['c'])
    assert m.storage_change(cur, [{'datastore': 'x'}, {'datastore': 'y'}, {'datastore': 'z'}],
                            'datastore') == ({'x': 'a', 'y': 'b', 'z': 'c'}, [])
    assert m.storage_change(cur, cur + [{'datastore': 'e'}], 'datastore') == ({}, [])


def test_an_added_datastore_takes_the_id_of_the_one_it_replaces():
    """Sent with the removed item's @Id, the new datastore replaces it whether EM replaces or merges the list."""
    res = with_ctx(m.HARDWARE_PLAN, objects=OBJECTS)
    body = res.body('CloudHardwarePlan', {'storage': [{'datastore': 'vsanDatastore', 'quota_gb': 10,
                                                       'friendly_name': 'vsan'}]}, ['storage'], plan())
    stores = _xml.findall(body, 'HardwarePlanDetails/ViCloudHardwarePlan/Datastores/Datastore')
    assert [(s.get('Id'), _xml.findtext(s, 'Reference'), _xml.findtext(s, 'QuotaGb')) for s in stores] == [
        ('ds-id-1', DS2, '10')]
    assert names(stores[0]) == ['FriendlyName', 'DatastoreType', 'Reference', 'QuotaGb']   # not the old root path


class Reads:
    """A client that answers the plan's GET with ``entity``."""

    def __init__(self, entity):
        self.entity = entity
        self.paths = []

    def get(self, path, params=None):
        self.paths.append(path)
        return self.entity


def removal_plan(wanted_storage):
    res = with_ctx(m.HARDWARE_PLAN, objects=OBJECTS)
    params = {'backup_server': 'vbr01', 'name': 'Silver', 'state': 'present', 'storage': wanted_storage}
    wanted = res.check_input(params)
    res.ctx.update(server_id=VBR01, objects=OBJECTS)
    entity = plan(stores=((DS1, 500, 'ds-id-1'), (DS2, 50, 'ds-id-2')))
    return _resource.Plan(res, params, wanted, [entity], (VBR01, 'vbr01'))


def test_removing_a_datastore_is_a_put_of_its_own_first_that_leaves_just_it_out():
    p = removal_plan([{'datastore': 'datastore1', 'quota_gb': 600}])
    assert p.action == 'edit' and 'storage' in p.send
    first = [w for w in p.child_writes if w.first]
    assert len(first) == 1 and first[0].method == 'PUT' and first[0].path == 'cloud/hardwarePlans/0d4fd0a8-1b0e-5e4c-9f3b-2b1d5b8f7c11'
    stores = _xml.findall(first[0].body, 'HardwarePlanDetails/ViCloudHardwarePlan/Datastores/Datastore')
    # nothing but the removal: the kept datastore as EM holds it (its quota too), the limits as they are
    assert [(s.get('Id'), _xml.findtext(s, 'QuotaGb'), _xml.findtext(s, 'RootPath')) for s in stores] == [
        ('ds-id-1', '500', '[root0]')]
    assert _xml.findtext(first[0].body, 'ProcessorUsageLimitMhz') == '4000'
    # an EM that replaces the list: the datastore is gone, the run goes on
    first[0].check(Reads(plan(stores=((DS1, 500, 'ds-id-1'),))))
    # an EM that merges it: still there; the run stops, saying why, and reports nothing changed
    with pytest.raises(m.VeeamEmError) as exc:
        first[0].check(Reads(plan(stores=((DS1, 500, 'ds-id-1'), (DS2, 50, 'ds-id-2')))))
    assert exc.value.written is False and "'vsanDatastore'" in exc.value.msg and 'merges' in exc.value.msg
    assert 'nothing was changed' in exc.value.msg


def test_no_removal_put_without_a_removal():
    p = removal_plan([{'datastore': 'datastore1', 'quota_gb': 500}, {'datastore': 'vsanDatastore', 'quota_gb': 50}])
    assert p.action is None and p.child_writes == []
    p = removal_plan([{'datastore': 'datastore1', 'quota_gb': 700}, {'datastore': 'vsanDatastore', 'quota_gb': 50}])
    assert p.action == 'edit' and 'storage' in p.send and p.child_writes == []


def test_a_removal_alone_is_one_put_and_other_settings_keep_it():
    p = removal_plan([{'datastore': 'datastore1', 'quota_gb': 500}])
    assert p.action == 'edit' and p.send == [] and [w.first for w in p.child_writes] == [True]
    p = removal_plan([{'datastore': 'datastore1', 'quota_gb': 500}])
    p.resource.ctx['wanted']['cpu_mhz'] = 8000
    body = p.resource.body('CloudHardwarePlan', {'cpu_mhz': 8000}, ['cpu_mhz'], p.entity)
    stores = _xml.findall(body, 'HardwarePlanDetails/ViCloudHardwarePlan/Datastores/Datastore')
    assert [s.get('Id') for s in stores] == ['ds-id-1'] and _xml.findtext(body, 'ProcessorUsageLimitMhz') == '8000'
