# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Measure the bulk path against the emulator and print the figures side by side.

Scenarios, all against one emulator with N generated jobs, per-request latency L
and task duration T:

  (a) jobs, no-op over all N jobs          (one task, one logon, one paged read)
  (b) the same with a loop of job          (one task per job)
  (c) jobs with k of the N jobs changed    (k PUTs, edits in flight together)
  (d) floor: one playbook with a single no-op job task

For each: requests the emulator saw, wall seconds, ratios to (d) and (b). Then the
peak RSS of the jobs module process itself (run directly, outside Ansible) for a
no-op over --rss-jobs jobs.

Usage (from the repository root, with ansible-core, requests, lxml and trustme):
  python3 benchmarks/bulk.py --jobs 200 --latency-ms 20 --task-seconds 1 --changed 10 --rss-jobs 2000
"""

from __future__ import (absolute_import, division, print_function)

import argparse
import atexit
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import requests
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMULATOR = os.path.join(ROOT, 'tests', 'emulator', 'em-emulator')
USER, PASSWORD = 'bench', 'bench-password'


class Emu:
    def __init__(self, tmp, jobs, latency_ms, task_seconds, extra=()):
        self.ca = os.path.join(tmp, 'ca-%d.pem' % jobs)
        ready = os.path.join(tmp, 'ready-%d' % jobs)
        self.proc = subprocess.Popen(
            [sys.executable, EMULATOR, '--port', '0', '--ready-file', ready, '--ca-file', self.ca,
             '--username', USER, '--password', PASSWORD, '--jobs', str(jobs), '--latency-ms', str(latency_ms),
             '--task-running-seconds', str(task_seconds), '--max-lifetime', '3600'] + list(extra),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while not (os.path.exists(ready) and open(ready).read().strip()):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError('emulator did not start')
            time.sleep(0.1)
        self.url = open(ready).read().strip().rstrip('/')

    def control(self, method, path, **kw):
        r = requests.request(method, '%s/_emulator/%s' % (self.url, path), verify=self.ca, timeout=60, **kw)
        r.raise_for_status()
        return r

    def api_log(self):
        return [e for e in self.control('GET', 'log').json() if e['path'].startswith('/api')]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def playbook(tmp, name, tasks, emu):
    play = [{'hosts': 'localhost', 'gather_facts': False, 'connection': 'local',
             'vars': {'ansible_python_interpreter': sys.executable},
             'module_defaults': {'group/veeam_em.core.em': {'server': emu.url, 'username': USER,
                                                            'password': PASSWORD, 'ca_path': emu.ca}},
             'tasks': tasks}]
    path = os.path.join(tmp, name + '.yml')
    with open(path, 'w') as f:
        yaml.safe_dump(play, f, sort_keys=False)
    return path


def run_playbook(path, emu):
    emu.control('DELETE', 'log')
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', path]
    t0, cpu0 = time.monotonic(), children_cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall, cpu = time.monotonic() - t0, children_cpu() - cpu0
    if proc.returncode != 0:
        raise RuntimeError('%s failed:\n%s' % (path, proc.stdout[-3000:]))
    log = emu.api_log()
    return {'wall': wall, 'cpu': cpu, 'requests': len(log), 'puts': len([e for e in log if e['method'] == 'PUT'])}


def children_cpu():
    """CPU seconds (user + system) of the finished child processes and their descendants: ansible-playbook and
    the module processes it ran, which a loaded machine does not stretch the way it stretches wall-clock time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def module_rss(emu, entries, collections):
    """Peak RSS (MiB) of the jobs module process itself, run directly with its arguments."""
    tmp = tempfile.mkdtemp(prefix='veeam_em_rss_')
    args = os.path.join(tmp, 'args.json')
    with open(args, 'w') as f:
        json.dump({'ANSIBLE_MODULE_ARGS': {'config': entries, 'server': emu.url, 'username': USER,
                                           'password': PASSWORD, 'ca_path': emu.ca}}, f)
    module = os.path.join(collections, 'ansible_collections', 'veeam_em', 'core', 'plugins', 'modules', 'jobs.py')
    # A fresh wrapper process runs the module as its only child, so RUSAGE_CHILDREN is that module alone.
    wrapper = ('import resource, subprocess, sys\n'
               'p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)\n'
               'sys.stdout.write(p.stdout.decode())\n'
               'sys.stderr.write("%d" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n')
    emu.control('DELETE', 'log')
    t0 = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, '-c', wrapper, sys.executable, module, args], capture_output=True,
                              text=True, check=False, env=dict(os.environ, PYTHONPATH=collections))
    finally:  # the arguments hold the emulator's password: they do not outlive the run
        shutil.rmtree(tmp, ignore_errors=True)
    wall = time.monotonic() - t0
    peak_kib = int(proc.stderr.strip().splitlines()[-1])
    result = json.loads(proc.stdout)
    if result.get('failed'):
        raise RuntimeError(result.get('msg'))
    return peak_kib / 1024.0, wall, len(emu.api_log())


def collections_dir():
    parts = ROOT.split(os.sep)
    if parts[-3:-2] == ['ansible_collections']:
        return os.sep.join(parts[:-3])
    top = tempfile.mkdtemp(prefix='veeam_em_bench_')
    atexit.register(shutil.rmtree, top, True)
    os.makedirs(os.path.join(top, 'ansible_collections', 'veeam_em'))
    os.symlink(ROOT, os.path.join(top, 'ansible_collections', 'veeam_em', 'core'))
    return top


def current_entries(emu, tmp):
    """Every generated job as a jobs entry that declares its current description (a no-op)."""
    jobs = [j for j in emu.control('GET', 'jobs').json() if j['name'].startswith('Generated Job')]
    path = playbook(tmp, 'read', [{'veeam_em.core.job_info': {'name': 'Generated Job*'}, 'register': 'info'},
                                  {'ansible.builtin.copy': {'content': '{{ info.jobs | to_json }}',
                                                            'dest': os.path.join(tmp, 'jobs.json')}}], emu)
    run_playbook(path, emu)
    with open(os.path.join(tmp, 'jobs.json')) as f:
        info = json.load(f)
    assert len(info) == len(jobs), (len(info), len(jobs))
    return [{'id': j['id'], 'description': j['settings'].get('description') or ''} for j in info]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--jobs', type=int, default=200, help='N, generated jobs (default 200)')
    ap.add_argument('--latency-ms', type=int, default=20, help='L, emulator latency per request (default 20)')
    ap.add_argument('--task-seconds', type=float, default=1.0, help='T, task duration (default 1)')
    ap.add_argument('--changed', type=int, default=10, help='k, jobs changed in scenario (c) (default 10)')
    ap.add_argument('--rss-jobs', type=int, default=2000, help='jobs for the RSS measurement (0 skips it)')
    ap.add_argument('--skip-loop', action='store_true', help='skip scenario (b), the slow one')
    ap.add_argument('--check', action='store_true',
                    help='exit 1 unless the request counts meet the model (never checks time): (a) and (b) send no '
                         'PUT, (a) sends at most 2 + pages requests, (c) sends exactly k PUTs')
    opts = ap.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix='veeam_em_bench_')
    collections = collections_dir()
    os.environ['ANSIBLE_COLLECTIONS_PATH'] = collections
    emu = Emu(tmp, opts.jobs, opts.latency_ms, opts.task_seconds)
    rows = {}
    try:
        entries = current_entries(emu, tmp)
        run_playbook(playbook(tmp, 'warm_up', [{'veeam_em.core.job': entries[0]}], emu), emu)  # not measured
        rows['d'] = run_playbook(playbook(tmp, 'floor', [{'veeam_em.core.job': entries[0]}], emu), emu)
        rows['a'] = run_playbook(playbook(tmp, 'bulk_noop', [{'veeam_em.core.jobs': {'config': entries}}], emu), emu)
        if not opts.skip_loop:
            rows['b'] = run_playbook(playbook(tmp, 'loop_noop', [{'veeam_em.core.job': '{{ item }}',
                                                                  'loop': entries}], emu), emu)
        changed = [dict(e, description='benchmark change %d' % i) if i < opts.changed else e
                   for i, e in enumerate(entries)]
        rows['c'] = run_playbook(playbook(tmp, 'bulk_k', [{'veeam_em.core.jobs': {'config': changed}}], emu), emu)
    finally:
        emu.stop()

    labels = {'a': '(a) jobs, no-op over N', 'b': '(b) loop of job, no-op over N', 'c': '(c) jobs, k of N changed',
              'd': '(d) floor: one no-op job task'}
    print('N=%d  L=%d ms  T=%.1f s  k=%d' % (opts.jobs, opts.latency_ms, opts.task_seconds, opts.changed))
    print('%-34s %9s %5s %9s %8s %8s' % ('scenario', 'requests', 'PUTs', 'seconds', 'x (d)', 'x (b)'))
    for key in ('a', 'b', 'c', 'd'):
        if key not in rows:
            continue
        r = rows[key]
        vs_b = ('%8.3f' % (r['wall'] / rows['b']['wall'])) if 'b' in rows else '%8s' % '-'
        print('%-34s %9d %5d %9.2f %8.2f %s' % (labels[key], r['requests'], r['puts'], r['wall'],
                                                r['wall'] / rows['d']['wall'], vs_b))
    if 'b' in rows:
        print('(a) is %.1fx faster than (b)' % (rows['b']['wall'] / rows['a']['wall']))

    if opts.rss_jobs:
        emu = Emu(tmp, opts.rss_jobs, 0, opts.task_seconds)
        try:
            big = current_entries(emu, tmp)
            rss, wall, count = module_rss(emu, big, collections)
        finally:
            emu.stop()
        print('jobs module, no-op over %d jobs run directly: peak RSS %.1f MiB, %.2f s, %d requests'
              % (opts.rss_jobs, rss, wall, count))
    shutil.rmtree(tmp, ignore_errors=True)
    if opts.check:
        pages = -(-opts.jobs // 500)
        problems = []
        if rows['a']['requests'] > 2 + pages:
            problems.append('(a) sent %d requests, more than 2 + %d' % (rows['a']['requests'], pages))
        if rows['a']['puts'] or rows.get('b', {}).get('puts'):
            problems.append('a no-op scenario sent a PUT')
        if rows['c']['puts'] != opts.changed:
            problems.append('(c) sent %d PUTs for k=%d' % (rows['c']['puts'], opts.changed))
        for problem in problems:
            print('CHECK FAILED: ' + problem)
        return 1 if problems else 0
    return 0


if __name__ == '__main__':
    sys.exit(main())
