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
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ApiError, ValidationError, VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._infra import list_backup_servers, list_repositories, up_name
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


class ProtectionField(Field):
    """The recycle bin for backups the tenant deletes: ``BackupProtectionEnabled`` and ``BackupProtectionPeriod``."""

    sub_docs = {'enabled': 'Whether deleted backups are kept for a while.',
                'days': 'How many days deleted backups are kept (1 to 99).'}

    def spec(self):
        return {'type': 'dict', 'options': {'enabled': {'type': 'bool'}, 'days': {'type': 'int'}}}

    def normalize(self, value, context=None):
        days = value.get('days')
        if days is not None and not 1 <= days <= 99:
            raise ValidationError('%s.days: EM keeps deleted backups 1 to 99 days (%s given)' % (self.name, days),
                                  option=self.name)
        return {'enabled': value.get('enabled'), 'days': days}

    def read_from(self, entity, context=None):
        return {'enabled': _xml.parse_bool(_xml.findtext(entity, 'BackupProtectionEnabled')),
                'days': _int(_xml.findtext(entity, 'BackupProtectionPeriod'))}

    def same(self, current, wanted, params=None):
        current = current or {}
        return all(v is None or current.get(k) == v for k, v in wanted.items())

    def target(self, current, wanted, params=None):
        return dict(current or {}, **dict((k, v) for k, v in wanted.items() if v is not None))

    def write_to(self, body, value, entity=None, context=None):
        whole = self.target(self.read_from(entity) if entity is not None else {}, value)
        if whole.get('enabled') is not None:
            _xml.sub(body, 'BackupProtectionEnabled', _xml.format_bool(whole['enabled']))
        if whole.get('days') is not None:
            _xml.sub(body, 'BackupProtectionPeriod', str(whole['days']))


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


class QuotasField(Field):
    """A tenant's storage quotas, one per cloud repository, matched by repository name (never by EM's id).

    Added through ``POST .../resources``; resized (size, name, WAN accelerator) inside the tenant's PUT, which
    carries the whole list with each quota's ``@Id``; removed (``DELETE .../resources/{id}``) only under
    ``purge_backup_resources``. Never deleted and added again to change a size.
    """

    purge = 'purge_backup_resources'
    sub_docs = {'repository': 'The cloud repository, by its name on the tenant\'s backup server.',
                'quota_gb': 'The quota in GB (at least 1); or give O(backup_resources[].quota_mb).',
                'quota_mb': 'The quota in MB (at least 1024), as EM counts it; or give O(backup_resources[].quota_gb).',
                'display_name': 'The name the tenant sees; the repository\'s name when a quota is created, kept when '
                                'left out.',
                'wan_accelerator': 'The WAN accelerator (its name) on the provider\'s side; kept when left out.'}
    verify_hint = ('EM did not take the change through the tenant\'s edit; the module does not delete a quota and add '
                   'it again, since that would put the tenant\'s backups at risk: change it in EM\'s console')

    def spec(self):
        return {'type': 'list', 'elements': 'dict', 'options': QUOTA_SUBOPTIONS}

    def normalize(self, value, context=None):
        out, seen = [], set()
        for i, item in enumerate(value):
            option = '%s[%d]' % (self.name, i)
            if (item['repository'] or '').lower() in seen:
                raise ValidationError('%s.repository: %r is listed twice; a tenant has one quota per repository'
                                      % (option, item['repository']), option=self.name)
            seen.add((item['repository'] or '').lower())
            out.append({'repository': item['repository'], 'quota_mb': quota_mb(item, option + '.quota_gb'),
                        'display_name': item.get('display_name'), 'wan_accelerator': item.get('wan_accelerator')})
        return out

    def resolve(self, value, context):
        for i, item in enumerate(value):
            option = '%s[%d]' % (self.name, i)
            context.repository_uid(item['repository'], option + '.repository')
            if item['wan_accelerator']:
                context.wan_uid(item['wan_accelerator'], option + '.wan_accelerator')
        return value

    def read_from(self, entity, context=None):
        out = []
        for res in _kids(_xml.find(entity, 'Resources'), 'CloudTenantResource'):
            uid = _xml.findtext(res, 'RepositoryQuota/RepositoryUid')
            wan = _xml.findtext(res, 'RepositoryQuota/WanAcceleratorUid')
            out.append({'repository': context.repository_name(uid) if context is not None else uid,
                        'quota_mb': _int(_xml.findtext(res, 'RepositoryQuota/Quota')),
                        'display_name': _xml.findtext(res, 'RepositoryQuota/DisplayName'),
                        'wan_accelerator': context.wan_name(wan) if context is not None else wan})
        return sorted(out, key=lambda q: (q['repository'] or '').lower())

    @staticmethod
    def _pair(current, item):
        return next((c for c in current or [] if (c['repository'] or '').lower() == item['repository'].lower()), None)

    @staticmethod
    def _fits(have, item):
        return (item['quota_mb'] is None or have['quota_mb'] == item['quota_mb']) and \
            (item['display_name'] is None or have['display_name'] == item['display_name']) and \
            (item['wan_accelerator'] is None or (have['wan_accelerator'] or '').lower() == item['wan_accelerator'].lower())

    def _extra(self, current, wanted, params):
        if not (params or {}).get(self.purge):
            return []
        names = set(i['repository'].lower() for i in wanted)
        return [c for c in current or [] if (c['repository'] or '').lower() not in names]

    def same(self, current, wanted, params=None):
        for item in wanted:
            have = self._pair(current, item)
            if have is None or not self._fits(have, item):
                return False
        return not self._extra(current, wanted, params)

    def target(self, current, wanted, params=None):
        extra = [(c['repository'] or '').lower() for c in self._extra(current, wanted, params)]
        out = [dict(c) for c in current or [] if (c['repository'] or '').lower() not in extra]
        for item in wanted:
            have = self._pair(out, item)
            if have is None:
                out.append(dict(item, display_name=item['display_name'] or item['repository']))
            else:
                have.update((k, v) for k, v in item.items() if v is not None and k != 'repository')
        return sorted(out, key=lambda q: (q['repository'] or '').lower())

    def child_writes(self, record_id, current, wanted, params, context):
        in_put = any(self._pair(current, i) is not None and not self._fits(self._pair(current, i), i) for i in wanted)
        writes = []
        for i, item in enumerate(wanted):
            if self._pair(current, item) is None:
                body = _xml.element('CreateCloudTenantResourceSpec')
                self._spec_item(body, item, i, context)
                writes.append(ChildWrite('POST', record_id + '/resources', body,
                                         label='quota on repository %s added' % item['repository']))
        extra = set((c['repository'] or '').lower() for c in self._extra(current, wanted, params))
        for res in _kids(_xml.find(context.entity, 'Resources'), 'CloudTenantResource'):
            name = context.repository_name(_xml.findtext(res, 'RepositoryQuota/RepositoryUid'))
            if (name or '').lower() in extra:
                writes.append(ChildWrite('DELETE', '%s/resources/%s' % (record_id, res.get('Id')),
                                         label='quota on repository %s removed' % name))
        return in_put, writes

    def _spec_item(self, parent, item, i, context):
        option = '%s[%d]' % (self.name, i)
        _xml.sub(parent, 'Name', item['display_name'] or item['repository'])
        _xml.sub(parent, 'RepositoryUid', context.repository_uid(item['repository'], option + '.repository'))
        if item['quota_mb'] is None:
            raise ValidationError('%s.quota_gb: required to add the quota on repository %s' % (option, item['repository']),
                                  option=self.name)
        _xml.sub(parent, 'QuotaMb', str(item['quota_mb']))
        if item['wan_accelerator']:
            _xml.sub(parent, 'WanAcceleratorUid', context.wan_uid(item['wan_accelerator'], option + '.wan_accelerator'))

    def write_to(self, body, value, entity=None, context=None):
        resources = _xml.sub(body, 'Resources')
        if entity is None:
            for i, item in enumerate(value):
                self._spec_item(_xml.sub(resources, 'BackupResource'), item, i, context)
            return
        for res in _kids(_xml.find(entity, 'Resources'), 'CloudTenantResource'):
            quota = _xml.find(res, 'RepositoryQuota')
            uid = _xml.findtext(quota, 'RepositoryUid')
            name = context.repository_name(uid)
            item = next((i for i in value if i['repository'].lower() == (name or '').lower()), {})
            out = _xml.sub(resources, 'CloudTenantResource',
                           attrib=dict((a, res.get(a)) for a in ('Href', 'Type', 'Id') if res.get(a) is not None))
            rq = _xml.sub(out, 'RepositoryQuota')
            _xml.sub(rq, 'DisplayName', item.get('display_name') or _xml.findtext(quota, 'DisplayName') or '')
            _xml.sub(rq, 'RepositoryUid', uid)
            wan = context.wan_uid(item['wan_accelerator'], self.name) if item.get('wan_accelerator') else \
                _xml.findtext(quota, 'WanAcceleratorUid')
            if wan:
                _xml.sub(rq, 'WanAcceleratorUid', wan)
            _xml.sub(rq, 'Quota', str(item.get('quota_mb') or _xml.findtext(quota, 'Quota')))


def _tenant_extra(entity):
    last = _xml.findtext(entity, 'LastActive')
    return {'uid': (entity.get('UID') or '').strip() or None,
            'usage': {'last_active': None if not last or last.startswith(NEVER_ACTIVE) else last,
                      'backup_count': _int(_xml.findtext(entity, 'BackupCount')),
                      'replica_count': _int(_xml.findtext(entity, 'ReplicaCount')),
                      'quotas': [{'display_name': _xml.findtext(r, 'RepositoryQuota/DisplayName'),
                                  'used_mb': _int(_xml.findtext(r, 'RepositoryQuota/UsedQuota'))}
                                 for r in _kids(_xml.find(entity, 'Resources'), 'CloudTenantResource')]}}


def _delete_params(params):
    return {'includeBackups': 'true' if params.get('delete_backups') else 'false'}


TENANT = Resource(
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
                  'backup_server', 'max_concurrent_tasks', 'type', 'backup_protection'),
    extra_options=[
        ('delete_backups', {'type': 'bool', 'default': False},
         'With O(state=absent): also delete the tenant\'s backups from the cloud repositories. By default they are '
         'kept; the module always says which to EM (C(includeBackups=false) or C(true)).'),
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
                      'tenant a different type fails before any write. This module creates C(standalone) tenants.')),
        Field('tenant_password', 'Password', entity=None, secret=True, required=True, doc=(
            'The tenant\'s password, needed to create it. EM never shows it; see O(update_password). An empty '
            'string is refused.')),
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
        Field('max_concurrent_tasks', 'MaxConcurrentTasks', kind='int', minimum=1, maximum=10000, doc=(
            'How many tasks the tenant may run at once.')),
        ProtectionField('backup_protection', 'BackupProtectionEnabled', later=True, doc=(
            'The recycle bin for the backups the tenant deletes: C(enabled) and C(days) (1 to 99). On a new '
            'tenant it is set by a second write once EM has created it.')),
        Echo('TenantType'),
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
        rq = _xml.sub(body, 'RepositoryQuota', attrib={'Unlimited': _xml.format_bool(value['unlimited'])})
        _xml.sub(rq, 'TenantResourceId', rid)
        current = _xml.findtext(entity, 'RepositoryQuota/QuotaMb') or str(MIN_QUOTA_MB)
        _xml.sub(rq, 'QuotaMb', current if value['unlimited'] else str(value['quota_mb']))


SUBTENANT = Resource(
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
)

RESOURCES = (TENANT, SUBTENANT)
