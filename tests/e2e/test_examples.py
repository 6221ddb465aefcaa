# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module's EXAMPLES run as written against the emulator, and a re-run changes nothing."""

from __future__ import (absolute_import, division, print_function)

import ast
import glob
import os

import pytest
import yaml

from conftest import ROOT, _note_secrets, run_tasks

EXAMPLE_SECRETS = ('vault_guest_password', 'vault_offsite_password', 'vault_vbr_password', 'vault_tenant_password',
                   'vault_subtenant_password')
MODULES = sorted(glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')))


def examples(path):
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', None) == 'EXAMPLES':
            return yaml.safe_load(node.value.value)
    return []


@pytest.mark.parametrize('path', MODULES, ids=[os.path.basename(p)[:-3] for p in MODULES])
def test_examples_run(em, path):
    tasks = examples(path)
    assert tasks, 'module has no EXAMPLES'
    extra = {'sql_job_id': em.job('SQL Backup')['id']}
    # The secrets the examples manage come from vault in real use; here they carry the sweep's canary.
    extra.update((name, 'pw-CANARY-example-%s' % name) for name in EXAMPLE_SECRETS)
    _note_secrets(*[{'password': extra[name]} for name in EXAMPLE_SECRETS])
    first = run_tasks(em, tasks, extra_vars=extra)
    for task, result in zip(tasks, first.results):
        assert not result.get('failed'), (task.get('name'), result.get('msg'))
    if 'job_run' in path:
        return  # running a job is an action, not a state: every run starts one
    again = [t for t in tasks if not t.get('check_mode')]
    second = run_tasks(em, again, extra_vars=extra)
    for task, result in zip(again, second.results):
        assert not result.get('failed'), (task.get('name'), result.get('msg'))
        assert result.get('changed') is False, (task.get('name'), result.get('diff'))
