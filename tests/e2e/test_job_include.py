# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veeam_em.core.job_include against the emulator."""

from __future__ import (absolute_import, division, print_function)

from conftest import run_tasks


def include(**args):
    return {'veeam_em.core.job_include': args}


def names(result):
    return sorted(o['name'] for o in result['objects'])


def test_include_add_is_idempotent_and_check_mode_writes_nothing(em):
    check = run_tasks(em, [include(name='SQL Backup', objects=[{'name': 'web01'}])], check=True)
    c = check.results[0]
    assert c['changed'] is True and c['added'] == ['web01'] and check.writes() == []
    assert names(c) == ['sql01', 'sql02', 'web01']
    run = run_tasks(em, [include(name='SQL Backup', objects=[{'name': 'web01', 'root': 'vc01'}]),
                         include(name='SQL Backup', objects=[{'name': 'web01'}, {'name': 'sql01'}])])
    first, second = run.results
    assert not first.get('failed'), first.get('msg')
    assert first['changed'] is True and first['added'] == ['web01'] and first['removed'] == []
    assert names(first) == ['sql01', 'sql02', 'web01']
    assert first['tasks'][0]['operation'] == 'UpdateJob' and first['tasks'][0]['state'] == 'Finished'
    web01 = [o for o in first['objects'] if o['name'] == 'web01'][0]
    assert web01['type'] == 'vm' and web01['ref'].lower().endswith('.vm-6001') and web01['id']
    assert second['changed'] is False and second['added'] == [] and second['tasks'] == []
    s1, s2 = run.sessions()
    assert len([e for e in s1 if e['method'] == 'POST' and e['path'].endswith('/includes')]) == 1
    assert not [e for e in s2 if e['method'] in ('POST', 'DELETE') and '/includes' in e['path']]


def test_include_purge_adds_before_removing_and_absent_removes(em):
    run = run_tasks(em, [
        include(name='Chained Backup', objects=[{'name': 'web02'}], purge=True),
        include(name='Chained Backup', objects=[{'name': 'web02'}], purge=True),
        include(name='Exchange Backup', objects=[{'name': 'exch02'}], state='absent'),
    ])
    purge, again, absent = run.results
    assert not purge.get('failed'), purge.get('msg')
    assert purge['added'] == ['web02'] and purge['removed'] == ['app01'] and names(purge) == ['web02']
    ops = [e for e in run.sessions()[0] if '/includes' in e['path'] and e['method'] in ('POST', 'DELETE')]
    assert [e['method'] for e in ops] == ['POST', 'DELETE'], 'additions go first, so the last object can be replaced'
    assert again['changed'] is False
    assert absent['removed'] == ['exch02'] and names(absent) == ['exch01']


def test_include_unresolvable_object_writes_nothing(em):
    run = run_tasks(em, [include(name='SQL Backup', objects=[{'name': 'web01'}, {'name': 'no-such-vm'},
                                                             {'name': 'Production', 'type': 'folder', 'root': 'vc9'}])])
    r = run.results[0]
    assert r['failed'] is True
    assert 'no-such-vm' in r['msg'] and 'not found' in r['msg'] and 'vc9' in r['msg']
    assert run.writes() == []


def test_include_never_removes_the_last_object(em):
    run = run_tasks(em, [include(name='DC Replication', objects=[{'name': 'dc01'}], state='absent')])
    r = run.results[0]
    assert r['failed'] is True and 'no object' in r['msg'] and 'dc01' in r['msg']
    assert run.writes() == []


def test_include_other_object_types_and_copy_jobs(em):
    run = run_tasks(em, [
        include(name='SQL Backup', objects=[{'name': 'Production', 'type': 'folder'}, {'name': 'Gold', 'type': 'tag'}]),
        include(name='Periodic Copy', objects=[{'name': 'web01'}]),
    ])
    containers, copy_job = run.results
    assert not containers.get('failed'), containers.get('msg')
    assert sorted((o['name'], o['type']) for o in containers['objects'] if o['name'] in ('Production', 'Gold')) == [
        ('Gold', 'tag'), ('Production', 'folder')]
    assert copy_job['failed'] is True and 'BackupCopy' in copy_job['msg']


def _leaves(gpo):
    """``{'VssSnapshotOptions/VssSnapshotMode': 'RequireSuccess', ...}`` for one GuestProcessingOptions element."""
    from lxml import etree
    out = {}
    for el in gpo.iter():
        if el is not gpo and len(el) == 0:
            path = [etree.QName(el).localname]
            for anc in el.iterancestors():
                if anc is gpo:
                    break
                path.insert(0, etree.QName(anc).localname)
            out['/'.join(path)] = el.text
    return out


def _stored(em, job_name, obj_name=None):
    """Straight from the emulator: the job's own guest processing leaves (``obj_name`` None), or an
    include's as ``(leaves, ObjectInJobId)``."""
    from lxml import etree
    root = etree.fromstring(em.raw_xml(em.job(job_name)['id']))
    if obj_name is None:
        return _leaves(root.find('{*}JobInfo')[0].find('{*}GuestProcessingOptions'))
    for oij in root.iter('{*}ObjectInJob'):
        if oij.findtext('{*}Name') == obj_name:
            return _leaves(oij.find('{*}GuestProcessingOptions')), oij.findtext('{*}ObjectInJobId')
    return None, None


def test_include_new_object_with_its_own_guest_processing(em):
    job_gpo = _stored(em, 'SQL Backup')
    guest = {'app_aware': {'mode': 'ignore_failures'}, 'windows_indexing': {'mode': 'disabled'}}
    declared = {'name': 'web01', 'guest_processing': guest}
    run = run_tasks(em, [include(name='SQL Backup', objects=[declared]), include(name='SQL Backup', objects=[declared])])
    first, second = run.results
    assert not first.get('failed'), first.get('msg')
    assert first['changed'] is True and first['added'] == ['web01'] and first['reincluded'] == []
    web01 = [o for o in first['objects'] if o['name'] == 'web01'][0]
    assert web01['guest_processing']['app_aware']['mode'] == 'ignore_failures'
    assert web01['guest_processing']['windows_indexing']['mode'] == 'disabled'
    stored, dummy = _stored(em, 'SQL Backup', 'web01')
    assert stored['VssSnapshotOptions/VssSnapshotMode'] == 'IgnoreFailures'
    assert stored['WindowsGuestFSIndexingOptions/FileSystemIndexingMode'] == 'Disabled'
    # what the object did not declare is what the job had
    changed = ('VssSnapshotOptions/VssSnapshotMode', 'WindowsGuestFSIndexingOptions/FileSystemIndexingMode')
    assert dict((k, v) for k, v in stored.items() if k not in changed) == dict(
        (k, v) for k, v in job_gpo.items() if k not in changed)
    assert second['changed'] is False and run.sessions()[1] and not [
        e for e in run.sessions()[1] if e['method'] in ('POST', 'DELETE') and '/includes' in e['path']]


def test_include_changed_guest_processing_reincludes_the_object(em):
    before, old_id = _stored(em, 'SQL Backup', 'sql01')
    declared = [{'name': 'sql01', 'guest_processing': {'sql': {'transaction_logs': 'never'}}}, {'name': 'sql02'}]
    check = run_tasks(em, [include(name='SQL Backup', objects=declared)], check=True)
    c = check.results[0]
    assert c['changed'] is True and c['reincluded'] == ['sql01'] and c['added'] == [] and check.writes() == []
    run = run_tasks(em, [include(name='SQL Backup', objects=declared), include(name='SQL Backup', objects=declared)])
    first, second = run.results
    assert not first.get('failed'), first.get('msg')
    assert first['changed'] is True and first['reincluded'] == ['sql01'] and first['removed'] == []
    assert [t['state'] for t in first['tasks']] == ['Finished', 'Finished']
    ops = [(e['method'], e['path']) for e in run.sessions()[0] if '/includes' in e['path'] and e['method'] != 'GET']
    assert [m for m, p in ops] == ['DELETE', 'POST'] and ops[0][1].lower().endswith(old_id.lower())
    after, new_id = _stored(em, 'SQL Backup', 'sql01')
    assert after['SqlBackupOptions/TransactionLogsProcessing'] == 'Never' and new_id != old_id
    del before['SqlBackupOptions/TransactionLogsProcessing'], after['SqlBackupOptions/TransactionLogsProcessing']
    assert after == before, 'every other guest processing setting of the object is kept'
    assert names(first) == ['sql01', 'sql02']
    assert second['changed'] is False and second['reincluded'] == []


def test_include_guest_processing_of_the_only_object_fails_before_writing(em):
    run = run_tasks(em, [include(name='DC Replication', objects=[
        {'name': 'dc01', 'guest_processing': {'app_aware': {'copy_only': True}}}])])
    r = run.results[0]
    assert _stored(em, 'DC Replication', 'dc01')[0]['VssSnapshotOptions/IsCopyOnly'] == 'false'
    assert r['failed'] is True and 'dc01' in r['msg'] and 'only object' in r['msg']
    assert run.writes() == []


def test_include_bad_guest_processing_value_fails_before_any_request(em):
    run = run_tasks(em, [include(name='SQL Backup', objects=[
        {'name': 'sql01', 'guest_processing': {'app_aware': {'mode': 'sometimes'}}}])])
    r = run.results[0]
    assert r['failed'] is True and 'mode' in r['msg'] and 'require_success' in r['msg']
    assert em.log() == []


def test_include_shown_without_guest_processing_warns_instead_of_reincluding(em):
    """An include EM shows with no GuestProcessingOptions cannot be compared: job_include warns and leaves
    it alone, run after run, rather than removing and adding it back each time."""
    from lxml import etree
    job_id = em.job('SQL Backup')['id']
    root = etree.fromstring(em.raw_xml(job_id))
    sql01 = [o for o in root.iter('{*}ObjectInJob') if o.findtext('{*}Name') == 'sql01'][0]
    sql01.remove(sql01.find('{*}GuestProcessingOptions'))
    em.control('PUT', 'jobs/%s/xml' % job_id, data=etree.tostring(root))
    declared = [{'name': 'sql01', 'guest_processing': {'sql': {'transaction_logs': 'never'}}}, {'name': 'sql02'}]
    run = run_tasks(em, [include(name='SQL Backup', objects=declared), include(name='SQL Backup', objects=declared)])
    for r in run.results:
        assert not r.get('failed'), r.get('msg')
        assert r['changed'] is False and r['reincluded'] == [] and r['added'] == []
        assert any('objects[0] (sql01)' in w and 'cannot be compared' in w for w in r.get('warnings', [])), r
    assert run.writes() == []
    after = etree.fromstring(em.raw_xml(job_id))
    kept = [o for o in after.iter('{*}ObjectInJob') if o.findtext('{*}Name') == 'sql01']
    assert len(kept) == 1 and kept[0].find('{*}GuestProcessingOptions') is None
    assert kept[0].findtext('{*}ObjectInJobId') == sql01.findtext('{*}ObjectInJobId')
