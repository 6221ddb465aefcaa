# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Project rules that no single module test would catch."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import glob
import os
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')))


def test_only_the_client_imports_requests():
    offenders = []
    for path in glob.glob(os.path.join(ROOT, 'plugins', '**', '*.py'), recursive=True):
        if path.endswith('_client.py'):
            continue
        with open(path) as f:
            if any(line.strip().startswith(('import requests', 'from requests')) for line in f):
                offenders.append(path)
    assert offenders == []


def test_action_group_holds_every_module_sorted():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as f:
        runtime = yaml.safe_load(f)
    assert runtime['action_groups']['em'] == MODULES


def test_every_module_has_an_end_to_end_test():
    tests = ''
    for path in glob.glob(os.path.join(ROOT, 'tests', 'e2e', 'test_*.py')):
        with open(path) as f:
            tests += f.read()
    for name in MODULES:
        assert 'veeam_em.core.%s' % name in tests, name


def test_generated_docs_match_the_declarations():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'hacking', 'render_docs.py'), '--check'],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _render_docs(root, *args):
    return subprocess.run([sys.executable, os.path.join(root, 'hacking', 'render_docs.py')] + list(args),
                          capture_output=True, text=True, check=False)


def test_docs_generator_names_a_stale_file_and_rewrites_it(tmp_path):
    copy = tmp_path / 'ansible_collections' / 'veeam_em' / 'core'
    for part in ('hacking', 'plugins'):
        shutil.copytree(os.path.join(ROOT, part), str(copy / part))
    module = copy / 'plugins' / 'modules' / 'credential.py'
    original = module.read_text()
    stale = original.replace("'The id of the record (a UUID)", "'The id of a record")
    assert stale != original
    module.write_text(stale)
    fragment = copy / 'plugins' / 'doc_fragments' / 'resource_wait.py'
    fragment.write_text(fragment.read_text().replace('default: 900', 'default: 9'))

    proc = _render_docs(str(copy), '--check')
    assert proc.returncode == 1
    assert 'plugins/doc_fragments/resource_wait.py' in proc.stdout and 'plugins/modules/credential.py' in proc.stdout
    assert 'plugins/modules/job.py' not in proc.stdout

    module.write_text(original.replace('  # END credential notes\n', ''))
    proc = _render_docs(str(copy), '--check')
    assert proc.returncode == 1 and "'credential notes' has no '# END credential notes'" in proc.stdout

    module.write_text(original.replace('  - veeam_em.core.resource_wait\n', ''))
    proc = _render_docs(str(copy), '--check')
    assert proc.returncode == 1 and 'credential.py: extends_documentation_fragment lacks veeam_em.core.resource_wait' in proc.stdout

    module.write_text(stale)
    assert _render_docs(str(copy)).returncode == 0
    assert module.read_text() == original and 'default: 900' in fragment.read_text()
    assert _render_docs(str(copy), '--check').returncode == 0


def test_user_agent_and_version_added_follow_the_collection_version():
    from ansible_collections.veeam_em.core.plugins.module_utils import _client
    with open(os.path.join(ROOT, 'galaxy.yml')) as f:
        version = yaml.safe_load(f)['version']
    assert _client.COLLECTION_VERSION == version
    for name in MODULES:
        with open(os.path.join(ROOT, 'plugins', 'modules', name + '.py')) as f:
            added = [line.split(':', 1)[1].strip() for line in f if line.startswith('version_added:')]
        assert added and _v(added[0]) <= _v(version), name


def _v(text):
    return tuple(int(part) for part in str(text).split('.'))
