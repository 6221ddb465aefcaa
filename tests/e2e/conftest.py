# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""End-to-end harness: real ansible-playbook runs against a running emulator.

The emulator is started once per session (HTTPS, its own CA). Each test resets
it, and the ``em_mode`` fixture sets one reading of EM's undocumented PUT
behaviour (``order_violation`` and ``merge``); E2E_MODES lists the readings to
run, e.g. ``"reject:replace ignore:deep"``.

Results come back through a last task that writes every registered result to a
JSON file; the emulator's request log, grouped by logon session, tells which
requests each module run sent.

With E2E_VERBOSE_DIR set (check #24 of shared/design/reliability.md), every
ansible-playbook run is at -vvv with ANSIBLE_LOG_PATH, its output and log are
kept under ``<dir>/output/``, and every logon session the emulator issued
(token and id) and every password the runs used are noted in
``<dir>/secrets.jsonl`` before each reset; ``sweep_secrets.py`` then looks
for those secrets in every byte of the output.
"""

from __future__ import (absolute_import, division, print_function)

import atexit
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

import pytest
import requests
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(ROOT, 'tests', 'emulator', 'em-emulator')
USER = 'e2e-admin'
PASSWORD = 'pw-CANARY-7f3a9c1e5b-e2e'  # a canary: it must never appear in any output

MODES = os.environ.get('E2E_MODES', 'reject:replace').split()
VERBOSE_DIR = os.environ.get('E2E_VERBOSE_DIR')
WORKER = os.environ.get('PYTEST_XDIST_WORKER', 'main')


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: takes minutes (a real-length EM task); still part of the suite')


# Test functions whose cases run as one batch per reading (see run_cases): each reading's cases
# must share one xdist worker, where the batch runs once. xdist's own "loadgroup" marks no longer
# group anything on pytest 9.2 (its nodeid suffix is ignored), so the scheduler below does it.
BATCHED = ('test_setting_group',)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Schedule by scope: a batched test's cases of one reading form one scope, every other test its own."""
    from xdist.scheduler import LoadScopeScheduling

    class BatchScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            name, _bracket, param = nodeid.partition('[')
            if param and name.rsplit('::', 1)[-1] in BATCHED:
                return '%s[%s]' % (name, param.rstrip(']').rsplit('-', 1)[-1])
            return nodeid

    return BatchScheduling(config, log)


_BASE = []


def scratch(prefix='veeam_em_e2e_'):
    """A new private directory under this process's scratch root, which is removed when the run ends.

    Playbooks, vars files with the emulator's password, the emulator's CA and every tmp_path live there,
    so that nothing a test writes outlives the run (the -vvv output kept for the secrets sweep excepted:
    tests/run.sh removes it after the sweep).
    """
    if not _BASE:
        _BASE.append(tempfile.mkdtemp(prefix='veeam_em_e2e_run_'))
        atexit.register(shutil.rmtree, _BASE[0], True)
    return tempfile.mkdtemp(prefix=prefix, dir=_BASE[0])


def pytest_sessionfinish(session, exitstatus):
    if _BASE:
        shutil.rmtree(_BASE[0], ignore_errors=True)


@pytest.fixture
def tmp_path():
    """pytest's tmp_path, but under the run's scratch root (pytest keeps its own for three runs)."""
    return pathlib.Path(scratch('tmp_path_'))


def _note_secrets(*records):
    """Append to <E2E_VERBOSE_DIR>/secrets.jsonl what the sweep must never find (kept out of output/)."""
    if VERBOSE_DIR and records:
        os.makedirs(VERBOSE_DIR, exist_ok=True)
        with open(os.path.join(VERBOSE_DIR, 'secrets.jsonl'), 'a') as f:
            for record in records:
                f.write(json.dumps(record) + '\n')


def verbose_args():
    """-vvv when E2E_VERBOSE_DIR asks for it."""
    return ['-vvv'] if VERBOSE_DIR else []


def playbook_env(env=None):
    """The environment of an ansible-playbook run (with ANSIBLE_LOG_PATH in verbose mode)."""
    run_env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_DEPRECATION_WARNINGS='0',
                   ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    if VERBOSE_DIR:
        os.makedirs(os.path.join(VERBOSE_DIR, 'output'), exist_ok=True)
        run_env['ANSIBLE_LOG_PATH'] = os.path.join(VERBOSE_DIR, 'output', 'ansible-%s.log' % WORKER)
    run_env.update(env or {})
    return run_env


_kept = [0]


def keep_output(text):
    """Save one run's output under <E2E_VERBOSE_DIR>/output/ (verbose mode only)."""
    if not VERBOSE_DIR:
        return
    _kept[0] += 1
    test = os.environ.get('PYTEST_CURRENT_TEST', 'unknown').split(' ')[0]
    name = '%s-%04d-%s.out' % (WORKER, _kept[0], ''.join(c if c.isalnum() else '_' for c in test)[-120:])
    os.makedirs(os.path.join(VERBOSE_DIR, 'output'), exist_ok=True)
    with open(os.path.join(VERBOSE_DIR, 'output', name), 'w') as f:
        f.write(text)


class Emulator:
    """A running emulator and its control API."""

    def __init__(self, url, ca_file, proc):
        self.url = url.rstrip('/')
        self.ca_file = ca_file
        self.proc = proc

    def control(self, method, path, **kwargs):
        resp = requests.request(method, self.url + '/_emulator/' + path, verify=self.ca_file, timeout=30, **kwargs)
        resp.raise_for_status()
        return resp

    def reset(self, **config):
        self.note_sessions()
        self.control('POST', 'reset')
        if config:
            self.control('PATCH', 'config', json=config)

    def log(self):
        return self.control('GET', 'log').json()

    def jobs(self):
        return self.control('GET', 'jobs').json()

    def job(self, name, backup_server='vbr01'):
        for job in self.jobs():
            if job['name'] == name and job['backup_server'] == backup_server:
                return job
        raise KeyError(name)

    def raw_xml(self, job_id):
        return self.control('GET', 'jobs/%s/xml' % job_id).content

    def sessions(self):
        return self.control('GET', 'sessions').json()

    def fault(self, **spec):
        self.control('POST', 'faults', json=spec)

    def stop(self):
        if self.proc.poll() is not None:
            return
        self.note_sessions()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def note_sessions(self):
        """In verbose mode, note every session issued since the last reset (a reset forgets them)."""
        if VERBOSE_DIR:
            _note_secrets(*[{'token': s['token'], 'session_id': s['session_id']} for s in self.sessions()])


def _free_port():
    import socket
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def launch_emulator(name='emulator_', username=USER, password=PASSWORD, args=()):
    """Start an emulator on a free port with its own CA; return its :class:`Emulator` (stop it with stop())."""
    tmp = scratch(name)
    ca_file = os.path.join(tmp, 'ca.pem')
    ready = os.path.join(tmp, 'ready')
    proc = subprocess.Popen(
        [sys.executable, EMULATOR, '--port', '0', '--ca-file', ca_file, '--ready-file', ready,
         '--username', username, '--password', password, '--max-lifetime', '3000',
         '--task-running-seconds', '0.3', '--task-opfinished-polls', '1'] + list(args),
        stdout=open(os.path.join(tmp, 'emulator.out'), 'w'), stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while not (os.path.exists(ready) and open(ready).read().strip()):
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError('emulator did not start: %s' % open(os.path.join(tmp, 'emulator.out')).read())
        time.sleep(0.1)
    _note_secrets({'password': password})
    return Emulator(open(ready).read().strip(), ca_file, proc)


@pytest.fixture(scope='session')
def emulator():
    emu = launch_emulator()
    yield emu
    emu.stop()


@pytest.fixture(params=MODES)
def em_mode(request, emulator):
    order, merge = request.param.split(':')
    emulator.reset(order_violation=order, merge=merge)
    return request.param


@pytest.fixture
def em(emulator):
    """The emulator, reset to its defaults (strict order, replace reading)."""
    emulator.reset(order_violation='reject', merge='replace')
    return emulator


class PlaybookRun:
    def __init__(self, results, proc, log):
        self.results = results
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.log = log

    def sessions(self):
        """The emulator log split into one list of requests per logon session, in order."""
        order, groups = [], {}
        for entry in self.log:
            sid = entry.get('session')
            if sid is None:
                continue
            if sid not in groups:
                order.append(sid)
                groups[sid] = []
            groups[sid].append(entry)
        return [groups[s] for s in order]

    def writes(self):
        return em_writes(self.log)


def em_writes(log):
    """Requests that change EM: every PUT, POST and DELETE but logon, logoff and task clean-up."""
    return [e for e in log if e['path'].startswith('/api/') and e['method'] in ('PUT', 'POST', 'DELETE')
            and '/sessionMngr' not in e['path'] and '/logonSessions/' not in e['path']
            and not e['path'].startswith('/api/tasks/')]


def module_defaults(emulator, **extra):
    defaults = {'server': emulator.url, 'username': USER, 'password': PASSWORD, 'ca_path': emulator.ca_file}
    defaults.update(extra)
    return defaults


def secrets_out_of_play(defaults, extra_vars, tmp):
    """Move passwords from the play's text to a vars file given with ``-e @file``.

    From 2.20 on, ansible-core quotes the playbook's source around a failed task, so a
    password written into the play would be printed by ansible itself. Users who keep
    secrets in vault, AWX credentials or the environment are in the same position as this.
    Returns ``(defaults, extra_vars, extra command-line arguments)``.
    """
    defaults, extra_vars, secret = dict(defaults or {}), dict(extra_vars or {}), {}
    if defaults.get('password'):
        secret['e2e_em_password'] = defaults['password']
        defaults['password'] = '{{ e2e_em_password }}'
    for key in [k for k in extra_vars if 'password' in k]:
        secret[key] = extra_vars.pop(key)
    if not secret:
        return defaults, extra_vars, []
    path = os.path.join(tmp, 'secret-vars.json')
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as f:
        json.dump(secret, f)
    return defaults, extra_vars, ['-e', '@' + path]


def playbook(emulator, tasks, check=False, diff=False, verbosity=0, env=None, defaults=None, extra_vars=None):
    """Write a play of ``tasks`` (module calls); return (command, environment, results file)."""
    tmp = scratch('play_')
    out = os.path.join(tmp, 'results.json')
    body = []
    names = []
    for i, task in enumerate(tasks):
        task = dict(task)
        task.setdefault('name', 'task %d' % i)
        task.setdefault('register', 'r%d' % i)
        names.append(task['register'])
        task['ignore_errors'] = True
        body.append(task)
    body.append({'name': 'collect results', 'ansible.builtin.copy': {
        'content': '{{ [%s] | to_json }}' % ', '.join(names), 'dest': out}, 'check_mode': False, 'diff': False})
    defaults = defaults if defaults is not None else module_defaults(emulator)
    if defaults.get('password'):
        _note_secrets({'password': defaults['password']})
    defaults, extra_vars, secret_args = secrets_out_of_play(defaults, extra_vars, tmp)
    play = [{'hosts': 'localhost', 'gather_facts': False, 'connection': 'local',
             'vars': dict({'ansible_python_interpreter': sys.executable}, **(extra_vars or {})),
             'module_defaults': {'group/veeam_em.core.em': defaults},
             'tasks': body}]
    path = os.path.join(tmp, 'play.yml')
    with open(path, 'w') as f:
        yaml.safe_dump(play, f, sort_keys=False)
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', path] + secret_args
    if check:
        cmd.append('--check')
    if diff:
        cmd.append('--diff')
    if VERBOSE_DIR:
        verbosity = max(verbosity, 3)
    if verbosity:
        cmd.append('-' + 'v' * verbosity)
    return cmd, playbook_env(env), out


class CaseRun:
    """One case of a ``run_cases`` play: its results and the emulator's requests of its sessions."""

    def __init__(self, results, log, output, rc):
        self.results = results
        self.log = log
        self.output = output
        self.rc = rc

    def sessions(self, *needles):
        """Per logon session, in order, the requests of the sessions that name any of ``needles``.

        Hosts run side by side, so a case's sessions are told from the others' by what they ask
        for: a job's id in a path, its name in a query.
        """
        run = PlaybookRun.__new__(PlaybookRun)
        run.log = self.log
        found = []
        for session in run.sessions():
            text = ' '.join('%s %s' % (e['path'], urllib.parse.unquote_plus(e.get('query') or '')) for e in session)
            if any(n in text for n in needles):
                found.append(session)
        return found


def run_cases(emulator, cases, check=False, diff=False, env=None, defaults=None, extra_vars=None, forks=6):
    """Run many independent cases in one ansible-playbook run; return {case id: CaseRun}.

    ``cases`` maps a case id to its list of tasks. Each case is an inventory host (local connection),
    the play's free strategy lets the hosts run side by side, and each host includes its own tasks, so
    a failure, a result or an assertion names its case. Cases must not touch the same EM objects.
    ``forks`` bounds how many run at once: on two cores, more only queue for the CPU.
    """
    tmp = scratch('cases_')
    hosts = {}
    for i, (case_id, tasks) in enumerate(cases.items()):
        host = 'case%03d' % i
        body, names = [], []
        for j, task in enumerate(tasks):
            task = dict(task)
            task.setdefault('name', '%s task %d' % (case_id, j))
            task['register'] = 'r%d' % j
            task['ignore_errors'] = True
            names.append(task['register'])
            body.append(task)
        hosts[host] = (case_id, names)
        with open(os.path.join(tmp, host + '.yml'), 'w') as f:
            yaml.safe_dump(body, f, sort_keys=False)
    with open(os.path.join(tmp, 'inventory.ini'), 'w') as f:
        line = '%s ansible_connection=local ansible_python_interpreter=' + sys.executable + '\n'
        f.write('[cases]\n' + ''.join(line % h for h in hosts))
    defaults = defaults if defaults is not None else module_defaults(emulator)
    if defaults.get('password'):
        _note_secrets({'password': defaults['password']})
    defaults, extra_vars, secret_args = secrets_out_of_play(defaults, extra_vars, tmp)
    # One task at the end collects every host's results (one copy, not one per host).
    collected = '{{ {%s} | to_json }}' % ', '.join(
        "'%s': [%s]" % (host, ', '.join("hostvars['%s']['%s'] | default(None)" % (host, n) for n in names))
        for host, (_case, names) in hosts.items())
    out = os.path.join(tmp, 'results.json')
    play = [{'hosts': 'cases', 'gather_facts': False, 'strategy': 'free', 'vars': dict(extra_vars or {}),
             'module_defaults': {'group/veeam_em.core.em': defaults},
             'tasks': [{'name': 'the case of this host',
                        'ansible.builtin.include_tasks': os.path.join(tmp, '{{ inventory_hostname }}.yml')}]},
            {'hosts': 'localhost', 'gather_facts': False, 'connection': 'local',
             'vars': {'ansible_python_interpreter': sys.executable},
             'tasks': [{'name': 'collect the results of every case', 'ansible.builtin.copy': {
                 'content': collected, 'dest': out}, 'check_mode': False, 'diff': False}]}]
    path = os.path.join(tmp, 'play.yml')
    with open(path, 'w') as f:
        yaml.safe_dump(play, f, sort_keys=False)
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', os.path.join(tmp, 'inventory.ini'),
           '-f', str(max(1, min(forks, len(hosts)))), path] + secret_args
    cmd += ['--check'] if check else []
    cmd += ['--diff'] if diff else []
    cmd += verbose_args()
    emulator.control('DELETE', 'log')
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=playbook_env(env), timeout=600, check=False)
        keep_output(proc.stdout + proc.stderr)
        log = emulator.log()
        collected = {}
        if os.path.exists(out):
            with open(out) as f:
                collected = json.load(f)
        runs = {}
        for host, (case_id, _names) in hosts.items():
            results = [r for r in collected.get(host, []) if r is not None]
            runs[case_id] = CaseRun(results, log, proc.stdout + proc.stderr, proc.returncode)
    finally:  # the play and its vars file (the password) go as soon as the run is over
        shutil.rmtree(tmp, ignore_errors=True)
    return runs


def run_tasks(emulator, tasks, **kwargs):
    """Run ``tasks`` (module calls) in one play; return their registered results.

    Keyword arguments: check, diff, verbosity, env, defaults (module_defaults of the
    group) and extra_vars.
    """
    cmd, run_env, out = playbook(emulator, tasks, **kwargs)
    emulator.control('DELETE', 'log')
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=run_env, timeout=600, check=False)
        keep_output(proc.stdout + proc.stderr)
        results = {}
        if os.path.exists(out):
            with open(out) as f:
                results = json.load(f)
    finally:  # the play and its vars file (the password) go as soon as the run is over
        shutil.rmtree(os.path.dirname(out), ignore_errors=True)
    return PlaybookRun(results, proc, emulator.log())
