# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""The objects a job protects: hierarchy roots, the lookup service, includes added and removed.

``converge()`` is what the ``job_include`` module does.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

from ansible_collections.veeam_em.core.plugins.module_utils import _model, _tasks, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._client import quote_filter_value
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError, VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._infra import up_name
from ansible_collections.veeam_em.core.plugins.module_utils._job_models import INCLUDE_GUEST_MODEL
from ansible_collections.veeam_em.core.plugins.module_utils._jobs import JobIndex, job_summary, parse_job_id

GUEST = INCLUDE_GUEST_MODEL

# option value -> EM ObjectType (the third part of a HierarchyObjRef)
OBJECT_TYPES = {
    'vm': 'Vm', 'folder': 'Folder', 'host': 'Host', 'cluster': 'Cluster', 'datacenter': 'Datacenter',
    'datastore': 'Datastore', 'resource_pool': 'ResourcePool', 'vapp': 'VirtualApp', 'tag': 'Tag',
}


def ref_type(ref):
    """``urn:VMware:Vm:<root>.vm-1`` -> ``vm`` (EM mixes ``Vm``/``VM``: compare without case)."""
    parts = (ref or '').split(':')
    if len(parts) < 4:
        return None
    for option, em_type in OBJECT_TYPES.items():
        if em_type.lower() == parts[2].lower():
            return option
    return parts[2].lower()


def same_ref(a, b):
    return (a or '').lower() == (b or '').lower()


def included(client, job_id):
    """The job's includes, each as :func:`describe` gives it."""
    root = client.get('jobs/%s/includes' % job_id)
    return [describe(oij) for oij in _xml.findall(root, 'ObjectInJob')]


def describe(oij):
    """One include: ``{id, name, ref, type, guest_processing}``.

    ``guest_processing`` is the object's own guest processing as EM shows it, or None when EM shows none.
    Private keys keep what re-including the object needs: its element (``_el``) and its decoded guest
    processing leaves (``_values``, None when EM shows none).
    """
    ref = _xml.findtext(oij, 'HierarchyObjRef')
    values = GUEST.read(oij) if GUEST.available(oij) else None
    guest = GUEST.settings(values, oij).get('guest_processing') if values is not None else None
    return {'id': (_xml.findtext(oij, 'ObjectInJobId') or '').lower(), 'name': _xml.findtext(oij, 'Name'),
            'ref': ref, 'type': ref_type(ref), 'guest_processing': guest, '_el': oij, '_values': values}


def public(objects):
    """Includes as the module returns them."""
    return [dict((k, v) for k, v in o.items() if not k.startswith('_') and k not in ('root', 'wanted', 'included'))
            for o in objects]


def check_guest(objects):
    """Validate each object's ``guest_processing`` offline: ``[{(block, xml): value}]``, one map per object."""
    out = []
    for i, obj in enumerate(objects):
        try:
            out.append(GUEST.check_input({'guest_processing': obj.get('guest_processing') or {}}))
        except ValidationError as exc:
            raise ValidationError('objects[%d].%s' % (i, exc), option='objects')
    return out


def guest_drift(current, wanted):
    """The declared guest processing keys whose value differs on an included object.

    An include that EM shows without guest processing cannot be compared: it counts as matching (the
    module warns), rather than being removed and added back on every run.
    """
    values = current.get('_values')
    if not wanted or values is None:
        return []
    return sorted(k for k, v in wanted.items() if values.get(k) != v)


def hierarchy_roots(client, backup_server):
    flt = 'BackupServerName==%s' % quote_filter_value(backup_server) if backup_server else None
    roots = []
    for entity in client.query('HierarchyRoot', filter=flt, fmt='Entities'):
        if backup_server and (up_name(entity) or '').lower() != backup_server.lower():
            continue
        roots.append({'name': entity.get('Name'), 'uid': entity.get('UID')})
    return roots


def resolve_objects(client, objects, backup_server):
    """Every declared object to exactly one ``{name, type, ref, root}``, or ValidationError before any write."""
    roots = hierarchy_roots(client, backup_server)
    resolved = []
    problems = []
    for i, obj in enumerate(objects):
        label = 'objects[%d] (%s %s)' % (i, obj['type'], obj['name'])
        pool = roots
        if obj.get('root'):
            pool = [r for r in roots if (r['name'] or '').lower() == obj['root'].lower()]
            if not pool:
                problems.append('%s: no hierarchy root named %r on backup server %s; roots: %s'
                                % (label, obj['root'], backup_server, ', '.join(sorted(r['name'] for r in roots))))
                continue
        matches = []
        for root in pool:
            found = client.get('lookup', params=[('host', root['uid']), ('name', obj['name']),
                                                 ('type', OBJECT_TYPES[obj['type']])])
            for item in _xml.findall(found, 'HierarchyItem'):
                if _xml.findtext(item, 'ObjectName') == obj['name']:
                    matches.append({'name': obj['name'], 'type': obj['type'], 'root': root['name'],
                                    'ref': _xml.findtext(item, 'ObjectRef')})
        if not matches:
            problems.append('%s: not found in %s' % (label, ', '.join(r['name'] for r in pool) or 'any hierarchy root'))
        elif len(matches) > 1:
            problems.append('%s: found in several places (%s); set root' % (
                label, ', '.join('%s (%s)' % (m['root'], m['ref']) for m in matches)))
        else:
            resolved.append(matches[0])
    if problems:
        raise ValidationError('; '.join(problems), option='objects')
    return resolved


def plan(current, resolved, state, purge):
    """``(to_add, to_reinclude, to_remove)`` for the declared objects, applied in that order.

    ``to_reinclude`` pairs ``(included, declared)`` for objects whose declared guest processing differs
    from what EM shows: an include has no PUT, so they are removed and added back. With ``present``, each
    declared object also gets ``included``: its current include, or None.
    """
    if state == 'absent':
        return [], [], [c for c in current if any(same_ref(c['ref'], r['ref']) for r in resolved)]
    to_add, to_reinclude = [], []
    for r in resolved:
        have = r['included'] = next((c for c in current if same_ref(c['ref'], r['ref'])), None)
        if have is None:
            to_add.append(r)
        elif guest_drift(have, r.get('wanted')):
            to_reinclude.append((have, r))
    to_remove = []
    if purge:
        to_remove = [c for c in current if not any(same_ref(c['ref'], r['ref']) for r in resolved)]
    return to_add, to_reinclude, to_remove


def add(client, job_id, obj, source=None):
    """POST one include.

    For a new object, ``source`` is the job's info element: each block the object declares is sent whole,
    its other leaves taken from the job's, and the blocks it does not declare are left to EM. For an object
    added back, ``source`` is its old C(ObjectInJob): all of its guest processing is sent again, with the
    declared leaves written over it, so nothing it had is lost.
    """
    spec = _xml.element('CreateObjectInJobSpec')
    _xml.sub(spec, 'HierarchyObjRef', obj['ref'])
    _xml.sub(spec, 'HierarchyObjName', obj['name'])
    again = source is not None and _model.local(source) == 'ObjectInJob'
    order = _xml.findtext(source, 'Order') if again else None
    if order:
        _xml.sub(spec, 'Order', order)
    wanted = obj.get('wanted') or {}
    old_gpo = _model.child(source, 'GuestProcessingOptions') if again else None
    if old_gpo is not None:
        spec.append(copy.deepcopy(old_gpo))
    for block in GUEST.blocks:
        if any(key[0] == block.key for key in wanted):
            GUEST.place_block(spec, block, block.paths[0], source, wanted)
    status, element = client.write('POST', 'jobs/%s/includes' % job_id, spec)
    return _tasks.classify_answer(status, element, ('ObjectInJob',))


def remove(client, job_id, obj):
    """DELETE one include; its answer as a WriteOutcome (not waited on)."""
    status, element = client.write('DELETE', 'jobs/%s/includes/%s' % (job_id, obj['id']))
    return _tasks.classify_answer(status, element)


def run_task(client, answer, wait, wait_timeout, what, shows=None):
    """Follow one include write to its end; return its task for the result, or None when EM did it at once.

    A Task is waited on. A write EM accepted without a task (202, no body) is watched with ``shows()`` (does
    the job show the change yet?) on the poll schedule, never sent again.
    """
    if wait:
        answer.wait(client, timeout=wait_timeout)
        if answer.pending and shows is not None and not shows() and not _tasks.watch_until(shows, wait_timeout):
            raise VeeamEmError('%s: EM accepted it without a task and the job does not show it after %s s'
                               % (what, wait_timeout))
    return answer.public_task()


def _has(client, job_id, ref):
    return any(same_ref(c['ref'], ref) for c in included(client, job_id))


def check_options(params):
    """Validate the module's options offline (before any request); return each object's wanted guest processing."""
    if params['id']:
        parse_job_id(params['id'])
    if params['purge'] and params['state'] == 'absent':
        raise ValidationError('purge: only used with state present', option='purge')
    if not params['objects'] and params['state'] == 'present' and params['purge']:
        raise ValidationError('objects: a job cannot be left with no object (EM refuses to remove the last one)',
                              option='objects')
    seen = {}
    for i, obj in enumerate(params['objects']):
        # The same object twice would be added twice, and EM fails the second addition after the first was made.
        key = (obj['name'], obj['type'], (obj.get('root') or '').lower())
        if key in seen:
            raise ValidationError('objects[%d] (%s %s): the same object as objects[%d]; list each object once'
                                  % (i, obj['type'], obj['name'], seen[key]), option='objects')
        seen[key] = i
    return check_guest(params['objects'])


def _check_plan(job, current, to_add, to_reinclude, to_remove):
    """Refuse, before any write, a plan EM would refuse half-way: a job left with no object."""
    remaining = len(current) + len(to_add) - len(to_remove)
    if to_remove and remaining < 1:
        raise ValidationError('removing %s would leave job %r with no object, which EM refuses; include '
                              'another object first' % (', '.join(o['name'] for o in to_remove), job['name']),
                              option='objects')
    if to_reinclude and len(current) + len(to_add) < 2:
        raise ValidationError('changing the guest processing of %s means removing it and adding it back, and it '
                              'is the only object of job %r, which EM refuses to remove; include another object '
                              'first' % (to_reinclude[0][0]['name'], job['name']), option='objects')


def converge(client, params, guest, check_mode=False, warn=None):
    """Make the job's includes match ``params['objects']``; return the module result.

    ``guest`` is what :func:`check_options` returned. An error after a write carries ``result`` with the
    tasks sent so far, and its message names the step that failed.
    """
    entity = JobIndex(client).find(name=params['name'], job_id=params['id'], backup_server=params['backup_server'])
    job = job_summary(entity)
    if job['job_type'] not in ('Backup', 'Replica'):
        raise ValidationError('job %r is a %s job: only backup and replication jobs have includes'
                              % (job['name'], job['job_type']), option='name')
    current = included(client, job['id'])
    resolved = resolve_objects(client, params['objects'], job['backup_server'])
    for obj, wanted in zip(resolved, guest):
        obj['wanted'] = wanted
    to_add, to_reinclude, to_remove = plan(current, resolved, params['state'], params['purge'])
    if params['state'] == 'present' and warn is not None:
        for i, obj in enumerate(resolved):
            have = obj['included']
            if obj['wanted'] and have is not None and have['_values'] is None:
                warn('objects[%d] (%s): EM shows no guest processing for this included object, so '
                     'objects[%d].guest_processing cannot be compared; it is applied only when the object '
                     'is added' % (i, obj['name'], i))
    _check_plan(job, current, to_add, to_reinclude, to_remove)
    result = {'changed': bool(to_add or to_reinclude or to_remove), 'added': [o['name'] for o in to_add],
              'reincluded': [o['name'] for (o, dummy) in to_reinclude],
              'removed': [o['name'] for o in to_remove], 'tasks': []}
    if check_mode or not result['changed']:
        kept = [c for c in current if not any(c['ref'] == r['ref'] for r in to_remove)]
        result['objects'] = public(kept + [dict(o, id='', guest_processing=None) for o in to_add])
        return result
    info = entity.find('.//{*}JobInfo')
    source = info[0] if info is not None and len(info) else None
    wait, wait_timeout = params['wait'], params['wait_timeout']
    step = ''
    jid = job['id']

    def follow(answer, must_finish, shows):
        task = run_task(client, answer, wait or must_finish, wait_timeout, step, shows)
        if task is not None:
            result['tasks'].append(task)
    try:
        for obj in to_add:
            step = 'adding %s' % obj['name']
            follow(add(client, jid, obj, source), False, lambda o=obj: _has(client, jid, o['ref']))
        for (old, obj) in to_reinclude:
            # the removal must have finished before the object can be added back, wait or not
            step = 'removing %s to change its guest processing' % obj['name']
            follow(remove(client, jid, old), True, lambda o=old: not _has(client, jid, o['ref']))
            step = ('adding %s back with its new guest processing (it is NOT included in job %r now)'
                    % (obj['name'], job['name']))
            follow(add(client, jid, obj, old['_el']), False, lambda o=obj: _has(client, jid, o['ref']))
        for obj in to_remove:
            step = 'removing %s' % obj['name']
            follow(remove(client, jid, obj), False, lambda o=obj: not _has(client, jid, o['ref']))
    except VeeamEmError as exc:
        task = getattr(exc, 'task', None)
        if task:
            result['tasks'].append(dict((k, v) for k, v in task.items() if k != 'href'))
        if step and step not in exc.msg:
            exc.msg = '%s: %s' % (step, exc.msg)
        exc.result = result
        raise
    result['objects'] = public(included(client, job['id']))
    return result
