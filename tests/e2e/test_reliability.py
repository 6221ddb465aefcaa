# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults, attacks and races from docs/reliability.md, injected through the emulator.

Each test names the acceptance check of shared/design/reliability.md it covers (#N).
"""

from __future__ import (absolute_import, division, print_function)

import base64
from datetime import datetime
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import yaml

from conftest import PASSWORD, USER, module_defaults, run_tasks

JOB = 'SQL Backup'


def ts(entry):
    """A log entry's time in seconds (the emulator writes ISO 8601)."""
    value = entry['time']
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(value.replace('Z', '+00:00')).timestamp()


def api(run, method=None, path=''):
    return [e for e in run.log if e['path'].startswith('/api' + path) and (method is None or e['method'] == method)]


def edit(description, **extra):
    return {'veeam_em.core.job': dict({'name': JOB, 'description': description}, **extra)}


class Canary:
    """A listening socket that counts the connections it receives."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                conn, _addr = self.sock.accept()
            except socket.timeout:
                continue
            self.hits += 1
            conn.close()

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def test_connect_failures_are_retried_with_jitter(em):
    """#11: resets before the request is read, twice; the third attempt succeeds."""
    em.fault(http={'method': 'GET', 'path': '^/api/query', 'action': 'reset', 'when': 'before', 'count': 2})
    run = run_tasks(em, [edit('after resets')])
    r = run.results[0]
    assert not r.get('failed'), r.get('msg')
    attempts = api(run, 'GET', '/query')
    assert len(attempts) == 3 and attempts[-1]['status'] == 200
    gaps = [ts(b) - ts(a) for a, b in zip(attempts, attempts[1:])]
    assert all(0 < g <= 31 for g in gaps), gaps


def test_retry_after_is_honoured(em):
    """#12: 503 with Retry-After: 2 -> the next attempt comes at least 2 s later."""
    em.fault(http={'method': 'GET', 'path': '^/api/query', 'status': 503, 'retry_after': 2})
    run = run_tasks(em, [edit('after a 503')])
    assert not run.results[0].get('failed'), run.results[0].get('msg')
    first, second = api(run, 'GET', '/query')[:2]
    assert first['status'] == 503 and ts(second) - ts(first) >= 2.0


def test_huge_retry_after_fails_promptly(em):
    """#12: Retry-After: 3600 -> fail at once, quoting the header."""
    em.fault(http={'method': 'GET', 'path': '^/api/query', 'status': 429, 'retry_after': 3600, 'count': None})
    t0 = time.monotonic()
    run = run_tasks(em, [edit('never')])
    r = run.results[0]
    assert r['failed'] is True and '3600' in r['msg']
    assert time.monotonic() - t0 < 30
    assert len(api(run, 'GET', '/query')) == 1
    assert api(run, 'DELETE', '/logonSessions')


def test_put_answer_lost_after_apply_is_not_resent(em):
    """#13: EM applies the PUT, then the connection resets: no second PUT, the run converges."""
    em.fault(http={'method': 'PUT', 'path': '^/api/jobs/', 'action': 'reset', 'when': 'after'})
    run = run_tasks(em, [edit('applied once')])
    r = run.results[0]
    assert not r.get('failed'), r.get('msg')
    assert r['changed'] is True
    assert len(api(run, 'PUT')) == 1
    assert b'applied once' in em.raw_xml(em.job(JOB)['id'])


def test_502_after_apply_is_not_resent(em):
    """#13: a 502 that hides an applied edit."""
    em.fault(http={'method': 'PUT', 'path': '^/api/jobs/', 'status': 502, 'when': 'after'})
    run = run_tasks(em, [edit('behind a 502')])
    r = run.results[0]
    assert not r.get('failed'), r.get('msg')
    assert r['changed'] is True and len(api(run, 'PUT')) == 1


def test_poll_schedule_and_operation_finished(em):
    """#14: a 3 s task is polled on the 1 s x1.5 schedule, never done at OperationFinished, then deleted."""
    em.control('PATCH', 'config', json={'task_running_seconds': 3, 'task_opfinished_polls': 1})
    run = run_tasks(em, [edit('polled')])
    r = run.results[0]
    assert not r.get('failed'), r.get('msg')
    polls = api(run, 'GET', '/tasks/')
    # Running at 1, 2.5 s; OperationFinished at 4.75 s; Finished at 8.1 s: 4 polls (n(3) = 3, plus the
    # OperationFinished one), within one either way for timing.
    assert 3 <= len(polls) <= 5, len(polls)
    gaps = [ts(b) - ts(a) for a, b in zip(polls, polls[1:])]
    assert all(g >= 0.9 for g in gaps), gaps
    assert r['task']['state'] == 'Finished'
    assert api(run, 'DELETE', '/tasks/'), 'the finished task is deleted'


def test_poll_errors_three_tolerated(em):
    """#16: three 500s in a row on the task poll are tolerated."""
    em.fault(http={'method': 'GET', 'path': '^/api/tasks/', 'status': 500, 'count': 3})
    run = run_tasks(em, [edit('three errors')])
    r = run.results[0]
    assert not r.get('failed'), r.get('msg')
    assert r['task']['state'] == 'Finished'


def test_poll_errors_four_fail(em):
    """#16: the fourth poll error in a row fails the run, clearly, with changed true."""
    em.fault(http={'method': 'GET', 'path': '^/api/tasks/', 'status': 500, 'count': None})
    run = run_tasks(em, [edit('four errors')])
    r = run.results[0]
    assert r['failed'] is True and r['changed'] is True
    assert 'task-1' in r['msg']
    assert len(api(run, 'PUT')) == 1
    assert api(run, 'DELETE', '/logonSessions')


def test_stalled_answer_gives_up_within_the_deadline(em):
    """#17: a server that never answers -> the run fails within the per-request deadline."""
    em.fault(http={'method': 'GET', 'path': '^/api/query', 'action': 'stall', 'seconds': 60, 'count': None})
    t0 = time.monotonic()
    run = run_tasks(em, [edit('stalled', request_timeout=2)])
    elapsed = time.monotonic() - t0
    r = run.results[0]
    assert r['failed'] is True
    assert elapsed < 10 + 1 + 8, elapsed  # deadline max(2 x 2, 10) s, + 1 s, + ansible-playbook start-up


def test_oversized_answer_is_refused(em):
    """#17: a 50 MiB body is refused, not loaded."""
    em.fault(http={'method': 'GET', 'path': '^/api/query', 'action': 'oversize', 'mebibytes': 50, 'count': None})
    run = run_tasks(em, [edit('too big')])
    r = run.results[0]
    assert r['failed'] is True and ('large' in r['msg'].lower() or 'size' in r['msg'].lower()), r['msg']


def test_session_expiry_mid_run_one_relogon_no_duplicate_put(em):
    """#19: the session dies right after the GET: one new logon, one PUT, converged."""
    em.fault(http={'method': 'GET', 'path': '^/api/query', 'action': 'expire_session', 'when': 'after'})
    run = run_tasks(em, [edit('after expiry')])
    r = run.results[0]
    assert not r.get('failed'), r.get('msg')
    logons = api(run, 'POST', '/sessionMngr')
    assert len(logons) == 2
    applied = [e for e in api(run, 'PUT') if e['status'] == 202]
    assert len(applied) == 1
    assert b'after expiry' in em.raw_xml(em.job(JOB)['id'])


def test_session_expiry_while_polling_verifies_by_reading(em):
    """#19: the session dies after the PUT; the task is unknown to the new session; the job is read instead."""
    em.fault(http={'method': 'PUT', 'path': '^/api/jobs/', 'action': 'expire_session', 'when': 'after'})
    run = run_tasks(em, [edit('verified by reading')])
    r = run.results[0]
    assert not r.get('failed'), r.get('msg')
    assert r['changed'] is True
    assert len(api(run, 'POST', '/sessionMngr')) == 2
    assert len(api(run, 'PUT')) == 1


def _attack(em, body, tmp_path):
    em.fault(http={'method': 'GET', 'path': '^/api/query', 'action': 'override', 'status': 200, 'body': body,
                   'content_type': 'application/xml; charset=utf-8', 'count': None})
    t0 = time.monotonic()
    run = run_tasks(em, [edit('attacked')], verbosity=3)
    return run, time.monotonic() - t0


def test_xxe_file_and_network_entities_are_refused(em, tmp_path):
    """#22: DOCTYPE with a file entity and a network entity -> 'unsafe XML'; nothing read, nothing fetched."""
    canary_file = tmp_path / 'canary.txt'
    canary_file.write_text('CANARY-FILE-CONTENT-91c2')
    listener = Canary()
    try:
        for entity in ('SYSTEM "file://%s"' % canary_file, 'SYSTEM "http://127.0.0.1:%d/x"' % listener.port):
            body = ('<?xml version="1.0"?><!DOCTYPE q [<!ENTITY x %s>]>'
                    '<QueryResult xmlns="http://www.veeam.com/ent/v1.0"><Entities><Jobs><Job Name="&x;"/></Jobs>'
                    '</Entities><PagingInfo PageNum="1" PageSize="1" PagesCount="1"/></QueryResult>' % entity)
            run, _elapsed = _attack(em, body, tmp_path)
            r = run.results[0]
            assert r['failed'] is True and 'unsafe' in r['msg'].lower(), r['msg']
            assert 'CANARY-FILE-CONTENT' not in run.output
            assert api(run, 'PUT') == []
        time.sleep(0.5)
        assert listener.hits == 0
    finally:
        listener.close()


def test_expansion_bombs_fail_fast(em, tmp_path):
    """#23: billion laughs, quadratic blow-up, deep nesting, a 15 MiB text node: each fails quickly.

    (A 20 MiB node is over the 16 MiB body cap, refused before parsing: see test_oversized_answer_is_refused.)
    """
    laughs = '<!DOCTYPE l [<!ENTITY a "lol">' + ''.join(
        '<!ENTITY %s "%s">' % (chr(98 + i), ('&%s;' % chr(97 + i)) * 10) for i in range(9)) + ']><l>&j;</l>'
    quadratic = '<!DOCTYPE q [<!ENTITY a "%s">]><q>%s</q>' % ('x' * 50000, '&a;' * 50000)
    deep = '<a xmlns="http://www.veeam.com/ent/v1.0">' + '<b>' * 5000 + '</b>' * 5000 + '</a>'
    huge = '<QueryResult xmlns="http://www.veeam.com/ent/v1.0"><X>%s</X></QueryResult>' % ('y' * (15 * 1024 * 1024))
    for body in (laughs, quadratic, deep, huge):
        run, _elapsed = _attack(em, body, tmp_path)
        r = run.results[0]
        assert r['failed'] is True, r
        query = api(run, 'GET', '/query')[-1]
        logoff = api(run, 'DELETE', '/logonSessions')[-1]
        assert ts(logoff) - ts(query) < 2.0


def test_redirect_to_another_host_is_not_followed(em):
    """#25: a 302 to another host: not followed, so no token or credentials leave."""
    listener = Canary()
    try:
        em.fault(http={'method': 'GET', 'path': '^/api/query', 'action': 'override', 'status': 302, 'body': '',
                       'headers': {'Location': 'http://127.0.0.1:%d/api/query' % listener.port}, 'count': None})
        run = run_tasks(em, [edit('redirected')])
        r = run.results[0]
        assert r['failed'] is True and '302' in r['msg']
        time.sleep(0.5)
        assert listener.hits == 0
    finally:
        listener.close()


def test_requests_ca_bundle_does_not_override_ca_path(em):
    """#25: REQUESTS_CA_BUNDLE pointing at another CA store changes nothing when ca_path is set."""
    run = run_tasks(em, [edit('own CA')], env={'REQUESTS_CA_BUNDLE': '/etc/ssl/certs/ca-certificates.crt',
                                               'CURL_CA_BUNDLE': '/etc/ssl/certs/ca-certificates.crt'})
    assert not run.results[0].get('failed'), run.results[0].get('msg')


def test_validate_certs_false_warns_once(em):
    """#25: validate_certs false works and says so, exactly once."""
    defaults = module_defaults(em, validate_certs=False)
    defaults.pop('ca_path')
    run = run_tasks(em, [edit('unverified')], defaults=defaults)
    r = run.results[0]
    assert not r.get('failed'), r.get('msg')
    assert len([w for w in r.get('warnings', []) if 'certificate' in w.lower() or 'tls' in w.lower()]) == 1


def _playbook(em, tmp, name, hosts, tasks, forks=5):
    inventory = os.path.join(tmp, name + '.ini')
    with open(inventory, 'w') as f:
        f.write('[jobs]\n')
        for host, job in hosts:
            f.write('%s job_name="%s" ansible_connection=local ansible_python_interpreter=%s\n'
                    % (host, job, sys.executable))
    play = [{'hosts': 'jobs', 'gather_facts': False,
             'module_defaults': {'group/veeam_em.core.em': module_defaults(em)}, 'tasks': tasks}]
    path = os.path.join(tmp, name + '.yml')
    with open(path, 'w') as f:
        yaml.safe_dump(play, f)
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, '-f', str(forks), path]
    return cmd


def test_five_forks_edit_five_jobs(em):
    """#18: five forks, five jobs, one emulator: all converge, nothing crosses, every session logged off."""
    tmp = tempfile.mkdtemp()
    jobs = ['SQL Backup', 'HV Backup', 'Exchange Backup', 'Chained Backup', 'DC Replication']
    cmd = _playbook(em, tmp, 'forks', [('h%d' % i, j) for i, j in enumerate(jobs)],
                    [{'veeam_em.core.job': {'name': '{{ job_name }}', 'description': 'fork {{ inventory_hostname }}',
                                            'schedule': {'retry': {'times': '{{ 10 + groups.jobs.index(inventory_hostname) }}'}}}}])
    em.control('DELETE', 'log')
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    for i, name in enumerate(jobs):
        xml = em.raw_xml(em.job(name)['id'])
        assert ('fork h%d' % i).encode() in xml
        assert ('<RetryTimes>%d</RetryTimes>' % (10 + i)).encode() in xml
    sessions = em.sessions()
    assert len(sessions) == 5 and all(s['logged_off'] for s in sessions)


def test_two_racing_runs_on_one_job(em):
    """#18: two runs with the same desired state at once: correct end state, at most two PUTs."""
    tmp = tempfile.mkdtemp()
    cmd = _playbook(em, tmp, 'race', [('one', JOB)],
                    [{'veeam_em.core.job': {'name': '{{ job_name }}', 'description': 'raced'}}], forks=1)
    em.control('DELETE', 'log')
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _i in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    puts = [e for e in em.log() if e['method'] == 'PUT']
    assert 1 <= len(puts) <= 2
    assert b'raced' in em.raw_xml(em.job(JOB)['id'])


def test_secrets_never_appear_on_failure_paths(em, tmp_path):
    """#24: -vvv and ANSIBLE_LOG_PATH over success, task failure, timeout, not found and a bad password."""
    log_path = tmp_path / 'ansible.log'
    env = {'ANSIBLE_LOG_PATH': str(log_path)}
    outputs = []
    em.fault(fail_next_task='Injected failure')
    outputs.append(run_tasks(em, [edit('ok one'), edit('fails'), edit('ok two'),
                                  {'veeam_em.core.job': {'name': 'Nope', 'description': 'x'}}],
                             verbosity=3, env=env).output)
    em.fault(task_never_finishes=True)
    outputs.append(run_tasks(em, [edit('slow', wait_timeout=2)], verbosity=3, env=env).output)
    outputs.append(run_tasks(em, [edit('bad password')], verbosity=3, env=env,
                             defaults=module_defaults(em, password=PASSWORD + '-wrong')).output)
    sessions = em.sessions()
    secrets = [PASSWORD, PASSWORD + '-wrong', base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()]
    secrets += [s['token'] for s in sessions] + [s['session_id'] for s in sessions]
    assert len(sessions) >= 3
    text = '\n'.join(outputs) + log_path.read_text()
    for secret in secrets:
        assert secret not in text


def test_unknown_option_fails_before_any_request(em):
    """#1: an option the module does not have is refused by name, with nothing sent."""
    run = run_tasks(em, [edit('x', retention={'restore_pointz': 3})])
    r = run.results[0]
    assert r['failed'] is True and 'restore_pointz' in r['msg']
    assert api(run) == []


def test_hostile_names_stay_inside_the_query(em):
    """#2: a job name with ../, ?, #, %2F or CR/LF is only ever a quoted query value."""
    for name in ('../../etc/passwd', 'a?b=c#d', 'x%2Fy', 'evil\r\nX-Injected: 1'):
        run = run_tasks(em, [{'veeam_em.core.job': {'name': name, 'description': 'x'}}])
        r = run.results[0]
        assert r['failed'] is True and 'not found' in r['msg'], r.get('msg')
        paths = sorted(set(e['path'] for e in api(run)))
        assert all(p in ('/api/query', '/api/sessionMngr/') or p.startswith('/api/logonSessions/') for p in paths), paths
        assert api(run, 'PUT') == []


def test_drift_is_corrected_and_a_deleted_job_fails_cleanly(em):
    """#5: an out-of-band change is put back with one PUT; a job deleted out of band fails without writes."""
    job = em.job(JOB)
    first = run_tasks(em, [edit('declared')])
    assert first.results[0]['changed'] is True
    drifted = em.raw_xml(job['id']).replace(b'<Description>declared</Description>',
                                            b'<Description>changed by hand</Description>')
    em.control('PUT', 'jobs/%s/xml' % job['id'], data=drifted, headers={'Content-Type': 'application/xml'})
    again = run_tasks(em, [edit('declared')])
    assert again.results[0]['changed'] is True and len(api(again, 'PUT')) == 1
    assert b'<Description>declared</Description>' in em.raw_xml(job['id'])
    gone = run_tasks(em, [{'veeam_em.core.job': {'name': JOB, 'state': 'absent'}}, edit('declared')])
    assert gone.results[1]['failed'] is True and 'not found' in gone.results[1]['msg']
    assert api(gone, 'PUT') == []
