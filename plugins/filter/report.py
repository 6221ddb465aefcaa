# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The reports the roles print: a drift report per EM host, and one summary line per EM host.

Both read a bulk module's result (``jobs``, ``cloud_tenants``): its per-entry list under ``key``, each entry
with ``name``, ``changed``, ``failed`` and, in diff mode, ``diff`` (``before`` and ``after``).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError


def _json(value):
    return json.dumps(value, sort_keys=False, default=str)


def _walk(prefix, before, after, lines):
    """One line per leaf that differs: ``  path: current -> declared``."""
    keys = list(before) + [k for k in after if k not in before]
    for key in keys:
        b, a = before.get(key), after.get(key)
        if isinstance(b, dict) and isinstance(a, dict):
            _walk(prefix + key + '.', b, a, lines)
        elif b != a:
            lines.append('  %s%s: %s -> %s' % (prefix, key, _json(b), _json(a)))


def _entries(result, key):
    if not isinstance(result, dict) or not isinstance(result.get(key), list):
        raise AnsibleFilterError('drift_report: expected a module result with a %r list' % key)
    return result[key]


def drift_report(result, key, check_mode=False):
    """Lines: a header, then per entry that changed its name (and tasks) and each setting that differs."""
    lines = ['Drift (check mode, nothing changed):' if check_mode else 'Changed:']
    for entry in _entries(result, key):
        if not entry.get('changed'):
            continue
        tasks = entry.get('tasks') or ([entry['task']] if entry.get('task') else [])
        ids = [str(t.get('id')) for t in tasks if isinstance(t, dict) and t.get('id')]
        lines.append(entry.get('name', '?') + (' [task %s]' % ', '.join(ids) if ids else ''))
        diff = entry.get('diff')
        if isinstance(diff, dict) and isinstance(diff.get('before'), dict) and isinstance(diff.get('after'), dict):
            _walk('', diff['before'], diff['after'], lines)
    return lines


def fleet_summary(hosts, hostvars, var, key, check_mode=False):
    """Lines: a header, then per host the entries that differ (and failed) there, or why it has no result."""
    hosts = list(hosts)
    lines = ['%s over %d EM hosts (%s):' % ('Drift' if check_mode else 'Changed', len(hosts), key)]
    for host in hosts:
        try:
            result = hostvars[host][var]
        except (KeyError, TypeError):
            result = None
        if not isinstance(result, dict) or not isinstance(result.get(key), list):
            why = (': %s' % result['msg']) if isinstance(result, dict) and result.get('msg') else \
                ' (failed or unreachable before the role ran, or exported)'
            lines.append('%s: not applied%s' % (host, why))
            continue
        changed = [e.get('name', '?') for e in result[key] if e.get('changed')]
        failed = [e.get('name', '?') for e in result[key] if e.get('failed')]
        lines.append('%s: %s%s' % (host, ', '.join(changed) if changed else 'no difference',
                                   ' (failed: %s)' % ', '.join(failed) if failed else ''))
    return lines


class FilterModule(object):
    def filters(self):
        return {'drift_report': drift_report, 'fleet_summary': fleet_summary}
