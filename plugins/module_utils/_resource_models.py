# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""The declarations of the backup-server resources: credentials records, encryption passwords, backup servers.

Each is data for ``_resource``: fields in the schema order of its create and
edit bodies (``CredentialsInfoSpec``/``CredentialsInfo``, ``PasswordKeyInfoSpec``,
``BackupServerSpec``), URLs, identity and answers, as em-api-cloud.md sections
4 to 6 give them.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.veeam_em.core.plugins.module_utils._client import quote_filter_value
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError
from ansible_collections.veeam_em.core.plugins.module_utils._infra import list_backup_servers, name_filter
from ansible_collections.veeam_em.core.plugins.module_utils._resource import (
    Field, Identity, Parent, Resource, close_names,
)

USERNAME_MAX = 255  # EM's table holds 255 characters; a longer one is accepted and then breaks collection


def resolve_backup_server(client, name):
    """A backup server name -> ``(uuid, name as EM spells it)``; unknown names fail naming the option."""
    servers = list_backup_servers(client)
    found = [s for s in servers if (s['name'] or '').lower() == name.lower() or s['id'] == name.lower()]
    if len(found) == 1:
        return found[0]['id'], found[0]['name']
    names = [s['name'] for s in servers if s['name']]
    close = close_names(name, names)
    raise ValidationError('backup_server: no backup server %r in EM; %s' % (
        name, ('close names: %s' % ', '.join(sorted(set(close)))) if close else
        'known: %s' % (', '.join(names) or 'none')), option='backup_server')


def backup_servers(client, name=None):
    """``[(uuid, name)]`` of one backup server (by name) or of all of them."""
    if name:
        return [resolve_backup_server(client, name)]
    return [(s['id'], s['name']) for s in list_backup_servers(client)]


ON_SERVER = ('backup_server', 'str', 'The backup server that holds it.', 'vbr01')
BACKUP_SERVER_PARENT = Parent('backup_server', resolve_backup_server,
                              'The name of the backup server (as EM lists it) that holds the record.')

CREDENTIAL = Resource(
    name='credential', noun='credentials record', result_key='credential',
    collection='backupServers/{parent}/credentials', item='backupServers/{parent}/credentials/{id}',
    parent=BACKUP_SERVER_PARENT,
    entity_root='CredentialsInfo', create_root='CredentialsInfoSpec', edit_root='CredentialsInfo',
    edit_identity=('@Href', '@Type', 'Id'),
    answers={'create': '201 and no body, so the new record is found by listing the records again', 'edit': '204',
             'delete': '204, or a refusal while a job uses the record'},
    identity=Identity('Id', ('credential_username', 'description'), id_doc=(
        'The id of the record (a UUID), for a username that several records share; with it, '
        'O(credential_username) may change the record\'s username.')),
    returns=[('id', 'str', "The record's id.", '9a8fb433-cacd-4089-a97e-437e99f128bc'), ON_SERVER,
             ('credential_username', 'str', 'Its username.', 'CORP\\svc_guest'),
             ('description', 'str', 'Its description.', 'Guest processing')],
    fields=[
        Field('credential_username', 'Username', max_length=USERNAME_MAX, casefold=True, doc=(
            'The account, C(DOMAIN\\user) or C(user), compared case-insensitively. With O(description) it names '
            'the record: where several records hold this username, the one with this description is meant. '
            'At most 255 characters.')),
        Field('description', 'Description', doc=(
            'The description. On a username that only one record holds, a new description is an edit of that '
            'record, not a new one.')),
        Field('credential_password', 'Password', entity=None, secret=True, doc=(
            'The password of the account. EM never shows it; see O(update_password). An empty string is refused.')),
    ],
)

ENCRYPTION_PASSWORD = Resource(
    name='encryption_password', noun='encryption password', result_key='encryption_password',
    collection='backupServers/{parent}/passwords', item='backupServers/{parent}/passwords/{id}',
    parent=BACKUP_SERVER_PARENT,
    entity_root='PasswordKeyInfo', create_root='PasswordKeyInfoSpec', edit_root='PasswordKeyInfoSpec',
    answers={'create': '201 or 202 and no body (or a task), so the new record is found by listing the records again',
             'edit': '204', 'delete': '204, or a refusal while a job uses the password'},
    identity=Identity('Id', ('hint',), id_doc=(
        'The id of the password (a UUID), for a hint that several passwords share; with it, O(hint) may change.')),
    returns=[('id', 'str', "The record's id.", 'c473b8df-4499-41b8-ba6b-7f76def6fea1'), ON_SERVER,
             ('hint', 'str', 'Its hint.', 'Offsite copies 2026'),
             ('last_modified', 'str', 'When EM last changed it, as EM writes it.', '2026-01-12T09:30:00Z')],
    fields=[
        Field('hint', 'Hint', doc=(
            'The hint that names the password; the only thing EM lets an edit change.')),
        Field('key_password', 'Password', entity=None, access='create', secret=True, required=True, doc=(
            'The encryption password, needed to create the record. EM never shows it and cannot change it: on an '
            'existing record it is ignored under O(update_password=on_create), and under O(update_password=always) '
            'the module fails before any write, since a new password means a new record. An empty string is '
            'refused.')),
        Field('last_modified', 'LastModificationDate', access='ro'),
    ],
)


def _find_backup_servers(client, name):
    """Backup server entities that ``name`` (the address EM connects to, or EM's name) names; all when None."""
    if not name:
        return client.query('BackupServer', fmt='Entities')
    found = client.query('BackupServer', filter='IpOrDnsName==%s' % quote_filter_value(name), fmt='Entities')
    if not found:
        found = [e for e in client.query('BackupServer', filter=name_filter(name), fmt='Entities')
                 if (e.get('Name') or '').lower() == name.lower()]
    return found


def _server_extra(entity):
    return {'uid': entity.get('UID'), 'em_name': entity.get('Name'),
            'version': next((c.text for c in entity if isinstance(c.tag, str) and c.tag.endswith('}Version')), None)}


BACKUP_SERVER = Resource(
    name='backup_server', noun='backup server', result_key='backup_server',
    collection='backupServers', item='backupServers/{id}', get_params={'format': 'Entity'},
    entity_root='BackupServer', create_root='BackupServerSpec', edit_root='BackupServerSpec',
    lister=_find_backup_servers, view_extra=_server_extra,
    answers={'create': '201 or 202 and no body (or a task), so the new server is found by its address',
             'edit': '204', 'delete': '204 (EM forgets the server; the server itself is untouched)'},
    identity=Identity('@UID', ('name',), id_option=None),
    returns=[('id', 'str', 'Its UUID.', '45f83a0f-6939-5133-9b79-cd7c5a8c93df'),
             ('description', 'str', 'Its description.', 'Branch office backup server'),
             ('name', 'str', 'The address EM connects to, as given.', 'vbr03.example.com'),
             ('server_port', 'int', 'The port EM reaches it on.', 9392),
             ('uid', 'str', 'Its UID.', 'urn:veeam:BackupServer:45f83a0f-6939-5133-9b79-cd7c5a8c93df'),
             ('em_name', 'str', 'The name EM lists it under: what jobs\' Up links and the C(backup_server) option of '
                                'other modules use.', 'vbr03'),
             ('version', 'str', 'Its Veeam Backup & Replication version.', '13.0.1.1071')],
    fields=[
        Field('description', 'Description', create_default='', doc='The description EM shows for the server.'),
        Field('name', 'DnsNameOrIpAddress', entity=None, access='key', doc=(
            'The DNS name or address EM connects to (C(DnsNameOrIpAddress)); it names the server. EM never shows '
            'it, so the server is found with the query field C(IpOrDnsName), or else by the name EM lists it '
            'under.')),
        Field('server_port', 'Port', entity='Port', kind='int', minimum=1, maximum=65535, create_default=9392, doc=(
            'The port EM reaches the backup server on (9392 when it is registered and the option is left out).')),
        Field('server_username', 'Username', entity=None, secret=True, no_log=False, required=True, doc=(
            'The account EM connects with. EM never shows it, so it is sent with O(server_password), under '
            'O(update_password); both are needed to register a server.')),
        Field('server_password', 'Password', entity=None, secret=True, required=True, doc=(
            'The password of O(server_username). EM never shows it; see O(update_password). An empty string is '
            'refused.')),
    ],
)

RESOURCES = (CREDENTIAL, ENCRYPTION_PASSWORD, BACKUP_SERVER)
