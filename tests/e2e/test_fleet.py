# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Many EM servers in one run: examples/fleet against three emulators at once, then export and re-apply.

Each emulator has its own CA, port, password and estate (a different number of generated jobs), and
the example inventory reaches each through its own environment variables, as AWX would inject them.
"""

from __future__ import (absolute_import, division, print_function)

import os
import re
import subprocess
import sys

import yaml

from conftest import ROOT, USER, em_writes, keep_output, playbook_env, scratch, launch_emulator, verbose_args

FLEET = os.path.join(ROOT, 'examples', 'fleet')
HOSTS = {'em-east': 1, 'em-west': 2, 'em-north': 3}  # host: generated jobs in its estate
COMMON = {('job', 'SQL Backup', 'vbr01'), ('job', 'Exchange Backup', 'vbr01'), ('tenant', 'acme', 'vbr01')}
OWN = {'em-east': set(), 'em-west': {('job', 'File Server Backup', 'vbr02'), ('tenant', 'globex', 'vbr01')},
       'em-north': {('job', 'Generated Job 0002', 'vbr01')}}
RECAP = re.compile(r'^(em-\w+)\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)


def env_for(fleet):
    env = {'VEEAM_EM_USERNAME': USER}
    for host, emu in fleet.items():
        prefix = 'VEEAM_EM_' + host.upper().replace('-', '_')
        env.update({prefix + '_SERVER': emu.url, prefix + '_PASSWORD': emu.password, prefix + '_CA_PATH': emu.ca_file})
    return env


def play(fleet, playbook, *args, check=False, logs=True):
    """ansible-playbook over the fleet inventory, three forks; returns (output, {host: (changed, failed)})."""
    for emu in fleet.values():
        if logs:
            emu.control('DELETE', 'log')
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', os.path.join(FLEET, 'inventory.yml'),
           '-f', '3', playbook] + list(args) + (['--check'] if check else []) + verbose_args()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=playbook_env(env_for(fleet)), timeout=600, check=False)
    out = proc.stdout + proc.stderr
    keep_output(out)
    recap = {host: (int(changed), int(unreachable) + int(failed)) for host, changed, unreachable, failed in RECAP.findall(out)}
    assert set(recap) == set(HOSTS), out
    return out, recap


def written(emu):
    """(kind, name, backup server) of every job or tenant a write of the last run went to."""
    by_id = {('jobs', j['id']): ('job', j['name'], j['backup_server']) for j in emu.jobs()}
    by_id.update((('tenants', t['id']), ('tenant', t['name'], t['backup_server']))
                 for t in emu.control('GET', 'tenants').json())
    paths = [e['path'].split('?')[0].replace('/api/cloud/', '/api/').split('/') for e in em_writes(emu.log())]
    return [by_id.get((p[2], p[3]), '/'.join(p)) for p in paths]


def test_fleet_apply_rerun_drift_export_round_trip():
    fleet = {}
    tmp = scratch('fleet_')
    try:
        for host, extra in HOSTS.items():
            password = 'pw-CANARY-%s-4e1d' % host
            emu = launch_emulator('fleet_%s_' % host, password=password, args=['--jobs', str(extra)])
            emu.password = password
            fleet[host] = emu
        playbook = os.path.join(FLEET, 'playbook.yml')

        # Check mode first: a drift report per host, the fleet summary, and nothing written anywhere.
        out, recap = play(fleet, playbook, '--diff', check=True)
        assert all(failed == 0 for _changed, failed in recap.values()), out
        assert 'Drift over 3 EM hosts (jobs):' in out and 'Drift over 3 EM hosts (tenants):' in out, out
        assert 'em-west: SQL Backup (vbr01), Exchange Backup (vbr01), File Server Backup (vbr02)' in out, out
        assert 'em-west: acme (vbr01), globex (vbr01)' in out and 'em-north: acme (vbr01)' in out, out
        for host, emu in fleet.items():
            assert written(emu) == [], host

        # Apply: each EM receives exactly its own jobs' edits, one each.
        out, recap = play(fleet, playbook)
        for host, emu in fleet.items():
            assert recap[host][1] == 0, out
            assert sorted(written(emu)) == sorted(COMMON | OWN[host]), host
        assert 'Changed over 3 EM hosts (jobs):' in out and 'Changed over 3 EM hosts (tenants):' in out

        # Again: quiet on every host.
        out, recap = play(fleet, playbook)
        assert {host: changed for host, (changed, _failed) in recap.items()} == {host: 0 for host in HOSTS}, out
        assert all(written(emu) == [] for emu in fleet.values())
        assert out.count(': no difference') == 6, out  # jobs and tenants, on each host

        # Export what each EM holds, then apply each file, unchanged, to its own EM: nothing to do.
        export = os.path.join(tmp, 'export')
        os.mkdir(export)
        out, recap = play(fleet, playbook, '-e', 'veeam_em_export_path=' + export)
        assert all(failed == 0 for _changed, failed in recap.values()), out
        assert all(written(emu) == [] for emu in fleet.values())
        for host, emu in fleet.items():
            with open(os.path.join(export, host + '.jobs.yml')) as f:
                text = f.read()
            assert text.startswith('# The jobs EM %s held' % emu.url)
            assert emu.password not in text
            jobs = yaml.safe_load(text)['veeam_em_jobs']
            assert [(j['name'], j['backup_server']) for j in jobs] == sorted(
                (j['name'], j['backup_server']) for j in emu.jobs()), host
            assert next(j for j in jobs if j['name'] == 'SQL Backup')['retention']['restore_points'] == 21
            with open(os.path.join(export, host + '.tenants.yml')) as f:
                text = f.read()
            assert emu.password not in text and 'tenant_password:' not in text.split('veeam_em_tenants:')[1]
            tenants = yaml.safe_load(text)['veeam_em_tenants']
            assert sorted((t['name'], t['backup_server']) for t in tenants) == sorted(
                (t['name'], t['backup_server']) for t in emu.control('GET', 'tenants').json()), host
            assert next(t for t in tenants if t['name'] == 'acme' and t['backup_server'] == 'vbr01')[
                'max_concurrent_tasks'] == 6
        reapply = os.path.join(tmp, 'reapply.yml')
        with open(reapply, 'w') as f:
            yaml.safe_dump([{'name': 'Apply each EM its own export', 'hosts': 'veeam_em', 'gather_facts': False,
                             'tasks': [{'ansible.builtin.include_vars': export + '/{{ inventory_hostname }}.jobs.yml'},
                                       {'ansible.builtin.include_vars': export + '/{{ inventory_hostname }}.tenants.yml'},
                                       {'ansible.builtin.include_role': {'name': 'veeam_em.core.job_config'}},
                                       {'ansible.builtin.include_role': {'name': 'veeam_em.core.tenant_config'}}]}], f)
        out, recap = play(fleet, reapply, '--diff')
        assert {host: changed for host, (changed, _failed) in recap.items()} == {host: 0 for host in HOSTS}, out
        assert all(written(emu) == [] for emu in fleet.values())

        # One site down: its host fails alone, the others report, and the summary says which was not applied.
        fleet['em-north'].stop()
        out, recap = play(fleet, playbook, check=True, logs=False)
        assert recap['em-north'][1] == 1 and recap['em-east'][1] == 0 and recap['em-west'][1] == 0, out
        assert out.count('em-north: not applied') == 2 and out.count('em-east: no difference') == 2, out
    finally:
        for emu in fleet.values():
            emu.stop()
