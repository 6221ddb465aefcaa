# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""The resource engine: one declaration per EM resource, and everything a module needs from it.

A :class:`Resource` declares where a resource lives (its URLs, root elements),
its fields in schema order (typed as in ``_model``: a :class:`Field` is a
``Leaf`` that also says how it travels), its identity and how a name is
resolved, and how EM answers its writes. From it come:

* the argument spec and the option docs (``hacking/render_resource_docs.py``);
* the XML codec (entity -> values, values -> create and edit bodies);
* the plan: what differs, which secrets are sent (``update_password``);
* the run: check mode, diff, one write, its answer (at once or a task), and
  the verification that EM holds what was sent.

Secrets (``Field.secret``) are write-only: EM never shows them, so they are
never compared, never put into a diff or a result, and sent only on create or
under ``update_password: always``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import difflib
import fnmatch
import re

from ansible_collections.veeam_em.core.plugins.module_utils import _diff, _tasks, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import (
    AmbiguousWriteError, ApiError, ValidationError, VeeamEmError,
)
from ansible_collections.veeam_em.core.plugins.module_utils._module import VeeamEmModule
from ansible_collections.veeam_em.core.plugins.module_utils._model import (
    Leaf, decode_value, encode_value, leaf_spec, normalize_input,
)

_UUID = r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'
_UUID_RE = re.compile(r'^(?:urn:veeam:[A-Za-z]+:)?(%s)$' % _UUID)

UPDATE_PASSWORD_DOC = ('C(on_create) sends the secret options only when the %s is created: EM never shows them, so '
                       'they are never compared. C(always) sends them on every run that has them, and the run reports '
                       'a change (check mode predicts it), since EM cannot say whether they differ.')
WAIT_DOC = ('Seconds to wait for a write EM answers with a task, or for a write it accepted without one to show '
            'when the record is read again. A write is never sent twice.')
STATE_DOC = ('C(present) creates the %(noun)s when it does not exist, or edits it to match. C(absent) deletes it '
             '(%(delete)s); one that does not exist is left alone and reported unchanged.')


class ResourceNotFound(VeeamEmError):
    pass


class VerifyFailed(VeeamEmError):
    pass


class Field(Leaf):
    """One element of a resource, in schema order.

    ``xml`` is its name in the create and edit bodies, ``entity`` its name in
    the entity EM shows (None: EM never shows it). ``access`` is ``rw`` (sent
    on create and edit when it differs), ``create`` (sent on create only),
    ``ro`` (shown, never sent) or ``key`` (sent with every write: the edit body
    must carry it). ``secret`` marks a write-only value governed by
    ``update_password``; it is ``no_log`` unless ``no_log=False`` says it is
    merely unreadable (an account name).
    """

    def __init__(self, option, xml, kind='str', entity=True, access='rw', secret=False, no_log=None, max_length=None,
                 create_default=None, casefold=False, required=False, doc=None, **kwargs):
        super(Field, self).__init__((option,) if option else None, (xml,), kind, doc=doc, **kwargs)
        self.required = required
        self.element = xml
        self.entity = xml if entity is True else entity
        self.access = access
        self.secret = secret
        self.no_log = secret if no_log is None else no_log
        self.max_length = max_length
        self.create_default = create_default
        self.casefold = casefold

    def spec(self):
        spec = leaf_spec(self)
        if self.no_log:
            spec['no_log'] = True
        return spec


class Identity:
    """How a record is named: an ``id`` (element ``Id`` or attribute ``@UID``) or ``keys`` (option names).

    Records match the first key case-insensitively when ``casefold`` says so;
    further keys narrow a first key that several records share.
    """

    def __init__(self, id_xml, keys, id_option='id', id_doc=None):
        self.id_xml = id_xml
        self.keys = tuple(keys)
        self.id_option = id_option
        self.id_doc = id_doc


class Resource:
    """The declaration of one EM resource; see the module docstring."""

    def __init__(self, name, noun, result_key, fields, identity, entity_root, create_root, edit_root,
                 collection, item, parent=None, edit_identity=(), create_params=None, edit_params=None,
                 lister=None, answers=None, children=(), returns=(), info_key=None, get_params=None, view_extra=None):
        self.name = name
        self.noun = noun
        self.result_key = result_key
        self.fields = tuple(fields)
        self.identity = identity
        self.entity_root = entity_root
        self.create_root = create_root
        self.edit_root = edit_root
        self.collection = collection
        self.item = item
        self.parent = parent
        self.edit_identity = tuple(edit_identity)
        self.create_params = create_params if create_params is not None else {'action': 'create'}
        self.edit_params = edit_params
        self.lister = lister
        self.answers = answers or {'create': 'at once or a task', 'edit': 'at once', 'delete': 'at once'}
        self.children = tuple(children)
        self.returns = tuple(returns)
        self.info_key = info_key or result_key + 's'
        self.get_params = get_params
        self.view_extra = view_extra
        self.by_option = dict((f.name, f) for f in self.fields if f.option)

    def __repr__(self):
        return 'Resource(%r)' % self.name

    # -- options ---------------------------------------------------------------

    @property
    def secrets(self):
        return [f for f in self.fields if f.secret and f.option]

    @property
    def options(self):
        return [f for f in self.fields if f.option and f.access != 'ro' and f.name not in self.key_options]

    @property
    def key_options(self):
        """Identity options that are also fields (``name`` of a backup server): documented once."""
        return tuple(k for k in self.identity.keys if k in self.by_option and self.by_option[k].access == 'key')

    def option_docs(self):
        """``[(option, spec, doc)]`` for every module option besides the connection: sorted, as ansible-doc shows them."""
        out = []
        if self.parent is not None:
            out.append((self.parent.option, {'type': 'str', 'required': True}, self.parent.doc))
        if self.identity.id_option:
            out.append((self.identity.id_option, {'type': 'str'}, self.identity.id_doc))
        for name in self.key_options:
            field = self.by_option[name]
            out.append((name, dict(field.spec(), required=not self.identity.id_option), field.doc))
        for field in self.options:
            out.append((field.name, field.spec(), field.doc))
        if self.secrets:
            out.append(('update_password', {'type': 'str', 'default': 'on_create', 'choices': ['on_create', 'always'],
                                            'no_log': False}, UPDATE_PASSWORD_DOC % self.noun))
        out.append(('wait_timeout', {'type': 'int', 'default': 900}, WAIT_DOC))
        out.append(('state', {'type': 'str', 'default': 'present', 'choices': ['present', 'absent']},
                    STATE_DOC % {'noun': self.noun, 'delete': 'C(DELETE %s)' % ('/api/' + self.item)}))
        return sorted(out, key=lambda o: o[0])

    def argument_spec(self):
        return dict((name, spec) for name, spec, _doc in self.option_docs())

    def module_kwargs(self):
        """The AnsibleModule keywords besides the spec: which options name a record, which travel together."""
        kwargs = {}
        if self.identity.id_option:
            kwargs['required_one_of'] = [[self.identity.keys[0], self.identity.id_option]]
        secrets = [f.name for f in self.secrets]
        if len(secrets) > 1:
            kwargs['required_together'] = [secrets]
        return kwargs

    def return_docs(self, info=False):
        """The RETURN section as a dict, for the module (``info=False``) or its _info module."""
        contains = dict((key, {'description': doc, 'type': kind, 'sample': sample})
                        for key, kind, doc, sample in self.returns)
        if info:
            return {self.info_key: {'description': 'The matching records, sorted by backup server and %s.'
                                                   % self.identity.keys[0],
                                    'returned': 'always', 'type': 'list', 'elements': 'dict', 'contains': contains}}
        secrets = sorted(f.name for f in self.secrets)
        return {
            self.result_key: {'description': 'The %s after the run (as it would be, in check mode); empty when it is '
                                             'absent. The id is null for one that check mode would create.' % self.noun,
                              'returned': 'always', 'type': 'dict', 'contains': contains},
            'secrets_sent': {'description': 'The secret options the run sends (or, in check mode, would send), so that '
                                            'a run with O(update_password=always) says why it changed; never a value.',
                             'returned': 'when a secret is sent', 'type': 'list', 'elements': 'str',
                             'sample': secrets},
            'task': {'description': 'EM\'s task, when EM answered the write with one (C(id), C(state), C(operation), '
                                    'C(success), C(message)).',
                     'returned': 'when EM answered with a task', 'type': 'dict'},
        }

    def answer_note(self):
        """One DOCUMENTATION note: how EM answers this resource's writes, and that every answer is handled."""
        return ('EM answers a create with %(create)s; an edit with %(edit)s; a delete with %(delete)s. Any write '
                'answered at once or by a task is handled alike: a task is waited on, and the %(noun)s is read again '
                'to verify it; a write is never sent twice.' % dict(self.answers, noun=self.noun))

    def info_option_docs(self):
        key = self.identity.keys[0]
        out = [(key, {'type': 'str'}, 'Only records whose %s matches this exact value or shell-style pattern '
                                      '(such as C(svc_*)), compared case-insensitively.' % key)]
        if self.parent is not None:
            out.append((self.parent.option, {'type': 'str'}, 'Only the records of this backup server; all of them '
                                                             'when left out.'))
        return sorted(out, key=lambda o: o[0])

    # -- offline checks ------------------------------------------------------------

    def check_input(self, params):
        """Validate the options before any request; return ``{option: normalised value}`` of the given fields."""
        wanted = {}
        for field in self.fields:
            if not field.option or params.get(field.name) is None:
                continue
            value = normalize_input(field, params[field.name], field.name)
            if field.secret and value == '':
                raise ValidationError('%s: an empty secret is refused; leave the option out to keep the current one'
                                      % field.name, option=field.name)
            if field.max_length is not None and isinstance(value, str) and len(value) > field.max_length:
                raise ValidationError('%s: EM keeps at most %d characters (%d given)'
                                      % (field.name, field.max_length, len(value)), option=field.name)
            wanted[field.name] = value
        id_option = self.identity.id_option
        if id_option and params.get(id_option):
            parse_id(params[id_option], id_option)
        if params.get('state') == 'absent':
            extra = sorted(n for n in wanted if n not in self.identity.keys)
            if extra:
                raise ValidationError('state: absent deletes the %s; remove the options given with it (%s)'
                                      % (self.noun, ', '.join(extra)), option='state')
        return wanted

    # -- codec ---------------------------------------------------------------------

    def read(self, entity):
        """``{option: value}`` of every field EM shows."""
        values = {}
        for field in self.fields:
            if not field.option or not field.entity:
                continue
            if field.entity.startswith('@'):
                values[field.name] = decode_value(field, entity.get(field.entity[1:]))
                continue
            el = _xml.find(entity, field.entity)
            values[field.name] = decode_value(field, None if el is None else (el.text or ''))
        return values

    def record_id(self, entity):
        if self.identity.id_xml.startswith('@'):
            value = entity.get(self.identity.id_xml[1:])
        else:
            value = _xml.findtext(entity, self.identity.id_xml)
        return parse_id(value, None) if value else None

    def view(self, entity, values=None, parent_name=None):
        """The record as modules return it: id, parent, shown fields (never a secret)."""
        out = {'id': self.record_id(entity) if entity is not None else None}
        if self.parent is not None:
            out[self.parent.option] = parent_name
        values = self.read(entity) if values is None else values
        for field in self.fields:
            if field.option and (field.entity or field.access == 'key') and not field.secret:
                out[field.name] = values.get(field.name)
        if entity is not None and self.view_extra is not None:
            out.update(self.view_extra(entity))
        return out

    def body(self, root, values, send, entity=None):
        """A create or edit body: ``root``, the identity copied from the GET, then ``send`` in schema order."""
        attrib = {}
        if entity is not None:
            attrib = dict((a[1:], entity.get(a[1:])) for a in self.edit_identity
                          if a.startswith('@') and entity.get(a[1:]) is not None)
        body = _xml.element(root, attrib=attrib)
        if entity is not None:
            for name in self.edit_identity:
                if not name.startswith('@'):
                    text = _xml.findtext(entity, name)
                    if text is not None:
                        _xml.sub(body, name, text)
        for field in self.fields:
            if field.name in send:
                _xml.sub(body, field.element, encode_value(field, values[field.name]))
        return body

    # -- records ---------------------------------------------------------------------

    def url(self, template, parent_id=None, record_id=None):
        return template.format(parent=parent_id, id=record_id)

    def list(self, client, parent_id=None, name=None):
        """Every record (entity elements) of the collection, or those a custom lister finds for ``name``."""
        if self.lister is not None:
            return self.lister(client, name)
        root = client.get(self.url(self.collection, parent_id))
        return list(root.iter(_xml.qname(self.entity_root)))

    def match(self, records, params):
        """The records the identity options name; ``(matches, by first key only)``."""
        id_option = self.identity.id_option
        if id_option and params.get(id_option):
            wanted = parse_id(params[id_option], id_option)
            found = [r for r in records if self.record_id(r) == wanted]
            return found, found
        if self.lister is not None:  # the lister found them by name already
            return list(records), list(records)
        first = self.identity.keys[0]
        field = self.by_option.get(first)
        values = [(r, self.read(r)) for r in records]
        same = [(r, v) for r, v in values if _same(field, v.get(first), params.get(first))]
        narrowed = same
        for key in self.identity.keys[1:]:
            if len(narrowed) <= 1 or params.get(key) is None:
                break
            narrowed = [(r, v) for r, v in narrowed if _same(self.by_option.get(key), v.get(key), params.get(key))]
        return [r for r, _v in narrowed], [r for r, _v in same]

    def describe(self, records):
        keys = self.identity.keys
        return '; '.join('id %s (%s)' % (self.record_id(r), ', '.join('%s %r' % (k, self.read(r).get(k)) for k in keys))
                         for r in records)


def _same(field, a, b):
    if field is not None and field.casefold and isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return _diff.equal(a, b)


def parse_id(value, option):
    """A bare UUID or a ``urn:veeam:<Type>:<uuid>`` -> lowercase UUID."""
    m = _UUID_RE.match(value.strip()) if isinstance(value, str) else None
    if not m:
        if option is None:
            return value.strip().lower()
        raise ValidationError('%s: %r is not an id; accepted: a UUID or urn:veeam:<Type>:<UUID>' % (option, value),
                              option=option)
    return m.group(1).lower()


class Parent:
    """The record's owner, named by an option (``backup_server``) and resolved to ``(id, name)`` with ``resolve``."""

    def __init__(self, option, resolve, doc):
        self.option = option
        self.resolve = resolve
        self.doc = doc


# ---------------------------------------------------------------------------
# Writes: one request, its answer classified, never sent twice


class Answer:
    """What EM said to a write: a finished ``task`` (dict), the ``entity`` it returned, or nothing."""

    def __init__(self, task=None, entity=None, known=True):
        self.task = task
        self.entity = entity
        self.known = known


def send(client, method, path, body, entity_root, params=None, wait_timeout=900, sleep=None, clock=None):
    """Send one write through the collection's one write path (``_tasks.perform_write``) and keep its answer.

    Its root decides (em-api-cloud.md section 2): a ``Task`` is waited on, an
    ``Error`` under a 2xx fails, the written resource's root is the read-back;
    anything else, no body, or a ``202`` without a task means "read it again",
    and the caller re-reads until the record shows the write. A write whose
    outcome is unknown (the request left, no answer came) gives
    ``Answer(known=False)``: the caller re-reads, never re-sends.
    """
    try:
        outcome = _tasks.perform_write(client, method, path, body, params, resources=(entity_root,),
                                       timeout=wait_timeout, sleep=sleep, clock=clock)
    except AmbiguousWriteError:
        return Answer(known=False)
    return Answer(task=outcome.task, entity=outcome.resource)


def _refused(exc, what):
    """An ApiError of a write, with the role named when EM answered 403."""
    if isinstance(exc, ApiError) and exc.status == 403:
        exc.msg += '; %s needs an EM account with the Portal Administrator role' % what.split(' of ', 1)[1]
    return exc


# ---------------------------------------------------------------------------
# Plan and run


class Plan:
    """What one record needs: create, edit, delete or nothing, and the fields and secrets that travel."""

    def __init__(self, resource, params, wanted, records, parent=(None, None)):
        self.resource = resource
        self.params = params
        self.wanted = wanted
        self.parent_id, self.parent_name = parent
        self.before_ids = set(resource.record_id(r) for r in records)
        self.entity = self._find(records)
        self.current = self.shown_values(self.entity) if self.entity is not None else None
        self.send = []
        self.secrets = []
        self.action = None
        if params.get('state') == 'absent':
            self.action = 'delete' if self.entity is not None else None
        elif self.entity is None:
            self._plan_create()
        else:
            self._plan_edit()

    def _find(self, records):
        res = self.resource
        found, first = res.match(records, self.params)
        id_option = res.identity.id_option
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ResourceNotFound('%s %r is ambiguous: %s; set %s' % (
                res.identity.keys[0], self.params.get(res.identity.keys[0]), res.describe(found),
                ' or '.join(k for k in (res.identity.keys[1:] + ((id_option,) if id_option else ())))))
        if id_option and self.params.get(id_option):
            if self.params.get('state') == 'absent':
                return None
            raise ResourceNotFound('%s with id %s not found%s' % (res.noun, parse_id(self.params[id_option], id_option),
                                                                  self._where()))
        if len(first) == 1 and self.params.get('state') != 'absent':
            return first[0]  # one record holds the name: a new description on it is an edit, not a new record
        return None

    def _where(self):
        return ' on backup server %s' % self.parent_name if self.parent_name else ''

    def _plan_create(self):
        res = self.resource
        missing = []
        for field in res.fields:
            if field.access in ('rw', 'create', 'key'):
                if field.name in self.wanted:
                    self.send.append(field.name)
                elif field.create_default is not None:
                    self.wanted[field.name] = field.create_default
                    self.send.append(field.name)
                elif field.required:
                    missing.append(field.name)
        if missing:
            raise ValidationError('%s: required to create the %s %s, which does not exist%s'
                                  % (', '.join(missing), res.noun, self._label(), self._where()), option=missing[0])
        self.secrets = [n for n in self.send if res.by_option[n].secret]
        self.action = 'create'

    def _plan_edit(self):
        res = self.resource
        always = self.params.get('update_password') == 'always'
        for field in res.fields:
            name = field.name
            if name not in self.wanted:
                continue
            if field.secret:
                if always:
                    if field.access == 'create':
                        raise ValidationError(
                            '%s: EM cannot change the secret of an existing %s (%s); a new password means a new '
                            'record: create one (with another %s) and point the jobs at it'
                            % (name, res.noun, self._label(), res.identity.keys[0]), option=name)
                    self.secrets.append(name)
                continue
            if field.access == 'rw' and not _same(field, self.current.get(name), self.wanted[name]):
                self.send.append(name)
        self.send += self.secrets
        if self.send:
            self.send += [f.name for f in res.fields if f.access == 'key' and f.name not in self.send]
            self.action = 'edit'

    def _label(self):
        key = self.resource.identity.keys[0]
        return '%s %r' % (key, self.params.get(key)) if self.params.get(key) is not None else 'id %s' % self.params.get('id')

    @property
    def changed(self):
        return self.action is not None

    def target(self):
        """The record's shown fields after the planned write."""
        values = dict(self.current or {})
        values.update(dict((n, v) for n, v in self.wanted.items() if not self.resource.by_option[n].secret))
        return values

    def diff(self):
        res = self.resource
        before = {} if self.entity is None else res.view(self.entity, self.current, self.parent_name)
        after = {} if self.action == 'delete' else res.view(self.entity, self.target(), self.parent_name) \
            if self.entity is not None else dict(res.view(None, self.target(), self.parent_name), id=None)
        if self.action == 'create' or self.action == 'delete':
            return {'before': before, 'after': after}
        before, after = _diff.prune(before, after)
        return {'before': before, 'after': after}

    def shown_values(self, entity):
        """The fields of ``entity``; key fields EM does not show (a backup server's address) are as given."""
        values = self.resource.read(entity)
        values.update((f.name, self.wanted.get(f.name)) for f in self.resource.fields if f.access == 'key' and not f.entity)
        return values

    def shown(self, entity):
        """The result view of ``entity`` read after the write."""
        return self.resource.view(entity, self.shown_values(entity), self.parent_name)

    def mismatches(self, entity):
        """Shown fields that were sent and that ``entity`` (read after the write) does not hold."""
        got = self.resource.read(entity)
        bad = []
        for name in self.send:
            field = self.resource.by_option[name]
            if field.entity and not field.secret and not _same(field, got.get(name), self.wanted[name]):
                bad.append((name, self.wanted[name], got.get(name)))
        return bad


def _reread(find, wait_timeout, sleep, clock):
    """Read the record after a write until ``find`` shows what was sent; ``(entity or None, mismatches)``."""
    last = {}

    def shows():
        last['entity'], last['bad'] = find()
        return last['entity'] is not None and not last['bad']
    if not shows():
        _tasks.watch_until(shows, wait_timeout, sleep, clock)
    return last['entity'], last['bad']


def run(client, resource, params, wanted, check_mode=False, with_diff=False, wait_timeout=900, sleep=None, clock=None):
    """What a resource module does: find the record, plan, and (unless check mode) write once and verify."""
    parent = (None, None)
    if resource.parent is not None:
        parent = resource.parent.resolve(client, params[resource.parent.option])
    records = resource.list(client, parent[0], params.get(resource.identity.keys[0]))
    plan = Plan(resource, params, wanted, records, parent)
    result = {'changed': plan.changed}
    if with_diff:
        result['diff'] = plan.diff()
    if plan.secrets:
        result['secrets_sent'] = sorted(plan.secrets)
    shown = {} if plan.action == 'delete' or (plan.entity is None and plan.action is None) else \
        plan.resource.view(plan.entity, plan.target(), plan.parent_name)
    result[resource.result_key] = shown
    if not plan.changed or check_mode:
        return result
    try:
        entity, answer = _write(client, plan, wait_timeout, sleep, clock)
    except VeeamEmError as exc:
        exc.result = dict(result, changed=getattr(exc, 'written', True))
        raise
    if answer.task is not None:
        result['task'] = _tasks.public_task(answer.task)
    result[resource.result_key] = {} if entity is None else plan.shown(entity)
    return result


def _write(client, plan, wait_timeout, sleep, clock):
    res = plan.resource
    item = res.url(res.item, plan.parent_id, res.record_id(plan.entity) if plan.entity is not None else None)
    what = 'the %s of the %s %s' % ({'create': 'creation', 'edit': 'edit', 'delete': 'deletion'}[plan.action],
                                    res.noun, plan._label())
    if plan.action == 'delete':
        return _delete(client, plan, item, what, wait_timeout, sleep, clock)
    if plan.action == 'create':
        method, path, root, params = 'POST', res.url(res.collection, plan.parent_id), res.create_root, res.create_params
        body = res.body(res.create_root, plan.wanted, plan.send)
    else:
        method, path, root, params = 'PUT', item, res.edit_root, res.edit_params
        body = res.body(res.edit_root, plan.wanted, plan.send, plan.entity)
    try:
        answer = send(client, method, path, body, res.entity_root, params=params, wait_timeout=wait_timeout,
                      sleep=sleep, clock=clock)
    except ApiError as exc:
        exc.written = False
        raise _refused(exc, what)

    def find():
        if plan.action == 'edit':
            entity = answer.entity if answer.entity is not None and not find.called else \
                client.get(item, params=res.get_params)
            find.called = True
            return entity, plan.mismatches(entity)
        new = [r for r in res.list(client, plan.parent_id, plan.params.get(res.identity.keys[0]))
               if res.record_id(r) not in plan.before_ids]
        new = [r for r in new if not plan.mismatches(r)] or new
        if len(new) > 1:
            new = _newest(new)
        if len(new) > 1:
            raise VerifyFailed('%s: EM shows several new records that match: %s' % (what, res.describe(new)))
        return (new[0], plan.mismatches(new[0])) if new else (None, [])
    find.called = False
    entity, bad = _reread(find, wait_timeout, sleep, clock)
    if entity is None:
        how = 'EM accepted it' if answer.known else 'the request was sent but its answer was lost (it is not sent again)'
        raise VerifyFailed('%s: %s, but no new record shows%s after %s s' % (what, how, plan._where(), wait_timeout))
    if bad:
        raise VerifyFailed('%s: EM did not keep %s' % (what, '; '.join('%s (sent %r, found %r)' % b for b in bad)))
    return entity, answer


def _newest(records):
    """Of several new records, the one modified last (a tie is left to the caller)."""
    dated = [(_xml.findtext(r, 'LastModificationDate') or '', r) for r in records]
    top = max(d for d, _r in dated)
    return [r for d, r in dated if d == top] if top else records


def _delete(client, plan, item, what, wait_timeout, sleep, clock):
    res = plan.resource
    record_id = res.record_id(plan.entity)
    try:
        answer = send(client, 'DELETE', item, None, res.entity_root, wait_timeout=wait_timeout, sleep=sleep, clock=clock)
    except ApiError as exc:
        if exc.status == 403:
            exc.written = False
            raise _refused(exc, what)
        if _exists(client, plan, record_id):
            err = VeeamEmError('EM refused %s%s (HTTP %s: %s); it is kept. EM refuses to delete a %s while a job or '
                               'another component uses it' % (what, plan._where(), exc.status, exc.message or 'no message',
                                                              res.noun))
            err.written = False
            raise err
        answer = Answer()

    def gone():
        present = _exists(client, plan, record_id)
        return (None if present else True), []
    done, _bad = _reread(gone, wait_timeout, sleep, clock)
    if done is None:
        raise VerifyFailed('%s: EM accepted it, but the record still exists after %s s' % (what, wait_timeout))
    return None, answer


def _exists(client, plan, record_id):
    res = plan.resource
    return any(res.record_id(r) == record_id for r in res.list(client, plan.parent_id, plan.params.get(res.identity.keys[0])))


# ---------------------------------------------------------------------------
# Reading many (the _info modules)


def matches(value, pattern):
    """Exact or shell-style pattern, case-insensitive."""
    return not pattern or fnmatch.fnmatchcase((value or '').lower(), pattern.lower())


def info(client, resource, params, servers):
    """Every record of ``resource`` on ``servers`` (``[(id, name)]``) whose first key matches the pattern."""
    key = resource.identity.keys[0]
    out = []
    for server_id, server_name in servers:
        for entity in resource.list(client, server_id):
            view = resource.view(entity, None, server_name)
            if matches(view.get(key), params.get(key)):
                out.append(view)
    return sorted(out, key=lambda v: (v.get(resource.parent.option) or '' if resource.parent else '',
                                      (v.get(key) or '').lower(), v['id'] or ''))


def close_names(name, names):
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.6)
    return close + [n for n in names if n.lower() == name.lower() and n not in close]


# ---------------------------------------------------------------------------
# The modules


def run_module(resource):
    """The whole of a resource module: options from the declaration, offline checks, one session, the run."""
    module = VeeamEmModule(resource.argument_spec(), supports_check_mode=True, **resource.module_kwargs())
    try:
        wanted = resource.check_input(module.params)
    except ValidationError as exc:
        module.fail_from(exc)
    module.run_safely(lambda client: run(client, resource, module.params, wanted, check_mode=module.check_mode,
                                         with_diff=module._diff, wait_timeout=module.params['wait_timeout']))


def run_info_module(resource, servers):
    """The whole of a resource's _info module; ``servers(client, name)`` gives the parents to read."""
    spec = dict((name, spec) for name, spec, _doc in resource.info_option_docs())
    module = VeeamEmModule(spec, supports_check_mode=True)
    parent = resource.parent.option

    def read(client):
        found = info(client, resource, module.params, servers(client, module.params.get(parent)))
        return {'changed': False, resource.info_key: found}
    module.run_safely(read)
