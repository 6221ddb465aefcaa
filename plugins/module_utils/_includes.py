# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""The objects a job protects: hierarchy roots, the lookup service, includes added and removed."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

from ansible_collections.veeam_em.core.plugins.module_utils import _model, _tasks, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._client import quote_filter_value
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError, VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._infra import up_name
from ansible_collections.veeam_em.core.plugins.module_utils._job_models import INCLUDE_GUEST_MODEL

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
    return client.post('jobs/%s/includes' % job_id, spec)


def remove(client, job_id, obj):
    return client.delete('jobs/%s/includes/%s' % (job_id, obj['id']))


def run_task(client, task_el, wait, wait_timeout, what):
    if task_el is None:
        raise VeeamEmError('%s: EM gave no task to follow' % what)
    if not wait:
        return _tasks.public_task(_tasks.task_to_dict(task_el))
    return _tasks.public_task(_tasks.wait_for_task(client, task_el, timeout=wait_timeout))
