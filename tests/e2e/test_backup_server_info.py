# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veeam_em.core.backup_server_info against the emulator."""

from __future__ import (absolute_import, division, print_function)

from conftest import run_tasks


def test_backup_server_info(em):
    run = run_tasks(em, [
        {'veeam_em.core.backup_server_info': {}},
        {'veeam_em.core.backup_server_info': {'name': 'vbr02'}},
        {'veeam_em.core.backup_server_info': {'name': 'vbr*'}},
        {'veeam_em.core.backup_server_info': {'name': 'nothing*'}},
    ])
    everything, one, pattern, none = run.results
    assert [s['name'] for s in everything['backup_servers']] == ['vbr01', 'vbr02']
    for server in everything['backup_servers']:
        assert set(server) == {'name', 'id', 'uid', 'description', 'port', 'version'}
        assert server['uid'] == 'urn:veeam:BackupServer:%s' % server['id']
        assert isinstance(server['port'], int) and server['version']
    assert [s['name'] for s in one['backup_servers']] == ['vbr02']
    assert pattern['backup_servers'] == everything['backup_servers']
    assert none['backup_servers'] == [] and not none.get('failed')
    assert all(r['changed'] is False for r in run.results)
    assert not [e for e in run.log if e['method'] != 'GET' and '/logonSessions/' not in e['path']
                and '/sessionMngr' not in e['path']]
