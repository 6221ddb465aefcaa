# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a clone's backups go: the repository named, else the one the source job's backup links (issue 12 #4)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.veeam_em.core.plugins.module_utils import _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError
from ansible_collections.veeam_em.core.plugins.module_utils._infra import job_repositories
from ansible_collections.veeam_em.core.plugins.module_utils._jobs import clone_repository

NS = 'http://www.veeam.com/ent/v1.0'
JOB_UID = 'urn:veeam:Job:5658281f-625e-4627-89dd-d2a0c48be99e'
VOL = 'b8832f03-2c9e-4222-8d0b-e43e0c912f93'
DEFAULT = '0f0e0d0c-0b0a-4909-8807-060504030201'


def backup(repo_id, repo_name, server='vbr01'):
    """A Backup entity as backups_id.md shows it: Up repository, Up server, Alternate, then Platform/BackupType."""
    return _xml.parse((
        '<Backup xmlns="%s" Type="Backup" Name="DB Backup" UID="urn:veeam:Backup:c213fbfa-7b9e-4772-9ddc-3ecbdcc3fc70" '
        'Href="https://em:9398/api/backups/c213fbfa-7b9e-4772-9ddc-3ecbdcc3fc70?format=Entity"><Links>'
        '<Link Href="https://em:9398/api/repositories/%s" Name="%s" Type="RepositoryReference" Rel="Up"/>'
        '<Link Href="https://em:9398/api/backupServers/8c88c6d6-931f-4044-8c0b-7a0c5f188b00" Name="%s" '
        'Type="BackupServerReference" Rel="Up"/>'
        '<Link Href="https://em:9398/api/backups/c213fbfa-7b9e-4772-9ddc-3ecbdcc3fc70" Name="DB Backup" '
        'Type="BackupReference" Rel="Alternate"/></Links><Platform>VMware</Platform><BackupType>Standard</BackupType>'
        '</Backup>' % (NS, repo_id, repo_name, server)).encode())


def repository(repo_id, name, server='vbr01'):
    return _xml.parse((
        '<Repository xmlns="%s" Type="Repository" Name="%s" UID="urn:veeam:Repository:%s" '
        'Href="https://em:9398/api/repositories/%s?format=Entity"><Links>'
        '<Link Href="https://em:9398/api/backupServers/x" Name="%s" Type="BackupServerReference" Rel="Up"/></Links>'
        '<Capacity>1</Capacity><FreeSpace>1</FreeSpace><Kind>WindowsLocal</Kind></Repository>'
        % (NS, name, repo_id, repo_id, server)).encode())


class FakeClient:
    """The query service over fixed entities; records each query."""

    def __init__(self, backups):
        self.backups = backups
        self.repositories = [repository(VOL, 'Backup Volume 01'), repository(DEFAULT, 'Default Backup Repository')]
        self.queries = []

    def query(self, qtype, filter=None, fmt='Entities', page_size=None):  # pylint: disable=redefined-builtin
        self.queries.append((qtype, filter, fmt))
        return list(self.backups if qtype == 'Backup' else self.repositories)


SOURCE = {'name': 'DB Backup', 'uid': JOB_UID, 'job_type': 'Backup', 'backup_server': 'vbr01'}


def test_the_source_backups_repository_is_the_default():
    client = FakeClient([backup(VOL, 'Backup Volume 01'), backup(VOL.upper(), 'Backup Volume 01'),
                         backup(DEFAULT, 'Default Backup Repository', server='vbr02')])
    assert job_repositories(client, JOB_UID, 'vbr01') == [
        {'name': 'Backup Volume 01', 'id': VOL, 'uid': 'urn:veeam:Repository:' + VOL}]
    assert client.queries == [('Backup', 'JobUid=="%s"' % JOB_UID, 'Entities')], 'entities: refs show no repository'
    assert clone_repository(client, None, SOURCE)['uid'] == 'urn:veeam:Repository:' + VOL


def test_a_source_without_backup_asks_for_the_repository():
    client = FakeClient([])
    with pytest.raises(ValidationError) as exc:
        clone_repository(client, None, SOURCE)
    assert exc.value.option == 'clone_from.repository' and 'no backup yet' in exc.value.msg
    assert 'Backup Volume 01, Default Backup Repository' in exc.value.msg


def test_backups_in_two_repositories_ask_for_the_repository():
    client = FakeClient([backup(VOL, 'Backup Volume 01'), backup(DEFAULT, 'Default Backup Repository')])
    with pytest.raises(ValidationError) as exc:
        clone_repository(client, None, SOURCE)
    assert 'several repositories (Backup Volume 01, Default Backup Repository)' in exc.value.msg


def test_a_named_repository_wins_and_is_never_guessed():
    client = FakeClient([backup(VOL, 'Backup Volume 01')])
    assert clone_repository(client, 'Default Backup Repository', SOURCE)['uid'] == 'urn:veeam:Repository:' + DEFAULT
    assert [q[0] for q in client.queries] == ['Repository'], 'the backups are not read when the option names one'
    with pytest.raises(ValidationError) as exc:
        clone_repository(client, 'default backup repository', SOURCE)
    assert exc.value.option == 'clone_from.repository'


def test_a_repository_link_that_is_not_a_repository_id_is_ignored():
    odd = backup(VOL, 'Backup Volume 01')
    link = odd.find('{%s}Links/{%s}Link' % (NS, NS))
    link.set('Href', 'https://em:9398/api/repositories/not-a-guid')
    assert job_repositories(FakeClient([odd]), JOB_UID) == []
