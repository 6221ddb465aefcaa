# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Measure cloud_tenant_info over N generated tenants (emulator --tenants N) and print requests and seconds.

Scenarios, each one ansible-playbook run with one cloud_tenant_info task reading every tenant:

  admin              as Portal Administrator, with subtenants (the default)
  admin, no subs     the same with subtenants: false
  portal user        as Portal User, with subtenants (the role may not query CloudSubtenant)

Usage (from the repository root, with ansible-core, requests, lxml and trustme):
  python3 benchmarks/cloud_tenant_info.py --tenants 500 --latency-ms 5
"""

from __future__ import (absolute_import, division, print_function)

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bulk import Emu, collections_dir, playbook, run_playbook  # noqa: E402  pylint: disable=wrong-import-position

PORTAL = ('portal', 'Portal-Bench-1')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tenants', type=int, default=500, help='N, generated tenants (default 500)')
    ap.add_argument('--latency-ms', type=int, default=5, help='emulator latency per request (default 5)')
    opts = ap.parse_args()
    os.environ.setdefault('ANSIBLE_COLLECTIONS_PATH', collections_dir())
    tmp = tempfile.mkdtemp(prefix='veeam_em_info_bench_')
    emu = Emu(tmp, 0, opts.latency_ms, 0.2, extra=('--tenants', str(opts.tenants), '--portal-user', ':'.join(PORTAL)))
    try:
        rows = []
        for label, args, who in (('admin', {}, None), ('admin, subtenants: false', {'subtenants': False}, None),
                                 ('portal user', {}, PORTAL)):
            login = {'username': who[0], 'password': who[1]} if who else {}
            task = {'veeam_em.core.cloud_tenant_info': dict(args, **login)}
            try:
                got = run_playbook(playbook(tmp, 'info', [task], emu), emu)
            except RuntimeError:   # an older checkout without the option
                print('%s: the run failed' % label)
                continue
            rows.append((label, got['requests'], got['wall'], got['cpu'], got['emu_cpu']))
        print('N=%d  L=%d ms' % (opts.tenants, opts.latency_ms))
        print('%-28s %9s %9s %9s %9s' % ('scenario', 'requests', 'seconds', 'CPU s', 'emu CPU s'))
        for row in rows:
            print('%-28s %9d %9.2f %9.2f %9.2f' % row)
    finally:
        emu.stop()
        shutil.rmtree(tmp, True)


if __name__ == '__main__':
    main()
