# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Measure cloud_tenants (many tenants in one task) against the emulator and print the figures side by side.

Scenarios, all against one emulator with N generated tenants (--tenants N), per-request latency L:

  (a) cloud_tenants, no-op over all N tenants   (one task: one logon, one read of every tenant)
  (b) the same with a loop of cloud_tenant      (one task per tenant)
  (d) floor: one playbook with a single no-op cloud_tenant task

Each entry declares what its tenant holds (name, backup server, description, enabled, concurrent tasks, its quota in
GB, as read with cloud_tenant_info), so nothing is written.
For each: the requests the emulator saw and the writes among them, wall seconds, CPU seconds (ansible-playbook
and its module processes; wall-clock is noisy on a loaded machine, CPU less so), and the ratios to (d) and (b).
Targets: (a) <= 1.5x (d), and (a) >= 40x faster than (b).

(b) takes minutes for N=500; --loop-tenants K runs the loop over the first K tenants only and scales its
figures by N/K (the row says "estimated").

Usage (from the repository root, with ansible-core, requests, lxml and trustme):
  python3 benchmarks/cloud_tenants.py --tenants 500 --latency-ms 5
"""

from __future__ import (absolute_import, division, print_function)

import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bulk import Emu, collections_dir, playbook, run_playbook  # noqa: E402  pylint: disable=wrong-import-position

WRITES = ('PUT', 'POST', 'DELETE')
LABELS = {'a': '(a) cloud_tenants, no-op over N', 'b': '(b) loop of cloud_tenant, no-op', 'd': '(d) floor: one cloud_tenant'}


def generated_entries(emu, tmp):
    """Every generated tenant as a provider declares it, with what it holds now (so a run is a no-op): its backup
    server, description, state, concurrent tasks and quota in GB, read with cloud_tenant_info."""
    out = os.path.join(tmp, 'tenants.json')
    path = playbook(tmp, 'read', [{'veeam_em.core.cloud_tenant_info': {'name': 'Generated Tenant*'}, 'register': 'info'},
                                  {'ansible.builtin.copy': {'content': '{{ info.tenants | to_json }}', 'dest': out}}], emu)
    run_playbook(path, emu)
    with open(out) as f:
        tenants = json.load(f)
    entries = []
    for tenant in tenants:
        settings = tenant['settings']
        entries.append({'name': tenant['name'], 'backup_server': tenant['backup_server'],
                        'description': settings['description'], 'enabled': settings['enabled'],
                        'max_concurrent_tasks': settings['max_concurrent_tasks'],
                        'backup_resources': [{'repository': q['repository'], 'quota_gb': q['quota_mb'] // 1024}
                                             for q in settings['backup_resources']]})
    return sorted(entries, key=lambda e: e['name'])


def measure(emu, tmp, name, tasks):
    row = run_playbook(playbook(tmp, name, tasks, emu), emu)
    log = emu.api_log()
    row['writes'] = len([e for e in log if e['method'] in WRITES and '/sessionMngr' not in e['path']
                         and '/logonSessions/' not in e['path'] and not e['path'].startswith('/api/tasks/')])
    return row


def report(rows, opts):
    print('N=%d  L=%d ms' % (opts.tenants, opts.latency_ms))
    head = ('scenario', 'requests', 'writes', 'seconds', 'CPU s', 'x (d)', 'CPU x(d)', 'x (b)')
    print('%-50s %9s %6s %9s %8s %8s %8s %8s' % head)
    for key in ('a', 'b', 'd'):
        if key not in rows:
            continue
        r = rows[key]
        label = LABELS[key] + (' (estimated from %d)' % r['sample'] if r.get('sample') else '')
        vs_b = ('%8.4f' % (r['wall'] / rows['b']['wall'])) if 'b' in rows else '%8s' % '-'
        cells = (label, r['requests'], r['writes'], r['wall'], r['cpu'], r['wall'] / rows['d']['wall'],
                 r['cpu'] / rows['d']['cpu'], vs_b)
        print('%-50s %9d %6d %9.2f %8.2f %8.2f %8.2f %s' % cells)
    a, d = rows['a'], rows['d']
    print('target (a) <= 1.5x (d): %.2fx wall, %.2fx CPU' % (a['wall'] / d['wall'], a['cpu'] / d['cpu']))
    if 'b' in rows:
        print('target (a) >= 40x faster than (b): %.1fx wall, %.1fx CPU, %.1fx fewer requests'
              % (rows['b']['wall'] / rows['a']['wall'], rows['b']['cpu'] / rows['a']['cpu'],
                 rows['b']['requests'] / float(rows['a']['requests'])))


def problems(rows, opts):
    """What --check refuses: request counts only, never time."""
    found = []
    if any(r['writes'] for r in rows.values()):
        found.append('a no-op scenario sent a write')
    if rows['a']['requests'] > opts.max_requests:
        found.append('(a) sent %d requests, more than %d' % (rows['a']['requests'], opts.max_requests))
    if rows['a']['requests'] > 2 * rows['d']['requests']:
        found.append('(a) sent %d requests for %d tenants, (d) %d for one'
                     % (rows['a']['requests'], opts.tenants, rows['d']['requests']))
    return found


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tenants', type=int, default=500, help='N, generated tenants (default 500)')
    ap.add_argument('--latency-ms', type=int, default=5, help='L, emulator latency per request (default 5)')
    ap.add_argument('--loop-tenants', type=int, default=0,
                    help='K: run (b) over the first K tenants and scale it by N/K (default: all N)')
    ap.add_argument('--skip-loop', action='store_true', help='skip scenario (b), the slow one')
    ap.add_argument('--max-requests', type=int, default=10,
                    help='with --check, the most requests (a) may send whatever N (default 10)')
    ap.add_argument('--check', action='store_true',
                    help='exit 1 unless the request counts meet the model (never checks time): no scenario writes, '
                         '(a) sends at most --max-requests requests and at most twice what (d) sends')
    opts = ap.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix='veeam_em_bench_')
    os.environ['ANSIBLE_COLLECTIONS_PATH'] = collections_dir()
    emu = Emu(tmp, 0, opts.latency_ms, 0.2, extra=('--tenants', str(opts.tenants)))
    rows = {}
    try:
        entries = generated_entries(emu, tmp)
        assert len(entries) == opts.tenants, (len(entries), opts.tenants)
        one = [{'veeam_em.core.cloud_tenant': entries[0]}]
        measure(emu, tmp, 'warm_up', one)  # not measured: the first run fills caches
        rows['d'] = measure(emu, tmp, 'floor', one)
        rows['a'] = measure(emu, tmp, 'bulk_noop', [{'veeam_em.core.cloud_tenants': {'config': entries}}])
        if not opts.skip_loop:
            sample = entries[:opts.loop_tenants] if 0 < opts.loop_tenants < len(entries) else entries
            row = measure(emu, tmp, 'loop_noop', [{'veeam_em.core.cloud_tenant': '{{ item }}', 'loop': sample}])
            if len(sample) < len(entries):
                scale = len(entries) / float(len(sample))
                row = dict(row, sample=len(sample), wall=row['wall'] * scale, cpu=row['cpu'] * scale,
                           requests=int(round(row['requests'] * scale)))
            rows['b'] = row
    finally:
        emu.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report(rows, opts)
    found = problems(rows, opts) if opts.check else []
    sys.stdout.write(''.join('CHECK FAILED: %s\n' % problem for problem in found))
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
