# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""The declarations of the Veeam Cloud Connect provider infrastructure: hardware plans, gateways, gateway pools.

They run on the resource engine (``_resource``). These resources live in the
``/cloud`` collections, not under their backup server, and their bodies are
not flat: a create spec names some elements differently from the entity
(``ServerHostName`` is the gateway's ``@Name``, ``NetworkType`` its
``NetworkMode``), a pool lists gateways by UID, a plan holds its host and its
datastores or volumes as hierarchy references. :class:`CloudResource` keeps
the engine's plan, run and verification and supplies these parts: it reads
the collection once per run (after ``GET /api/cloud``, which fails clearly
without the Cloud Connect licence), resolves names (gateways, hosts,
datastores) through EM before any write, and builds the bodies in schema
order (em-api-cloud.md sections 10 and 11).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.veeam_em.core.plugins.module_utils import _xml
from ansible_collections.veeam_em.core.plugins.module_utils._cloud_models import probe_cloud
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError, VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._includes import hierarchy_roots
from ansible_collections.veeam_em.core.plugins.module_utils._model import encode_value
from ansible_collections.veeam_em.core.plugins.module_utils._resource import (
    ChildWrite, Field, Identity, Parent, Resource, close_names, parse_id,
)
from ansible_collections.veeam_em.core.plugins.module_utils._resource_models import backup_servers, resolve_backup_server

SERVER_URN = 'urn:veeam:BackupServer:'
GATEWAY_URN = 'urn:veeam:CloudGateway:'
DEFAULT_PORT = 6180
UNLIMITED = 'unlimited'
CLOUD_PARENT = Parent('backup_server', resolve_backup_server, 'The name of the backup server (as EM lists it) it is on.')
ANSWERS = {'create': 'a task', 'edit': 'a task (or at once, with the %s)', 'delete': 'a task'}


def on_server(entity, server_id):
    """Whether ``entity``'s Up link names the backup server ``server_id``."""
    for link in _xml.findall(entity, 'Links/Link'):
        if link.get('Rel') == 'Up' and (link.get('Type') or '').startswith('BackupServer'):
            return (link.get('Href') or '').split('?')[0].rstrip('/').rsplit('/', 1)[-1].lower() == server_id
    return False


class Custom(Field):
    """A field whose value the resource reads and writes itself (a list, a reference, a number or a word)."""

    def __init__(self, option, spec, doc, access='rw', required=False, create_default=None, fixed=False):
        super(Custom, self).__init__(option, option, kind='str', access=access, required=required,
                                     create_default=create_default, fixed=fixed, doc=doc)
        self._spec = spec
        self.custom = True

    def spec(self):
        return dict(self._spec)


class CloudResource(Resource):
    """A resource of a ``/cloud`` collection: one list per run, filtered on the backup server, custom codec."""

    own_info = False   # read by cloud_info, not by an _info module of its own

    def __init__(self, writer, reader=None, prepare=None, check=None, settle=None, **kwargs):
        kwargs.setdefault('parent', CLOUD_PARENT)
        kwargs.setdefault('get_params', {'format': 'Entity'})
        kwargs.setdefault('create_params', {})
        kwargs.setdefault('probe', probe_cloud)
        super(CloudResource, self).__init__(**kwargs)
        self.reader = reader
        self.writer = writer
        self.prepare = prepare
        self.check = check
        self.settle = settle
        self.ctx = {}

    def return_docs(self, info=False):
        docs = super(CloudResource, self).return_docs(info)
        if not self.secrets:
            docs.pop('secrets_sent', None)   # these resources hold no secret
        return docs

    def check_input(self, params):
        wanted = super(CloudResource, self).check_input(params)
        for field in self.fields:
            if getattr(field, 'custom', False) and params.get(field.name) is not None and params.get('state') != 'absent':
                wanted[field.name] = params[field.name]
        if self.check is not None:
            self.check(self, params, wanted)
        self.ctx = {'wanted': wanted, 'params': params}
        return wanted

    def list(self, client, parent_id=None, name=None):
        if self.ctx.get('server_id') != parent_id:
            self.ctx['server_id'] = parent_id
            if self.prepare is not None:
                self.prepare(self, client, parent_id)
        root = client.get(self.collection, params=self.get_params)
        return [e for e in root.iter(_xml.qname(self.entity_root)) if on_server(e, parent_id)]

    def match(self, records, params):
        found, first = super(CloudResource, self).match(records, params)
        if self.settle is not None and len(found) == 1 and params.get('state') != 'absent':
            self.settle(self, found[0])
        return found, first

    def read(self, entity, context=None):
        values = dict((f.name, f.read_from(entity, context)) for f in self.fields
                      if f.option and f.entity and not getattr(f, 'custom', False))
        if self.reader is not None:
            values.update(self.reader(self, entity))
        return values

    def body(self, root, values, send, entity=None, context=None):
        return self.writer(self, root, values, send, entity)


def _sub(body, name, value):
    if value is not None:
        _xml.sub(body, name, value)


def _uid(server_id):
    return SERVER_URN + server_id


# ---------------------------------------------------------------------------- gateway

MODES = {'direct': 'Direct', 'nat': 'NAT'}


def _gateway_check(res, params, wanted):
    if params.get('state') != 'absent' and wanted.get('network_mode') == 'nat' and params.get('external_ip') == '':
        raise ValidationError('external_ip: a gateway in NAT mode needs its external address', option='external_ip')


def _gateway_write(res, root, values, send, entity):
    f = res.by_option
    if entity is None:
        if values.get('network_mode') == 'nat' and not values.get('external_ip'):
            raise ValidationError('external_ip: required to create a gateway in NAT mode', option='external_ip')
        body = _xml.element(root)
        _sub(body, 'ServerHostName', values['name'])
        for option, element in (('description', 'Description'), ('external_ip', 'ExternalIp'),
                                ('external_port', 'ExternalPort'), ('network_mode', 'NetworkType'),
                                ('internal_port', 'InternalPort')):
            if values.get(option) is not None:
                _sub(body, element, encode_value(f[option], values[option]))
        _sub(body, 'BackupServerUid', _uid(res.ctx['server_id']))
        return body
    # NetworkMode and ExternalIP are required in a PUT and both ports are always sent: send every element,
    # the current value where no change is wanted (nothing else changes)
    merged = dict(res.read(entity))
    merged.update((n, values[n]) for n in send if n in values)
    body = _xml.element(root, attrib={'Href': entity.get('Href'), 'Type': entity.get('Type') or 'CloudGateway'})
    for option in ('enabled', 'network_mode', 'external_ip', 'external_port', 'internal_port', 'description'):
        if merged.get(option) is not None:
            _sub(body, f[option].element, encode_value(f[option], merged[option]))
    return body


GATEWAY = CloudResource(
    name='cloud_gateway', noun='cloud gateway', result_key='gateway', info_key='gateways',
    collection='cloud/gateways', item='cloud/gateways/{id}',
    entity_root='CloudGateway', create_root='CreateCloudGatewaySpec', edit_root='CloudGateway',
    writer=_gateway_write, check=_gateway_check, created_type='CloudGateway',
    answers=dict(ANSWERS, edit=ANSWERS['edit'] % 'gateway'),
    identity=Identity('@UID', ('name',), id_doc='The UUID (or UID) of the gateway, as C(cloud_info) returns it.'),
    returns=[('id', 'str', "The gateway's id.", '917be225-6744-4777-8096-cbabaec55006'),
             ('backup_server', 'str', 'Its backup server.', 'vbr01'),
             ('name', 'str', 'The server it runs on.', 'gw04.provider.example'),
             ('description', 'str', 'Its description.', 'Gateway 4, Frankfurt'),
             ('enabled', 'bool', 'Whether it takes connections.', True),
             ('network_mode', 'str', 'C(direct) or C(nat).', 'nat'),
             ('external_ip', 'str', 'The address tenants connect to.', '203.0.113.40'),
             ('external_port', 'int', 'The port tenants connect to.', 6180),
             ('internal_port', 'int', 'The port it listens on behind NAT.', 6180)],
    fields=[
        Field('name', 'ServerHostName', entity='@Name', access='key', doc=(
            'The DNS name or address of the Microsoft Windows server the gateway runs on, as EM shows it; the server '
            'must already be a managed server of O(backup_server). It names the gateway.')),
        Field('enabled', 'Enabled', kind='bool', later=True, doc=(
            'Whether the gateway takes connections. EM\'s create body has no such element and creates gateways '
            'enabled: a new gateway with C(false) is created, then disabled by an edit in the same run.')),
        Field('network_mode', 'NetworkMode', kind='enum', choices=MODES, create_default='direct', doc=(
            'C(direct) when tenants reach the gateway directly, C(nat) when it is behind NAT (then O(external_ip) is '
            'required). A new gateway is C(direct) when left out.')),
        Field('external_ip', 'ExternalIP', doc=(
            'The external address of the gateway (of the NAT device in C(nat) mode). EM fills in the server\'s '
            'address for a C(direct) gateway created without it.')),
        Field('external_port', 'ExternalPort', kind='int', minimum=1, maximum=65535, create_default=DEFAULT_PORT,
              doc='The port tenants connect to (6180 for a new gateway when left out).'),
        Field('internal_port', 'InternalPort', kind='int', minimum=1, maximum=65535, create_default=DEFAULT_PORT,
              doc='The port the gateway listens on behind NAT (6180 for a new gateway when left out).'),
        Field('description', 'Description', doc='The description EM shows.'),
    ],
)


# ---------------------------------------------------------------------------- gateway pool


def _pool_prepare(res, client, server_id):
    """Gateway names <-> UIDs on the pool's backup server; unknown gateway names fail before any write."""
    gateways = client.get('cloud/gateways', params={'format': 'Entity'})
    by_uid, by_name = {}, {}
    for g in gateways.iter(_xml.qname('CloudGateway')):
        if on_server(g, server_id):
            by_uid[parse_id(g.get('UID'), None)] = g.get('Name')
            by_name[(g.get('Name') or '').lower()] = g.get('UID')
    res.ctx.update(gateway_names=by_uid, gateway_uids=by_name)
    wanted = res.ctx.get('wanted') or {}
    missing = [n for n in wanted.get('gateways') or () if n.lower() not in by_name]
    if missing:
        names = sorted(by_uid.values())
        raise ValidationError('gateways: no gateway %s on this backup server; gateways: %s'
                              % (', '.join(repr(n) for n in missing), ', '.join(names) or 'none'), option='gateways')
    if wanted.get('gateways'):   # EM's spelling, so that the comparison is exact
        wanted['gateways'] = sorted(by_uid[parse_id(by_name[n.lower()], None)] for n in wanted['gateways'])


def _pool_check(res, params, wanted):
    if params.get('gateways') is not None and params.get('state') != 'absent':
        if not params['gateways']:
            raise ValidationError('gateways: a gateway pool needs at least one gateway', option='gateways')
        wanted['gateways'] = sorted(set(params['gateways']))


def _pool_read(res, entity):
    names = res.ctx.get('gateway_names') or {}
    uids = [(u.text or '').strip() for u in _xml.findall(entity, 'CloudGateways/CloudGatewayUid')]
    return {'gateways': sorted(names.get(parse_id(u, None), u) for u in uids if u)}


def _pool_write(res, root, values, send, entity):
    uids = res.ctx['gateway_uids']
    if entity is None:
        body = _xml.element(root)
        _sub(body, 'Name', values['name'])
        _sub(body, 'Description', values.get('description'))
    else:
        body = _xml.element(root, attrib={'Href': entity.get('Href'), 'Type': entity.get('Type') or 'CloudGatewayPool'})
        _sub(body, 'Description', values['description'] if 'description' in send else
             _xml.findtext(entity, 'Description'))
    names = values['gateways'] if 'gateways' in send or entity is None else res.read(entity)['gateways']
    if not names:
        raise ValidationError('gateways: required to create the gateway pool %r' % values['name'], option='gateways')
    listed = _xml.sub(body, 'CloudGateways')
    for name in names:
        _xml.sub(listed, 'CloudGatewayUid', uids.get(name.lower()) or name)
    if entity is not None:
        # the tenant list travels exactly as EM holds it: the tenants own that assignment (EM may read an omitted
        # list as empty)
        tenants = _xml.sub(body, 'CloudTenants')
        for uid in _xml.findall(entity, 'CloudTenants/CloudTenantUid'):
            _xml.sub(tenants, 'CloudTenantUid', (uid.text or '').strip())
    else:
        _sub(body, 'BackupServerUid', _uid(res.ctx['server_id']))
    return body


GATEWAY_POOL = CloudResource(
    name='cloud_gateway_pool', noun='cloud gateway pool', result_key='gateway_pool', info_key='gateway_pools',
    collection='cloud/gatewayPools', item='cloud/gatewayPools/{id}',
    entity_root='CloudGatewayPool', create_root='CreateCloudGatewayPoolSpec', edit_root='CloudGatewayPool',
    reader=_pool_read, writer=_pool_write, prepare=_pool_prepare, check=_pool_check,
    created_type='CloudGatewayPools',   # [sic], post_cloudgatewaypools.md
    answers=dict(ANSWERS, edit=ANSWERS['edit'] % 'pool'),
    identity=Identity('@UID', ('name',), id_doc='The UUID (or UID) of the pool, as C(cloud_info) returns it.'),
    returns=[('id', 'str', "The pool's id.", 'dcdca4d9-f850-4094-813e-f1aa9ba8bcfb'),
             ('backup_server', 'str', 'Its backup server.', 'vbr01'),
             ('name', 'str', 'Its name.', 'EU gateways'),
             ('description', 'str', 'Its description.', 'Gateways for EU customers'),
             ('gateways', 'list', 'Its gateways, by name, sorted.', ['gw01.provider.example'])],
    fields=[
        Field('name', 'Name', entity='@Name', access='key', doc='The name of the pool; unique on its backup server.'),
        Field('description', 'Description', doc='The description EM shows.'),
        Custom('gateways', {'type': 'list', 'elements': 'str'}, (
            'The gateways of the pool, by name (as C(cloud_gateway) names them), on the same backup server; at least '
            'one, in any order. The list replaces the pool\'s gateways. The tenants a pool is assigned to are never '
            'changed here (the tenant owns that assignment): an edit sends them back exactly as EM holds them.'),
            required=True),
    ],
)


# ---------------------------------------------------------------------------- hardware plan

PLATFORMS = {'vmware': 'VMware', 'hyperv': 'HyperV'}
STORE_KEY = {'vmware': 'datastore', 'hyperv': 'volume'}
NETWORK_KEYS = ('with_internet', 'without_internet')


def _limit(value, option):
    """A CPU or memory limit: a positive number, or ``unlimited`` (EM's -1)."""
    if isinstance(value, str) and value.strip().lower() == UNLIMITED:
        return UNLIMITED
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number == -1:
        return UNLIMITED
    if number is None or number < 1 or isinstance(value, bool):
        raise ValidationError('%s: a positive number or the word unlimited (got %r)' % (option, value), option=option)
    return number


def _plan_check(res, params, wanted):
    if params.get('state') == 'absent':
        return
    for option in ('cpu_mhz', 'memory_mb'):
        if params.get(option) is not None:
            wanted[option] = _limit(params[option], option)
    platform = params.get('platform')
    if params.get('storage') is not None:
        wanted['storage'] = _storage_input(params['storage'], platform)
    if params.get('networks') is not None:
        nets = params['networks']
        unknown = sorted(set(nets) - set(NETWORK_KEYS))
        if unknown:
            raise ValidationError('networks: unknown key %s; accepted: %s' % (', '.join(unknown), ', '.join(NETWORK_KEYS)),
                                  option='networks')
        out = {}
        for key in NETWORK_KEYS:
            try:
                out[key] = int(nets.get(key) or 0)
            except (TypeError, ValueError):
                out[key] = -1
            if out[key] < 0:
                raise ValidationError('networks.%s: a count of networks, 0 or more' % key, option='networks')
        wanted['networks'] = out


def _storage_input(items, platform):
    """The storage option normalised: each ``{datastore|volume, quota_gb, friendly_name}``; bad ones fail here."""
    out, seen = [], set()
    for i, item in enumerate(items):
        where = 'storage[%d]' % i
        if not isinstance(item, dict):
            raise ValidationError('%s: a dict with datastore (vSphere) or volume (Hyper-V), quota_gb and friendly_name'
                                  % where, option='storage')
        keys = [k for k in ('datastore', 'volume') if item.get(k)]
        if len(keys) != 1:
            raise ValidationError('%s: give either datastore (vSphere) or volume (Hyper-V)' % where, option='storage')
        key = keys[0]
        if platform and key != STORE_KEY[platform]:
            raise ValidationError('%s: a %s plan holds %ss, not %ss' % (where, platform, STORE_KEY[platform], key),
                                  option='storage')
        unknown = sorted(set(item) - {'datastore', 'volume', 'quota_gb', 'friendly_name'})
        if unknown:
            raise ValidationError('%s: unknown key %s; accepted: datastore, volume, quota_gb, friendly_name'
                                  % (where, ', '.join(unknown)), option='storage')
        try:
            quota = int(item.get('quota_gb'))
        except (TypeError, ValueError):
            quota = 0
        if quota < 1:
            raise ValidationError('%s.quota_gb: the quota in GB, at least 1' % where, option='storage')
        if item[key].lower() in seen:
            raise ValidationError('%s: %s %r is listed twice' % (where, key, item[key]), option='storage')
        seen.add(item[key].lower())
        out.append({key: item[key], 'quota_gb': quota, 'friendly_name': item.get('friendly_name')})
    if not out:
        raise ValidationError('storage: a hardware plan needs at least one datastore or volume', option='storage')
    if len(set(k for item in out for k in item if k in STORE_KEY.values())) > 1:
        raise ValidationError('storage: datastores (vSphere) and volumes (Hyper-V) cannot be mixed', option='storage')
    return out


def _objects(client, server):
    """Hosts, clusters, datastores and datastore clusters of a backup server's hierarchy roots, by lookup."""
    found = []
    for root in hierarchy_roots(client, server):
        for otype in ('Host', 'Cluster', 'Datastore', 'StoragePod'):
            items = client.get('lookup', params=[('host', root['uid']), ('type', otype)])
            for item in _xml.findall(items, 'HierarchyItem'):
                ref = _xml.findtext(item, 'ObjectRef') or ''
                found.append({'type': otype, 'name': _xml.findtext(item, 'ObjectName') or '', 'ref': ref,
                              'platform': 'hyperv' if ref.lower().startswith('urn:hyperv:') else 'vmware'})
    return found


def _pick(objects, name, types, platform, option, what):
    """The one object named ``name`` (or whose ref it is) among ``types``; otherwise fail listing what exists."""
    pool = [o for o in objects if o['type'] in types and (platform is None or o['platform'] == platform)]
    hits = [o for o in pool if o['name'].lower() == name.lower() or o['ref'].lower() == name.lower()]
    if len(hits) == 1:
        return hits[0]
    names = sorted(set(o['name'] for o in pool))
    if hits:
        raise ValidationError('%s: %r names several %ss (%s); set platform' % (
            option, name, what, ', '.join('%s %s' % (o['platform'], o['ref']) for o in hits)), option=option)
    close = close_names(name, names)
    raise ValidationError('%s: no %s %r on this backup server; %s' % (
        option, what, name, ('close names: %s' % ', '.join(close)) if close else 'known: %s' % (', '.join(names) or 'none')),
        option=option)


def _plan_prepare(res, client, server_id):
    params, wanted = res.ctx['params'], res.ctx['wanted']
    if params.get('state') == 'absent':   # a deletion needs no name resolved
        res.ctx['objects'] = []
        return
    objects = _objects(client, params['backup_server'])
    res.ctx['objects'] = objects
    platform = params.get('platform')
    if wanted.get('host'):
        host = _pick(objects, wanted['host'], ('Host', 'Cluster'), platform, 'host', 'host or cluster')
        res.ctx['host'] = host
        wanted['host'] = host['name']
        platform = platform or host['platform']
        wanted.setdefault('platform', platform)
    for item in wanted.get('storage') or ():
        if 'datastore' in item:
            ds = _pick(objects, item['datastore'], ('Datastore', 'StoragePod'), 'vmware', 'storage', 'datastore')
            item['datastore'] = ds['name']
    if wanted.get('storage'):
        key = 'datastore' if 'datastore' in wanted['storage'][0] else 'volume'
        wanted['storage'].sort(key=lambda s: s[key].lower())


def _by_ref(res, ref):
    return next((o for o in res.ctx.get('objects') or () if o['ref'].lower() == (ref or '').lower()), None)


def _details(entity):
    for tag, platform in (('ViCloudHardwarePlan', 'vmware'), ('HvCloudHardwarePlan', 'hyperv')):
        el = _xml.find(entity, 'HardwarePlanDetails/' + tag)
        if el is not None:
            return el, platform
    return None, None


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _stores(res, part, platform):
    """``[(entity item, view)]`` of a plan's datastores or volumes."""
    out = []
    if platform == 'vmware':
        for d in _xml.findall(part, 'Datastores/Datastore'):
            known = _by_ref(res, _xml.findtext(d, 'Reference'))
            out.append((d, {'datastore': known['name'] if known else _xml.findtext(d, 'Reference'),
                            'quota_gb': _int(_xml.findtext(d, 'QuotaGb')),
                            'friendly_name': _xml.findtext(d, 'FriendlyName')}))
    elif part is not None:
        for v in _xml.findall(part, 'Volumes/Volume'):
            out.append((v, {'volume': _xml.findtext(v, 'VolumePath'), 'quota_gb': _int(_xml.findtext(v, 'QuotaGb')),
                            'friendly_name': _xml.findtext(v, 'FriendlyName')}))
    key = STORE_KEY.get(platform)
    return sorted(out, key=lambda p: (p[1][key] or '').lower())


def _plan_read(res, entity):
    part, platform = _details(entity)
    values = {'platform': platform}
    for option, element in (('cpu_mhz', 'ProcessorUsageLimitMhz'), ('memory_mb', 'MemoryUsageLimitMb')):
        number = _int(_xml.findtext(entity, element))
        values[option] = UNLIMITED if number == -1 else number
    if part is None:
        return values
    ref = _xml.findtext(part, 'HypervisorHostRef')
    known = _by_ref(res, ref)
    values['host'] = _xml.findtext(part, 'ParentName') or (known['name'] if known else ref)
    values['storage'] = [view for _el, view in _stores(res, part, platform)]
    values['networks'] = dict((k, _int(_xml.findtext(part, 'Network/' + e))) for k, e in (
        ('with_internet', 'CountWithInternet'), ('without_internet', 'CountWithoutInternet')))
    return values


def _plan_settle(res, entity):
    """Before any write: the host as EM spells it; unnamed friendly names keep EM's (platform and networks are
    ``fixed``: the engine fails on a difference, naming the option)."""
    wanted, current = res.ctx['wanted'], _plan_read(res, entity)
    res.ctx['entity'] = entity
    if wanted.get('host') and current.get('host') and wanted['host'].lower() == current['host'].lower():
        wanted['host'] = current['host']
    key = STORE_KEY[current['platform']]
    have = dict(((s[key] or '').lower(), s) for s in current.get('storage') or ())
    for item in wanted.get('storage') or ():
        if key not in item:
            raise ValidationError('storage: a %s plan holds %ss' % (current['platform'], key), option='storage')
        if item.get('friendly_name') is None:
            item['friendly_name'] = (have.get(item[key].lower()) or {}).get('friendly_name') or item[key]


def _plan_write(res, root, values, send, entity):
    if entity is None:
        body = _xml.element(root)
        _sub(body, 'BackupServerUid', _uid(res.ctx['server_id']))
        _sub(body, 'Name', values['name'])
        _sub(body, 'Description', values.get('description'))
        current, part, platform = {}, None, values['platform']
    else:
        body = _xml.element(root, attrib={'Href': entity.get('Href'), 'Type': entity.get('Type') or 'CloudHardwarePlan'})
        current = _plan_read(res, entity)
        part, platform = _details(entity)
        _sub(body, 'Description', values['description'] if 'description' in send else
             _xml.findtext(entity, 'Description') or '')
    merged = dict(current)
    if entity is not None and res.ctx.get('storage_after') is not None:
        merged['storage'] = res.ctx['storage_after']
    merged.update((n, values[n]) for n in send if n in values)
    for option, element in (('cpu_mhz', 'ProcessorUsageLimitMhz'), ('memory_mb', 'MemoryUsageLimitMb')):
        _sub(body, element, '-1' if merged[option] == UNLIMITED else str(merged[option]))
    for item in merged.get('storage') or ():
        if item.get('friendly_name') is None:
            item['friendly_name'] = item.get('datastore') or item.get('volume')
    details = _xml.sub(_xml.sub(body, 'HardwarePlanDetails'),
                       'ViCloudHardwarePlan' if platform == 'vmware' else 'HvCloudHardwarePlan')
    host = res.ctx.get('host') if 'host' in send else None
    if host is None:
        host = {'ref': _xml.findtext(part, 'HypervisorHostRef'), 'name': _xml.findtext(part, 'ParentName'),
                'type': 'Cluster' if _xml.findtext(part, 'ParentType') == 'ClusterComputeResource' else 'Host'}
    _sub(details, 'HypervisorHostRef', host['ref'])
    if platform == 'vmware':
        _sub(details, 'ParentType', 'ClusterComputeResource' if host['type'] == 'Cluster' else 'HostSystem')
        _sub(details, 'ParentName', host['name'])
    _write_stores(res, details, merged['storage'], entity, part, platform)
    if entity is None and values.get('networks'):
        net = _xml.sub(details, 'Network')   # creation only: EM cannot change the counts, so an edit never sends it
        _sub(net, 'CountWithInternet', str(values['networks']['with_internet']))
        _sub(net, 'CountWithoutInternet', str(values['networks']['without_internet']))
    return body


def storage_change(current, wanted, key):
    """How a plan's storage list becomes ``wanted``: ``({added item: removed item it takes the place of},
    [removed items left over])``, by datastore or volume (lowercase), pairs in sorted order.

    An added item sent with the ``@Id`` of a removed one re-points that item (its reference is modifiable,
    post_hardwareplans.md): an EM that merges the list it is sent (keeps the items left out) ends with the
    wanted list all the same. Only the items left over need a list shorter than EM's.
    """
    have = set((c[key] or '').lower() for c in current or ())
    want = set((w[key] or '').lower() for w in wanted or ())
    removed = sorted(k for k in have if k not in want)
    added = sorted(k for k in want if k not in have)
    return dict(zip(added, removed)), removed[len(added):]


def _write_stores(res, details, items, entity, part, platform):
    """The whole storage list: an item EM holds keeps its ``@Id`` (and root path); a new one takes the ``@Id`` of an
    item it replaces (``storage_change``), or has none."""
    have, moved = {}, {}
    if entity is not None:
        key = STORE_KEY[platform]
        views = _stores(res, part, platform)
        have = dict(((view[key] or '').lower(), el) for el, view in views)
        repoint, _left = storage_change([v for _el, v in views], items, key)
        moved = dict((new, have[old].get('Id')) for new, old in repoint.items() if have[old].get('Id'))
    objects = dict((o['name'].lower(), o) for o in res.ctx.get('objects') or () if o['type'] in ('Datastore', 'StoragePod'))
    if platform == 'vmware':
        listed = _xml.sub(details, 'Datastores')
        for item in items:
            old = have.get(item['datastore'].lower())
            el = _xml.sub(listed, 'Datastore', attrib=_item_id(old, moved, item['datastore']))
            obj = objects.get(item['datastore'].lower())
            ref = obj['ref'] if obj else _xml.findtext(old, 'Reference')
            _sub(el, 'FriendlyName', item['friendly_name'])
            _sub(el, 'DatastoreType', obj['type'] if obj else _xml.findtext(old, 'DatastoreType'))
            _sub(el, 'Reference', ref)
            if old is not None:
                _sub(el, 'RootPath', _xml.findtext(old, 'RootPath'))
            _sub(el, 'QuotaGb', str(item['quota_gb']))
    else:
        listed = _xml.sub(details, 'Volumes')
        for item in items:
            el = _xml.sub(listed, 'Volume', attrib=_item_id(have.get(item['volume'].lower()), moved, item['volume']))
            _sub(el, 'FriendlyName', item['friendly_name'])
            _sub(el, 'VolumePath', item['volume'])
            _sub(el, 'QuotaGb', str(item['quota_gb']))


def _item_id(old, moved, name):
    """The ``@Id`` attribute of a storage item sent: the one EM holds, the one of the item it replaces, or none."""
    ident = old.get('Id') if old is not None else moved.get(name.lower())
    return {'Id': ident} if ident else {}


class StorageField(Custom):
    """A plan's storage list. Items that must go (and that no added item replaces, ``storage_change``) are removed
    by a PUT of their own first, which leaves out just them and changes nothing else: an EM that merges the list
    keeps them, changes nothing, and the run stops there, saying why, before anything else is sent."""

    owner = None   # the resource, set below

    def child_writes(self, record_id, current, wanted, params, context):
        if self.same(current, wanted, params):
            return False, []
        res = self.owner
        entity = res.ctx.get('entity')
        platform = _details(entity)[1] if entity is not None else None
        if platform is None:
            return True, []
        key = STORE_KEY[platform]
        _moves, left = storage_change(current, wanted, key)
        if not left:
            return True, []
        kept = [dict(c) for c in current if (c[key] or '').lower() not in left]
        body = _plan_write(res, res.edit_root, {'storage': kept}, ['storage'], entity)
        names = [c[key] for c in current if (c[key] or '').lower() in left]

        def check(client):
            after = _plan_read(res, client.get(record_id, params=res.get_params))
            still = [s[key] for s in after.get('storage') or () if (s[key] or '').lower() in left]
            if still:
                err = VeeamEmError(
                    'storage: EM kept the %s %s after an edit of the hardware plan %r that left %s out: this EM merges '
                    'the storage list it is sent, and its API has no other way to remove one (no DELETE for a '
                    'plan\'s %s); nothing was changed. Remove %s in the Veeam Backup & Replication console, or list '
                    '%s again' % (key, ', '.join(repr(n) for n in still), entity.get('Name'),
                                  'it' if len(still) == 1 else 'them', key, 'it' if len(still) == 1 else 'them',
                                  'it' if len(still) == 1 else 'them'))
                err.written = False
                raise err
        label = 'removal of %s %s' % (key, ', '.join(names))
        in_put = not self.same(kept, wanted, params)
        if not in_put:   # that PUT is the whole change of the list: a PUT of other settings sends the list it leaves
            res.ctx['storage_after'] = kept
        return in_put, [ChildWrite('PUT', record_id, body, res.edit_params, label, first=True, check=check)]


HARDWARE_PLAN = CloudResource(
    name='cloud_hardware_plan', noun='hardware plan', result_key='hardware_plan', info_key='hardware_plans',
    collection='cloud/hardwarePlans', item='cloud/hardwarePlans/{id}',
    entity_root='CloudHardwarePlan', create_root='CloudHardwarePlanCreateSpec', edit_root='CloudHardwarePlan',
    writer=_plan_write, reader=_plan_read, prepare=_plan_prepare, check=_plan_check, settle=_plan_settle,
    created_type='CloudHardwarePlan',   # the page's link says CloudGateway (copied): then the plan is found by name
    answers=dict(ANSWERS, edit=ANSWERS['edit'] % 'plan',
                 delete='a task, which fails while tenants subscribe to the plan (EM names them)'),
    identity=Identity('@UID', ('name',), id_doc='The UUID (or UID) of the plan, as C(cloud_info) returns it.'),
    returns=[('id', 'str', "The plan's id.", '0d4fd0a8-1b0e-5e4c-9f3b-2b1d5b8f7c11'),
             ('backup_server', 'str', 'Its backup server.', 'vbr01'),
             ('name', 'str', 'Its name.', 'Silver VMware'),
             ('description', 'str', 'Its description.', 'Replicas of small tenants'),
             ('platform', 'str', 'C(vmware) or C(hyperv).', 'vmware'),
             ('host', 'str', 'The host or cluster the replicas run on.', 'Cluster01'),
             ('cpu_mhz', 'raw', 'The CPU limit in MHz, or C(unlimited).', 4000),
             ('memory_mb', 'raw', 'The memory limit in MB, or C(unlimited).', 8192),
             ('storage', 'list', 'The datastores (or volumes) with their quotas, sorted.',
              [{'datastore': 'datastore1', 'quota_gb': 500, 'friendly_name': 'Silver datastore'}]),
             ('networks', 'dict', 'The network counts.', {'with_internet': 1, 'without_internet': 1})],
    fields=[
        Field('name', 'Name', entity='@Name', access='key', doc='The name of the plan; unique on its backup server.'),
        Field('description', 'Description', doc='The description EM shows.'),
        Custom('platform', {'type': 'str', 'choices': list(PLATFORMS)}, (
            'C(vmware) (a vSphere plan, with datastores) or C(hyperv) (with volumes). Needed to create a plan unless '
            'O(host) names a host or cluster of one platform only; EM cannot change it afterwards: a different '
            'value fails before any write.'), access='create', fixed=True),
        Custom('host', {'type': 'str'}, (
            'The host or cluster the tenants\' replicas run on, by name (or hierarchy reference), found with EM\'s '
            'lookup service on the hierarchy roots of O(backup_server). A name that does not resolve fails before '
            'any write, listing those that exist.'), required=True),
        Custom('cpu_mhz', {'type': 'raw'}, (
            'The CPU all replicas of a tenant may use, in MHz, or C(unlimited). A new plan is unlimited when left '
            'out.'), create_default=UNLIMITED),
        Custom('memory_mb', {'type': 'raw'}, (
            'The memory all replicas of a tenant may use, in MB, or C(unlimited). A new plan is unlimited when left '
            'out.'), create_default=UNLIMITED),
        StorageField('storage', {'type': 'list', 'elements': 'dict'}, (
            'The storage quotas: on vSphere a list of C({datastore, quota_gb, friendly_name}), C(datastore) being '
            'the name of a datastore or datastore cluster (found with the lookup service); on Hyper-V a list of '
            'C({volume, quota_gb, friendly_name}), C(volume) being a folder path. Items are matched by datastore or '
            'volume (never by EM\'s ids), in any order; the list replaces the plan\'s storage. An added item takes '
            'the place of a removed one (EM\'s item keeps its id, with the new datastore or volume); removing more '
            'items than are added takes an edit of its own first, which leaves out just those. EM\'s pages do not '
            'say whether an edit replaces the list or merges it into the plan\'s; an EM that merges keeps the items '
            'left out, and has no other way to remove one: then that first edit changes nothing and the module fails, '
            'saying so, before anything else is sent. A left-out C(friendly_name) keeps the one EM shows (the '
            'datastore name or path on a new item).'), required=True),
        Custom('networks', {'type': 'dict'}, (
            'The number of networks, C({with_internet, without_internet}), given to the tenants\' replicas. EM '
            'sets them when the plan is created and cannot change them: a different count on an existing plan '
            'fails before any write, naming this option.'), access='create', fixed=True),
    ],
)

HARDWARE_PLAN.by_option['storage'].owner = HARDWARE_PLAN

RESOURCES = (HARDWARE_PLAN, GATEWAY, GATEWAY_POOL)


# ---------------------------------------------------------------------------- cloud_info

SUBSETS = ('hardware_plans', 'gateways', 'gateway_pools', 'wan_accelerators', 'public_ip_addresses', 'vlans')
BY_SUBSET = {'hardware_plans': HARDWARE_PLAN, 'gateways': GATEWAY, 'gateway_pools': GATEWAY_POOL}


def _wan(entity, server):
    text = dict((k, _xml.findtext(entity, e)) for k, e in (
        ('description', 'Description'), ('version', 'Version'), ('cache_path', 'CachePath')))
    return dict(text, id=parse_id(entity.get('UID') or '', None), uid=entity.get('UID'), name=entity.get('Name'),
                backup_server=server, capacity_gb=_int(_xml.findtext(entity, 'Capacity')),
                traffic_port=_int(_xml.findtext(entity, 'TrafficPort')),
                connections=_int(_xml.findtext(entity, 'ConnectionsCount')),
                high_bandwidth=_xml.findtext(entity, 'HighBandwidthModeEnabled') == 'true')


def _public_ip(entity, server):
    return {'id': parse_id(entity.get('UID') or '', None) if entity.get('UID') else None, 'uid': entity.get('UID'),
            'backup_server': server, 'ip_address': _xml.findtext(entity, 'IpAddress')}


def _vlan(entity, server):
    out = {'id': parse_id(entity.get('UID') or '', None) if entity.get('UID') else None, 'uid': entity.get('UID'),
           'name': entity.get('Name'), 'backup_server': server}
    for el in entity:
        if isinstance(el.tag, str) and _xml.localname(el.tag) != 'Links' and len(el) == 0:
            out[_xml.localname(el.tag)] = el.text
    return out


# the XSD's list children (CloudPublicIp, Vlans) differ from the entity roots: either is read
READ_ONLY = {'wan_accelerators': ('wanAccelerators', ('WanAccelerator',), _wan),
             'public_ip_addresses': ('cloud/publicIpAddresses', ('CloudPublicIpAddress', 'CloudPublicIp'), _public_ip),
             'vlans': ('cloud/vlans', ('VlanConfiguration', 'Vlans'), _vlan)}


def _server_of(entity, servers):
    """The name of the backup server an entity belongs to (its Up link, or a BackupServerUid attribute)."""
    for sid, name in servers:
        if on_server(entity, sid) or parse_id(entity.get('BackupServerUid') or '', None) == sid:
            return name
    return None


def gather(client, subsets, server_name=None):
    """``{subset: [entries]}``; the resource subsets in their module's option shape, so that they round-trip."""
    probe_cloud(client)
    servers = backup_servers(client, server_name)
    out = {}
    for subset in subsets:
        entries = []
        if subset in BY_SUBSET:
            res = BY_SUBSET[subset]
            for sid, name in servers:
                res.ctx = {'params': {'backup_server': name}, 'wanted': {}, 'server_id': None}
                entries += [res.view(e, None, name) for e in res.list(client, sid)]
            entries.sort(key=lambda v: (v['backup_server'] or '', (v['name'] or '').lower()))
        else:
            path, roots, shape = READ_ONLY[subset]
            listed = client.get(path, params={'format': 'Entity'})
            for entity in listed.iter(*[_xml.qname(r) for r in roots]):
                name = _server_of(entity, servers)
                if name is not None:
                    entries.append(shape(entity, name))
        out[subset] = entries
    return out
