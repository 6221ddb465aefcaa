# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""Backup servers and repositories: one paged query each, decoded into plain dicts."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import fnmatch
import re

from ansible_collections.veeam_em.core.plugins.module_utils import _xml
from ansible_collections.veeam_em.core.plugins.module_utils._client import quote_filter_value

_GLOB = set('*?[')
_REPOSITORY_HREF = re.compile(r'/repositories/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?:[?#]|$)')


def _int(text):
    try:
        return int(text) if text not in (None, '') else None
    except ValueError:
        return None


def _id(uid):
    return uid.rsplit(':', 1)[-1].lower() if uid else None


def up_name(entity, type_prefix='BackupServer'):
    """Name on the entity's Up link to its backup server."""
    for link in _xml.findall(entity, 'Links/Link'):
        if link.get('Rel') == 'Up' and (link.get('Type') or '').startswith(type_prefix):
            return link.get('Name')
    return None


def name_filter(name, field='Name'):
    """A query filter for an exact name; None for a pattern (matched afterwards) or no name."""
    if not name or _GLOB & set(name):
        return None
    return '%s==%s' % (field, quote_filter_value(name))


def name_matches(value, pattern):
    return not pattern or fnmatch.fnmatchcase(value or '', pattern)


def backup_server(entity):
    return {
        'name': entity.get('Name'),
        'id': _id(entity.get('UID')),
        'uid': entity.get('UID'),
        'description': _xml.findtext(entity, 'Description') or '',
        'port': _int(_xml.findtext(entity, 'Port')),
        'version': _xml.findtext(entity, 'Version'),
    }


def repository(entity):
    return {
        'name': entity.get('Name'),
        'id': _id(entity.get('UID')),
        'uid': entity.get('UID'),
        'backup_server': up_name(entity),
        'kind': _xml.findtext(entity, 'Kind'),
        'capacity': _int(_xml.findtext(entity, 'Capacity')),
        'free_space': _int(_xml.findtext(entity, 'FreeSpace')),
    }


def list_backup_servers(client, name=None):
    found = client.query('BackupServer', filter=name_filter(name), fmt='Entities')
    servers = [backup_server(e) for e in found if name_matches(e.get('Name'), name)]
    return sorted(servers, key=lambda s: s['name'] or '')


def list_repositories(client, name=None, server=None):
    parts = [p for p in (name_filter(name), name_filter(server, 'BackupServerName')) if p]
    found = client.query('Repository', filter=';'.join(parts) or None, fmt='Entities')
    repos = [repository(e) for e in found if name_matches(e.get('Name'), name)]
    if server:
        repos = [r for r in repos if (r['backup_server'] or '').lower() == server.lower()]
    return sorted(repos, key=lambda r: (r['backup_server'] or '', r['name'] or ''))


def job_repositories(client, job_uid, server=None):
    """The repositories that hold a job's backups: ``[{'name', 'id', 'uid'}]``, one per repository.

    The v1_7 Job entity does not name its repository; EM shows it on the job's ``Backup`` entities, each
    linked Up to its repository (``RepositoryReference``). A job that never ran has no backup: ``[]``.
    """
    found = client.query('Backup', filter='JobUid==%s' % quote_filter_value(job_uid), fmt='Entities')
    repos = {}
    for backup in found:
        if server and (up_name(backup) or '').lower() != server.lower():
            continue
        for link in _xml.findall(backup, 'Links/Link'):
            if link.get('Rel') != 'Up' or not (link.get('Type') or '').startswith('Repository'):
                continue
            m = _REPOSITORY_HREF.search(link.get('Href') or '')
            if m:
                rid = m.group(1).lower()
                repos[rid] = {'name': link.get('Name'), 'id': rid, 'uid': 'urn:veeam:Repository:%s' % rid}
    return sorted(repos.values(), key=lambda r: (r['name'] or '', r['id']))
