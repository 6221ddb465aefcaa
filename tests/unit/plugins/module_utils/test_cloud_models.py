# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The tenant and subtenant declarations and the engine hooks they use, on tenant XML as the vendor pages show it.

What goes on the wire is checked element by element: the create spec's order, the edit's order with the type block
echoed verbatim, each quota with its @Id, the lease in its attribute form; and what is compared: quotas matched by
repository name, purge only when asked, a type change refused before any write.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest
from lxml import etree

from ansible_collections.veeam_em.core.plugins.module_utils import _resource, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._cloud_models import (
    SUBTENANT, TENANT, CloudNames, normalize_lease, probe_cloud,
)
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ApiError, ValidationError, VeeamEmError

NS = 'http://www.veeam.com/ent/v1.0'
REPO1 = 'urn:veeam:Repository:11111111-1111-1111-1111-111111111111'
REPO2 = 'urn:veeam:Repository:22222222-2222-2222-2222-222222222222'
WAN1 = 'urn:veeam:WanAccelerator:33333333-3333-3333-3333-333333333333'
T1 = '44444444-4444-4444-4444-444444444444'
Q1 = '55555555-5555-5555-5555-555555555555'

TENANT_XML = '''<CloudTenants xmlns="%(ns)s">
<CloudTenant Href="https://em/api/cloud/tenants/%(t)s?format=Entity" Type="CloudTenant" Name="acme"
    UID="urn:veeam:CloudTenant:%(t)s">
  <Links><Link Rel="Up" Href="https://em/api/backupServers/b1" Type="BackupServerReference" Name="vbr01"/></Links>
  <Description>ACME</Description>
  <Enabled>true</Enabled>
  <LeaseOptions Enabled="true" ExpirationDate="2027-03-01T10:00:00Z"/>
  <Resources>
    <CloudTenantResource Href="https://em/api/cloud/tenants/%(t)s/resources/%(q)s" Type="CloudTenantResource" Id="%(q)s">
      <RepositoryQuota><DisplayName>ACME backups</DisplayName><RepositoryUid>%(r1)s</RepositoryUid>
        <WanAcceleratorUid>%(w)s</WanAcceleratorUid><Quota>102400</Quota><UsedQuota>40960</UsedQuota></RepositoryQuota>
    </CloudTenantResource>
  </Resources>
  <LastResult>Success</LastResult>
  <LastActive>1753-01-01T00:00:00Z</LastActive>
  <ComputeResources/>
  <ThrottlingEnabled>false</ThrottlingEnabled>
  <MaxConcurrentTasks>4</MaxConcurrentTasks>
  <BackupProtectionEnabled>false</BackupProtectionEnabled>
  <BackupProtectionPeriod>7</BackupProtectionPeriod>
  <TenantType><StandaloneTenant><TenantCredentials><Username>acme</Username></TenantCredentials></StandaloneTenant></TenantType>
  <FailoverToOtherGatewaysIfFail>false</FailoverToOtherGatewaysIfFail>
</CloudTenant>
</CloudTenants>''' % {'ns': NS, 't': T1, 'q': Q1, 'r1': REPO1, 'w': WAN1}


def entity():
    return list(_xml.parse(TENANT_XML.encode()).iter(_xml.qname('CloudTenant')))[0]


def names(el):
    return [_xml.localname(c.tag) for c in el if isinstance(c.tag, str)]


class FakeClient:
    """Answers the reads the declarations make: backup servers, repositories, WAN accelerators, /cloud, tenants."""

    def __init__(self, cloud=True):
        self.cloud = cloud
        self.requests = []

    def query(self, qtype, filter=None, fmt='Entities', page_size=None):  # pylint: disable=redefined-builtin
        self.requests.append(('query', qtype))
        up = '<Links><Link Rel="Up" Type="BackupServerReference" Name="%s"/></Links>'
        rows = {'BackupServer': [('<BackupServer xmlns="%s" Name="%s" UID="urn:veeam:BackupServer:%s"/>' % (NS, n, u))
                                 for n, u in (('vbr01', 'b1' * 16), ('vbr02', 'b2' * 16))],
                'Repository': [('<Repository xmlns="%s" Name="%s" UID="%s">%s</Repository>' % (NS, n, u, up % s))
                               for n, u, s in (('Backup Volume 01', REPO1, 'vbr01'), ('Default Backup Repository', REPO2,
                                                                                      'vbr01'))],
                'WanAccelerator': [('<WanAccelerator xmlns="%s" Name="wan01.lab.local" UID="%s">%s</WanAccelerator>'
                                    % (NS, WAN1, up % 'vbr01'))]}
        return [_xml.parse(x.encode()) for x in rows[qtype]]

    def get(self, path, params=None):
        self.requests.append(('GET', path))
        if path == 'cloud':
            if not self.cloud:
                raise ApiError('not found', status=404, message='The resource was not found')
            return _xml.parse(('<CloudConnectService xmlns="%s"/>' % NS).encode())
        if path == 'cloud/tenants':
            return _xml.parse(TENANT_XML.encode())
        if path == 'hierarchyRoots':
            assert params == {'format': 'Entity'}
            return _xml.parse(ROOTS_XML.encode())
        if path == 'lookup':
            assert params['host'] == 'urn:veeam:HierarchyRoot:' + VCD_ROOT
            items = ''.join('<HierarchyItem Type="HierarchyItem"><ObjectRef>%s</ObjectRef><ObjectType>%s</ObjectType>'
                            '<ObjectName>%s</ObjectName></HierarchyItem>' % (vcd_ref(t, n), t, n)
                            for t, n in VCD_OBJECTS if t.lower() == params['type'].lower())
            return _xml.parse(('<HierarchyItems xmlns="%s">%s</HierarchyItems>' % (NS, items)).encode())
        raise AssertionError(path)


VCD_ROOT = '66666666-6666-6666-6666-666666666666'
ROOTS_XML = '''<HierarchyRoots xmlns="%s">
<HierarchyRoot Type="HierarchyRoot" Name="vc01" UID="urn:veeam:HierarchyRoot:77777777-7777-7777-7777-777777777777">
  <Links><Link Rel="Up" Type="BackupServerReference" Name="vbr01"/></Links><HostType>VC</HostType></HierarchyRoot>
<HierarchyRoot Type="HierarchyRoot" Name="vcd01" UID="urn:veeam:HierarchyRoot:%s">
  <Links><Link Rel="Up" Type="BackupServerReference" Name="vbr01"/></Links><HostType>VcdSystem</HostType></HierarchyRoot>
</HierarchyRoots>''' % (NS, VCD_ROOT)
VCD_OBJECTS = [('Organization', 'umbrella'), ('Organization', 'hooli'), ('OrgVdc', 'umbrella-vdc1'),
               ('OrgVdc', 'umbrella-vdc2'), ('OrgVdc', 'hooli-vdc')]


def vcd_ref(otype, name):
    kind = 'org' if otype == 'Organization' else 'vdc'
    return 'urn:vCloud:%s:%s.urn:vcloud:%s:%s' % (otype, VCD_ROOT, kind, name)


def plan(params, client=None, records=None):
    params = dict({'state': 'present', 'update_password': 'on_create', 'purge_backup_resources': False,
                   'backup_server': None}, **params)
    wanted = TENANT.check_input(params)
    return _resource.Plan(TENANT, params, wanted, [entity()] if records is None else records, client=client or FakeClient())


def test_probe_names_the_licence_and_writes_nothing():
    client = FakeClient(cloud=False)
    with pytest.raises(VeeamEmError) as exc:
        probe_cloud(client)
    assert 'service-provider licence' in exc.value.msg and 'HTTP 404' in exc.value.msg
    assert client.requests == [('GET', 'cloud')]
    probe_cloud(FakeClient())


@pytest.mark.parametrize('given, kept', [
    ('never', 'never'), ('NEVER', 'never'), ('2027-01-31', '2027-01-31T00:00:00Z'),
    ('2027-01-31T18:00:00Z', '2027-01-31T18:00:00Z'), ('2027-01-31T18:00:00+02:00', '2027-01-31T16:00:00Z'),
    ('2027-01-31 23:30', '2027-01-31T23:30:00Z'), ('2027-01-31T23:30:00-01:00', '2027-02-01T00:30:00Z'),
])
def test_lease_normalised_to_utc(given, kept):
    assert normalize_lease(given) == kept


@pytest.mark.parametrize('bad', ['tomorrow', '2027-02-30', '31/01/2027'])
def test_bad_lease_names_the_option(bad):
    with pytest.raises(ValidationError) as exc:
        normalize_lease(bad)
    assert exc.value.option == 'lease_expiration'


def test_entity_read_in_the_options_shape():
    p = plan({'name': 'acme'})
    view = p.view(p.entity, p.current)
    assert view['id'] == T1 and view['uid'] == 'urn:veeam:CloudTenant:' + T1
    assert view['name'] == 'acme' and view['backup_server'] == 'vbr01' and view['type'] == 'standalone'
    assert view['settings'] == {
        'description': 'ACME', 'enabled': True, 'lease_expiration': '2027-03-01T10:00:00Z', 'max_concurrent_tasks': 4,
        'backup_protection': {'enabled': False, 'days': 7},
        'backup_resources': [{'repository': 'Backup Volume 01', 'quota_mb': 102400, 'display_name': 'ACME backups',
                              'wan_accelerator': 'wan01.lab.local'}],
        'throttling': {'enabled': False, 'speed': None, 'unit': None}, 'public_ip_count': None, 'ad_domain': None,
        'gateway_pools': [], 'failover_to_other_gateways': False, 'compute_resources': [], 'vcd_organization': None,
        'vcd_compute_resources': None}
    assert view['usage'] == {'last_active': None, 'backup_count': None, 'replica_count': None,
                             'quotas': [{'display_name': 'ACME backups', 'used_mb': 40960}]}
    assert 'tenant_password' not in str(view)


def test_settings_fed_back_plan_nothing():
    p = plan({'name': 'acme'})
    settings = p.view(p.entity, p.current)['settings']
    again = plan(dict(settings, name='acme', backup_server='vbr01', type='standalone'))
    assert again.action is None and again.child_writes == []


def test_resize_goes_in_the_put_with_every_quota_and_the_type_block_verbatim():
    p = plan({'name': 'acme', 'description': 'ACME Corp',
              'backup_resources': [{'repository': 'backup volume 01', 'quota_gb': 150}]})
    assert p.action == 'edit' and p.send == ['description', 'backup_resources'] and p.child_writes == []
    body = TENANT.body(TENANT.edit_root, p.wanted, p.send, p.entity, p.context)
    assert names(body) == ['Description', 'Resources', 'TenantType']
    assert body.get('UID') == 'urn:veeam:CloudTenant:' + T1 and body.get('Name') == 'acme'
    res = _xml.find(body, 'Resources/CloudTenantResource')
    assert res.get('Id') == Q1
    assert names(_xml.find(res, 'RepositoryQuota')) == ['DisplayName', 'RepositoryUid', 'WanAcceleratorUid', 'Quota']
    assert _xml.findtext(res, 'RepositoryQuota/Quota') == str(150 * 1024)
    assert _xml.findtext(res, 'RepositoryQuota/DisplayName') == 'ACME backups'  # kept when left out
    sent = etree.tostring(_xml.find(body, 'TenantType'), method='c14n')
    assert sent == etree.tostring(_xml.find(p.entity, 'TenantType'), method='c14n')


def test_added_quota_is_posted_and_unlisted_ones_go_only_with_purge():
    wanted = {'name': 'acme', 'backup_resources': [{'repository': 'Default Backup Repository', 'quota_mb': 2048}]}
    p = plan(wanted)
    assert p.send == [] and [(w.method, w.path) for w in p.child_writes] == [('POST', 'cloud/tenants/%s/resources' % T1)]
    spec = p.child_writes[0].body
    assert _xml.localname(spec.tag) == 'CreateCloudTenantResourceSpec'
    assert names(spec) == ['Name', 'RepositoryUid', 'QuotaMb']
    assert _xml.findtext(spec, 'RepositoryUid') == REPO2 and _xml.findtext(spec, 'Name') == 'Default Backup Repository'
    purged = plan(dict(wanted, purge_backup_resources=True))
    assert [(w.method, w.path) for w in purged.child_writes] == [
        ('POST', 'cloud/tenants/%s/resources' % T1), ('DELETE', 'cloud/tenants/%s/resources/%s' % (T1, Q1))]
    diff = purged.diff()
    assert [q['repository'] for q in diff['after']['settings']['backup_resources']] == ['Default Backup Repository']
    assert [q['repository'] for q in diff['before']['settings']['backup_resources']] == ['Backup Volume 01']


def test_create_spec_in_the_proven_order_and_protection_later():
    p = plan({'name': 'contoso', 'backup_server': 'vbr01', 'tenant_password': 'pw', 'description': 'C',
              'lease_expiration': '2027-12-31', 'max_concurrent_tasks': 2,
              'backup_protection': {'enabled': True, 'days': 10},
              'backup_resources': [{'repository': 'Backup Volume 01', 'quota_gb': 1, 'wan_accelerator': 'WAN01.lab.local'}]})
    assert p.action == 'create' and p.secrets == ['tenant_password']
    now = [n for n in p.send if not TENANT.by_option[n].later]
    body = TENANT.body(TENANT.create_root, p.wanted, now, context=p.context)
    assert names(body) == ['Name', 'Description', 'Password', 'LeaseExpirationDate', 'Resources', 'BackupServerUid',
                           'MaxConcurrentTasks', 'TenantType']
    assert _xml.findtext(body, 'TenantType') == 'Standalone' and _xml.findtext(body, 'LeaseExpirationDate') == '2027-12-31T00:00:00Z'
    assert _xml.findtext(body, 'BackupServerUid') == 'urn:veeam:BackupServer:' + 'b1' * 16
    assert names(_xml.find(body, 'Resources/BackupResource')) == ['Name', 'RepositoryUid', 'QuotaMb', 'WanAcceleratorUid']
    assert [n for n in p.send if TENANT.by_option[n].later] == ['backup_protection']


def test_create_needs_a_server_where_em_has_several_and_names_must_resolve():
    with pytest.raises(ValidationError) as exc:
        plan({'name': 'contoso', 'tenant_password': 'pw'})
    assert exc.value.option == 'backup_server' and 'vbr01' in exc.value.msg and 'vbr02' in exc.value.msg
    with pytest.raises(ValidationError) as exc:
        plan({'name': 'acme', 'backup_resources': [{'repository': 'Backup Volume 1', 'quota_gb': 2}]})
    assert exc.value.option == 'backup_resources[0].repository' and 'Backup Volume 01' in exc.value.msg
    with pytest.raises(ValidationError) as exc:
        plan({'name': 'contoso', 'backup_server': 'vbr01'})
    assert exc.value.option == 'tenant_password'


def test_type_change_and_bad_quotas_fail_before_any_write():
    with pytest.raises(ValidationError) as exc:
        plan({'name': 'acme', 'type': 'vcd'})
    assert exc.value.option == 'type'
    for items, option in (([{'repository': 'a', 'quota_gb': 1, 'quota_mb': 1024}], 'backup_resources[0].quota_gb'),
                          ([{'repository': 'a', 'quota_mb': 1000}], 'backup_resources[0].quota_gb'),
                          ([{'repository': 'a', 'quota_gb': 1}, {'repository': 'A', 'quota_gb': 2}], 'backup_resources')):
        items = [dict({'quota_gb': None, 'quota_mb': None, 'display_name': None, 'wan_accelerator': None}, **i)
                 for i in items]
        with pytest.raises(ValidationError) as exc:
            TENANT.check_input({'backup_resources': items})
        assert exc.value.option == option


def test_another_server_is_another_tenant():
    p = plan({'name': 'acme', 'backup_server': 'vbr02', 'tenant_password': 'pw'})
    assert p.entity is None and p.action == 'create'
    gone = plan({'name': 'acme', 'backup_server': 'vbr02', 'state': 'absent'})
    assert gone.action is None


def test_lease_edit_in_attribute_form_and_never():
    p = plan({'name': 'acme', 'lease_expiration': 'never'})
    body = TENANT.body(TENANT.edit_root, p.wanted, p.send, p.entity, p.context)
    lease = _xml.find(body, 'LeaseOptions')
    assert dict(lease.attrib) == {'Enabled': 'false'} and names(body) == ['LeaseOptions', 'TenantType']


def test_delete_always_says_whether_backups_go():
    assert TENANT.delete_params({'delete_backups': False}) == {'includeBackups': 'false'}
    assert TENANT.delete_params({'delete_backups': True}) == {'includeBackups': 'true'}


SUB_XML = '''<CloudSubtenant xmlns="%s" Href="https://em/api/cloud/tenants/%s/subtenants/s1" Type="CloudSubtenant"
    Id="66666666-6666-6666-6666-666666666666">
  <Name>acme-hr</Name><Description>HR</Description><Enabled>true</Enabled>
  <RepositoryQuota Unlimited="false"><DisplayName>ACME backups</DisplayName><TenantResourceId>%s</TenantResourceId>
    <QuotaMb>10240</QuotaMb><UsedQuotaMb>0</UsedQuotaMb><QuotaId>q</QuotaId></RepositoryQuota>
</CloudSubtenant>''' % (NS, T1, Q1)


def sub_plan(params):
    params = dict({'state': 'present', 'update_password': 'on_create', 'tenant': 'acme', 'backup_server': None},
                  **params)
    wanted = SUBTENANT.check_input(params)
    client = FakeClient()
    parent = SUBTENANT.parent.find(client, params)
    return _resource.Plan(SUBTENANT, params, wanted, [_xml.parse(SUB_XML.encode())], parent, client=client)


def test_subtenant_quota_by_display_name_or_repository():
    p = sub_plan({'name': 'acme-hr', 'quota': {'backup_resource': 'backup volume 01', 'quota_gb': 10, 'quota_mb': None,
                                               'unlimited': False}})
    assert p.action is None and p.parent_name == 'acme'
    p = sub_plan({'name': 'ACME-HR', 'quota': {'backup_resource': 'ACME backups', 'quota_gb': None, 'quota_mb': None,
                                               'unlimited': True}})
    assert p.action == 'edit' and p.send == ['quota']
    body = SUBTENANT.body(SUBTENANT.edit_root, p.wanted, p.send, p.entity, p.context)
    rq = _xml.find(body, 'RepositoryQuota')
    assert rq.get('Unlimited') == 'true' and names(rq) == ['DisplayName', 'TenantResourceId', 'QuotaMb']
    assert _xml.findtext(rq, 'DisplayName') == 'ACME backups'   # the whole group: its name as read, kept
    assert _xml.findtext(rq, 'QuotaMb') == '10240'  # the current value travels, EM ignores it when unlimited
    with pytest.raises(ValidationError) as exc:
        sub_plan({'name': 'acme-hr', 'quota': {'backup_resource': 'Nope', 'quota_gb': 2, 'quota_mb': None,
                                               'unlimited': False}})
    assert exc.value.option == 'quota.backup_resource' and 'ACME backups' in exc.value.msg


def test_subtenant_create_spec_and_unknown_tenant():
    p = sub_plan({'name': 'acme-it', 'subtenant_password': 'pw', 'quota': {
        'backup_resource': 'ACME backups', 'quota_gb': 2, 'quota_mb': None, 'unlimited': False}})
    assert p.action == 'create'
    body = SUBTENANT.body(SUBTENANT.create_root, p.wanted, p.send, context=p.context)
    assert names(body) == ['Name', 'Password', 'TenantResourceId', 'QuotaMb', 'UnlimitedQuota']
    with pytest.raises(ValidationError) as exc:
        sub_plan({'tenant': 'acmee', 'name': 'x'})
    assert exc.value.option == 'tenant' and 'acme' in exc.value.msg


def test_names_read_once_per_run():
    client = FakeClient()
    names_ = CloudNames(client, entity())
    for _round in range(3):
        names_.repository_name(REPO1)
        names_.wan_name(WAN1)
        names_.repository_uid('Backup Volume 01', 'x')
    assert sorted(r for r in client.requests) == [('query', 'BackupServer'), ('query', 'Repository'),
                                                  ('query', 'WanAccelerator')]


def test_create_time_settings_fail_on_an_existing_tenant():
    with pytest.raises(ValidationError) as exc:
        plan({'name': 'acme', 'throttling': {'enabled': True, 'speed': None, 'unit': None}})
    assert exc.value.option == 'throttling'
    assert plan({'name': 'acme', 'throttling': {'enabled': False, 'speed': None, 'unit': None}}).action is None


def test_active_directory_tenant_created_with_its_domain_last_and_no_password():
    p = plan({'name': 'tech\\ann', 'backup_server': 'vbr01', 'type': 'active_directory',
              'ad_domain': {'name': 'tech.local', 'account': 'tech\\ann', 'port': 389}})
    body = TENANT.body(TENANT.create_root, p.wanted, p.send, context=p.context)
    assert names(body) == ['Name', 'BackupServerUid', 'TenantType', 'Domain'] and p.secrets == []
    assert names(_xml.find(body, 'Domain')) == ['DomainName', 'DomainAccount', 'Port']
    with pytest.raises(ValidationError) as exc:
        plan({'name': 'tech\\bob', 'backup_server': 'vbr01', 'type': 'active_directory'})
    assert exc.value.option == 'ad_domain'
    with pytest.raises(ValidationError) as exc:
        plan({'name': 'org', 'backup_server': 'vbr01', 'type': 'vcd'})
    assert exc.value.option == 'vcd_organization'


def test_vcd_tenant_created_with_organization_and_vdcs_from_the_lookup():
    client = FakeClient()
    p = plan({'name': 'Umbrella', 'backup_server': 'vbr01', 'type': 'vcd', 'vcd_organization': 'umbrella',
              'max_concurrent_tasks': 3,
              'vcd_compute_resources': [{'vdc': 'UMBRELLA-VDC2', 'wan_accelerator': 'wan01.lab.local',
                                         'network_extension': {'enabled': True, 'name': 'nea', 'production_network':
                                                               'VM Network', 'ip': 'dhcp'}},
                                        {'vdc': 'umbrella-vdc1', 'wan_accelerator': None, 'network_extension': None}]},
             client=client)
    assert p.action == 'create' and p.secrets == []
    body = TENANT.body(TENANT.create_root, p.wanted, p.send, context=p.context)
    # post_tenants.md's vCD example: the organization and its VDCs after TenantType, no password
    assert names(body) == ['Name', 'BackupServerUid', 'MaxConcurrentTasks', 'TenantType', 'OrganizationRef',
                           'VCloudComputeResources']
    assert _xml.findtext(body, 'TenantType') == 'VCD'
    assert _xml.findtext(body, 'OrganizationRef') == vcd_ref('Organization', 'umbrella')
    vdcs = _xml.findall(body, 'VCloudComputeResources/VCloudComputeResource')
    assert [_xml.findtext(v, 'VirtualDataCenterRef') for v in vdcs] == [vcd_ref('OrgVdc', 'umbrella-vdc2'),
                                                                        vcd_ref('OrgVdc', 'umbrella-vdc1')]
    # the create spec puts the accelerator after the appliance (the entity, before it)
    assert names(vdcs[0]) == ['VirtualDataCenterRef', 'UseNetworkFailoverResources', 'NetworkAppliance',
                              'WanAcceleratorUid']
    assert names(vdcs[1]) == ['VirtualDataCenterRef', 'UseNetworkFailoverResources']
    assert _xml.findtext(vdcs[0], 'WanAcceleratorUid') == WAN1
    # one read of the roots, one lookup per type
    assert [r for r in client.requests if r[0] == 'GET' and r[1] in ('hierarchyRoots', 'lookup')] == [
        ('GET', 'hierarchyRoots'), ('GET', 'lookup'), ('GET', 'lookup')]


@pytest.mark.parametrize('params, option, says', [
    ({'name': 'umbrela', 'vcd_organization': 'umbrela'}, 'vcd_organization', 'close names: umbrella'),
    ({'vcd_organization': 'umbrella', 'vcd_compute_resources': [{'vdc': 'vdc9'}]}, 'vcd_compute_resources[0].vdc',
     'known: hooli-vdc, umbrella-vdc1, umbrella-vdc2'),
    ({'vcd_organization': 'umbrella', 'backup_server': 'vbr02'}, 'vcd_organization', 'knows no vCloud Director'),
    ({'vcd_organization': 'umbrella', 'type': None}, 'vcd_organization', 'set type: vcd'),
])
def test_vcd_names_that_do_not_resolve_fail_before_any_write(params, option, says):
    params = dict({'name': 'umbrella', 'backup_server': 'vbr01', 'type': 'vcd'}, **params)
    if params.get('vcd_compute_resources'):
        params['vcd_compute_resources'] = [dict({'wan_accelerator': None, 'network_extension': None}, **i)
                                           for i in params['vcd_compute_resources']]
    client = FakeClient()
    with pytest.raises(ValidationError) as exc:
        plan(params, client=client)
    assert exc.value.option == option and says in exc.value.msg, exc.value.msg
    assert all(r[0] in ('GET', 'query') for r in client.requests)


def test_vcd_options_checked_against_name_and_type_before_the_logon():
    with pytest.raises(ValidationError) as exc:
        TENANT.check_input({'name': 'umbrella-co', 'type': 'vcd', 'vcd_organization': 'umbrella'})
    assert exc.value.option == 'vcd_organization' and "name must be 'umbrella' too" in exc.value.msg
    with pytest.raises(ValidationError) as exc:
        TENANT.check_input({'name': 'x', 'type': 'standalone',
                            'vcd_compute_resources': [{'vdc': 'v', 'wan_accelerator': None, 'network_extension': None}]})
    assert exc.value.option == 'vcd_compute_resources'
    with pytest.raises(ValidationError) as exc:
        plan({'name': 'acme', 'vcd_compute_resources': [{'vdc': 'v', 'wan_accelerator': None, 'network_extension': None}]})
    assert exc.value.option == 'vcd_compute_resources' and 'not a vCloud Director tenant' in exc.value.msg


def test_wait_false_leaves_only_the_last_write_unfollowed():
    """A create followed by the edit that sets the rest, or an edit followed by a quota added: the first is waited on
    (the second needs it), the last is not (``wait: false``)."""
    create = plan({'name': 'contoso', 'backup_server': 'vbr01', 'tenant_password': 'pw',
                   'backup_protection': {'enabled': True, 'days': 10}})
    assert create.action == 'create' and _resource._writes_planned(create) == 2
    assert _resource._writes_planned(plan({'name': 'contoso', 'backup_server': 'vbr01', 'tenant_password': 'pw'})) == 1
    edit = plan({'name': 'acme', 'description': 'new', 'backup_resources': [
        {'repository': 'Default Backup Repository', 'quota_gb': 2, 'quota_mb': None, 'display_name': None,
         'wan_accelerator': None}]})
    assert edit.send and len(edit.child_writes) == 1 and _resource._writes_planned(edit) == 2


def test_failover_flag_keeps_the_spelling_em_shows():
    p = plan({'name': 'acme', 'failover_to_other_gateways': True})
    body = TENANT.body(TENANT.edit_root, p.wanted, p.send, p.entity, p.context)
    assert names(body) == ['TenantType', 'FailoverToOtherGatewaysIfFail']
    others = entity()
    flag = [c for c in others if _xml.localname(c.tag) == 'FailoverToOtherGatewaysIfFail'][0]
    flag.tag = _xml.qname('FailoverToOthersGatewaysIfFail')
    p = plan({'name': 'acme', 'failover_to_other_gateways': True}, records=[others])
    body = TENANT.body(TENANT.edit_root, p.wanted, p.send, p.entity, p.context)
    assert names(body) == ['TenantType', 'FailoverToOthersGatewaysIfFail']


def test_create_task_link_followed_only_when_its_type_names_a_tenant():
    """The hardware-plan page's copy of the gateway answer links a CloudGateway: such a link is never followed."""
    p = plan({'name': 'acme', 'backup_server': 'vbr01', 'tenant_password': 'pw'}, records=[])
    client = FakeClient()
    wrong = _resource.Answer(task={'related': [{'type': 'CloudGateway', 'href': 'https://em/api/cloud/gateways/g1'}]})
    assert _resource._related(client, p, wrong) == []
    assert client.requests == []
    href = 'https://em/api/cloud/tenants/%s?format=Entity' % T1
    client.get = lambda path, params=None: client.requests.append(('GET', path)) or entity()
    found = _resource._related(client, p, _resource.Answer(task={'related': [{'type': 'CloudTenant', 'href': href}]}))
    assert [TENANT.record_id(e) for e in found] == [T1] and client.requests == [('GET', href)]
