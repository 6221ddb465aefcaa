# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the jobs module spends its CPU time on a no-op over N jobs, part by part.

One emulator with N generated jobs; the module's main() runs in a fresh python (this one, or --python) against
it with every entry declaring its job's current description, as benchmarks/bulk.py --scale does, with CPU
timers (time.process_time) around its parts. The pages are read in line instead of ahead in threads, so
that no part overlaps another; main() alone, without the interpreter's start and the imports. Each such run is
followed by one of main() as shipped (pages read ahead, no timers), whose CPU and wall seconds are printed last:
wall minus CPU is the time the module waited.

  python benchmarks/module_phases.py --jobs 10000 --repeat 3
"""

from __future__ import (absolute_import, division, print_function)

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bulk  # noqa: E402  pylint: disable=wrong-import-position

HARNESS = r'''
import contextlib, io, json, resource, sys, time
from ansible.module_utils import basic
with open(sys.argv[1], 'rb') as f:
    basic._ANSIBLE_ARGS = f.read()
basic._ANSIBLE_PROFILE = 'legacy'  # ansible-core 2.19 and later; unused before
from ansible_collections.veeam_em.core.plugins.module_utils import _bulk, _client, _jobs, _xml
from ansible_collections.veeam_em.core.plugins.modules import jobs
marks = {}


def timed(label, owner, attr):
    if owner is None or not hasattr(owner, attr):
        return
    orig = getattr(owner, attr)

    def wrapper(*args, **kwargs):
        t0 = time.process_time()
        try:
            return orig(*args, **kwargs)
        finally:
            marks[label] = marks.get(label, 0.0) + time.process_time() - t0
    setattr(owner, attr, wrapper)


try:
    from ansible_collections.veeam_em.core.plugins.module_utils import _argspec
except ImportError:  # before the quick check
    _argspec = None
if %(inline)r:  # pages read in line, parts timed: no part overlaps another
    _client.PAGES_IN_FLIGHT = 0
    if hasattr(_bulk, 'pages_ahead'):  # before the page pipeline
        _bulk.pages_ahead = lambda pages: pages
    for label, owner, attr in %(parts)r:
        timed(label, eval(owner), attr)
elif %(in_flight)r is not None:
    _client.PAGES_IN_FLIGHT = %(in_flight)r
t0, w0 = time.process_time(), time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    try:
        jobs.main()
    except SystemExit:
        pass
marks['main() of the module, all'] = time.process_time() - t0
marks['wall'] = time.perf_counter() - w0
marks['rss'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps(marks))
'''

# (label, object in the harness, attribute)
PARTS = [
    ("ansible's argument validation", 'basic.ModuleArgumentSpecValidator', 'validate'),
    ('quick check of the entries (_argspec)', '_argspec', 'quick_list'),
    ('offline checks (check_config)', 'jobs', 'check_config'),
    ('run: logon to logoff (converge_all)', 'jobs', 'converge_all'),
    ('  pages parsed and checked (_xml.parse)', '_xml', 'parse'),
    ('  requests over HTTPS (_send_once)', '_client.EmClient', '_send_once'),
    ('  jobs indexed (JobIndex.add)', '_jobs.JobIndex', 'add'),
    ('  entries planned (Plan)', '_jobs.Plan', '__init__'),
    ("ansible's no_log scrub of the result", 'basic', 'remove_values'),
    ('result written as JSON', 'basic.AnsibleModule', '_record_module_result'),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--jobs', type=int, default=10000, help='N, generated jobs (default 10000)')
    ap.add_argument('--latency-ms', type=int, default=20, help='emulator latency per request (default 20)')
    ap.add_argument('--python', default=sys.executable, help='the python that runs the module (default this one)')
    ap.add_argument('--repeat', type=int, default=3, help='runs, medians printed (default 3)')
    ap.add_argument('--in-flight', type=int, help='query pages asked for ahead in the runs as shipped (default the module\'s own)')
    opts = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix='veeam_em_module_phases_')
    collections = bulk.collections_dir()
    emu = bulk.Emu(tmp, opts.jobs, opts.latency_ms, 1.0)
    runs, shipped = [], []
    try:
        args = os.path.join(tmp, 'args.json')
        with open(args, 'w') as f:
            json.dump({'ANSIBLE_MODULE_ARGS': {'config': bulk.api_entries(emu), 'server': emu.url, 'username': bulk.USER,
                                               'password': bulk.PASSWORD, 'ca_path': emu.ca}}, f)
        for _i in range(opts.repeat):  # alternating: parts timed with the pages in line, then main() as shipped
            for inline, into in ((True, runs), (False, shipped)):
                proc = subprocess.run([opts.python, '-c', HARNESS % {'parts': PARTS, 'inline': inline, 'in_flight': opts.in_flight}, args], capture_output=True,
                                      text=True, env=dict(os.environ, PYTHONPATH=collections), check=False)
                if proc.returncode != 0:
                    raise RuntimeError(proc.stderr[-3000:])
                into.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    finally:  # the arguments hold the emulator's password: they do not outlive the run
        emu.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print('jobs module, no-op over N=%d jobs: CPU seconds of each part, medians of %d runs' % (opts.jobs, opts.repeat))
    for label in [p[0] for p in PARTS] + ['main() of the module, all']:
        values = [r[label] for r in runs if label in r]
        print('%-44s %s' % (label, '%.3f' % statistics.median(values) if values else '-'))
    cpu, wall = [r['main() of the module, all'] for r in shipped], [r['wall'] for r in shipped]
    waited = statistics.median([w - c for w, c in zip(wall, cpu)])
    rss = statistics.median([r['rss'] for r in shipped])
    each = ' '.join('%.2f/%.2f' % pair for pair in zip(cpu, wall))
    load = ' '.join('%.2f' % x for x in os.getloadavg())
    print('main() as shipped (pages read ahead): CPU %.3f s, wall %.3f s, wall - CPU %.3f s, peak RSS %.1f MiB (medians; '
          'each run CPU/wall %s); load %s' % (statistics.median(cpu), statistics.median(wall), waited, rss, each, load))
    return 0


if __name__ == '__main__':
    sys.exit(main())
