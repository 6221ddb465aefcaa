# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veeam_em.core.job's clone_from against the emulator."""

from __future__ import (absolute_import, division, print_function)

from conftest import run_tasks


def repository_uids(em):
    """{(backup server, repository name): UID}, read from the emulator's own state."""
    return dict(((b['backup_server'], b['repository']), 'urn:veeam:Repository:' + b['repository_id'])
                for b in em.control('GET', 'backups').json())


def test_clone_creates_then_applies_settings_then_is_idempotent(em):
    """Without clone_from.repository the clone writes where the source job's backup is (issue 12 #4)."""
    task = {'veeam_em.core.job': {'name': 'SQL Backup Clone', 'description': 'cloned by Ansible',
                                  'clone_from': {'job': 'SQL Backup'},
                                  'retention': {'type': 'restore_points', 'restore_points': 5}}}
    check = run_tasks(em, [task], check=True, diff=True)
    c = check.results[0]
    assert c['changed'] is True and not c.get('failed'), c.get('msg')
    assert c['job']['name'] == 'SQL Backup Clone' and c['job']['settings']['retention']['restore_points'] == 5
    assert c['clone'] == {'job': 'SQL Backup', 'id': em.job('SQL Backup')['id'], 'repository': 'Backup Volume 01'}
    assert check.writes() == [] and 'SQL Backup Clone' not in [j['name'] for j in em.jobs()]
    run = run_tasks(em, [task, task])
    first, second = run.results
    assert not first.get('failed'), first.get('msg')
    assert first['changed'] is True and first['task']['operation'] == 'CloneJob'
    assert first['clone']['repository'] == 'Backup Volume 01'
    assert first['job']['name'] == 'SQL Backup Clone' and first['job']['settings']['description'] == 'cloned by Ansible'
    assert first['job']['settings']['retention']['restore_points'] == 5
    assert second['changed'] is False and not second.get('failed')
    clones = [j for j in em.jobs() if j['name'] == 'SQL Backup Clone']
    assert len(clones) == 1 and clones[0]['backup_server'] == 'vbr01'
    assert clones[0]['meta']['repository_uid'] == repository_uids(em)[('vbr01', 'Backup Volume 01')]
    assert len([e for e in run.log if 'action=clone' in (e.get('query') or '')]) == 1


def test_clone_replica_and_refusals(em):
    run = run_tasks(em, [
        {'veeam_em.core.job': {'name': 'DC Replication DR', 'clone_from': 'DC Replication'}},
        # issue 12 #4: the source never ran, so no backup shows its repository
        {'veeam_em.core.job': {'name': 'No Repo Clone', 'clone_from': 'Chained Backup'}},
        {'veeam_em.core.job': {'name': 'Bad Repo Clone', 'clone_from': {'job': 'SQL Backup', 'repository': 'Nope'}}},
        {'veeam_em.core.job': {'name': 'X' * 51, 'clone_from': 'SQL Backup'}},
        {'veeam_em.core.job': {'name': 'SQL Backup', 'clone_from': 'Exchange Backup', 'description': 'exists'}},
        # issue 12 #5: the word "ambiguous" in a name means nothing
        {'veeam_em.core.job': {'name': 'An ambiguous copy', 'clone_from': {
            'job': 'Exchange Backup', 'repository': 'Default Backup Repository'}}},
        {'veeam_em.core.job': {'name': 'Some ambiguous job', 'state': 'absent'}},
        {'veeam_em.core.job': {'name': 'File Server Copy', 'clone_from': 'File Server Backup'}},
        # a key the source's type does not take is refused once the source is read, before any write
        {'veeam_em.core.job': {'name': 'Suffixed Copy', 'clone_from': {'job': 'SQL Backup', 'vm_suffix': '_dr'}}},
    ])
    replica, no_backup, bad_repo, too_long, existing, ambiguous_word, absent_word, two_servers, suffix = run.results
    assert not replica.get('failed'), replica.get('msg')
    assert replica['job']['job_type'] == 'Replica' and replica['clone']['repository'] is None
    meta = [j for j in em.jobs() if j['name'] == 'DC Replication DR'][0].get('meta') or {}
    assert '_replica' in str(meta)
    assert no_backup['failed'] is True and no_backup['option'] == 'clone_from.repository'
    assert 'no backup yet' in no_backup['msg'] and 'Default Backup Repository' in no_backup['msg']
    assert bad_repo['failed'] is True and 'Nope' in bad_repo['msg'] and 'Backup Volume 01' in bad_repo['msg']
    assert too_long['failed'] is True and '50' in too_long['msg']
    assert existing['changed'] is True and not existing.get('failed')
    assert ambiguous_word['changed'] is True and not ambiguous_word.get('failed'), ambiguous_word.get('msg')
    copy = em.job('An ambiguous copy')
    assert copy['meta']['repository_uid'] == repository_uids(em)[('vbr01', 'Default Backup Repository')]
    assert absent_word['changed'] is False and not absent_word.get('failed'), absent_word.get('msg')
    assert two_servers['failed'] is True and 'backup_server' in two_servers['msg']
    clones = [e for e in run.log if 'action=clone' in (e.get('query') or '')]
    assert len(clones) == 2, 'only the replica and the "ambiguous" copy were cloned'
    assert suffix['failed'] is True and suffix['option'] == 'clone_from.vm_suffix'
    assert 'job, repository, folder_name' in suffix['msg']
    sessions = run.sessions()
    assert len(sessions) == 8, 'the name too long for a clone was refused before the logon'
    writes = [e['seq'] for e in run.writes()]
    refused = sessions[1:3] + sessions[6:8]
    assert all(e['seq'] not in writes for s in refused for e in s), 'each refusal came before any write'


def test_clone_whose_edit_fails_says_the_job_was_created(em):
    """Issue 12 #6: the clone is made, its follow-up edit fails: the failure names the new job and the clone task."""
    em.fault(fail_operation_tasks={'EditJob': 'the backup server refused the edit'})
    run = run_tasks(em, [{'veeam_em.core.job': {'name': 'HV Backup Clone', 'clone_from': 'HV Backup',
                                                'description': 'set after the clone'}}])
    r = run.results[0]
    made = em.job('HV Backup Clone')
    assert r['failed'] is True and r['changed'] is True
    assert 'was created' in r['msg'] and made['id'] in r['msg'] and r['task']['id'] in r['msg']
    assert 'the backup server refused the edit' in r['msg']
    assert r['task']['operation'] == 'CloneJob' and r['task']['success'] is True
    assert r['edit_task']['operation'] == 'EditJob' and r['edit_task']['success'] is False
    assert r['job']['id'] == made['id'] and r['job']['name'] == 'HV Backup Clone'
    assert r['clone']['repository'] == 'Default Backup Repository'
