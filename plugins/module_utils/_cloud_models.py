# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""The declarations of the Veeam Cloud Connect resources: tenants and subtenants (em-api-cloud.md sections 3, 7-9).

Each is data for ``_resource``. What no single element holds (a tenant's lease, its quotas, a subtenant's quota)
is a :class:`Field` subclass here; the engine stays generic. Names are resolved on the tenant's backup server
through a :class:`CloudNames` built once a run (one query per kind of name, and only when a name is needed).
Only the requests EM's Portal User role may send are used: the ``?format=Entity`` collections, the
``Repository`` and ``WanAccelerator`` queries, and ``GET /api/cloud`` first.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import datetime
import re

from ansible_collections.veeam_em.core.plugins.module_utils import _xml
from ansible_collections.veeam_em.core.plugins.module_utils._batch import CHUNK, query_in
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ApiError, ValidationError, VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._infra import list_backup_servers, list_repositories, up_name
from ansible_collections.veeam_em.core.plugins.module_utils._resource_bulk import in_flight
from ansible_collections.veeam_em.core.plugins.module_utils._resource import (
    ChildWrite, Echo, Field, Identity, Parent, Resource, close_names,
)

ROLE = 'Portal User'
MIN_QUOTA_MB = 1024  # EM refuses a smaller quota (post_tenants_id_resources.md)
NEVER_ACTIVE = '1753-01-01'  # LastActive of a tenant that never connected
TENANT_URN = 'urn:veeam:CloudTenant:'
TYPES = {'standalone': 'Standalone', 'vcd': 'VCD', 'active_directory': 'ActiveDirectory'}
TYPE_BLOCKS = {'StandaloneTenant': 'standalone', 'vCloudTenant': 'vcd', 'ADTenantType': 'active_directory'}
_DATE = re.compile(r'^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$')


def probe_cloud(client):
    """``GET /api/cloud`` before anything else: without the service-provider licence there is no Cloud Connect."""
    try:
        root = client.get('cloud')
    except ApiError as exc:
        role = ('; the EM account needs the %s or Portal Administrator role' % ROLE) if exc.status == 403 else ''
        raise VeeamEmError('Veeam Cloud Connect is not available on this EM: GET /api/cloud answered HTTP %s (%s). '
                           'EM serves /api/cloud only with the Cloud Connect service-provider licence%s; nothing was '
                           'written' % (exc.status, exc.message or 'no message', role))
    if root.tag != _xml.qname('CloudConnectService'):
        raise VeeamEmError('Veeam Cloud Connect is not available on this EM: GET /api/cloud answered <%s>, not '
                           '<CloudConnectService>; nothing was written' % _xml.localname(root.tag))


def _kids(el, name):
    return [] if el is None else [c for c in el if isinstance(c.tag, str) and _xml.localname(c.tag) == name]


def _int(text):
    try:
        return int(text.strip()) if text not in (None, '') else None
    except ValueError:
        return text


def _urn(kind, uid):
    """A UID as EM writes it, from a bare GUID or a URN."""
    return uid if (uid or '').lower().startswith('urn:') else 'urn:veeam:%s:%s' % (kind, uid)


def _bare(uid):
    return (uid or '').strip().rsplit(':', 1)[-1].lower() or None


def _unknown(option, what, name, names, where):
    close = close_names(name, names)
    return ValidationError('%s: no %s %r%s; %s' % (
        option, what, name, where, ('close names: %s' % ', '.join(sorted(set(close)))) if close else
        'known: %s' % (', '.join(sorted(names)) or 'none')), option=option)


class CloudNames:
    """Names <-> UIDs on EM for one run: backup servers, repositories, WAN accelerators; each read at most once.

    ``entity`` is the tenant the run is about (None: one to create, or many), ``params`` the module's options,
    ``tenant`` the owning tenant's entity (subtenants).
    """

    def __init__(self, client, entity=None, params=None, tenant=None):
        self.client = client
        self.entity = entity
        self.params = params or {}
        self.tenant = tenant
        self._servers = None
        self._repos = None
        self._wans = None
        self._pools = None
        self._plans = None
        self._vcd_roots = None
        self._vcd = {}

    # backup servers
    def servers(self):
        if self._servers is None:
            self._servers = list_backup_servers(self.client)
        return self._servers

    def server(self):
        """``(uuid, name)`` of the tenant's backup server: its Up link, or the option, or the only one EM knows."""
        holder = self.entity if self.entity is not None else self.tenant
        if holder is not None:
            name = up_name(holder)
            found = [s for s in self.servers() if (s['name'] or '').lower() == (name or '').lower()]
            return (found[0]['id'], found[0]['name']) if found else (None, name)
        servers = self.servers()
        name = self.params.get('backup_server')
        if name:
            found = [s for s in servers if (s['name'] or '').lower() == name.lower()]
            if not found:
                raise _unknown('backup_server', 'backup server', name, [s['name'] for s in servers if s['name']], ' in EM')
            return found[0]['id'], found[0]['name']
        if len(servers) == 1:
            return servers[0]['id'], servers[0]['name']
        raise ValidationError('backup_server: EM knows %d backup servers (%s); name the one to create the tenant on'
                              % (len(servers), ', '.join(s['name'] for s in servers)), option='backup_server')

    # repositories
    def repositories(self):
        if self._repos is None:
            self._repos = list_repositories(self.client)
        return self._repos

    def repository_uid(self, name, option):
        server = self.server()[1]
        repos = [r for r in self.repositories() if (r['backup_server'] or '').lower() == (server or '').lower()]
        found = [r for r in repos if (r['name'] or '').lower() == name.lower()]
        if len(found) != 1:
            raise _unknown(option, 'repository', name, [r['name'] for r in repos], ' on backup server %s' % server)
        return found[0]['uid']

    def repository_name(self, uid):
        bare = _bare(uid)
        found = [r['name'] for r in self.repositories() if r['id'] == bare]
        return found[0] if found else uid

    # WAN accelerators
    def wans(self):
        if self._wans is None:
            self._wans = [{'name': e.get('Name'), 'uid': e.get('UID'), 'id': _bare(e.get('UID')),
                           'backup_server': up_name(e)} for e in self.client.query('WanAccelerator', fmt='Entities')]
        return self._wans

    def wan_uid(self, name, option):
        server = self.server()[1]
        wans = [w for w in self.wans() if (w['backup_server'] or '').lower() == (server or '').lower()]
        found = [w for w in wans if (w['name'] or '').lower() == name.lower()]
        if len(found) != 1:
            raise _unknown(option, 'WAN accelerator', name, [w['name'] for w in wans], ' on backup server %s' % server)
        return found[0]['uid']

    def plans(self):
        if self._plans is None:
            root = self.client.get('cloud/hardwarePlans', params={'format': 'Entity'})
            self._plans = []
            for e in root.iter(_xml.qname('CloudHardwarePlan')):
                vi = _xml.find(e, 'HardwarePlanDetails/ViCloudHardwarePlan') is not None
                self._plans.append({'name': e.get('Name'), 'uid': (e.get('UID') or '').strip(), 'id': _bare(e.get('UID')),
                                    'backup_server': up_name(e), 'platform': 'VMware' if vi else 'HyperV'})
        return self._plans

    def plan(self, name, option):
        server = self.server()[1]
        plans = [p for p in self.plans() if (p['backup_server'] or '').lower() == (server or '').lower()]
        found = [p for p in plans if (p['name'] or '').lower() == name.lower()]
        if len(found) != 1:
            raise _unknown(option, 'hardware plan', name, [p['name'] for p in plans], ' on backup server %s' % server)
        return found[0]

    def plan_name(self, uid):
        found = [p['name'] for p in self.plans() if p['id'] == _bare(uid)]
        return found[0] if found else (uid or '').strip()

    def pools(self):
        if self._pools is None:
            self._pools = [{'name': e.get('Name'), 'uid': e.get('UID'), 'id': _bare(e.get('UID')),
                            'backup_server': up_name(e)} for e in self.client.query('CloudGatewayPool', fmt='Entities')]
        return self._pools

    def pool_uid(self, name, option):
        server = self.server()[1]
        pools = [p for p in self.pools() if (p['backup_server'] or '').lower() == (server or '').lower()]
        found = [p for p in pools if (p['name'] or '').lower() == name.lower()]
        if len(found) != 1:
            raise _unknown(option, 'gateway pool', name, [p['name'] for p in pools], ' on backup server %s' % server)
        return found[0]['uid']

    def pool_name(self, uid):
        found = [p['name'] for p in self.pools() if p['id'] == _bare(uid)]
        return found[0] if found else (uid or '').strip()

    # vCloud Director: organizations and org VDCs, by the lookup on the backup server's vCD roots
    def vcd_roots(self):
        """``[(uid, name)]`` of the tenant's backup server's vCloud Director hierarchy roots (HostType VcdSystem)."""
        if self._vcd_roots is None:
            root = self.client.get('hierarchyRoots', params={'format': 'Entity'})
            self._vcd_roots = [(e.get('UID'), e.get('Name'), up_name(e)) for e in root.iter(_xml.qname('HierarchyRoot'))
                               if (_xml.findtext(e, 'HostType') or '').strip().lower() == 'vcdsystem']
        server = (self.server()[1] or '').lower()
        return [(uid, name) for uid, name, held in self._vcd_roots if (held or '').lower() == server]

    def vcd_objects(self, otype):
        """``[{'name', 'ref', 'root'}]``: every object of ``otype`` (Organization, OrgVdc) the lookup finds on them,
        one request per root and type."""
        if otype not in self._vcd:
            found = []
            for uid, root_name in self.vcd_roots():
                items = self.client.get('lookup', params={'host': uid, 'type': otype})
                found += [{'name': _xml.findtext(i, 'ObjectName'), 'ref': (_xml.findtext(i, 'ObjectRef') or '').strip(),
                           'root': root_name} for i in items.iter(_xml.qname('HierarchyItem'))]
            self._vcd[otype] = found
        return self._vcd[otype]

    def vcd_ref(self, otype, name, option):
        """The lookup's ref of the organization or org VDC ``name``; unknown or ambiguous names fail, listing them."""
        what = {'Organization': 'vCloud Director organization', 'OrgVdc': 'organization VDC'}[otype]
        server = self.server()[1]
        if not self.vcd_roots():
            raise ValidationError('%s: backup server %s knows no vCloud Director server (EM lists no hierarchy root '
                                  'of type VcdSystem for it), so no %s %r' % (option, server, what, name), option=option)
        objects = self.vcd_objects(otype)
        found = [o for o in objects if (o['name'] or '').lower() == name.lower()]
        if len(found) > 1:
            raise ValidationError('%s: several %ss are named %r on backup server %s (%s)' % (
                option, what, name, server, ', '.join(o['ref'] for o in found)), option=option)
        if not found:
            raise _unknown(option, what, name, [o['name'] for o in objects if o['name']], ' on backup server %s' % server)
        return found[0]['ref']

    def wan_name(self, uid):
        if not (uid or '').strip():
            return None
        bare = _bare(uid)
        found = [w['name'] for w in self.wans() if w['id'] == bare]
        return found[0] if found else uid.strip()


def cloud_names(client, entity, params, parent):
    return CloudNames(client, entity, params, parent)


# ---------------------------------------------------------------------------
# Tenant fields that no single element holds


class BackupServerField(Field):
    """The tenant's backup server: its Up link in the entity, ``BackupServerUid`` in the create spec."""

    def read_from(self, entity, context=None):
        return up_name(entity)

    def resolve(self, value, context):
        if context is None or context.entity is not None:
            return value
        return context.server()[1]

    def write_to(self, body, value, entity=None, context=None):
        _xml.sub(body, self.element, _urn('BackupServer', context.server()[0]))

    def same(self, current, wanted, params=None):
        return not wanted or (current or '').lower() == wanted.lower()


class TypeField(Field):
    """The tenant's type: which block ``TenantType`` holds; a text in the create spec."""

    def read_from(self, entity, context=None):
        block = _xml.find(entity, 'TenantType')
        for child in (block if block is not None else []):
            if isinstance(child.tag, str):
                return TYPE_BLOCKS.get(_xml.localname(child.tag), _xml.localname(child.tag))
        return None

    def write_to(self, body, value, entity=None, context=None):
        _xml.sub(body, self.element, TYPES[value])


class OrgField(Field):
    """A vCloud Director tenant's organization, by name: ``TenantType/vCloudTenant/OrganizationName`` in the entity,
    ``OrganizationRef`` (the lookup's ref) in the create spec. EM names the tenant after it."""

    def read_from(self, entity, context=None):
        return _xml.findtext(entity, 'TenantType/vCloudTenant/OrganizationName')

    def resolve(self, value, context):
        if context is not None and context.entity is None:
            _vcd_only(self.name, context)
            context.vcd_ref('Organization', value, self.name)
        return value

    def write_to(self, body, value, entity=None, context=None):
        _xml.sub(body, self.element, context.vcd_ref('Organization', value, self.name))


def _vcd_only(option, context):
    """A vCloud Director option on a tenant to create needs ``type: vcd`` (the type is chosen at creation)."""
    if context.params.get('type') != 'vcd':
        raise ValidationError('%s: only a vCloud Director tenant has it; to create one, set type: vcd' % option,
                              option=option)


def normalize_lease(value, option='lease_expiration'):
    """``never``, a date or a date-time -> ``never`` or ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    text = str(value).strip()
    if text.lower() == 'never':
        return 'never'
    m = _DATE.match(text)
    if not m:
        raise ValidationError('%s: %r is neither a date (2027-01-31), a date-time (2027-01-31T18:00:00Z) nor the word '
                              'never' % (option, value), option=option)
    year, month, day, hour, minute, second, zone = m.groups()
    try:
        when = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError as exc:
        raise ValidationError('%s: %r is not a date: %s' % (option, value, exc), option=option)
    if zone and zone != 'Z':
        sign = -1 if zone[0] == '+' else 1
        digits = zone[1:].replace(':', '')
        when += sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return when.strftime('%Y-%m-%dT%H:%M:%SZ')


class LeaseField(Field):
    """``LeaseOptions`` (attributes ``Enabled`` and ``ExpirationDate``) in the entity and the PUT; the create spec's
    ``LeaseExpirationDate``. ``never``: no lease."""

    def normalize(self, value, context=None):
        return normalize_lease(value, self.name)

    def read_from(self, entity, context=None):
        el = _xml.find(entity, 'LeaseOptions')
        if el is None or _xml.parse_bool(el.get('Enabled')) is not True:
            return 'never'
        return normalize_lease(el.get('ExpirationDate') or 'never', self.name)

    def write_to(self, body, value, entity=None, context=None):
        if entity is None:
            if value != 'never':
                _xml.sub(body, 'LeaseExpirationDate', value)
            return
        attrib = {'Enabled': 'false'} if value == 'never' else {'Enabled': 'true', 'ExpirationDate': value}
        _xml.sub(body, 'LeaseOptions', attrib=attrib)


class GroupField(Field):
    """Sibling elements that one dict option sets together: ``subs`` is ``[(key, element, kind, doc)]`` (kind
    ``bool``, ``int`` or a tuple of the accepted texts); a key left out keeps EM's value, and an edit sends them all."""

    def __init__(self, option, subs, limits=None, **kwargs):
        super(GroupField, self).__init__(option, subs[0][1], **kwargs)
        self.subs = subs
        self.limits = limits or {}
        self.sub_docs = dict((key, doc) for key, _el, _kind, doc in subs)

    def spec(self):
        options = {}
        for key, _el, kind, _doc in self.subs:
            options[key] = {'type': kind} if not isinstance(kind, tuple) else {'type': 'str', 'choices': list(kind)}
        return {'type': 'dict', 'options': options}

    def normalize(self, value, context=None):
        for key, (low, high) in self.limits.items():
            if value.get(key) is not None and not low <= value[key] <= high:
                raise ValidationError('%s.%s: EM accepts %d to %d (%s given)' % (self.name, key, low, high, value[key]),
                                      option=self.name)
        return dict((key, value.get(key)) for key, _el, _kind, _doc in self.subs)

    def read_from(self, entity, context=None):
        out = {}
        for key, el, kind, _doc in self.subs:
            text = _xml.findtext(entity, el)
            out[key] = _xml.parse_bool(text) if kind == 'bool' else _int(text) if kind == 'int' else text
        return out

    def same(self, current, wanted, params=None):
        current = current or {}
        return all(v is None or current.get(k) == v for k, v in wanted.items())

    def target(self, current, wanted, params=None):
        return dict(current or {}, **dict((k, v) for k, v in wanted.items() if v is not None))

    def write_to(self, body, value, entity=None, context=None):
        whole = self.target(self.read_from(entity) if entity is not None else {}, value)
        for key, el, kind, _doc in self.subs:
            if whole.get(key) is not None:
                _xml.sub(body, el, _xml.format_bool(whole[key]) if kind == 'bool' else str(whole[key]))


class FailoverField(Field):
    """``FailoverToOtherGatewaysIfFail``: the edit reuses the spelling the GET shows (JSON pages spell it
    ``...Others...``), else the XML tables'."""

    def _element(self, entity):
        for child in (entity if entity is not None else []):
            if isinstance(child.tag, str) and _xml.localname(child.tag).startswith('FailoverToOther'):
                return child
        return None

    def read_from(self, entity, context=None):
        el = self._element(entity)
        return None if el is None else _xml.parse_bool(el.text)

    def write_to(self, body, value, entity=None, context=None):
        el = self._element(entity)
        _xml.sub(body, _xml.localname(el.tag) if el is not None else self.element, _xml.format_bool(value))


class PoolsField(Field):
    """The gateway pools a tenant uses, by name: ``CloudGatewayPools/CloudGatewayPoolUid``, sent whole."""

    def spec(self):
        return {'type': 'list', 'elements': 'str'}

    def normalize(self, value, context=None):
        return sorted(set(value), key=lambda n: n.lower())

    def resolve(self, value, context):
        for name in value:
            context.pool_uid(name, self.name)
        return value

    def read_from(self, entity, context=None):
        uids = [u.text for u in _kids(_xml.find(entity, 'CloudGatewayPools'), 'CloudGatewayPoolUid')]
        return sorted((context.pool_name(u) if context is not None else u for u in uids), key=lambda n: (n or '').lower())

    def same(self, current, wanted, params=None):
        return sorted((n or '').lower() for n in current or []) == sorted(n.lower() for n in wanted)

    def write_to(self, body, value, entity=None, context=None):
        pools = _xml.sub(body, 'CloudGatewayPools')
        for name in value:
            _xml.sub(pools, 'CloudGatewayPoolUid', context.pool_uid(name, self.name))


class DomainField(Field):
    """An Active Directory tenant's domain: ``TenantType/ADTenantType`` in the entity, ``Domain`` (last) in the
    create spec."""

    sub_docs = {'name': 'The domain (C(tech.local)).', 'account': 'The domain account (C(TECH\\william.fox)).',
                'port': 'The LDAP port EM reaches the domain on (389 when left out).'}

    def spec(self):
        return {'type': 'dict', 'options': {'name': {'type': 'str', 'required': True}, 'account': {'type': 'str'},
                                            'port': {'type': 'int', 'default': 389}}}

    def normalize(self, value, context=None):
        return {'name': value['name'], 'account': value.get('account'), 'port': value.get('port')}

    def read_from(self, entity, context=None):
        ad = _xml.find(entity, 'TenantType/ADTenantType')
        if ad is None:
            return None
        return {'name': _xml.findtext(ad, 'Domain/DomainName'), 'account': _xml.findtext(ad, 'Account'),
                'port': _int(_xml.findtext(ad, 'Domain/Port'))}

    def same(self, current, wanted, params=None):
        current = current or {}
        return all(v is None or (str(current.get(k) or '').lower() == str(v).lower()) for k, v in wanted.items())

    def write_to(self, body, value, entity=None, context=None):
        domain = _xml.sub(body, 'Domain')
        _xml.sub(domain, 'DomainName', value['name'])
        if value.get('account'):
            _xml.sub(domain, 'DomainAccount', value['account'])
        _xml.sub(domain, 'Port', str(value.get('port') or 389))


QUOTA_SUBOPTIONS = {'repository': {'type': 'str', 'required': True}, 'quota_gb': {'type': 'int'},
                    'quota_mb': {'type': 'int'}, 'display_name': {'type': 'str'}, 'wan_accelerator': {'type': 'str'}}


def quota_mb(item, option):
    """``quota_gb`` or ``quota_mb`` of an option item -> MB (at least 1024), or None when neither is given."""
    if item.get('quota_gb') is not None and item.get('quota_mb') is not None:
        raise ValidationError('%s: give quota_gb or quota_mb, not both' % option, option=option)
    mb = item['quota_gb'] * 1024 if item.get('quota_gb') is not None else item.get('quota_mb')
    if mb is not None and mb < MIN_QUOTA_MB:
        raise ValidationError('%s: a quota is at least 1 GB (%d MB); %d MB given' % (option, MIN_QUOTA_MB, mb),
                              option=option)
    return mb


def _fits(have, wanted):
    """Whether ``have`` holds every value ``wanted`` gives (None: not given; names compared case-insensitively)."""
    for key, value in wanted.items():
        if value is None:
            continue
        if isinstance(value, dict):
            if not isinstance(have.get(key), dict) or not _fits(have[key], value):
                return False
        elif isinstance(value, str) and isinstance(have.get(key), str):
            if value.lower() != have[key].lower():
                return False
        elif have.get(key) != value:
            return False
    return True


def _merged(have, wanted):
    out = dict(have)
    for key, value in wanted.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        elif value is not None:
            out[key] = value
    return out


class ChildListField(Field):
    """A tenant's list of child items (quotas, subscriptions), each matched by a name (``key``), never by EM's id.

    A listed item that is missing is added by a POST to the tenant's ``collection``; one that differs is changed
    inside the tenant's PUT, which carries the whole list with each item's ``@Id``; an unlisted one is removed
    (DELETE) only under the ``purge`` option. A subclass says how one item reads and writes.
    """

    key = purge = collection = list_el = item_el = create_item_el = create_root = what = None

    def spec(self):
        return {'type': 'list', 'elements': 'dict', 'options': self.suboptions}

    # one item: a subclass
    def normalize_item(self, item, option):
        raise NotImplementedError

    def resolve_item(self, item, option, context):
        raise NotImplementedError

    def read_item(self, el, context):
        raise NotImplementedError

    def spec_item(self, parent, item, option, context):
        raise NotImplementedError

    def put_item(self, parent, el, item, context):
        raise NotImplementedError

    def new_item(self, item):
        return item

    # the list
    def normalize(self, value, context=None):
        out, seen = [], set()
        for i, item in enumerate(value):
            option = '%s[%d]' % (self.name, i)
            name = (item[self.key] or '').lower()
            if name in seen:
                raise ValidationError('%s.%s: %r is listed twice; a tenant has one %s per %s'
                                      % (option, self.key, item[self.key], self.what, self.key), option=self.name)
            seen.add(name)
            out.append(self.normalize_item(item, option))
        return out

    def resolve(self, value, context):
        for i, item in enumerate(value):
            self.resolve_item(item, '%s[%d]' % (self.name, i), context)
        return value

    def _items(self, entity):
        return _kids(_xml.find(entity, self.list_el), self.item_el)

    def read_from(self, entity, context=None):
        return sorted((self.read_item(el, context) for el in self._items(entity)), key=lambda i: (i[self.key] or '').lower())

    def _pair(self, current, item):
        return next((c for c in current or [] if (c[self.key] or '').lower() == item[self.key].lower()), None)

    def _extra(self, current, wanted, params):
        if not (params or {}).get(self.purge):
            return []
        names = set(i[self.key].lower() for i in wanted)
        return [c for c in current or [] if (c[self.key] or '').lower() not in names]

    def same(self, current, wanted, params=None):
        for item in wanted:
            have = self._pair(current, item)
            if have is None or not _fits(have, item):
                return False
        return not self._extra(current, wanted, params)

    def target(self, current, wanted, params=None):
        extra = [(c[self.key] or '').lower() for c in self._extra(current, wanted, params)]
        out = [dict(c) for c in current or [] if (c[self.key] or '').lower() not in extra]
        for item in wanted:
            have = self._pair(out, item)
            if have is None:
                out.append(self.new_item(item))
            else:
                out[out.index(have)] = _merged(have, item)
        return sorted(out, key=lambda i: (i[self.key] or '').lower())

    def child_writes(self, record_id, current, wanted, params, context):
        in_put = any(self._pair(current, i) is not None and not _fits(self._pair(current, i), i) for i in wanted)
        writes = []
        for i, item in enumerate(wanted):
            if self._pair(current, item) is None:
                body = _xml.element(self.create_root)
                self.spec_item(body, item, '%s[%d]' % (self.name, i), context)
                writes.append(ChildWrite('POST', '%s/%s' % (record_id, self.collection), body,
                                         label='%s %s added' % (self.what, item[self.key])))
        extra = set((c[self.key] or '').lower() for c in self._extra(current, wanted, params))
        for el in self._items(context.entity):
            name = self.read_item(el, context)[self.key]
            if (name or '').lower() in extra:
                writes.append(ChildWrite('DELETE', '%s/%s/%s' % (record_id, self.collection, el.get('Id')),
                                         label='%s %s removed' % (self.what, name)))
        return in_put, writes

    def write_to(self, body, value, entity=None, context=None):
        out = _xml.sub(body, self.list_el)
        if entity is None:
            for i, item in enumerate(value):
                self.spec_item(_xml.sub(out, self.create_item_el), item, '%s[%d]' % (self.name, i), context)
            return
        for el in self._items(entity):
            name = (self.read_item(el, context)[self.key] or '').lower()
            item = next((i for i in value if i[self.key].lower() == name), {})
            copy = _xml.sub(out, self.item_el, attrib=dict((a, el.get(a)) for a in ('Href', 'Type', 'Id') if el.get(a)))
            self.put_item(copy, el, item, context)


class QuotasField(ChildListField):
    """A tenant's storage quotas, one per cloud repository. Resized (size, name, WAN accelerator) only inside the
    tenant's PUT: never deleted and added again to change a size."""

    key, purge, collection, what = 'repository', 'purge_backup_resources', 'resources', 'quota on repository'
    list_el, item_el, create_item_el, create_root = 'Resources', 'CloudTenantResource', 'BackupResource', \
        'CreateCloudTenantResourceSpec'
    suboptions = QUOTA_SUBOPTIONS
    sub_docs = {'repository': 'The cloud repository, by its name on the tenant\'s backup server.',
                'quota_gb': 'The quota in GB (at least 1); or give O(backup_resources[].quota_mb).',
                'quota_mb': 'The quota in MB (at least 1024), as EM counts it; or give O(backup_resources[].quota_gb).',
                'display_name': 'The name the tenant sees; the repository\'s name when a quota is created, kept when '
                                'left out.',
                'wan_accelerator': 'The WAN accelerator (its name) on the provider\'s side; kept when left out.'}
    verify_hint = ('EM did not take the change through the tenant\'s edit; the module does not delete a quota and add '
                   'it again, since that would put the tenant\'s backups at risk: change it in EM\'s console')

    def normalize_item(self, item, option):
        return {'repository': item['repository'], 'quota_mb': quota_mb(item, option + '.quota_gb'),
                'display_name': item.get('display_name'), 'wan_accelerator': item.get('wan_accelerator')}

    def resolve_item(self, item, option, context):
        context.repository_uid(item['repository'], option + '.repository')
        if item['wan_accelerator']:
            context.wan_uid(item['wan_accelerator'], option + '.wan_accelerator')

    def read_item(self, el, context):
        uid = _xml.findtext(el, 'RepositoryQuota/RepositoryUid')
        wan = _xml.findtext(el, 'RepositoryQuota/WanAcceleratorUid')
        return {'repository': context.repository_name(uid) if context is not None else uid,
                'quota_mb': _int(_xml.findtext(el, 'RepositoryQuota/Quota')),
                'display_name': _xml.findtext(el, 'RepositoryQuota/DisplayName'),
                'wan_accelerator': context.wan_name(wan) if context is not None else wan}

    def new_item(self, item):
        return dict(item, display_name=item['display_name'] or item['repository'])

    def spec_item(self, parent, item, option, context):
        _xml.sub(parent, 'Name', item['display_name'] or item['repository'])
        _xml.sub(parent, 'RepositoryUid', context.repository_uid(item['repository'], option + '.repository'))
        if item['quota_mb'] is None:
            raise ValidationError('%s.quota_gb: required to add the quota on repository %s' % (option, item['repository']),
                                  option=self.name)
        _xml.sub(parent, 'QuotaMb', str(item['quota_mb']))
        if item['wan_accelerator']:
            _xml.sub(parent, 'WanAcceleratorUid', context.wan_uid(item['wan_accelerator'], option + '.wan_accelerator'))

    def put_item(self, parent, el, item, context):
        quota = _xml.find(el, 'RepositoryQuota')
        rq = _xml.sub(parent, 'RepositoryQuota')
        _xml.sub(rq, 'DisplayName', item.get('display_name') or _xml.findtext(quota, 'DisplayName') or '')
        _xml.sub(rq, 'RepositoryUid', _xml.findtext(quota, 'RepositoryUid'))
        wan = context.wan_uid(item['wan_accelerator'], self.name) if item.get('wan_accelerator') else \
            _xml.findtext(quota, 'WanAcceleratorUid')
        if wan:
            _xml.sub(rq, 'WanAcceleratorUid', wan)
        _xml.sub(rq, 'Quota', str(item.get('quota_mb') or _xml.findtext(quota, 'Quota')))


APPLIANCE_OPTIONS = {'enabled': {'type': 'bool'}, 'name': {'type': 'str'}, 'production_network': {'type': 'str'},
                     'ip': {'type': 'raw'}}


class ComputeField(ChildListField):
    """A tenant's hardware-plan subscriptions (replication resources), one per plan, with the network extension
    appliance. Changed (appliance, WAN accelerator, failover networking) inside the tenant's PUT; a subscription is
    never moved to another plan."""

    key, purge, collection, what = 'hardware_plan', 'purge_compute_resources', 'computeResources', \
        'subscription to hardware plan'
    list_el, item_el, create_item_el, create_root = 'ComputeResources', 'CloudTenantComputeResource', \
        'ComputeResource', 'CloudTenantComputeResourceCreateSpec'
    suboptions = {'hardware_plan': {'type': 'str', 'required': True}, 'wan_accelerator': {'type': 'str'},
                  'network_extension': {'type': 'dict', 'options': APPLIANCE_OPTIONS}}
    sub_docs = {'hardware_plan': 'The hardware plan, by its name on the tenant\'s backup server.',
                'wan_accelerator': 'The WAN accelerator (its name) on the provider\'s side; kept when left out.',
                'network_extension': 'The network extension appliance: C(enabled) (failover networking), C(name), '
                                     'C(production_network) (the port group, as EM shows it), and C(ip): C(dhcp) or '
                                     'C({address, netmask, gateway}).',
                'network_extension.enabled': 'Whether the tenant\'s replicas use failover networking through it.',
                'network_extension.name': 'The appliance\'s name.',
                'network_extension.production_network': 'The network it connects to, as EM shows it (EM cannot look '
                                                        'networks up, so it is compared exactly).',
                'network_extension.ip': 'C(dhcp), or a dict of C(address), C(netmask) and C(gateway).'}
    verify_hint = 'EM did not take the change through the tenant\'s edit'

    def normalize_item(self, item, option):
        return {'hardware_plan': item['hardware_plan'], 'wan_accelerator': item.get('wan_accelerator'),
                'network_extension': self._extension(item, option)}

    def _extension(self, item, option):
        """The ``network_extension`` of an item, normalised (None: not given)."""
        ext = item.get('network_extension')
        if ext is None:
            return None
        ip = ext.get('ip')
        if ip is not None and ip != 'dhcp' and not (isinstance(ip, dict) and set(ip) == {'address', 'netmask', 'gateway'}):
            raise ValidationError('%s.network_extension.ip: dhcp, or {address, netmask, gateway}' % option,
                                  option=self.name)
        return {'enabled': ext.get('enabled'), 'name': ext.get('name'),
                'production_network': ext.get('production_network'), 'ip': ip}

    def resolve_item(self, item, option, context):
        context.plan(item['hardware_plan'], option + '.hardware_plan')
        if item['wan_accelerator']:
            context.wan_uid(item['wan_accelerator'], option + '.wan_accelerator')

    def read_item(self, el, context):
        uid = _xml.findtext(el, 'CloudHardwarePlanUid')
        wan = _xml.findtext(el, 'WanAcceleratorUid')
        return {'hardware_plan': context.plan_name(uid) if context is not None else uid,
                'wan_accelerator': context.wan_name(wan) if context is not None else wan,
                'network_extension': self._read_extension(el)}

    @staticmethod
    def _read_extension(el):
        app = _xml.find(el, 'NetworkAppliance')
        ext = {'enabled': _xml.parse_bool(_xml.findtext(el, 'UseNetworkFailoverResources')), 'name': None,
               'production_network': None, 'ip': None}
        if app is not None:
            auto = _xml.parse_bool(_xml.findtext(app, 'ObtainIPAddressAutomatically'))
            ext.update(name=_xml.findtext(app, 'Name'), production_network=_xml.findtext(app, 'ProductionNetwork'),
                       ip='dhcp' if auto else {
                           'address': _xml.findtext(app, 'ManualIpAddressSettingsInfoType/IpAddress'),
                           'netmask': _xml.findtext(app, 'ManualIpAddressSettingsInfoType/SubnetMask'),
                           'gateway': _xml.findtext(app, 'ManualIpAddressSettingsInfoType/DefaultGateway')})
        return ext

    def _appliance(self, parent, ext):
        app = _xml.sub(parent, 'NetworkAppliance')
        _xml.sub(app, 'Name', ext.get('name') or '')
        _xml.sub(app, 'ProductionNetwork', ext.get('production_network') or '')
        ip = ext.get('ip') or 'dhcp'
        _xml.sub(app, 'ObtainIPAddressAutomatically', _xml.format_bool(ip == 'dhcp'))
        if ip != 'dhcp':
            manual = _xml.sub(app, 'ManualIpAddressSettingsInfoType')
            for key, el in (('address', 'IpAddress'), ('netmask', 'SubnetMask'), ('gateway', 'DefaultGateway')):
                _xml.sub(manual, el, ip[key])

    def _write(self, parent, item, have, context, option):
        """The subscription's elements, in the create spec's and the entity's order (``have``: as EM shows it)."""
        plan = context.plan(item['hardware_plan'], option + '.hardware_plan')
        ext = _merged((have or {}).get('network_extension') or {}, item.get('network_extension') or {})
        _xml.sub(parent, 'CloudHardwarePlanUid', plan['uid'])
        wan = item.get('wan_accelerator') or (have or {}).get('wan_accelerator')
        if wan:
            _xml.sub(parent, 'WanAcceleratorUid', context.wan_uid(wan, option + '.wan_accelerator'))
        _xml.sub(parent, 'PlatformType', plan['platform'])
        _xml.sub(parent, 'UseNetworkFailoverResources', _xml.format_bool(bool(ext.get('enabled'))))
        if ext.get('name') or ext.get('production_network'):
            self._appliance(parent, ext)

    def spec_item(self, parent, item, option, context):
        self._write(parent, item, None, context, option)

    def put_item(self, parent, el, item, context):
        have = self.read_item(el, context)
        self._write(parent, dict(item or {}, hardware_plan=have['hardware_plan']), have, context, self.name)


class VdcField(ComputeField):
    """A vCloud Director tenant's organization VDCs (its replication resources), by name, each with the network
    extension appliance: ``VCloudComputeResources`` in the entity and the create spec, added through the tenant's
    ``vCloudComputeResources`` collection. The lookup gives each VDC's ref; EM's item id is the VDC's own GUID."""

    key, purge, collection, what = 'vdc', 'purge_compute_resources', 'vCloudComputeResources', \
        'organization VDC'
    list_el, item_el, create_item_el, create_root = 'VCloudComputeResources', 'CloudTenantVCloudComputeResource', \
        'VCloudComputeResource', 'CloudTenantVCloudComputeResourceCreateSpec'
    suboptions = dict(ComputeField.suboptions, vdc={'type': 'str', 'required': True})
    del suboptions['hardware_plan']
    sub_docs = dict(ComputeField.sub_docs, vdc='The organization VDC, by its name in vCloud Director (looked up on '
                                               'the tenant\'s backup server).')
    del sub_docs['hardware_plan']

    def normalize_item(self, item, option):
        return {'vdc': item['vdc'], 'wan_accelerator': item.get('wan_accelerator'),
                'network_extension': self._extension(item, option)}

    def resolve(self, value, context):
        if context is not None and value:
            if context.entity is None:
                _vcd_only(self.name, context)
            elif _xml.find(context.entity, 'TenantType/vCloudTenant') is None:
                raise ValidationError('%s: the tenant %s is not a vCloud Director tenant; its replication resources are '
                                      'hardware plans (compute_resources)' % (self.name, context.entity.get('Name')),
                                      option=self.name)
        return super(VdcField, self).resolve(value, context)

    def resolve_item(self, item, option, context):
        if self._pair(self.read_from(context.entity, context) if context.entity is not None else [], item) is None:
            context.vcd_ref('OrgVdc', item['vdc'], option + '.vdc')  # only one to add is looked up
        if item['wan_accelerator']:
            context.wan_uid(item['wan_accelerator'], option + '.wan_accelerator')

    def read_from(self, entity, context=None):
        if _xml.find(entity, 'TenantType/vCloudTenant') is None:
            return None  # not a vCloud Director tenant
        return super(VdcField, self).read_from(entity, context)

    def read_item(self, el, context):
        wan = _xml.findtext(el, 'WanAcceleratorUid')
        return {'vdc': _xml.findtext(el, 'VirtualDataCenterName'),
                'wan_accelerator': context.wan_name(wan) if context is not None else wan,
                'network_extension': self._read_extension(el)}

    def _write(self, parent, item, have, context, option):
        """Create spec order: the ref, failover networking, the appliance, then the WAN accelerator; an edit
        (``have``) keeps the entity's order, the accelerator before the appliance, and the ref EM shows."""
        ext = _merged((have or {}).get('network_extension') or {}, item.get('network_extension') or {})
        ref = have['ref'] if have else context.vcd_ref('OrgVdc', item['vdc'], option + '.vdc')
        wan = item.get('wan_accelerator') or (have or {}).get('wan_accelerator')
        _xml.sub(parent, 'VirtualDataCenterRef', ref)
        _xml.sub(parent, 'UseNetworkFailoverResources', _xml.format_bool(bool(ext.get('enabled'))))
        if wan and have:
            _xml.sub(parent, 'WanAcceleratorUid', context.wan_uid(wan, option + '.wan_accelerator'))
        if ext.get('name') or ext.get('production_network'):
            self._appliance(parent, ext)
        if wan and not have:
            _xml.sub(parent, 'WanAcceleratorUid', context.wan_uid(wan, option + '.wan_accelerator'))

    def put_item(self, parent, el, item, context):
        have = dict(self.read_item(el, context), ref=_xml.findtext(el, 'VirtualDataCenterRef'))
        self._write(parent, dict(item or {}, vdc=have['vdc']), have, context, self.name)


def _tenant_extra(entity):
    last = _xml.findtext(entity, 'LastActive')
    return {'uid': (entity.get('UID') or '').strip() or None,
            'usage': {'last_active': None if not last or last.startswith(NEVER_ACTIVE) else last,
                      'backup_count': _int(_xml.findtext(entity, 'BackupCount')),
                      'replica_count': _int(_xml.findtext(entity, 'ReplicaCount')),
                      'quotas': [{'display_name': _xml.findtext(r, 'RepositoryQuota/DisplayName'),
                                  'used_mb': _int(_xml.findtext(r, 'RepositoryQuota/UsedQuota'))}
                                 for r in _kids(_xml.find(entity, 'Resources'), 'CloudTenantResource')]}}


class TenantResource(Resource):
    """The tenant declaration, with the checks that span options (before any request)."""

    def check_input(self, params):
        wanted = super(TenantResource, self).check_input(params)
        org = wanted.get('vcd_organization')
        if org is not None and params.get('name') and org.lower() != params['name'].lower():
            raise ValidationError('vcd_organization: EM names a vCloud Director tenant after its organization, so name '
                                  'must be %r too (%r given)' % (org, params['name']), option='vcd_organization')
        given = [n for n in ('vcd_organization', 'vcd_compute_resources') if wanted.get(n)]
        if given and params.get('type') not in (None, 'vcd'):
            raise ValidationError('%s: only a vCloud Director tenant (type: vcd) has it; type is %s'
                                  % (given[0], params['type']), option=given[0])
        return wanted


def _delete_params(params):
    return {'includeBackups': 'true' if params.get('delete_backups') else 'false'}


TENANT = TenantResource(
    name='cloud_tenant', noun='tenant', result_key='tenant', role=ROLE,
    collection='cloud/tenants', item='cloud/tenants/{id}', get_params={'format': 'Entity'},
    entity_root='CloudTenant', create_root='CreateCloudTenantSpec', edit_root='CloudTenant',
    edit_identity=('@Href', '@Type', '@Name', '@UID'), probe=probe_cloud, context=cloud_names,
    created_type='CloudTenant', delete_params=_delete_params, settings_key='settings', top_options=('type',),
    view_extra=_tenant_extra,
    answers={'create': '202 and a task whose Related link, when its Type is CloudTenant, names the new tenant (else '
                       'it is found by name)',
             'edit': '202 and a task (or 200 with the task or the tenant)',
             'delete': '202 and a task; the module always says whether the backups go (C(includeBackups))'},
    identity=Identity('@UID', ('name', 'backup_server'), id_option=None),
    create_order=('name', 'description', 'tenant_password', 'enabled', 'lease_expiration', 'backup_resources',
                  'compute_resources', 'throttling', 'public_ip_count', 'backup_server', 'max_concurrent_tasks', 'type',
                  'vcd_organization', 'vcd_compute_resources', 'ad_domain',
                  'backup_protection', 'gateway_pools', 'failover_to_other_gateways'),
    extra_options=[
        ('delete_backups', {'type': 'bool', 'default': False},
         'With O(state=absent): also delete the tenant\'s backups from the cloud repositories. By default they are '
         'kept; the module always says which to EM (C(includeBackups=false) or C(true)).'),
        ('purge_compute_resources', {'type': 'bool', 'default': False},
         'Remove the subscriptions to hardware plans that O(compute_resources) does not list (and, on a vCloud '
         'Director tenant, the organization VDCs that O(vcd_compute_resources) does not list). Without it, unlisted '
         'ones are left alone. A removal is shown in the diff first.'),
        ('purge_backup_resources', {'type': 'bool', 'default': False},
         'Remove the quotas on repositories that O(backup_resources) does not list. Without it, unlisted quotas are '
         'left alone. A removal is shown in the diff first.'),
    ],
    returns=[('id', 'str', "The tenant's id.", '2f9a6b8e-6c4b-5d5e-9f51-0d8c3e1a7b11'),
             ('uid', 'str', 'Its UID.', 'urn:veeam:CloudTenant:2f9a6b8e-6c4b-5d5e-9f51-0d8c3e1a7b11'),
             ('name', 'str', 'Its name.', 'acme'),
             ('backup_server', 'str', 'The backup server that holds it.', 'vbr01'),
             ('type', 'str', 'C(standalone), C(vcd) or C(active_directory).', 'standalone'),
             ('settings', 'dict', 'Its settings, in the shape of the options (never a password): fed back to this '
                                  'module, they report no change.',
              {'description': 'ACME Corp', 'enabled': True, 'lease_expiration': 'never', 'max_concurrent_tasks': 4,
               'backup_protection': {'enabled': False, 'days': 7},
               'backup_resources': [{'repository': 'Backup Volume 01', 'display_name': 'ACME backups',
                                     'quota_mb': 102400, 'wan_accelerator': None}]}),
             ('usage', 'dict', 'What EM reports and no option sets: C(last_active) (null: never), C(backup_count), '
                               'C(replica_count), and C(quotas) (C(display_name), C(used_mb)).',
              {'last_active': '2026-12-04T09:00:00Z', 'backup_count': 12, 'replica_count': 0,
               'quotas': [{'display_name': 'ACME backups', 'used_mb': 40960}]})],
    fields=[
        Field('name', 'Name', entity='@Name', access='create', casefold=True, doc=(
            'The tenant\'s name (the account it connects with), compared case-insensitively; with O(backup_server) '
            'it names the tenant where several backup servers hold one of this name.')),
        BackupServerField('backup_server', 'BackupServerUid', access='create', casefold=True, create_default='', doc=(
            'The backup server (as EM lists it) that holds the tenant. Needed to create a tenant where EM knows '
            'several backup servers; a tenant is never moved to another one.')),
        TypeField('type', 'TenantType', kind='enum', choices=dict((k, k) for k in TYPES), access='create',
                  fixed=True, create_default='standalone', doc=(
                      'The kind of tenant, chosen when it is created (C(standalone) when left out). On an existing '
                      'tenant a different type fails before any write. A C(vcd) tenant needs '
                      'O(vcd_organization); an C(active_directory) one O(ad_domain).')),
        Field('tenant_password', 'Password', entity=None, secret=True,
              required=lambda wanted: wanted.get('type') == 'standalone', doc=(
                  'The tenant\'s password, needed to create a standalone tenant. EM never shows it; see '
                  'O(update_password). An empty string is refused.')),
        Field('description', 'Description', doc='The description.'),
        Field('enabled', 'Enabled', kind='bool', doc=(
            'Whether the tenant may connect; C(false) disables it (its data and settings are kept).')),
        LeaseField('lease_expiration', 'LeaseOptions', doc=(
            'When the tenant\'s lease ends: a date (C(2027-01-31)) or a date-time in UTC (C(2027-01-31T18:00:00Z), '
            'or with an offset, converted to UTC), or C(never) for no lease.')),
        QuotasField('backup_resources', 'Resources', doc=(
            'The tenant\'s storage quotas, one per cloud repository: C(repository) (its name on the tenant\'s '
            'backup server), C(quota_gb) or C(quota_mb) (at least 1 GB), C(display_name) (the repository\'s name '
            'when a quota is created; left out on an existing quota, its name is kept), C(wan_accelerator) (a name). '
            'A listed quota that is missing is added; one whose size differs is resized inside the tenant\'s own '
            'edit, never deleted and added again; if EM does not take the new size, the module fails and says so. '
            'Quotas not listed are kept unless O(purge_backup_resources).')),
        ComputeField('compute_resources', 'ComputeResources', doc=(
            'The hardware plans the tenant subscribes to (replication resources), one per plan: C(hardware_plan) '
            '(a name on the tenant\'s backup server), C(wan_accelerator), C(network_extension). A listed '
            'subscription that is missing is added; one that differs is changed inside the tenant\'s own edit; '
            'unlisted ones are kept unless O(purge_compute_resources). Creating a tenant with a hardware plan can '
            'take long: see O(wait_timeout).')),
        Field('max_concurrent_tasks', 'MaxConcurrentTasks', kind='int', minimum=1, maximum=10000, doc=(
            'How many tasks the tenant may run at once.')),
        GroupField('throttling', [
            ('enabled', 'ThrottlingEnabled', 'bool', 'Whether the tenant\'s traffic is limited.'),
            ('speed', 'ThrottlingSpeedLimit', 'int', 'The limit, in O(throttling.unit).'),
            ('unit', 'ThrottlingSpeedUnit', ('Mbps', 'KBps', 'MBps'), 'C(Mbps), C(KBps) or C(MBps) (case matters).')],
            limits={'speed': (1, 2 ** 31 - 1)}, access='create', fixed=True, doc=(
                'The network traffic limit, set when the tenant is created: EM\'s edit does not take it, so a '
                'different value on an existing tenant fails before any write.')),
        Field('public_ip_count', 'PublicIpCount', kind='int', minimum=0, maximum=65535, access='create', fixed=True, doc=(
            'How many public IP addresses the tenant\'s replicas may use, set when it is created; a different value on '
            'an existing tenant fails before any write.')),
        GroupField('backup_protection', [
            ('enabled', 'BackupProtectionEnabled', 'bool', 'Whether deleted backups are kept for a while.'),
            ('days', 'BackupProtectionPeriod', 'int', 'How many days deleted backups are kept (1 to 99).')],
            limits={'days': (1, 99)}, later=True, doc=(
                'The recycle bin for the backups the tenant deletes: C(enabled) and C(days) (1 to 99). On a new '
                'tenant it is set by a second write once EM has created it.')),
        DomainField('ad_domain', 'Domain', access='create', fixed=True,
                    required=lambda wanted: wanted.get('type') == 'active_directory', doc=(
                        'O(type=active_directory): the domain whose account the tenant is (C(name), C(account), '
                        'C(port)); needed to create such a tenant, and fixed once it exists.')),
        OrgField('vcd_organization', 'OrganizationRef', access='create', fixed=True, casefold=True,
                 required=lambda wanted: wanted.get('type') == 'vcd', doc=(
                     'O(type=vcd): the vCloud Director organization, by name, looked up (C(GET /api/lookup)) on the '
                     'vCloud Director server of the tenant\'s backup server; a name that does not resolve fails before '
                     'any write, listing the organizations there. EM names the tenant after it, so O(name) is the '
                     'organization\'s name. Needed to create such a tenant, and fixed once it exists.')),
        Echo('TenantType'),
        VdcField('vcd_compute_resources', 'VCloudComputeResources', doc=(
            'O(type=vcd): the organization VDCs the tenant replicates to, one per VDC: C(vdc) (its name, looked up '
            'on the tenant\'s backup server), C(wan_accelerator), C(network_extension) (as in O(compute_resources)). '
            'A listed VDC that is missing is added (with the tenant when it is created, else through its '
            'C(vCloudComputeResources) collection); unlisted ones are kept unless O(purge_compute_resources). A VDC '
            'name that does not resolve fails before any write, listing the VDCs there.')),
        PoolsField('gateway_pools', 'CloudGatewayPools', later=True, doc=(
            'The cloud gateway pools the tenant connects through, by name, on its backup server (the whole list; '
            'C([]) for none). The tenant owns the assignment. On a new tenant it is set by a second write.')),
        FailoverField('failover_to_other_gateways', 'FailoverToOtherGatewaysIfFail', kind='bool', later=True, doc=(
            'Whether the tenant may use gateways outside its pools when those fail.')),
    ],
)


# ---------------------------------------------------------------------------
# Subtenants


def list_tenants(client):
    """Every tenant entity, in one request (the Portal User role may not query CloudTenant)."""
    root = client.get('cloud/tenants', params={'format': 'Entity'})
    return list(root.iter(_xml.qname('CloudTenant')))


def resolve_tenant(client, name, params):
    """A tenant name (and backup server) -> ``(uuid, name, entity)``; unknown or ambiguous names fail before any write."""
    tenants = list_tenants(client)
    server = params.get('backup_server')
    found = [t for t in tenants if (t.get('Name') or '').lower() == name.lower()
             and (not server or (up_name(t) or '').lower() == server.lower())]
    if len(found) == 1:
        return _bare(found[0].get('UID')), found[0].get('Name'), found[0]
    if found:
        raise ValidationError('tenant: several backup servers hold a tenant %r (%s); set backup_server' % (
            name, ', '.join(sorted(up_name(t) or '?' for t in found))), option='backup_server')
    raise _unknown('tenant', 'tenant', name, [t.get('Name') for t in tenants if t.get('Name')],
                   ' on backup server %s' % server if server else ' in EM')


class SubQuotaField(Field):
    """A subtenant's quota on one of its tenant's quotas: ``RepositoryQuota`` (with ``@Unlimited``) in the entity and
    the PUT; ``TenantResourceId``, ``QuotaMb``, ``UnlimitedQuota`` in the create spec."""

    sub_docs = {'backup_resource': 'One of the tenant\'s quotas, by its display name or its repository\'s name.',
                'quota_gb': 'The quota in GB (at least 1).', 'quota_mb': 'The quota in MB (at least 1024).',
                'unlimited': 'No quota: the subtenant may use all of the tenant\'s quota.'}

    def spec(self):
        return {'type': 'dict', 'options': {'backup_resource': {'type': 'str', 'required': True},
                                            'quota_gb': {'type': 'int'}, 'quota_mb': {'type': 'int'},
                                            'unlimited': {'type': 'bool', 'default': False}}}

    def normalize(self, value, context=None):
        mb = quota_mb(value, self.name + '.quota_gb')
        if value.get('unlimited') and mb is not None:
            raise ValidationError('%s: give quota_gb or quota_mb, or unlimited: true, not both' % self.name,
                                  option=self.name)
        if not value.get('unlimited') and mb is None:
            raise ValidationError('%s: give quota_gb or quota_mb, or unlimited: true' % self.name, option=self.name)
        return {'backup_resource': value['backup_resource'], 'quota_mb': mb, 'unlimited': bool(value.get('unlimited'))}

    @staticmethod
    def _quotas(context):
        return [(r.get('Id'), _xml.findtext(r, 'RepositoryQuota/DisplayName'),
                 _xml.findtext(r, 'RepositoryQuota/RepositoryUid'))
                for r in _kids(_xml.find(context.tenant, 'Resources'), 'CloudTenantResource')]

    def _quota(self, context, name):
        quotas = self._quotas(context)
        found = [q for q in quotas if (q[1] or '').lower() == name.lower()] or \
            [q for q in quotas if (context.repository_name(q[2]) or '').lower() == name.lower()]
        if len(found) != 1:
            raise _unknown(self.name + '.backup_resource', 'quota', name, [q[1] for q in quotas if q[1]],
                           ' of tenant %s (by display name or repository)' % context.tenant.get('Name'))
        return found[0]

    def resolve(self, value, context):
        return dict(value, backup_resource=self._quota(context, value['backup_resource'])[1])

    def read_from(self, entity, context=None):
        rq = _xml.find(entity, 'RepositoryQuota')
        if rq is None:
            return None
        rid = (_xml.findtext(rq, 'TenantResourceId') or '').strip().lower()
        names = dict(((q[0] or '').lower(), q[1]) for q in self._quotas(context)) if context is not None else {}
        unlimited = _xml.parse_bool(rq.get('Unlimited')) is True
        return {'backup_resource': names.get(rid, _xml.findtext(rq, 'DisplayName')), 'unlimited': unlimited,
                'quota_mb': None if unlimited else _int(_xml.findtext(rq, 'QuotaMb'))}

    def write_to(self, body, value, entity=None, context=None):
        rid = self._quota(context, value['backup_resource'])[0]
        if entity is None:
            _xml.sub(body, 'TenantResourceId', rid)
            if not value['unlimited']:
                _xml.sub(body, 'QuotaMb', str(value['quota_mb']))
            _xml.sub(body, 'UnlimitedQuota', _xml.format_bool(value['unlimited']))
            return
        # The group travels whole (style.md decision 3): its DisplayName, which no option sets, as read, since an EM
        # that replaces a group sent in part would blank it (em-api-cloud.md section 13, partial_group).
        rq = _xml.sub(body, 'RepositoryQuota', attrib={'Unlimited': _xml.format_bool(value['unlimited'])})
        shown = _xml.find(entity, 'RepositoryQuota/DisplayName')
        if shown is not None:
            _xml.sub(rq, 'DisplayName', shown.text or '')
        _xml.sub(rq, 'TenantResourceId', rid)
        current = _xml.findtext(entity, 'RepositoryQuota/QuotaMb') or str(MIN_QUOTA_MB)
        _xml.sub(rq, 'QuotaMb', current if value['unlimited'] else str(value['quota_mb']))


READERS = 8   # subtenant lists read at a time where the role may not query them
FILTERED = 4 * CHUNK   # up to this many tenants, their subtenants are queried by tenant UID, not all at once
_TENANT_OF = re.compile(r'/cloud/tenants/([0-9a-fA-F-]{36})/subtenants/', re.I)


def tenant_of(entity):
    """The id of the tenant a subtenant entity belongs to: from its Href, else its Up link to the tenant."""
    hrefs = [entity.get('Href') or ''] + [link.get('Href') or '' for link in _xml.findall(entity, 'Links/Link')
                                          if link.get('Type') == 'CloudTenantReference']
    for href in hrefs:
        m = _TENANT_OF.search(href) or re.search(r'/cloud/tenants/([0-9a-fA-F-]{36})/?(?:\?|$)', href)
        if m:
            return m.group(1).lower()
    return None


class SubtenantResource(Resource):
    """Subtenants: one ``…/subtenants`` list per tenant, but those of several tenants read with ``CloudSubtenant``
    queries (get_query_cloudsubtenant.md: one per 25 tenants by ``CloudTenantUid``, or one for all of them beyond
    ``FILTERED``) where the role may send them; the Portal User role may not (em-api-cloud.md
    section 3): EM answers 403 and the lists are read one per tenant, ``READERS`` at a time."""

    def _each(self, client, parent_ids):
        out = {}

        def one(pid):
            out[pid] = self.list(client, pid)
        in_flight(one, parent_ids, READERS)
        return out

    def list_many(self, client, parent_ids):
        if len(parent_ids) < 2:
            return self._each(client, parent_ids)
        try:
            if len(parent_ids) > FILTERED:   # many tenants: every subtenant in one query
                found = client.query('CloudSubtenant', fmt='Entities')
            else:   # a few: only theirs, a query per 25 tenants
                found = query_in(client, 'CloudSubtenant', 'CloudTenantUid', [TENANT_URN + pid for pid in parent_ids])
        except ApiError as exc:
            if exc.status != 403:
                raise
            return self._each(client, parent_ids)
        out = dict((pid, []) for pid in parent_ids)
        for entity in found:
            tid = tenant_of(entity)
            if tid in out:
                out[tid].append(entity)
        return out


SUBTENANT = SubtenantResource(
    name='cloud_subtenant', noun='subtenant', result_key='subtenant', info_key='subtenants', role=ROLE,
    collection='cloud/tenants/{parent}/subtenants', item='cloud/tenants/{parent}/subtenants/{id}',
    get_params={'format': 'Entity'}, probe=probe_cloud, context=cloud_names,
    parent=Parent('tenant', resolve_tenant, 'The name of the tenant the subtenant belongs to.', extra=[
        ('backup_server', {'type': 'str'}, 'The backup server that holds the tenant, where several hold one of '
                                           'that name.')]),
    entity_root='CloudSubtenant', create_root='CloudSubtenantCreateSpec', edit_root='CloudSubtenant',
    edit_identity=('@Href', '@Type', '@Id'),
    answers={'create': '202 and a task that does not name the new subtenant, so it is found by name',
             'edit': '202 and a task (or 200 with the task or the subtenant)', 'delete': '202 and a task'},
    identity=Identity('@Id', ('name',), id_option=None),
    returns=[('id', 'str', "The subtenant's id.", '5c1e3f0a-9b8d-5e2f-8a71-3c4d5e6f7a8b'),
             ('tenant', 'str', 'The tenant it belongs to.', 'globex'),
             ('name', 'str', 'Its name.', 'globex-hr'),
             ('description', 'str', 'Its description.', 'HR department'),
             ('enabled', 'bool', 'Whether it may connect.', True),
             ('quota', 'dict', 'Its quota: C(backup_resource) (the display name of the tenant\'s quota), '
                               'C(quota_mb) (null when unlimited), C(unlimited).',
              {'backup_resource': 'Globex primary', 'quota_mb': 20480, 'unlimited': False})],
    fields=[
        Field('name', 'Name', access='create', casefold=True, doc=(
            'The subtenant\'s name, unique within its tenant, compared case-insensitively.')),
        Field('description', 'Description', doc='The description.'),
        Field('subtenant_password', 'Password', entity=None, secret=True, required=True, doc=(
            'The subtenant\'s password, needed to create it. EM never shows it; see O(update_password). An empty '
            'string is refused.')),
        Field('enabled', 'Enabled', kind='bool', doc='Whether the subtenant may connect.'),
        SubQuotaField('quota', 'RepositoryQuota', required=True, doc=(
            'Its quota: C(backup_resource), one of the tenant\'s quotas by its display name or repository, and '
            'either C(quota_gb) or C(quota_mb) (at least 1 GB) or C(unlimited=true). Needed to create it.')),
    ],
)

TENANT.info_children = SUBTENANT
TENANT.info_options = (
    ('type', {'type': 'str', 'choices': sorted(TYPES)}, 'Only tenants of this type.',
     lambda view, value: view.get('type') == value),
    ('subtenants', {'type': 'bool', 'default': True}, (
        'Whether each tenant comes with its C(subtenants). They are read with one C(CloudSubtenant) query, or, '
        'where the role may not send it (Portal User), one list per tenant: C(false) leaves them out (and the '
        'key with them) for a caller that does not need them.'), None),
)

RESOURCES = (TENANT, SUBTENANT)
