# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veeam_em.core.job against the emulator, through ansible-playbook.

For every setting group: check mode reports the change and writes nothing;
the real run sends exactly one PUT; the re-run sends none; the diff names only
what changed; and the stored entity differs from before only under the
elements that group owns (read from the emulator's raw XML, not through the
module).
"""

from __future__ import (absolute_import, division, print_function)

import base64
import os

import pytest
from lxml import etree

from conftest import MODES, PASSWORD, ROOT, USER, module_defaults, run_cases, run_tasks

NS = '{http://www.veeam.com/ent/v1.0}'


def flatten(xml):
    """{element path: (text, attributes)} of a Job entity; repeated siblings get an index."""
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    out = {}

    def walk(el, path):
        seen = {}
        for c in el:
            if not isinstance(c.tag, str):
                continue
            name = c.tag.replace(NS, '')
            if c.get('Name') and name == 'Day':
                name = 'Day[%s]' % c.get('Name')
            seen[name] = seen.get(name, -1) + 1
            key = '%s/%s' % (path, name) if path else name
            if seen[name]:
                key += '[%d]' % seen[name]
            out[key] = ((c.text or '').strip(), tuple(sorted(c.attrib.items())))
            walk(c, key)
    walk(root, '')
    return out


def changed_paths(before, after):
    a, b = flatten(before), flatten(after)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def opposite(xml, path):
    """The negation of a boolean element's current value in the raw entity."""
    value = flatten(xml)[path][0]
    return value.lower() not in ('true', '1')


STD = 'JobScheduleOptions/Standart/'
BJI = 'JobInfo/BackupJobInfo/'

# (id, job name, settings, element prefixes the change may touch, keys expected in diff.after).
# NextRun is read-only: EM recomputes it when the schedule changes.
CASES = [
    ('description', 'SQL Backup', {'description': 'Managed by Ansible (e2e)'}, ['Description'], ['description']),
    ('schedule_enabled', 'SQL Backup', {'schedule_enabled': 'OPPOSITE:ScheduleEnabled'}, ['ScheduleEnabled', 'NextRun'],
     ['schedule_enabled']),
    ('daily_time', 'SQL Backup', {'schedule': {'daily': {'time': '21:17'}}}, [STD + 'OptionsDaily', 'NextRun'],
     ['schedule']),
    ('daily_selected_days', 'SQL Backup',
     {'schedule': {'daily': {'kind': 'selected_days', 'days': ['friday', 'monday', 'wednesday']}}},
     [STD + 'OptionsDaily', 'NextRun'], ['schedule']),
    ('switch_to_monthly', 'SQL Backup',
     {'schedule': {'monthly': {'time': '03:45', 'day_number_in_month': 'last', 'day_of_week': 'saturday',
                               'months': ['january', 'july']}}},
     [STD + 'OptionsDaily', STD + 'OptionsMonthly', STD + 'OptionsPeriodically', STD + 'OptionsContinuous',
      STD + 'OptionsDaisyChaining', 'ScheduleConfigured', 'NextRun'], ['schedule']),
    ('monthly_on_day', 'HV Backup',
     {'schedule': {'monthly': {'day_number_in_month': 'on_day', 'day_of_month': 13}}},
     [STD + 'OptionsMonthly', 'NextRun'], ['schedule']),
    ('periodically', 'Exchange Backup',
     {'schedule': {'periodically': {'kind': 'minutes', 'full_period': 45, 'window': {'sunday': '', 'monday': '6-18'}}}},
     [STD + 'OptionsPeriodically', 'NextRun'], ['schedule']),
    ('continuous', 'SQL Backup', {'schedule': {'continuous': {'window': {'saturday': '0-12'}}}},
     [STD + 'OptionsDaily', STD + 'OptionsMonthly', STD + 'OptionsPeriodically', STD + 'OptionsContinuous',
      STD + 'OptionsDaisyChaining', 'ScheduleConfigured', 'NextRun'], ['schedule']),
    ('backup_window', 'SQL Backup', {'schedule': {'backup_window': {'tuesday': '0-5,21-24', 'thursday': '1-2'}}},
     [STD + 'OptionsBackupWindow'], ['schedule']),
    ('after_job', 'Chained Backup', {'schedule': {'after_job': 'Exchange Backup'}},
     [STD + 'OptionsDaisyChaining', 'NextRun'], ['schedule']),
    ('retry', 'SQL Backup', {'schedule': {'retry': {'enabled': True, 'times': 7, 'wait_minutes': 13}}},
     [STD + 'RetryOptions'], ['schedule']),
    ('retention', 'SQL Backup', {'retention': {'type': 'days', 'days': 23}}, [BJI + 'SimpleRetentionPolicy'],
     ['retention']),
    ('gfs', 'SQL Backup', {'gfs': {'weekly': {'keep': 9, 'day': 'tuesday'},
                                   'yearly': {'enabled': True, 'keep': 3, 'month': 'march'}}},
     [BJI + 'GfsRetentionPolicy'], ['gfs']),
    ('gfs_all_off', 'SQL Backup', {'gfs': {'weekly': {'enabled': False}, 'monthly': {'enabled': False},
                                           'yearly': {'enabled': False}}},
     [BJI + 'GfsRetentionPolicy'], ['gfs']),
    ('guest_processing', 'SQL Backup',
     {'guest_processing': {'app_aware': {'mode': 'ignore_failures', 'copy_only': True},
                           'sql': {'transaction_logs': 'backup', 'backup_logs_frequency_min': 29},
                           'windows_indexing': {'mode': 'specified_folders', 'include': ['C:\\Data', 'D:\\Shares']}}},
     [BJI + 'GuestProcessingOptions'], ['guest_processing']),
    ('replica_guest', 'DC Replication', {'guest_processing': {'app_aware': {'mode': 'disabled'}}},
     ['JobInfo/ReplicaJobInfo/GuestProcessingOptions'], ['guest_processing']),
    ('replica_retry', 'DC Replication', {'schedule': {'retry': {'times': 11}}}, [STD + 'RetryOptions'], ['schedule']),
    ('copy_description', 'Periodic Copy', {'description': 'copy job managed by Ansible'}, ['Description'],
     ['description']),
    ('immediate_copy_window', 'Immediate Copy', {'schedule': {'continuous': {'window': {'wednesday': '2-3'}}}},
     ['JobScheduleOptions/ImmediateCopyMode/OptionsContinuous', 'ScheduleConfigured', 'NextRun'], ['schedule']),
]


def _resolve(settings, xml):
    if isinstance(settings, dict):
        return dict((k, _resolve(v, xml)) for k, v in settings.items())
    if isinstance(settings, str) and settings.startswith('OPPOSITE:'):
        return opposite(xml, settings.split(':', 1)[1])
    return settings


def _writes(requests_of_session):
    return [e for e in requests_of_session if e['method'] == 'PUT']


_BATCHES = {}


def setting_groups(emulator, mode):
    """Every setting-group case under one reading, in two ansible-playbook runs (once per process).

    Each case gets its own copy of its job (control API) and its own inventory host, so the cases
    run side by side and cannot see each other: one check-mode run, then one run holding each case's
    task twice (the change, then the idempotent re-run).
    """
    if mode in _BATCHES:
        return _BATCHES[mode]
    order, merge = mode.split(':')
    emulator.reset(order_violation=order, merge=merge)
    cases = {}
    for case_id, name, settings, _prefixes, _keys in CASES:
        source = emulator.job(name)
        copy = emulator.control('POST', 'jobs/%s/copy' % source['id'], json={'name': 'e2e %s' % case_id}).json()
        before = emulator.raw_xml(copy['id'])
        task = {'veeam_em.core.job': dict({'name': copy['name']}, **_resolve(settings, before))}
        cases[case_id] = {'job_id': copy['id'], 'job_name': copy['name'], 'before': before, 'task': task}
    check = run_cases(emulator, dict((c, [v['task']]) for c, v in cases.items()), check=True, diff=True)
    for c, v in cases.items():
        v.update(check=check[c], after_check=emulator.raw_xml(v['job_id']))
    apply_ = run_cases(emulator, dict((c, [v['task'], v['task']]) for c, v in cases.items()), diff=True)
    for c, v in cases.items():
        v.update(apply=apply_[c], after=emulator.raw_xml(v['job_id']))
    _BATCHES[mode] = cases
    return cases


# The reading must stay the last parameter: the e2e scheduler (conftest.BATCHED) puts each reading's
# cases on one xdist worker, so that its batch runs once.
@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_setting_group(emulator, mode, case):
    case_id, _name, _settings, prefixes, diff_keys = case
    c = setting_groups(emulator, mode)[case_id]
    before, check = c['before'], c['check']

    assert len(check.results) == 1, check.output[-3000:]
    result = check.results[0]
    assert result.get('changed') is True, result
    assert not result.get('failed'), result
    check_sessions = check.sessions(c['job_id'], '"%s"' % c['job_name'])
    assert len(check_sessions) == 1
    assert _writes(check_sessions[0]) == [], 'check mode must not write'
    assert c['after_check'] == before
    assert sorted(result['diff']['after']) == sorted(diff_keys)

    assert len(c['apply'].results) == 2, c['apply'].output[-3000:]
    first, second = c['apply'].results
    assert not first.get('failed'), first.get('msg')
    assert first['changed'] is True
    assert first['task']['state'] == 'Finished' and first['task']['success'] is True
    sessions = c['apply'].sessions(c['job_id'], '"%s"' % c['job_name'])
    assert len(sessions) == 2
    assert len(_writes(sessions[0])) == 1, 'exactly one PUT for the change'
    assert _writes(sessions[0])[0]['path'].lower().endswith(c['job_id']), 'the PUT went to another job'
    assert second['changed'] is False and not second.get('failed'), second
    assert _writes(sessions[1]) == [], 'no PUT when nothing differs'
    assert 'diff' not in second or second['diff'] == {'before': {}, 'after': {}}
    # the diff shows only what changed, and the returned job holds the declared values
    assert sorted(first['diff']['after']) == sorted(diff_keys)
    assert first['diff'] == result['diff']
    assert second['job']['settings'] == first['job']['settings']

    changed = changed_paths(before, c['after'])
    assert changed, 'the stored job did not change'
    stray = [p for p in changed if not any(p.startswith(prefix) for prefix in prefixes)]
    assert stray == [], 'elements changed outside the intended group: %s' % stray
    # every session logged off
    assert all(s[-1]['method'] == 'DELETE' and '/logonSessions/' in s[-1]['path'] for s in sessions)


def test_returned_settings_round_trip(em):
    """Each seeded job's returned settings, fed back, change nothing."""
    tasks = [{'veeam_em.core.job': {'id': j['id']}} for j in em.jobs()]
    first = run_tasks(em, tasks)
    assert all(not r.get('failed') for r in first.results), [r.get('msg') for r in first.results]
    again = [{'veeam_em.core.job': dict({'id': r['job']['id']}, **r['job']['settings'])} for r in first.results]
    second = run_tasks(em, again, diff=True)
    for r in second.results:
        assert not r.get('failed'), r.get('msg')
        assert r['changed'] is False, (r['job']['name'], r.get('diff'))
    assert second.writes() == []


def test_task_failure_reports_em_message(em):
    em.fault(fail_next_task='Simulated failure: repository is unavailable')
    run = run_tasks(em, [{'veeam_em.core.job': {'name': 'SQL Backup', 'description': 'will fail'}}])
    r = run.results[0]
    assert r['failed'] is True and r['changed'] is True
    assert 'repository is unavailable' in r['msg']
    assert len(run.writes()) == 1
    assert r['task']['success'] is False


def test_task_timeout_names_task_and_state(em):
    em.fault(task_never_finishes=True)
    run = run_tasks(em, [{'veeam_em.core.job': {'name': 'SQL Backup', 'description': 'slow', 'wait_timeout': 3}}])
    r = run.results[0]
    assert r['failed'] is True and r['changed'] is True
    assert 'task-1' in r['msg'] and 'Running' in r['msg']
    assert len(run.writes()) == 1
    assert run.sessions()[0][-1]['method'] == 'DELETE'


def test_wait_false_returns_running_task(em):
    run = run_tasks(em, [{'veeam_em.core.job': {'name': 'SQL Backup', 'description': 'no wait', 'wait': False}}])
    r = run.results[0]
    assert r['changed'] is True and not r.get('failed')
    assert r['task']['state'] == 'Running'
    assert r['job']['settings']['description'] == 'no wait'


def test_not_found_lists_close_names(em):
    run = run_tasks(em, [{'veeam_em.core.job': {'name': 'SQL Backpu', 'description': 'x'}}])
    r = run.results[0]
    assert r['failed'] is True and 'SQL Backup' in r['msg'] and 'not found' in r['msg']
    assert run.writes() == []


def test_ambiguous_name_lists_servers_and_backup_server_narrows(em):
    run = run_tasks(em, [
        {'veeam_em.core.job': {'name': 'File Server Backup', 'description': 'x'}},
        {'veeam_em.core.job': {'name': 'File Server Backup', 'backup_server': 'vbr02', 'description': 'on vbr02'}},
    ])
    amb, ok = run.results
    assert amb['failed'] is True and 'vbr01' in amb['msg'] and 'vbr02' in amb['msg']
    assert not ok.get('failed'), ok.get('msg')
    assert ok['changed'] is True and ok['job']['backup_server'] == 'vbr02'
    vbr01 = em.job('File Server Backup', 'vbr01')
    assert b'on vbr02' not in em.raw_xml(vbr01['id'])


def test_id_forms(em):
    job = em.job('Exchange Backup')
    run = run_tasks(em, [
        {'veeam_em.core.job': {'id': job['id'], 'description': 'by uuid'}},
        {'veeam_em.core.job': {'id': 'urn:veeam:Job:%s' % job['id'].upper(), 'description': 'by uuid'}},
    ])
    a, b = run.results
    assert a['changed'] is True and not a.get('failed'), a.get('msg')
    assert b['changed'] is False and not b.get('failed'), b.get('msg')


@pytest.mark.parametrize('settings,option', [
    ({'schedule': {'daily': {'time': '25:00'}}}, 'schedule.daily.time'),
    ({'schedule': {'daily': {'days': ['funday']}}}, 'days'),
    ({'retention': {'restore_points': 0}}, 'retention.restore_points'),
    ({'schedule': {'backup_window': {'monday': '9-5'}}}, 'schedule.backup_window.monday'),
    ({'schedule': {'daily': {'time': '10:00'}, 'monthly': {'time': '10:00'}}}, 'daily'),
    ({'id': '../../etc/passwd'}, 'id'),
    ({'schedule': {'monthly': {'day_of_month': 32}}}, 'schedule.monthly.day_of_month'),
])
def test_bad_input_fails_before_any_request(em, settings, option):
    args = dict({'name': 'SQL Backup'}, **settings)
    if 'id' in settings:
        args.pop('name')
    run = run_tasks(em, [{'veeam_em.core.job': args}])
    r = run.results[0]
    assert r['failed'] is True
    assert option in r['msg']
    assert [e for e in run.log if e['path'].startswith('/api')] == [], 'no request at all'


def test_option_the_job_type_lacks(em):
    run = run_tasks(em, [{'veeam_em.core.job': {'name': 'Immediate Copy', 'retention': {'restore_points': 3}}}])
    r = run.results[0]
    assert r['failed'] is True and 'retention' in r['msg'] and 'ImmediateBackupCopy' in r['msg']
    assert run.writes() == []


def test_periodic_range_checked_before_write(em):
    """Issue 12 #3: with the unit given, the options alone are refused before the logon; with the unit
    left to the job's (Exchange Backup runs every 4 hours), after one read and before any write."""
    run = run_tasks(em, [
        {'veeam_em.core.job': {'name': 'Exchange Backup', 'schedule': {'periodically': {'kind': 'hours', 'full_period': 30}}}},
        {'veeam_em.core.job': {'name': 'Exchange Backup', 'schedule': {'periodically': {'full_period': 45}}}},
    ])
    offline, online = run.results
    assert offline['failed'] is True and 'full_period' in offline['msg'] and '1 to 24' in offline['msg']
    assert online['failed'] is True and '45 hours' in online['msg'] and '1 to 24' in online['msg']
    assert [len(s) for s in run.sessions()] == [3], 'only the second task logged on: logon, one query, logoff'
    assert run.writes() == []


def test_wrong_password_fails_clearly_without_leaking(em):
    bad = 'pw-CANARY-wrong-0d6c2b'
    run = run_tasks(em, [{'veeam_em.core.job': {'name': 'SQL Backup', 'description': 'x'}}], verbosity=3,
                    defaults=module_defaults(em, password=bad))
    r = run.results[0]
    assert r['failed'] is True and r['changed'] is False
    assert '401' in r['msg'] or 'logon' in r['msg'].lower()
    logons = [e for e in run.log if '/sessionMngr' in e['path']]
    assert len(logons) == 1
    for secret in (bad, base64.b64encode(('%s:%s' % (USER, bad)).encode()).decode()):
        assert secret not in run.output


def test_secrets_absent_from_vvv_output(em):
    run = run_tasks(em, [{'veeam_em.core.job': {'name': 'SQL Backup', 'description': 'secret test'}}], verbosity=3)
    assert not run.results[0].get('failed'), run.results[0].get('msg')
    tokens = [s['session_id'] for s in em.sessions()] + [s['token'] for s in em.sessions()]
    assert tokens
    for secret in [PASSWORD, base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()] + tokens:
        assert secret not in run.output


def test_untrusted_certificate_fails_by_default(em):
    defaults = module_defaults(em)
    defaults.pop('ca_path')
    run = run_tasks(em, [{'veeam_em.core.job': {'name': 'SQL Backup'}}], defaults=defaults)
    r = run.results[0]
    assert r['failed'] is True
    assert 'certificate' in r['msg'].lower() or 'ssl' in r['msg'].lower()


def awx_injected_env(em, tmp_path):
    """The environment AWX builds from our credential type, for a credential holding the emulator."""
    import jinja2
    import yaml
    with open(os.path.join(ROOT, 'extensions', 'awx', 'credential_type.yml')) as f:
        ctype = yaml.safe_load(f)
    with open(em.ca_file) as f:
        inputs = {'server': em.url, 'username': USER, 'password': PASSWORD, 'ca_bundle': f.read(),
                  'validate_certs': True}
    files = {}
    for key, template in ctype['injectors'].get('file', {}).items():
        path = tmp_path / key.split('.', 1)[1]
        path.write_text(jinja2.Template(template).render(**inputs))
        files[key.split('.', 1)[1]] = str(path)
    context = dict(inputs, tower={'filename': files})
    env = dict((k, jinja2.Template(v).render(**context)) for k, v in ctype['injectors']['env'].items())
    assert set(f['id'] for f in ctype['inputs']['fields']) >= set(ctype['inputs']['required'])
    return env


def test_awx_credential_type_environment_is_enough(em, tmp_path):
    """A playbook with no connection options runs on exactly what the AWX injector provides."""
    env = awx_injected_env(em, tmp_path)
    assert env['VEEAM_EM_CA_PATH'] and env['VEEAM_EM_SERVER'] == em.url
    run = run_tasks(em, [{'veeam_em.core.job': {'name': 'SQL Backup', 'description': 'from env'}}], env=env,
                    defaults={})
    r = run.results[0]
    assert not r.get('failed'), r.get('msg')
    assert r['changed'] is True


def test_every_session_logged_off(em):
    run_tasks(em, [
        {'veeam_em.core.job': {'name': 'SQL Backup', 'description': 'a'}},
        {'veeam_em.core.job': {'name': 'SQL Backup', 'description': 'a'}},
        {'veeam_em.core.job': {'name': 'No Such Job', 'description': 'a'}},
    ])
    run_tasks(em, [{'veeam_em.core.job': {'name': 'SQL Backup', 'description': 'b'}}], check=True)
    sessions = em.sessions()
    assert len(sessions) == 4
    assert all(s['logged_off'] for s in sessions), sessions


def test_state_absent_deletes_then_is_idempotent(em):
    job = em.job('Exchange Backup')
    check = run_tasks(em, [{'veeam_em.core.job': {'name': 'Exchange Backup', 'state': 'absent'}}], check=True,
                      diff=True)
    c = check.results[0]
    deletes = [e for e in check.log if e['method'] == 'DELETE' and '/api/jobs/' in e['path']]
    assert c['changed'] is True and check.writes() == [] and deletes == []
    assert c['diff']['before']['name'] == 'Exchange Backup' and c['diff']['after'] == {}
    run = run_tasks(em, [{'veeam_em.core.job': {'name': 'Exchange Backup', 'state': 'absent'}},
                         {'veeam_em.core.job': {'name': 'Exchange Backup', 'state': 'absent'}}])
    first, second = run.results
    assert first['changed'] is True and not first.get('failed'), first.get('msg')
    assert first['task']['operation'] == 'DeleteJob' and first['task']['state'] == 'Finished'
    assert job['id'] not in [j['id'] for j in em.jobs()]
    assert second['changed'] is False and not second.get('failed')
    s1, s2 = run.sessions()
    assert len([e for e in s1 if e['method'] == 'DELETE' and '/api/jobs/' in e['path']]) == 1
    assert not [e for e in s2 if e['method'] in ('DELETE', 'PUT', 'POST') and '/api/jobs' in e['path']]


def test_state_absent_refuses_settings(em):
    run = run_tasks(em, [{'veeam_em.core.job': {'name': 'SQL Backup', 'state': 'absent', 'description': 'x'}}])
    r = run.results[0]
    assert r['failed'] is True and 'state' in r['msg'] and 'description' in r['msg']
    assert [e for e in run.log if e['path'].startswith('/api')] == []
