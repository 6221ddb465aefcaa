# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The subtenants of many tenants: CloudSubtenant queries where the role may send them, one list each where not."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.veeam_em.core.plugins.module_utils import _xml
from ansible_collections.veeam_em.core.plugins.module_utils._cloud_models import FILTERED, SUBTENANT, tenant_of
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ApiError

NS = 'http://www.veeam.com/ent/v1.0'
T1 = '44444444-4444-4444-4444-444444444444'
Q1 = '55555555-5555-5555-5555-555555555555'
SUB_XML = '''<CloudSubtenant xmlns="%s" Href="https://em/api/cloud/tenants/%s/subtenants/s1" Type="CloudSubtenant"
    Id="66666666-6666-6666-6666-666666666666">
  <Name>acme-hr</Name><Description>HR</Description><Enabled>true</Enabled>
  <RepositoryQuota Unlimited="false"><DisplayName>ACME backups</DisplayName><TenantResourceId>%s</TenantResourceId>
    <QuotaMb>10240</QuotaMb><UsedQuotaMb>0</UsedQuotaMb><QuotaId>q</QuotaId></RepositoryQuota>
</CloudSubtenant>''' % (NS, T1, Q1)

T2 = '77777777-7777-7777-7777-777777777777'


class SubtenantReads:
    """The subtenant reads of several tenants: the CloudSubtenant query (403 when ``denied``), or a list per tenant."""

    def __init__(self, denied=False):
        self.denied = denied
        self.requests = []
        self.filters = []

    def query(self, qtype, filter=None, fmt='Entities', page_size=None):  # pylint: disable=redefined-builtin
        self.requests.append(('query', qtype))
        self.filters.append(filter)
        if self.denied:
            raise ApiError('denied', status=403, message='Access denied')
        return [_xml.parse(SUB_XML.encode())]

    def get(self, path, params=None):
        self.requests.append(('GET', path))
        items = SUB_XML if T1 in path else ''
        return _xml.parse(('<CloudSubtenants xmlns="%s">%s</CloudSubtenants>' % (NS, items)).encode())


def test_the_subtenants_of_many_tenants_are_one_query_or_a_list_each_where_the_role_may_not():
    assert tenant_of(_xml.parse(SUB_XML.encode())) == T1
    client = SubtenantReads()
    got = SUBTENANT.list_many(client, [T1, T2])
    assert client.requests == [('query', 'CloudSubtenant')]
    assert client.filters == ['CloudTenantUid=="urn:veeam:CloudTenant:%s",CloudTenantUid=="urn:veeam:CloudTenant:%s"'
                              % (T1, T2)]
    many = SubtenantReads()   # beyond FILTERED tenants: all subtenants in one query, without a filter
    ids = [T1] + ['%08d-0000-0000-0000-000000000000' % n for n in range(FILTERED)]
    assert [s.get('Id') for s in SUBTENANT.list_many(many, ids)[T1]] == [s.get('Id') for s in got[T1]]
    assert many.filters == [None]
    assert [s.get('Id') for s in got[T1]] == ['66666666-6666-6666-6666-666666666666'] and got[T2] == []
    denied = SubtenantReads(denied=True)
    again = SUBTENANT.list_many(denied, [T1, T2])
    assert denied.requests[0] == ('query', 'CloudSubtenant')
    assert sorted(denied.requests[1:]) == sorted([('GET', 'cloud/tenants/%s/subtenants' % t) for t in (T1, T2)])
    assert [s.get('Id') for s in again[T1]] == [s.get('Id') for s in got[T1]] and again[T2] == []
    one = SubtenantReads()
    SUBTENANT.list_many(one, [T2])   # one tenant: its own list, never every subtenant EM holds
    assert one.requests == [('GET', 'cloud/tenants/%s/subtenants' % T2)]
    with pytest.raises(ApiError):   # any other refusal is EM's error, not a reason to read tenant by tenant
        SUBTENANT.list_many(Broken(), [T1, T2])


class Broken(SubtenantReads):
    def query(self, qtype, filter=None, fmt='Entities', page_size=None):  # pylint: disable=redefined-builtin
        raise ApiError('boom', status=500, message='Internal error')
