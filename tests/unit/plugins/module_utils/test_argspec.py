# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The quick check of the ``jobs`` entries against ansible's own validation of the whole spec.

Each case builds the module twice from the same arguments, once with ``quick_lists=('config',)`` (as ``jobs``
does) and once without (every entry validated by ansible against the whole entry spec, as before the quick
check), and compares what a module run sees: the failure message, or the validated entries value for value,
type for type and key order for key order.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.veeam_em.core.plugins.module_utils import _argspec
from ansible_collections.veeam_em.core.plugins.module_utils._bulk import argument_spec
from ansible_collections.veeam_em.core.plugins.module_utils._module import VeeamEmModule

UUID = '5b6ad8c5-a4f0-4b0a-8d3f-000000000001'


def build(args, quick):
    """``(module or None, failure message or None)`` of VeeamEmModule built as ``jobs`` builds it."""
    args = dict({'server': 'em.example.test', 'username': 'admin', 'password': 'pw-CANARY-unit'}, **args)
    old = basic._ANSIBLE_ARGS
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core >= 2.19
    except ImportError:
        patch_module_args = None
    failed = {}

    def fail_json(self, **kwargs):
        failed.update(kwargs)
        raise SystemExit(1)

    original = basic.AnsibleModule.fail_json
    basic.AnsibleModule.fail_json = fail_json
    try:
        kwargs = dict(with_wait=True, supports_check_mode=True, quick_lists=('config',) if quick else ())
        if patch_module_args is not None:
            with patch_module_args(args):
                module = VeeamEmModule(argument_spec(), **kwargs)
        else:
            module = VeeamEmModule(argument_spec(), **kwargs)
    except SystemExit:
        return None, failed['msg']
    finally:
        basic._ANSIBLE_ARGS = old
        basic.AnsibleModule.fail_json = original
    return module, None


def typed(value):
    """The value with every leaf's type spelled out: True and 1 differ, and so does key order."""
    if isinstance(value, dict):
        return [(k, typed(v)) for k, v in value.items()]
    if isinstance(value, list):
        return ['list'] + [typed(v) for v in value]
    return (type(value).__name__, value)


# Entries that need no conversion: the quick check validates them itself.
QUICK = [
    [{'id': UUID, 'description': 'Generated job number 1'}],
    [{'name': 'SQL Backup', 'state': 'absent'}],
    [{'name': 'SQL Backup', 'backup_server': 'vbr01', 'schedule_enabled': False, 'description': ''}],
    [{'name': 'SQL Backup', 'schedule': {'daily': {'kind': 'selected_days', 'time': '22:30', 'days': ['monday', 'friday']},
                                         'retry': {'enabled': True, 'times': 3, 'wait_minutes': 10}}}],
    [{'name': 'SQL Backup', 'schedule': {'periodically': {'kind': 'hours', 'full_period': 4, 'window': {'monday': '8-17'}},
                                         'backup_window': {'enabled': True, 'sunday': ''}}}],
    [{'name': 'SQL Backup', 'gfs': {'enabled': True, 'weekly': {'enabled': False, 'keep': 4, 'day': 'sunday'},
                                    'yearly': {'month': 'june'}}, 'retention': {'type': 'days', 'days': 14}}],
    [{'name': 'SQL Backup', 'guest_processing': {'windows_indexing': {'mode': 'specified_folders', 'include': ['C:\\data']},
                                                 'app_aware': {'mode': 'disabled', 'copy_only': True},
                                                 'sql': {'retain_days': 0, 'use_db_backup_retention': False}}}],
    [{'name': 'Copy', 'clone_from': {'job': 'SQL Backup', 'repository': 'Backup Volume 01'}},
     {'name': 'Copy 2', 'clone_from': 'SQL Backup', 'state': 'present'}],
    [{'name': 'SQL Backup', 'description': None, 'schedule': None, 'clone_from': None, 'backup_server': None}],
    [{'name': None}],  # ansible counts the key for required_one_of; the job code refuses it later, as before
    [{'name': 'SQL Backup', 'retention': {'days': None, 'restore_points': 7}, 'schedule': {'daily': {'days': []}}}],
    [{'name': 'A', 'description': 'x'}, {'id': 'urn:veeam:Job:' + UUID, 'schedule': {'after_job': 'A'}}],
    [],
]

# Entries ansible must see: unknown keys, wrong types, conversions, choices, exclusive keys, None where a
# default or choices apply, entries that are not dicts, a config that is not a list.
SLOW = [
    [{'name': 'A', 'bogus': 1}],
    [{'name': 'A', 'schedule': {'daily': {'kind': 'everyday', 'bogus': True}}}],
    [{'name': 'A', 'schedule_enabled': 'maybe'}],
    [{'name': 'A', 'schedule_enabled': 'yes'}],
    [{'name': 'A', 'schedule_enabled': 1}],
    [{'name': 'A', 'retention': {'type': 'days', 'days': '14'}}],
    [{'name': 'A', 'retention': {'days': True}}],
    [{'name': 'A', 'retention': {'days': 3.0}}],
    [{'name': 'A', 'retention': {'days': 3.5}}],
    [{'name': 'A', 'retention': {'days': 'fourteen'}}],
    [{'name': 'A', 'description': 5}],
    [{'name': 'A', 'state': 'gone'}],
    [{'name': 'A', 'state': None}],
    [{'name': 'A', 'retention': {'type': None, 'days': 3}}],
    [{'name': 'A', 'schedule': {'daily': {'kind': 'sometimes'}}}],
    [{'name': 'A', 'schedule': {'daily': {'days': ['funday']}}}],
    [{'name': 'A', 'schedule': {'daily': {'days': 'monday,tuesday'}}}],
    [{'name': 'A', 'schedule': {'daily': {'days': ['monday', 5]}}}],
    [{'name': 'A', 'schedule': {'daily': {'kind': 'everyday'}, 'monthly': {'time': '01:00'}}}],
    [{'name': 'A', 'schedule': {'daily': None, 'monthly': {'time': '01:00'}}}],
    [{'name': 'A', 'retention': 'type=days, days=3'}],
    [{'name': 'A', 'retention': ['days']}],
    [{'name': 'A', 'id': UUID}],
    [{'name': None, 'id': UUID}],
    [{'description': 'no identity'}],
    ['name=A'],
    [5],
    [{'name': 'A'}, {'name': 'B', 'bogus': 1}],
    'name=A',
    {'name': 'A'},
    None,
]


@pytest.mark.parametrize('config', QUICK, ids=['quick%d' % i for i in range(len(QUICK))])
def test_quick_entries_equal_ansibles(config):
    full, full_error = build({'config': config}, quick=False)
    quick, quick_error = build({'config': config}, quick=True)
    assert full_error is None and quick_error is None, (full_error, quick_error)
    assert 'config' in quick._entries  # the quick check took these, not ansible
    assert typed(quick.entries('config')) == typed(full.params['config'])
    # every other option as ansible validated it
    assert dict(quick.params, config=None) == dict(full.params, config=None)
    # the result's invocation shows the entries as given, not padded with every option left out
    assert quick.params['config'] == config


@pytest.mark.parametrize('config', SLOW, ids=['slow%d' % i for i in range(len(SLOW))])
def test_other_entries_are_ansibles(config):
    full, full_error = build({'config': config}, quick=False)
    quick, quick_error = build({'config': config}, quick=True)
    assert quick_error == full_error
    if full_error is None:
        assert 'config' not in quick._entries
        assert typed(quick.entries('config')) == typed(full.params['config'])
        assert typed(quick.params['config']) == typed(full.params['config'])


@pytest.mark.parametrize('extra', [{'bogus_top': 1}, {'max_in_flight': 'many'}, {'request_timeout': 'slow'}, {'wait': 'perhaps'}])
@pytest.mark.parametrize('config', [[{'name': 'A'}], [{'name': 'A', 'bogus': 1}], [{'name': 'A', 'state': 'gone'}]])
def test_top_level_errors_are_ansibles(extra, config):
    """A bad option beside the entries (valid or not) fails with ansible's message, as before."""
    _full, full_error = build(dict(extra, config=config), quick=False)
    _quick, quick_error = build(dict(extra, config=config), quick=True)
    assert full_error is not None
    assert quick_error == full_error


def test_the_entry_spec_compiles():
    """Every option of the entry spec is one the quick check knows (else every run would take the slow path)."""
    assert _argspec.compile_list(argument_spec()['config']) is not None


@pytest.mark.parametrize('extra', [dict(aliases=['label']), dict(no_log=True), dict(type='float'),
                                   dict(type='dict'), dict(required_if=[('a', 1, ('b',))])])
def test_specs_it_does_not_know_go_to_ansible(extra):
    spec = dict(type='list', elements='dict', options=dict(name=dict({'type': 'str'}, **extra)))
    assert _argspec.compile_list(spec) is None
    assert _argspec.quick_list(None, [{'name': 'x'}]) is None
