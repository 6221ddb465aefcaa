# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""Many records of one engine resource in one run: the bulk form of any ``_resource`` module.

What ``jobs`` does for jobs, for any :class:`_resource.Resource`: the list of
entries is checked whole before any request; then one read of the records per
parent (one for a resource without parent), a :class:`_resource.Plan` per entry
against those records, the entries with nothing to send settled at once, and
the writes sent with at most ``max_in_flight`` of them at a time. Each entry's
write is exactly the one the single-record module would send (``apply``). An
entry that fails does not stop the others; the run fails at the end, naming
them, with every entry's result.

Results never hold a secret: the plan reports only which secret options it
sends (``secrets_sent``), never a value, and a failure carries EM's message.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.veeam_em.core.plugins.module_utils import _resource
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError, VeeamEmError
from ansible_collections.veeam_em.core.plugins.module_utils._module import VeeamEmModule

# The options of one entry that belong to the task, not to the entry.
TASK_OPTIONS = ('wait_timeout',)


class BulkFailed(VeeamEmError):
    """Some entries failed; ``result`` holds every entry's result, the ones that worked included."""


def entry_option_docs(resource):
    """``[(option, spec, doc)]`` of one ``config`` entry: the single-record module's options, less the task's own."""
    return [(name, spec, doc) for name, spec, doc in resource.option_docs() if name not in TASK_OPTIONS]


def entry_spec(resource):
    """The suboptions of one ``config`` entry."""
    return dict((name, spec) for name, spec, _doc in entry_option_docs(resource))


def label(resource, entry):
    """How an entry is named in results and messages: its first key (or id), with its parent."""
    ident = resource.identity
    text = entry.get(ident.keys[0]) or (entry.get(ident.id_option) if ident.id_option else None) or '?'
    parent = _parent_value(resource, entry)
    return '%s (%s)' % (text, parent) if parent else '%s' % text


def _parent_value(resource, entry):
    if resource.parent is not None:
        return entry.get(resource.parent.option)
    return entry.get('backup_server')  # a resource that a backup server only narrows (a tenant)


def _key(resource, entry):
    """What names the record an entry means, for finding two entries about one record."""
    ident = resource.identity
    parent = (_parent_value(resource, entry) or '').lower()
    if ident.id_option and entry.get(ident.id_option):
        return ('id', parent, _resource.parse_id(entry[ident.id_option], ident.id_option))
    return ('key', parent) + tuple((entry.get(k) or '').lower() if isinstance(entry.get(k), str) else entry.get(k)
                                   for k in ident.keys)


def check_in_flight(max_in_flight):
    """``max_in_flight`` of a bulk module: at least one write at a time (both bulk paths word it alike)."""
    if max_in_flight < 1:
        raise ValidationError('max_in_flight: %d writes at a time; accepted: 1 or more' % max_in_flight,
                              option='max_in_flight')


def check_config(resource, config, max_in_flight=1):
    """Validate every entry before any request; return each entry's wanted values, in order.

    The list is a plan, checked whole: an entry that is wrong whatever EM holds,
    or two entries that name one record (their writes would undo each other),
    fail the task naming the entry and the option.
    """
    check_in_flight(max_in_flight)
    defaults = dict((name, spec.get('default')) for name, spec in entry_spec(resource).items())
    wanted = []
    seen = {}
    for i, entry in enumerate(config):
        params = dict(defaults)
        params.update((k, v) for k, v in entry.items() if v is not None)
        try:
            wanted.append(resource.check_input(params))
            key = _key(resource, params)
        except ValidationError as exc:
            raise ValidationError('config[%d] (%s): %s' % (i, label(resource, entry), exc.msg), option=exc.option)
        if key in seen:
            raise ValidationError('config[%d] (%s): names the same %s as config[%d]; merge the two entries'
                                  % (i, label(resource, entry), resource.noun, seen[key]), option='config')
        seen[key] = i
    return wanted


def in_flight(func, items, limit):
    """``func(item)`` for every item, at most ``limit`` at a time; each call handles its own errors."""
    items = list(items)
    if not items:
        return
    if limit <= 1 or len(items) == 1:
        for item in items:
            func(item)
        return
    with ThreadPoolExecutor(max_workers=min(limit, len(items))) as pool:
        list(pool.map(func, items))


def mark_failed(result, exc):
    """An entry's result after ``exc``: what was written before it (``exc.result``), failed, with EM's message."""
    result.update(exc.result or {})
    result.update(failed=True, msg=exc.msg)


def summarise(results, noun, key, with_diff=False):
    """The module result of per-entry ``results``; raises BulkFailed carrying it when any entry failed."""
    out = {'changed': any(r['changed'] for r in results), key: results}
    if with_diff:
        out['diff'] = [dict(r['diff'], before_header=r['name'], after_header=r['name'])
                       for r in results if r.get('diff') and (r['diff']['before'] or r['diff']['after'])]
    failed = [r for r in results if r['failed']]
    if failed:
        raise BulkFailed('%d of %d %ss failed: %s' % (len(failed), len(results), noun, '; '.join(
            '%s: %s' % (r['name'], r['msg']) for r in failed)), result=out)
    return out


class ReadCache:
    """The client as the plans see it: each distinct read sent once, its answer (or its error) kept.

    Every entry is planned before any write, so what one entry's plan read
    (the records, a backup server, the names its options resolve) is what
    EM holds for the next one too: 500 entries on one backup server cost the
    reads of one. Anything but a read goes to the client itself.
    """

    def __init__(self, client):
        self._client = client
        self._memo = {}
        self.sent = 0

    def __getattr__(self, name):
        return getattr(self._client, name)

    def _once(self, key, read):
        if key not in self._memo:
            self.sent += 1
            try:
                self._memo[key] = (True, read())
            except VeeamEmError as exc:
                self._memo[key] = (False, exc)
        ok, value = self._memo[key]
        if not ok:
            raise value
        return value

    def get(self, path, params=None):
        frozen = tuple(sorted(params.items())) if isinstance(params, dict) else tuple(params or ())
        return self._once(('get', path, frozen), lambda: self._client.get(path, params=params))

    def query(self, qtype, filter=None, fmt='Entities', page_size=None):  # pylint: disable=redefined-builtin
        return self._once(('query', qtype, filter, fmt, page_size),
                          lambda: self._client.query(qtype, filter=filter, fmt=fmt, page_size=page_size))


class Records:
    """One parent's records, read once and indexed by the first identity key.

    An entry's plan is matched among the records that share its name (not all
    of them: 500 entries against 500 records would decode every record 500
    times), while ``ids`` still holds every record, so that a create tells the
    new record from all that were there before.
    """

    def __init__(self, resource, records):
        self.resource = resource
        self.all = records
        self.ids = set(resource.record_id(r) for r in records)
        self.by_key = {}
        field = resource.by_option.get(resource.identity.keys[0])
        for record in records if field is not None and field.entity else ():
            value = field.read_from(record)
            self.by_key.setdefault(value.lower() if isinstance(value, str) else value, []).append(record)
        self.indexed = bool(self.by_key) or not records

    def candidates(self, params):
        """The records an entry may name: those with its first key, or all when it names one by id."""
        ident = self.resource.identity
        key = params.get(ident.keys[0])
        if not self.indexed or (ident.id_option and params.get(ident.id_option)) or not isinstance(key, str):
            return self.all
        return self.by_key.get(key.lower(), [])


def plan_entry(resource, reads, params, wanted, lists):
    """The engine's plan of one entry, from the reads every entry shares (``lists``: parent id -> Records)."""
    parent = resource.parent.find(reads, params) if resource.parent is not None else (None, None)
    if parent[0] not in lists:
        lists[parent[0]] = Records(resource, resource.list(reads, parent[0], None))
    records = lists[parent[0]]
    plan = _resource.Plan(resource, params, wanted, records.candidates(params), parent, client=reads)
    plan.before_ids = set(records.ids)
    return plan


def converge(client, resource, config, wanted, check_mode=False, with_diff=False, wait_timeout=900, max_in_flight=10,
             sleep=None, clock=None, apply=None, wait=True):
    """Bring every entry of ``config`` to its ``wanted`` values (from :func:`check_config`); the module result.

    ``apply(client, plan, check_mode, with_diff, wait_timeout, sleep, clock, wait)`` is
    what the single-record module does once it has its plan (the engine's by
    default); ``wait=False`` has each entry's last write return with its task
    as EM accepted it, as the single-record module's ``wait: false`` does.
    Raises BulkFailed, carrying the whole result, when any entry failed.
    """
    apply = apply or _resource.apply
    reads, lists = ReadCache(client), {}
    results, plans = [], []
    options = dict(check_mode=check_mode, with_diff=with_diff, wait_timeout=wait_timeout, sleep=sleep, clock=clock,
                   wait=wait)
    defaults = dict((name, spec.get('default')) for name, spec in entry_spec(resource).items())
    for entry, want in zip(config, wanted):
        params = dict(defaults)
        params.update((k, v) for k, v in entry.items() if v is not None)
        params['wait_timeout'] = wait_timeout
        result = {'name': label(resource, entry), 'changed': False, 'failed': False, 'msg': ''}
        results.append(result)
        plan = None
        try:
            plan = plan_entry(resource, reads, params, dict(want), lists)
            if check_mode or not plan.changed:
                result.update(apply(client, plan, **options))  # nothing to send: settled now
                plan = None
        except VeeamEmError as exc:
            mark_failed(result, exc)
            plan = None
        plans.append(plan)

    def one(i):
        try:
            results[i].update(apply(client, plans[i], **options))
        except VeeamEmError as exc:
            mark_failed(results[i], exc)

    in_flight(one, [i for i, plan in enumerate(plans) if plan is not None], max_in_flight)
    for result in results:  # the entry results of the interface; the _info module reads whole records
        result.pop(resource.result_key, None)
    return summarise(results, resource.noun, resource.info_key, with_diff)


def run_bulk_module(resource, probe=None):
    """The whole of a bulk module: ``config`` entries of ``resource``, checked whole, one session, ``converge``.

    ``probe(client)`` (the declaration's own by default) runs once after the logon
    and before any read: the Cloud Connect licence check.
    """
    probe = probe or resource.probe
    module = VeeamEmModule(dict(
        config=dict(type='list', elements='dict', required=True, options=entry_spec(resource),
                    **resource.module_kwargs()),
        max_in_flight=dict(type='int', default=10),
    ), with_wait=True, supports_check_mode=True)
    p = module.params
    try:
        wanted = check_config(resource, p['config'], p['max_in_flight'])
    except ValidationError as exc:
        module.fail_from(exc)

    def run(client):
        if probe is not None:
            probe(client)
        return converge(client, resource, p['config'], wanted, check_mode=module.check_mode, with_diff=module._diff,
                        wait_timeout=p['wait_timeout'], max_in_flight=p['max_in_flight'], wait=p['wait'])
    module.run_safely(run)
