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

With --scale 2000,10000 it also measures, in the same run, a no-op of jobs over
each of those numbers of jobs (one emulator each) against the floor (d) on the
same emulator, alternating floor and bulk runs --repeat times, and prints the
medians, the ratios, the peak RSS of the module process and the CPU seconds of
the module, of the controller (ansible-playbook) and of the emulator, for each
way of passing the entries (--forms: written out in the task, or read from a
JSON file). CPU seconds and request counts are the stable figures on a shared
machine; the wall-clock ones are printed with the load average of the runs.

The figures of issue 12 (Scale), as docs/benchmarks.md reports them; run it with
the python of a virtualenv that has ansible-core, requests, lxml and trustme, on
a machine with nothing else running (it takes some five minutes):

  python benchmarks/bulk.py --jobs 20 --changed 2 --skip-loop --rss-jobs 0 --scale 2000,10000 --repeat 5

Other uses (from the repository root):
  python benchmarks/bulk.py --jobs 200 --latency-ms 20 --task-seconds 1 --changed 10 --rss-jobs 2000
  python benchmarks/bulk.py --jobs 12 --latency-ms 5 --task-seconds 0.2 --changed 3 --rss-jobs 50 --check  (CI smoke)
"""

from __future__ import (absolute_import, division, print_function)

import argparse
import atexit
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import requests
import yaml
from lxml import etree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMULATOR = os.path.join(ROOT, 'tests', 'emulator', 'em-emulator')
USER, PASSWORD = 'bench', 'bench-password'


class Emu:
    def __init__(self, tmp, jobs, latency_ms, task_seconds, extra=()):
        self.ca = os.path.join(tmp, 'ca-%d.pem' % jobs)
        ready = os.path.join(tmp, 'ready-%d' % jobs)
        if os.path.exists(ready):  # left by an earlier emulator with as many jobs
            os.remove(ready)
        self.proc = subprocess.Popen(
            [sys.executable, EMULATOR, '--port', '0', '--ready-file', ready, '--ca-file', self.ca,
             '--username', USER, '--password', PASSWORD, '--jobs', str(jobs), '--latency-ms', str(latency_ms),
             '--task-running-seconds', str(task_seconds), '--max-lifetime', '3600'] + list(extra),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60 + jobs / 20.0  # generating 10,000 jobs takes a while on a busy machine
        while not (os.path.exists(ready) and open(ready).read().strip()):
            if time.time() > deadline or self.proc.poll() is not None:
                self.proc.kill()
                raise RuntimeError('emulator did not start')
            time.sleep(0.1)
        self.url = open(ready).read().strip().rstrip('/')

    def control(self, method, path, **kw):
        r = requests.request(method, '%s/_emulator/%s' % (self.url, path), verify=self.ca, timeout=60, **kw)
        r.raise_for_status()
        return r

    def api_log(self):
        return [e for e in self.control('GET', 'log').json() if e['path'].startswith('/api')]

    def cpu(self):
        """CPU seconds the emulator process has used so far (user and system)."""
        with open('/proc/%d/stat' % self.proc.pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf('SC_CLK_TCK'))

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


def run_playbook(path, emu, env=None):
    emu.control('DELETE', 'log')
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               **(env or {}))
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', path]
    emu_cpu, children = emu.cpu(), _children_cpu()
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError('%s failed:\n%s' % (path, proc.stdout[-3000:]))
    log = emu.api_log()
    return {'wall': wall, 'requests': len(log), 'puts': len([e for e in log if e['method'] == 'PUT']),
            # CPU seconds: ansible-playbook with every process it started (the module among them), and the emulator
            'cpu': _children_cpu() - children, 'emu_cpu': emu.cpu() - emu_cpu,
            'emu_handle_cpu': sum(e.get('cpu_ms') or 0 for e in log) / 1000.0}


def _children_cpu():
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


NS = '{http://www.veeam.com/ent/v1.0}'


def api_entries(emu):
    """Every generated job as a jobs entry that declares its current description (a no-op), read straight from the
    API with a paged query: no playbook run, quick even for 10,000 jobs."""
    session = requests.Session()
    logon = session.post(emu.url + '/api/sessionMngr/?v=latest', auth=(USER, PASSWORD), verify=emu.ca, timeout=60)
    logon.raise_for_status()
    session.headers['X-RestSvcSessionId'] = logon.headers['X-RestSvcSessionId']
    entries, page = [], 1
    while True:
        r = session.get(emu.url + '/api/query', params={'type': 'Job', 'format': 'Entities', 'pageSize': 1000,
                                                        'page': page}, verify=emu.ca, timeout=300)
        r.raise_for_status()
        root = etree.fromstring(r.content)
        for job in root.iter(NS + 'Job'):
            if job.get('Name', '').startswith('Generated Job'):
                entries.append({'id': job.get('UID').rsplit(':', 1)[1], 'description': job.findtext(NS + 'Description') or ''})
        if page >= int(root.find(NS + 'PagingInfo').get('PagesCount')):
            return entries
        page += 1


def rss_interpreter(tmp):
    """A python that runs the module as its only child and appends the child's peak RSS (KiB) to a file."""
    path = os.path.join(tmp, 'python-rss')
    with open(path, 'w') as f:
        f.write('#!%s\n'
                'import os, resource, subprocess, sys\n'
                'rc = subprocess.call([%r] + sys.argv[1:])\n'
                'usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n'
                'with open(os.environ["VEEAM_EM_BENCH_RSS"], "a") as out:\n'
                '    out.write("%%d %%.3f\\n" %% (usage.ru_maxrss, usage.ru_utime + usage.ru_stime))\n'
                'sys.exit(rc)\n' % (sys.executable, sys.executable))
    os.chmod(path, 0o755)
    return path


FORMS = {
    # how the playbook hands the entries to the module
    'inline': 'the entries written out in the task (YAML the controller parses, copies and templates)',
    'json': "config: \"{{ lookup('ansible.builtin.file', 'entries.json') | from_json }}\" (parsed by json, "
            "not templated entry by entry)",
}


def scale_book(tmp, n, form, entries, emu):
    """The no-op jobs playbook over ``entries`` in ``form``, its module run through the RSS-reporting python."""
    if form == 'json':
        path = os.path.join(tmp, 'entries-%d.json' % n)
        with open(path, 'w') as f:
            json.dump(entries, f)
        config = "{{ lookup('ansible.builtin.file', '%s') | from_json }}" % path
    else:
        config = entries
    book = playbook(tmp, 'scale_%s_%d' % (form, n), [{'veeam_em.core.jobs': {'config': config}}], emu)
    with open(book) as f:  # the module through the RSS-reporting interpreter; the floor as users run it
        play = yaml.safe_load(f)
    play[0]['vars']['ansible_python_interpreter'] = rss_interpreter(tmp)
    with open(book, 'w') as f:
        yaml.safe_dump(play, f, sort_keys=False)
    return book


def scale(tmp, sizes, repeat, latency_ms, task_seconds, forms):
    """No-op of jobs over each size against the floor on the same emulator, alternating, ``repeat`` times."""
    rows = {}
    emus = {}
    try:
        for n in sizes:
            emus[n] = Emu(tmp, n, latency_ms, task_seconds)
            entries = api_entries(emus[n])
            assert len(entries) == n, (len(entries), n)
            books = {'floor': playbook(tmp, 'scale_floor_%d' % n, [{'veeam_em.core.job': entries[0]}], emus[n])}
            for form in forms:
                books[form] = scale_book(tmp, n, form, entries, emus[n])
            run_playbook(books['floor'], emus[n])  # warm-up, not measured
            rows[n] = dict(books=books, floor=[], requests=set(), **dict((form, []) for form in forms))
        rss_file = os.path.join(tmp, 'rss.txt')
        loads = [os.getloadavg()[0]]
        for _round in range(repeat):
            for n in sizes:
                row = rows[n]
                row['floor'].append(run_playbook(row['books']['floor'], emus[n]))
                for form in forms:
                    run = run_playbook(row['books'][form], emus[n], env={'VEEAM_EM_BENCH_RSS': rss_file})
                    if run['puts']:
                        raise RuntimeError('the no-op over %d jobs sent %d PUTs' % (n, run['puts']))
                    with open(rss_file) as f:
                        peak_kib, module_cpu = f.read().splitlines()[-1].split()
                    run.update(rss=int(peak_kib) / 1024.0, module_cpu=float(module_cpu))
                    row[form].append(run)
                    row['requests'].add(run['requests'])
            loads.append(os.getloadavg()[0])
    finally:
        for emu in emus.values():
            emu.stop()

    def med(runs, key):
        return statistics.median(r[key] for r in runs)
    print('scale: no-op of jobs against one no-op job task (the floor), medians of %d alternating runs, L=%d ms; '
          'load average (1 min) %s during the runs, %d CPUs' % (repeat, latency_ms, ' to '.join(
              '%.1f' % x for x in (min(loads), max(loads))), os.cpu_count() or 0))
    print('%6s %-7s %8s %8s %8s %7s %8s | %-27s | %-17s | %s' % (
        'jobs', 'form', 'requests', 'floor s', 'jobs s', 'x floor', 'RSS MiB', 'jobs CPU s: module ctrl emu',
        'floor CPU s: all emu', 'wall of every jobs run (s)'))
    for n in sizes:
        row = rows[n]
        floor = med(row['floor'], 'wall')
        for form in forms:
            runs = row[form]
            module = med(runs, 'module_cpu')
            print('%6d %-7s %8s %8.2f %8.2f %7.2f %8.1f | %9.2f %8.2f %8.2f | %8.2f %8.2f | %s' % (
                n, form, '/'.join(str(r) for r in sorted(row['requests'])), floor, med(runs, 'wall'),
                med(runs, 'wall') / floor, max(r['rss'] for r in runs), module, med(runs, 'cpu') - module,
                med(runs, 'emu_cpu'), med(row['floor'], 'cpu'), med(row['floor'], 'emu_cpu'),
                ' '.join('%.2f' % r['wall'] for r in runs)))
    print('forms: ' + '; '.join('%s: %s' % (form, FORMS[form]) for form in forms))
    print('CPU: module = the jobs module process; ctrl = ansible-playbook and its other processes; emu = the emulator '
          'process (handling the requests themselves: %s s)' % ', '.join(
              '%.2f' % med(rows[n][form], 'emu_handle_cpu') for n in sizes for form in forms))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--jobs', type=int, default=200, help='N, generated jobs (default 200)')
    ap.add_argument('--latency-ms', type=int, default=20, help='L, emulator latency per request (default 20)')
    ap.add_argument('--task-seconds', type=float, default=1.0, help='T, task duration (default 1)')
    ap.add_argument('--changed', type=int, default=10, help='k, jobs changed in scenario (c) (default 10)')
    ap.add_argument('--rss-jobs', type=int, default=2000, help='jobs for the RSS measurement (0 skips it)')
    ap.add_argument('--skip-loop', action='store_true', help='skip scenario (b), the slow one')
    ap.add_argument('--scale', default='', help='comma-separated job counts for the scale measurement (e.g. '
                    '2000,10000; default none)')
    ap.add_argument('--repeat', type=int, default=5, help='alternating runs of the scale measurement (default 5)')
    ap.add_argument('--forms', default='inline,json', help='how the scale playbooks pass the entries, comma-separated '
                    'of: %s (default inline,json)' % '; '.join('%s: %s' % kv for kv in FORMS.items()))
    ap.add_argument('--check', action='store_true',
                    help='exit 1 unless the request counts meet the model (never checks time): (a) and (b) send no '
                         'PUT, (a) sends at most 2 + pages requests, (c) sends exactly k PUTs')
    opts = ap.parse_args(argv)
    unknown = sorted(set(f for f in opts.forms.split(',') if f) - set(FORMS))
    if unknown:
        ap.error('--forms: unknown %s; accepted: %s' % (', '.join(unknown), ', '.join(FORMS)))

    tmp = tempfile.mkdtemp(prefix='veeam_em_bench_')
    collections = collections_dir()
    os.environ['ANSIBLE_COLLECTIONS_PATH'] = collections
    emu = Emu(tmp, opts.jobs, opts.latency_ms, opts.task_seconds)
    rows = {}
    try:
        entries = api_entries(emu)
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
            big = api_entries(emu)
            rss, wall, count = module_rss(emu, big, collections)
        finally:
            emu.stop()
        print('jobs module, no-op over %d jobs run directly: peak RSS %.1f MiB, %.2f s, %d requests'
              % (opts.rss_jobs, rss, wall, count))
    if opts.scale:
        scale(tmp, [int(n) for n in opts.scale.split(',')], opts.repeat, opts.latency_ms, opts.task_seconds,
              [f for f in opts.forms.split(',') if f])
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
