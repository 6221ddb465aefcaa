# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veeam_em.core.repository_info against the emulator."""

from __future__ import (absolute_import, division, print_function)

from conftest import run_tasks


def test_repository_info(em):
    run = run_tasks(em, [
        {'veeam_em.core.repository_info': {}},
        {'veeam_em.core.repository_info': {'backup_server': 'vbr01'}},
        {'veeam_em.core.repository_info': {'name': 'Backup Volume*'}},
    ])
    everything, vbr01, pattern = run.results
    names = sorted((r['backup_server'], r['name']) for r in everything['repositories'])
    assert names == [('vbr01', 'Backup Volume 01'), ('vbr01', 'Default Backup Repository'),
                     ('vbr02', 'Default Backup Repository')]
    for repo in everything['repositories']:
        assert repo['uid'].startswith('urn:veeam:Repository:')
        assert repo['capacity'] >= repo['free_space'] >= 0
    assert {r['backup_server'] for r in vbr01['repositories']} == {'vbr01'}
    assert [r['name'] for r in pattern['repositories']] == ['Backup Volume 01']
