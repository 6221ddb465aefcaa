# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Many EM servers: examples/fleet over three emulators with forks 3, against the same work on one.

Each run resets every emulator to its seed, then applies examples/fleet/playbook.yml (the job_config
role, then the fleet summary): first limited to one EM host, then over all three with three forks.
em-east edits the two jobs every site shares; em-west and em-north one job more each, so each EM of
the three-EM run has at least the one-EM run's work. The runs alternate; the figures are medians.

Printed: wall seconds and CPU seconds (ansible-playbook and everything it started), the requests
each emulator saw, and the ratio three-EMs / one-EM (target <= 1.5). CPU seconds are the figure to
trust on a busy machine; the wall ratio needs a core per fork to mean anything.

Usage (from the repository root, with ansible-core, requests, lxml and trustme):
  python3 benchmarks/fleet.py --repeat 5 --latency-ms 20
"""

from __future__ import (absolute_import, division, print_function)

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from bulk import PASSWORD, ROOT, USER, Emu, collections_dir

FLEET = os.path.join(ROOT, 'examples', 'fleet')
HOSTS = ('em-east', 'em-west', 'em-north')


def fleet_env(emus, collections):
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_COLLECTIONS_PATH=collections, VEEAM_EM_USERNAME=USER)
    for host, emu in zip(HOSTS, emus):
        prefix = 'VEEAM_EM_' + host.upper().replace('-', '_')
        env.update({prefix + '_SERVER': emu.url, prefix + '_PASSWORD': PASSWORD, prefix + '_CA_PATH': emu.ca})
    return env


def run(emus, env, limit):
    """One reset and one apply over `limit` hosts: (wall s, CPU s, requests per emulator)."""
    for emu in emus:
        emu.control('POST', 'reset')
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', os.path.join(FLEET, 'inventory.yml'),
           '-f', '3', '--limit', ','.join(limit), os.path.join(FLEET, 'playbook.yml')]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError('the fleet playbook failed:\n%s' % proc.stdout[-3000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, [len(emu.api_log()) for emu in emus]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--repeat', type=int, default=5, help='alternating runs of each scenario (default 5)')
    parser.add_argument('--latency-ms', type=int, default=20, help="the emulators' latency per request (default 20)")
    parser.add_argument('--task-seconds', type=float, default=1.0, help='seconds an edit task runs (default 1)')
    parser.add_argument('--check', action='store_true', help='exit 1 when the wall ratio is over 1.5')
    args = parser.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix='veeam_em_fleet_bench_')
    emus = [Emu(tmp, jobs, args.latency_ms, args.task_seconds) for jobs in (1, 2, 3)]
    try:
        env = fleet_env(emus, collections_dir())
        one, three = [], []
        for _run in range(args.repeat):
            one.append(run(emus, env, HOSTS[:1]))
            three.append(run(emus, env, HOSTS))
    finally:
        for emu in emus:
            emu.stop()
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    print('examples/fleet apply, %d alternating runs, %d ms latency, %.1f s tasks, load %.1f' % (
        args.repeat, args.latency_ms, args.task_seconds, os.getloadavg()[0]))
    print('%-28s %9s %9s  %s' % ('scenario', 'wall s', 'CPU s', 'requests per EM'))
    print('%-28s %9.2f %9.2f  %s' % ('one EM (em-east)', med(one, 0), med(one, 1), one[-1][2][:1]))
    print('%-28s %9.2f %9.2f  %s' % ('three EMs, forks 3', med(three, 0), med(three, 1), three[-1][2]))
    ratio = med(three, 0) / med(one, 0)
    print('ratio three / one: wall %.2fx (target <= 1.5x), CPU %.2fx' % (ratio, med(three, 1) / med(one, 1)))
    return 1 if args.check and ratio > 1.5 else 0


if __name__ == '__main__':
    sys.exit(main())
