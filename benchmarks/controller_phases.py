# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where ansible-playbook spends its CPU time on a no-op of jobs over N jobs, phase by phase.

One emulator with N generated jobs; for each ansible-core given (--venvs, virtualenvs with ansible-core,
requests and lxml) the floor (one no-op job task) and a no-op jobs over every job with the entries in each
form (--forms, as benchmarks/bulk.py --scale passes them). ansible-playbook runs under a launcher that
wraps a few of ansible-core's methods with CPU timers (time.process_time of the process they run in: the
main process or the task's worker; the main process's results thread with its own thread's CPU time),
so the figures are CPU seconds, as stable on a shared machine as the CPU columns of bulk.py; the module runs
through an interpreter that records its own CPU time.

  python benchmarks/controller_phases.py --jobs 10000 --venvs /path/venv-2.16,/path/venv-2.19

The phases overlap where one calls the other (the play run holds the result handling; the worker's whole
time holds its argument templating, payload, decoding and pickling); the module's time is in no phase.
Medians of --repeat runs.
"""

from __future__ import (absolute_import, division, print_function)

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bulk  # noqa: E402  pylint: disable=wrong-import-position

# (module, class, method, label): ansible-core's own methods, timed where they run.
PHASES = [
    ('ansible.playbook', 'Playbook', 'load', 'main: playbook loaded (YAML parsed and copied, plays and tasks built)'),
    ('ansible.parsing.dataloader', 'DataLoader', 'load_from_file', 'main:   of it, YAML parsed and copied (DataLoader)'),
    ('ansible.executor.task_queue_manager', 'TaskQueueManager', 'run', 'main: the play run (TaskQueueManager.run)'),
    ('ansible.plugins.strategy', 'StrategyBase', '_process_pending_results', 'main:   of it, results read and shown'),
    # the results thread: timed with its own thread's CPU (it mostly waits while the rest of the process works)
    ('ansible.executor.task_queue_manager', 'FinalQueue', 'get', 'main:   of it, task results received (unpickled)'),
    ('ansible.executor.process.worker', 'WorkerProcess', '_run', 'worker: all its own CPU'),  # PHASES[5]: see run()
    ('ansible.playbook.task', 'Task', 'post_validate', 'worker:   arguments templated (Task.post_validate)'),
    ('ansible.plugins.action', 'ActionBase', '_configure_module', 'worker:   module payload built (AnsiballZ)'),
    ('ansible.plugins.action', 'ActionBase', '_parse_returned_data', 'worker:   module result decoded'),
    ('ansible.executor.task_queue_manager', 'FinalQueue', 'send_task_result', 'worker:   result sent to main (pickled)'),
]

LAUNCHER = r'''
import atexit, importlib, os, runpy, sys, time
PHASES = %(phases)r
OUT = os.environ['VEEAM_EM_BENCH_PHASES']
acc = {}


def dump():
    path = '%%s.%%d' %% (OUT, os.getpid())
    with open(path + '.tmp', 'w') as f:
        for label, seconds in acc.items():
            f.write('%%.4f\t%%s\n' %% (seconds, label))
    os.replace(path + '.tmp', path)  # read whole or not at all


def wrap(owner, name, label):
    orig = getattr(owner, name)
    worker = name == '_run'
    clock = time.thread_time if name == 'get' else time.process_time

    def timed(*args, **kwargs):
        if worker:
            acc.clear()  # a forked worker starts with its parent's figures
        t0 = clock()
        try:
            return orig(*args, **kwargs)
        finally:
            acc[label] = acc.get(label, 0.0) + clock() - t0
            if worker:
                dump()
    setattr(owner, name, timed)


for mod, cls, name, label in PHASES:
    try:
        owner = getattr(importlib.import_module(mod), cls)
    except (ImportError, AttributeError):
        continue
    if hasattr(owner, name):
        wrap(owner, name, label)
atexit.register(dump)
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name='__main__')
'''

MODULE_PY = r'''#!%(python)s
import os, resource, subprocess, sys
rc = subprocess.call([%(python)r] + sys.argv[1:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(os.environ['VEEAM_EM_BENCH_MODULE'], 'a') as out:
    out.write('%%.4f\n' %% (usage.ru_utime + usage.ru_stime))
sys.exit(rc)
'''


def run(venv, book, tmp, emu, collections):
    python = os.path.join(venv, 'bin', 'python')
    launcher = os.path.join(tmp, 'launcher.py')
    module_py = os.path.join(tmp, 'python-%s' % os.path.basename(venv.rstrip('/')))
    if not os.path.exists(launcher):
        with open(launcher, 'w') as f:
            f.write(LAUNCHER % {'phases': PHASES})
    with open(module_py, 'w') as f:
        f.write(MODULE_PY % {'python': python})
    os.chmod(module_py, 0o755)
    out = os.path.join(tmp, 'phases')
    module_cpu = os.path.join(tmp, 'module-cpu')
    for name in os.listdir(tmp):
        if name.startswith('phases.') or name == 'module-cpu':
            os.remove(os.path.join(tmp, name))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_COLLECTIONS_PATH=collections, VEEAM_EM_BENCH_PHASES=out, VEEAM_EM_BENCH_MODULE=module_cpu,
               PATH=os.path.join(venv, 'bin') + os.pathsep + os.environ.get('PATH', ''))
    emu.control('DELETE', 'log')
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([python, launcher, os.path.join(venv, 'bin', 'ansible-playbook'), '-i', 'localhost,',
                           '-e', 'ansible_python_interpreter=' + module_py, book],
                          capture_output=True, text=True, env=env, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError('%s failed:\n%s' % (book, proc.stdout[-3000:]))
    figures = {}
    deadline = time.monotonic() + 10  # the worker may write its figures after ansible-playbook has exited
    while PHASES[5][3] not in figures and time.monotonic() < deadline:
        figures = {}
        for name in os.listdir(tmp):
            if name.startswith('phases.') and not name.endswith('.tmp'):
                with open(os.path.join(tmp, name)) as f:
                    for line in f:
                        seconds, label = line.rstrip('\n').split('\t')
                        figures[label] = figures.get(label, 0.0) + float(seconds)
        time.sleep(0.1)
    with open(module_cpu) as f:
        module = sum(float(x) for x in f.read().split())
    total = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    figures['module process'] = module
    figures['ansible-playbook, all but the module'] = total - module
    return figures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--jobs', type=int, default=10000, help='N, generated jobs (default 10000)')
    ap.add_argument('--latency-ms', type=int, default=20, help='emulator latency per request (default 20)')
    ap.add_argument('--venvs', default=os.path.dirname(os.path.dirname(sys.executable)),
                    help='comma-separated virtualenvs, one per ansible-core (default: this python\'s)')
    ap.add_argument('--forms', default='inline,json', help='how the entries are passed (default inline,json)')
    ap.add_argument('--repeat', type=int, default=1, help='runs of each, medians printed (default 1)')
    opts = ap.parse_args(argv)
    forms = [f for f in opts.forms.split(',') if f]
    unknown = sorted(set(forms) - set(bulk.FORMS))
    if unknown:
        ap.error('--forms: unknown %s; accepted: %s' % (', '.join(unknown), ', '.join(bulk.FORMS)))
    tmp = tempfile.mkdtemp(prefix='veeam_em_phases_')
    collections = bulk.collections_dir()
    emu = bulk.Emu(tmp, opts.jobs, opts.latency_ms, 1.0)
    columns = []
    try:
        entries = bulk.api_entries(emu)
        books = [('floor', bulk.playbook(tmp, 'floor', [{'veeam_em.core.job': entries[0]}], emu))]
        for form in forms:
            book = bulk.scale_book(tmp, opts.jobs, form, entries, emu)
            books.append((form, book))
        for venv in opts.venvs.split(','):
            version = subprocess.run([os.path.join(venv, 'bin', 'python'), '-c',
                                      'from ansible.release import __version__; print(__version__)'],
                                     capture_output=True, text=True, check=True).stdout.strip()
            run(venv, books[0][1], tmp, emu, collections)  # warm-up
            for label, book in books:
                runs = [run(venv, book, tmp, emu, collections) for _i in range(opts.repeat)]
                keys = set(k for r in runs for k in r)
                columns.append(('%s %s' % (version, label),
                                dict((k, statistics.median(r.get(k, 0.0) for r in runs)) for k in keys)))
    finally:
        emu.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [p[3] for p in PHASES] + ['ansible-playbook, all but the module', 'module process']
    print('CPU seconds by phase, no-op over N=%d jobs (floor: one no-op job task), medians of %d run(s)'
          % (opts.jobs, opts.repeat))
    width = max(len(r) for r in rows)
    print('%-*s %s' % (width, 'phase', ' '.join('%14s' % c[0] for c in columns)))
    for row in rows:
        print('%-*s %s' % (width, row, ' '.join('%14s' % ('%.2f' % c[1][row] if row in c[1] else '-')
                                                for c in columns)))
    print('forms: ' + '; '.join('%s: %s' % (form, bulk.FORMS[form]) for form in forms))
    return 0


if __name__ == '__main__':
    sys.exit(main())
