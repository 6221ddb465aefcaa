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

* the argument spec and the option docs (``hacking/render_docs.py``);
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

import copy
import difflib
import fnmatch
import re

from ansible_collections.veeam_em.core.plugins.module_utils import _diff, _tasks, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import (
    AmbiguousWriteError, ApiError, TaskLost, ValidationError, VeeamEmError,
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
NOWAIT_DOC = ('C(false) returns once EM has accepted the run\'s last write, with its task (state C(Running)) in '
              'RV(task), reporting a change, without waiting for the task or reading the record again to verify it; '
              'the result shows the record as the change leads to it (the id of a new one is null). A write EM answers '
              'at once (no task) is verified either way, and a write the next one needs (a create followed by the '
              'edit that sets the rest, an edit followed by its child collections\' writes) is waited on as with '
              'C(true). Until EM\'s task ends a new record may not show, so a run in between would create it again.')
STATE_DOC = ('C(present) creates the %(noun)s when it does not exist, or edits it to match. C(absent) deletes it '
             '(%(delete)s); one that does not exist is left alone and reported unchanged.')


class ResourceNotFound(VeeamEmError):
    pass


class VerifyFailed(VeeamEmError):
    pass


class NotFollowed(Exception):
    """``wait: false``: EM accepted the run's last write with ``task``, which is not followed."""

    def __init__(self, task):
        super(NotFollowed, self).__init__(task)
        self.task = task


class Field(Leaf):
    """One element of a resource, in schema order.

    ``xml`` is its name in the create and edit bodies, ``entity`` its name in
    the entity EM shows (None: EM never shows it). ``access`` is ``rw`` (sent
    on create and edit when it differs), ``create`` (sent on create only; with ``fixed``, a different value on an
    existing record fails before any write),
    ``ro`` (shown, never sent) or ``key`` (sent with every write: the edit body
    must carry it). ``secret`` marks a write-only value governed by
    ``update_password``; it is ``no_log`` unless ``no_log=False`` says it is
    merely unreadable (an account name). ``required`` (True, or a function of the wanted values) is needed to
    create; ``later`` is sent by one edit once the create is done.
    """

    verify_hint = None  # said when EM did not keep the field: what the module did not do instead
    sub_docs = None  # {suboption: doc} of a dict or list option

    def __init__(self, option, xml, kind='str', entity=True, access='rw', secret=False, no_log=None, max_length=None,
                 create_default=None, casefold=False, required=False, doc=None, later=False, fixed=False, **kwargs):
        super(Field, self).__init__((option,) if option else None, (xml,), kind, doc=doc, **kwargs)
        self.required = required
        self.later = later
        self.fixed = fixed
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

    # The codec of one field. A value no single element holds (a list of quotas, a lease with two attributes)
    # is declared as a subclass that overrides these; ``context`` is what ``Resource.context`` built (names
    # resolved on EM), or None where no request may be made.

    def normalize(self, value, context=None):
        """The option's value as compared and sent; ValidationError naming the option when it is not acceptable."""
        return normalize_input(self, value, self.name)

    def resolve(self, value, context):
        """The value with the names in it looked up on EM (``context``), before any write; ValidationError when one
        does not resolve."""
        return value

    def read_from(self, entity, context=None):
        """The value ``entity`` shows (``None``: EM shows none)."""
        if self.entity.startswith('@'):
            return decode_value(self, entity.get(self.entity[1:]))
        el = _xml.find(entity, self.entity)
        return decode_value(self, None if el is None else (el.text or ''))

    def write_to(self, body, value, entity=None, context=None):
        """Append the element(s) of ``value`` to a create body (``entity`` None) or an edit body."""
        _xml.sub(body, self.element, encode_value(self, value))

    def same(self, current, wanted, params=None):
        """Whether EM's ``current`` value already is what was asked for."""
        return _same(self, current, wanted)

    def target(self, current, wanted, params=None):
        """The value EM should show after the write (a list the write merges into)."""
        return wanted

    def child_writes(self, record_id, current, wanted, params, context):
        """Writes to the record's child collections (``[ChildWrite]``) beside its PUT; ``in_put`` is whether the PUT
        must carry the field too. Returns ``(in_put, writes)``."""
        return not self.same(current, wanted, params), []


class Echo(Field):
    """An element the edit body must carry exactly as the GET showed it (a tenant's type block): never an option."""

    def __init__(self, xml):
        super(Echo, self).__init__(None, xml, access='echo')

    def write_to(self, body, value, entity=None, context=None):
        el = _xml.find(entity, self.element) if entity is not None else None
        if el is not None:
            body.append(copy.deepcopy(el))


class ChildWrite:
    """One write to a child collection of a record (a quota added or removed), sent after the record's own write.

    ``first``: sent before the record's own write instead; ``check(client)`` then runs at once and may raise
    (a VeeamEmError with ``written`` False when that write changed nothing) to stop before anything else is sent.
    """

    def __init__(self, method, path, body=None, params=None, label='', first=False, check=None):
        self.method = method
        self.path = path
        self.body = body
        self.params = params
        self.label = label
        self.first = first
        self.check = check


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
                 lister=None, answers=None, children=(), returns=(), info_key=None, get_params=None, view_extra=None,
                 probe=None, create_order=None, delete_params=None, extra_options=(), context=None, settings_key=None,
                 top_options=(), created_type=None, info_children=None, info_options=(), role=None,
                 in_use=True):
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
        # Further declarations (all optional):
        # probe(client): run before anything else (a licence check), raising VeeamEmError;
        # create_order: option names in the create body's order, where it differs from the edit body's (fields);
        # delete_params(params): the query parameters of the DELETE (always explicit);
        # extra_options: [(option, spec, doc)] that are not fields (a purge or delete switch) for the codecs;
        # context(client, entity, params, parent): what the codecs need from EM (names -> UIDs), built once a run;
        # settings_key: results nest every non-key field under it (``top_options`` stay beside the keys);
        # created_type: the Type of a create task's Related link that names the new record;
        # info_children: a Resource whose records (parent = this one) the _info module lists in each record;
        # info_options: [(option, spec, doc, match(view, value))] further filters of the _info module (match None:
        # an option that is no filter, such as the children's info_key, false to leave them out);
        # role: the EM role its writes need (named when EM answers 403), Portal Administrator when not said.
        self.probe = probe
        self.create_order = tuple(create_order) if create_order else None
        self.delete_params = delete_params
        self.extra_options = tuple(extra_options)
        self.context = context
        self.settings_key = settings_key
        self.top_options = tuple(top_options)
        self.created_type = created_type
        self.info_children = info_children
        self.info_options = tuple(info_options)
        self.role = role
        # in_use: EM refuses to delete the record while a job or another component uses it (said when it refuses)
        self.in_use = in_use
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
        return tuple(k for k in self.identity.keys if k in self.by_option and self.by_option[k].access == 'key'
                     or k == self.identity.keys[0] and k in self.by_option and self.by_option[k].access == 'create')

    def option_docs(self):
        """``[(option, spec, doc)]`` for every module option besides the connection: sorted, as ansible-doc shows them."""
        out = list(self.extra_options)
        if self.parent is not None:
            out.append((self.parent.option, {'type': 'str', 'required': True}, self.parent.doc))
            out.extend(self.parent.extra)
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

    def module_option_docs(self):
        """``option_docs`` and the module's own ``wait`` (a bulk module's entries have none): the module's options."""
        return sorted(self.option_docs() + [('wait', {'type': 'bool', 'default': True}, NOWAIT_DOC)], key=lambda o: o[0])

    def argument_spec(self):
        return dict((name, spec) for name, spec, _doc in self.module_option_docs())

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
                                    'C(success), C(message)); the last one where the run sent several writes.',
                     'returned': 'when EM answered with a task', 'type': 'dict'},
            'tasks': {'description': 'Every task EM answered the run\'s writes with, in order (a record\'s own write, '
                                     'then those of its child collections).',
                      'returned': 'when EM answered with a task', 'type': 'list', 'elements': 'dict'},
        }

    def answer_note(self):
        """One DOCUMENTATION note: how EM answers this resource's writes, and that every answer is handled."""
        return ('EM answers a create with %(create)s; an edit with %(edit)s; a delete with %(delete)s. Any write '
                'answered at once or by a task is handled alike: a task is waited on (with O(wait=false), not the '
                'last one), and the %(noun)s is read again to verify it; a write is never sent twice.' % dict(self.answers, noun=self.noun))

    def info_option_docs(self):
        key = self.identity.keys[0]
        out = [(key, {'type': 'str'}, 'Only records whose %s matches this exact value or shell-style pattern '
                                      '(such as C(svc_*)), compared case-insensitively.' % key)]
        if self.parent is not None:
            out.append((self.parent.option, {'type': 'str'}, 'Only the records of this backup server; all of them '
                                                             'when left out.'))
        else:
            out += [(k, {'type': 'str'}, 'Only records whose %s is this, compared case-insensitively.' % k)
                    for k in self.identity.keys[1:]]
        out += [(o, spec, doc) for o, spec, doc, _match in self.info_options]
        return sorted(out, key=lambda o: o[0])

    # -- hooks ---------------------------------------------------------------------
    # What the engine does with every resource; a resource whose lookup, writes or result differ (a job) overrides
    # the ones that do, in a subclass. Each default is the engine's own behaviour.

    def find(self, client, params, parent_id=None):
        """The records among which :class:`Plan` seeks the one the options name (a lookup of its own may return just
        that one, or none)."""
        return self.list(client, parent_id, params.get(self.identity.keys[0]))

    def plan(self, client, params, wanted, parent=(None, None)):
        """What the run needs: an object with :class:`Plan`'s interface (action, changed, entity, diff, view,
        target, shown)."""
        return Plan(self, params, wanted, self.find(client, params, parent[0]), parent, client=client)

    def before_write(self, client, plan):
        """Called once before the first write of a changed plan, outside check mode: the plan to carry out (a
        resource that EM cannot write conditionally reads the record again here, and plans again when it moved)."""
        return plan

    def create(self, client, plan, tasks, result, wait_timeout, sleep, clock):
        """Create the record; its entity read back (None: not read, as ``wait: false`` allows). ``tasks`` collects
        EM's tasks (public dicts); ``result`` is the run's result so far."""
        return _create(client, plan, tasks, wait_timeout, sleep, clock)

    def edit(self, client, plan, tasks, result, wait_timeout, sleep, clock):
        """Edit the record (its PUT, with :meth:`edit_body`, and its child collections' writes); as :meth:`create`."""
        return _edit(client, plan, tasks, wait_timeout, sleep, clock)

    def delete(self, client, plan, tasks, result, wait_timeout, sleep, clock):
        """Delete the record and watch it go (:meth:`exists`); None."""
        return _delete(client, plan, tasks, wait_timeout, sleep, clock)

    def edit_body(self, plan):
        """The body of the record's PUT: by default the identity and the fields that differ, each written by its
        :class:`Field`."""
        return self.body(self.edit_root, plan.wanted, plan.send, plan.entity, plan.context)

    def exists(self, client, plan, record_id):
        """Whether EM still shows the record (after a delete)."""
        return any(self.record_id(r) == record_id
                   for r in self.list(client, plan.parent_id, plan.params.get(self.identity.keys[0])))

    def after_write(self, client, plan, entity):
        """Called with the record read back after the run's writes (not with ``wait: false``): a warning, say."""

    def report(self, result, plan, tasks):
        """The module result: ``result`` with EM's tasks (the last as ``task``, all as ``tasks``)."""
        if tasks:
            result['task'] = tasks[-1]
            result['tasks'] = tasks
        return result

    def failed(self, exc, plan, result, tasks):
        """What ``exc``, raised by a write, carries as its result: the result so far, whether anything was written,
        and the tasks."""
        exc.result = dict(result, changed=getattr(exc, 'written', True))
        tasks = failed_tasks(exc, tasks)
        if tasks:
            exc.result['tasks'] = tasks

    # -- offline checks ------------------------------------------------------------

    def check_input(self, params):
        """Validate the options before any request; return ``{option: normalised value}`` of the given fields."""
        wanted = {}
        for field in self.fields:
            if not field.option or params.get(field.name) is None:
                continue
            value = field.normalize(params[field.name])
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

    def read(self, entity, context=None):
        """``{option: value}`` of every field EM shows."""
        return dict((f.name, f.read_from(entity, context)) for f in self.fields if f.option and f.entity)

    def record_id(self, entity):
        if self.identity.id_xml.startswith('@'):
            value = entity.get(self.identity.id_xml[1:])
        else:
            value = _xml.findtext(entity, self.identity.id_xml)
        return parse_id(value, None) if value else None

    def view(self, entity, values=None, parent_name=None, context=None):
        """The record as modules return it: id, parent, shown fields (never a secret); under ``settings_key``
        the fields other than the keys and ``top_options`` are nested."""
        out = {'id': self.record_id(entity) if entity is not None else None}
        if self.parent is not None:
            out[self.parent.option] = parent_name
        values = self.read(entity, context) if values is None else values
        settings = out if self.settings_key is None else {}
        for field in self.fields:
            if field.option and (field.entity or field.access == 'key') and not field.secret:
                top = field.name in self.identity.keys or field.name in self.top_options
                (out if top else settings)[field.name] = values.get(field.name)
        if self.settings_key is not None:
            out[self.settings_key] = settings
        if entity is not None and self.view_extra is not None:
            out.update(self.view_extra(entity))
        return out

    def body(self, root, values, send, entity=None, context=None):
        """A create or edit body: ``root``, the identity copied from the GET, then ``send`` in schema order (a create
        in ``create_order``); an edit always carries the ``Echo`` elements, copied from the GET."""
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
        fields = self.fields
        if entity is None and self.create_order:
            fields = [self.by_option[n] for n in self.create_order]
        for field in fields:
            if field.access == 'echo' and entity is not None:
                field.write_to(body, None, entity, context)
            elif field.option and field.name in send:
                field.write_to(body, values[field.name], entity, context)
        return body

    # -- records ---------------------------------------------------------------------

    def url(self, template, parent_id=None, record_id=None):
        return template.format(parent=parent_id, id=record_id)

    def list(self, client, parent_id=None, name=None):
        """Every record (entity elements) of the collection, or those a custom lister finds for ``name``."""
        if self.lister is not None:
            return self.lister(client, name)
        root = client.get(self.url(self.collection, parent_id), params=self.get_params)
        return list(root.iter(_xml.qname(self.entity_root)))

    def list_many(self, client, parent_ids):
        """``{parent id: [records]}`` for several parents: one list each, unless a declaration reads them at once."""
        return dict((pid, self.list(client, pid)) for pid in parent_ids)

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
            field = self.by_option.get(key)
            if params.get(key) is None or (len(narrowed) <= 1 and (field is None or field.access == 'rw')):
                continue  # a setting narrows only a name several records share; a create-time key always does
            narrowed = [(r, v) for r, v in narrowed if _same(field, v.get(key), params.get(key))]
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
    """The record's owner, named by an option (``backup_server``) and resolved to ``(id, name)`` with ``resolve``.

    ``extra`` are further ``(option, spec, doc)`` that narrow the owner (a tenant's backup server): with them,
    ``resolve(client, value, params)`` is called, and may return ``(id, name, entity)``.
    """

    def __init__(self, option, resolve, doc, extra=()):
        self.option = option
        self.resolve = resolve
        self.doc = doc
        self.extra = tuple(extra)

    def find(self, client, params):
        """``(id, name, entity or None)`` of the owner the options name."""
        if self.extra:
            found = tuple(self.resolve(client, params[self.option], params))
        else:
            found = tuple(self.resolve(client, params[self.option]))
        return found + (None,) * (3 - len(found))


# ---------------------------------------------------------------------------
# Writes: one request, its answer classified, never sent twice


class Answer:
    """What EM said to a write: a finished ``task`` (dict), the ``entity`` it returned, or nothing."""

    def __init__(self, task=None, entity=None, known=True, lost=False):
        self.task = task
        self.entity = entity
        self.known = known
        self.lost = lost

    @property
    def settled(self):
        """EM said the write is done: its task finished, or it answered with the record."""
        return self.known and (self.task is not None or self.entity is not None)


LOST_TASK = 'task not visible in the new logon session; the record was read to verify'


def send(client, method, path, body, entity_root, params=None, wait_timeout=900, sleep=None, clock=None, wait=True):
    """Send one write through the collection's one write path (``_tasks.perform_write``) and keep its answer.

    Its root decides (em-api-cloud.md section 2): a ``Task`` is waited on, an
    ``Error`` under a 2xx fails, the written resource's root is the read-back;
    anything else, no body, or a ``202`` without a task means "read it again",
    and the caller re-reads until the record shows the write. A write whose
    outcome is unknown (the request left, no answer came) gives
    ``Answer(known=False)``: the caller re-reads, never re-sends. So does a task EM lost (``TaskLost``: a new
    logon session cannot see it): the answer keeps it, in state ``Unknown``, with ``lost`` set, and the caller
    watches the record until it shows the write or ``wait_timeout`` passes. With ``wait`` false a task is not
    followed: ``NotFollowed`` carries it.
    """
    try:
        outcome = _tasks.perform_write(client, method, path, body, params, resources=(entity_root,),
                                       wait=wait, timeout=wait_timeout, sleep=sleep, clock=clock)
    except AmbiguousWriteError:
        return Answer(known=False)
    except TaskLost as exc:
        return Answer(task=dict(exc.task, state='Unknown', message=LOST_TASK), known=False, lost=True)
    if not wait and outcome.kind == _tasks.TASK:
        raise NotFollowed(outcome.task)
    return Answer(task=outcome.task, entity=outcome.resource)


def failed_tasks(exc, tasks):
    """``tasks`` with the task ``exc`` is about (one that failed, timed out or was lost), when it is not among them."""
    task = getattr(exc, 'task', None)
    if task and not any(t.get('id') == task.get('id') for t in tasks):
        return tasks + [_tasks.public_task(task)]
    return tasks


def _refused(exc, what, resource=None):
    """An ApiError of a write, with the role named when EM answered 403."""
    if isinstance(exc, ApiError) and exc.status == 403:
        role = getattr(resource, 'role', None) or 'Portal Administrator'
        exc.msg += '; %s needs an EM account with the %s role' % (what.split(' of ', 1)[1], role)
    return exc


# ---------------------------------------------------------------------------
# Plan and run


class Plan:
    """What one record needs: create, edit, delete or nothing, and the fields, secrets and child writes that travel."""

    def __init__(self, resource, params, wanted, records, parent=(None, None), client=None):
        self.resource = resource
        self.params = params
        self.wanted = wanted
        self.parent_id, self.parent_name = parent[0], parent[1]
        self.parent_entity = parent[2] if len(parent) > 2 else None
        self.before_ids = set(resource.record_id(r) for r in records)
        self.entity = self._find(records)
        self.context = None
        if resource.context is not None and client is not None:
            self.context = resource.context(client, self.entity, params, self.parent_entity)
        self.current = self.shown_values(self.entity) if self.entity is not None else None
        self.send = []
        self.secrets = []
        self.child_writes = []
        self.touched = []
        self.sent = 0
        self.last_write = None  # wait: false: the number of the write (1, 2, ...) that is not followed
        self.read_later = None  # a list: a write whose task finished joins it, read back by the caller (jobs)
        self.action = None
        if params.get('state') == 'absent':
            self.action = 'delete' if self.entity is not None else None
            return
        if self.entity is None:
            self.wanted.update((f.name, f.create_default) for f in resource.fields
                               if f.option and f.create_default is not None and f.name not in self.wanted)
        for name in list(self.wanted):
            self.wanted[name] = resource.by_option[name].resolve(self.wanted[name], self.context)
        if self.entity is None:
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
        fixed = [k for k in res.identity.keys[1:] if self.params.get(k) is not None and k in res.by_option
                 and res.by_option[k].access != 'rw']
        if len(first) == 1 and self.params.get('state') != 'absent' and not fixed:
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
                elif field.required(self.wanted) if callable(field.required) else field.required:
                    missing.append(field.name)
        if missing:
            raise ValidationError('%s: required to create the %s %s, which does not exist%s'
                                  % (', '.join(missing), res.noun, self._label(), self._where()), option=missing[0])
        self.secrets = [n for n in self.send if res.by_option[n].secret]
        self.touched = list(self.send)
        self.action = 'create'

    def _plan_edit(self):
        res = self.resource
        always = self.params.get('update_password') == 'always'
        item = res.url(res.item, self.parent_id, res.record_id(self.entity))
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
            if field.fixed and not field.same(self.current.get(name), self.wanted[name], self.params):
                raise ValidationError('%s: the %s %s has %r, set when it was created; EM cannot change it (%r asked)'
                                      % (name, res.noun, self._label(), self.current.get(name), self.wanted[name]),
                                      option=name)
            if field.access != 'rw':
                continue
            in_put, writes = field.child_writes(item, self.current.get(name), self.wanted[name], self.params,
                                                self.context)
            if in_put:
                self.send.append(name)
            if in_put or writes:
                self.touched.append(name)
            self.child_writes += writes
        self.send += self.secrets
        if self.send:
            self.send += [f.name for f in res.fields if f.access == 'key' and f.name not in self.send]
        if self.send or self.child_writes:
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
        for name, value in self.wanted.items():
            field = self.resource.by_option[name]
            if not field.secret:
                values[name] = field.target(values.get(name), value, self.params)
        return values

    def view(self, entity, values):
        return self.resource.view(entity, values, self.parent_name, self.context)

    def diff(self):
        before = {} if self.entity is None else self.view(self.entity, self.current)
        after = {} if self.action == 'delete' else self.view(self.entity, self.target()) \
            if self.entity is not None else dict(self.view(None, self.target()), id=None)
        if self.action == 'create' or self.action == 'delete':
            return {'before': before, 'after': after}
        before, after = _diff.prune(before, after)
        return {'before': before, 'after': after}

    def shown_values(self, entity):
        """The fields of ``entity``; key fields EM does not show (a backup server's address) are as given."""
        values = self.resource.read(entity, self.context)
        values.update((f.name, self.wanted.get(f.name)) for f in self.resource.fields if f.access == 'key' and not f.entity)
        return values

    def shown(self, entity):
        """The result view of ``entity`` read after the write (None: nothing to show, the record is gone)."""
        return {} if entity is None else self.view(entity, self.shown_values(entity))

    def not_kept(self, bad):
        """The mismatches (``[(name, sent, found)]``) as said in an error, with the fields' hints."""
        hints = [self.resource.by_option[b[0]].verify_hint for b in bad if self.resource.by_option[b[0]].verify_hint]
        return '; '.join('%s (sent %r, found %r)' % b for b in bad) + ''.join('. ' + h for h in hints)

    def mismatches(self, entity, names=None):
        """Shown fields that were sent and that ``entity`` (read after the write) does not hold."""
        got = self.resource.read(entity, self.context)
        bad = []
        for name in self.touched if names is None else names:
            field = self.resource.by_option[name]
            if field.entity and not field.secret and not field.same(got.get(name), self.wanted[name], self.params):
                bad.append((name, self.wanted[name], got.get(name)))
        return bad


def _reread(find, wait_timeout, sleep, clock, once=False):
    """Read the record after a write until ``find`` shows what was sent; ``(entity or None, mismatches)``.

    ``once``: the write is settled (its task finished, or EM answered with the record), so what EM shows now is
    what it kept: a record that does not match is not watched for ``wait_timeout``.
    """
    last = {}

    def shows():
        last['entity'], last['bad'] = find()
        return last['entity'] is not None and not last['bad']
    if not shows() and not (once and last['entity'] is not None):
        _tasks.watch_until(shows, wait_timeout, sleep, clock)
    return last['entity'], last['bad']


def run(client, resource, params, wanted, check_mode=False, with_diff=False, wait_timeout=900, sleep=None, clock=None,
        wait=True):
    """What a resource module does: find the record, plan, and (unless check mode) write once and verify."""
    if resource.probe is not None:
        resource.probe(client)
    parent = (None, None)
    if resource.parent is not None:
        parent = resource.parent.find(client, params)
    plan = resource.plan(client, params, wanted, parent)
    return apply(client, plan, check_mode, with_diff, wait_timeout, sleep, clock, wait=wait)


def apply(client, plan, check_mode=False, with_diff=False, wait_timeout=900, sleep=None, clock=None, wait=True):
    """Carry out one Plan: the result (changed, diff, secrets_sent, the record, task and tasks) and, unless check
    mode, every write it needs (the record's own and its child collections'), each waited on and verified. A
    failed write raises VeeamEmError whose ``result`` says what was written."""
    resource = plan.resource
    if plan.changed and not check_mode:
        plan = resource.before_write(client, plan)
    result = {'changed': plan.changed}
    diff = plan.diff() if with_diff else None
    if diff is not None:
        result['diff'] = diff
    if plan.secrets:
        result['secrets_sent'] = sorted(plan.secrets)
    shown = {} if plan.action == 'delete' or (plan.entity is None and plan.action is None) else \
        plan.view(plan.entity, plan.target())
    result[resource.result_key] = shown
    if not plan.changed or check_mode:
        return resource.report(result, plan, [])
    tasks = []
    plan.last_write = None if wait else _writes_planned(plan)
    try:
        entity = _write(client, plan, tasks, result, wait_timeout, sleep, clock)
    except NotFollowed as accepted:
        tasks.append(_tasks.public_task(accepted.task))
        return resource.report(result, plan, tasks)
    except VeeamEmError as exc:
        if getattr(exc, 'entity', None) is not None:
            result[resource.result_key] = plan.shown(exc.entity)
        resource.failed(exc, plan, result, tasks)
        raise
    if entity is not None:
        resource.after_write(client, plan, entity)
    result[resource.result_key] = plan.shown(entity)
    return resource.report(result, plan, tasks)


def _writes_planned(plan):
    """How many writes ``_write`` sends for the plan (``wait: false`` follows all but the last)."""
    if plan.action == 'create':
        return 1 + any(plan.resource.by_option[n].later for n in plan.send)
    if plan.action == 'edit':
        return bool(plan.send) + len(plan.child_writes)
    return 1


def _what(plan, action=None):
    return 'the %s of the %s %s' % ({'create': 'creation', 'edit': 'edit', 'delete': 'deletion'}[action or plan.action],
                                    plan.resource.noun, plan._label())


def _sent(client, plan, tasks, method, path, body, params, what, wait_timeout, sleep, clock):
    """One write of the plan; its task (if any) joins ``tasks``; a refusal is marked written or not."""
    last = plan.last_write == plan.sent + 1  # wait: false, and this is the run's last write
    try:
        answer = send(client, method, path, body, plan.resource.entity_root, params=params, wait_timeout=wait_timeout,
                      sleep=sleep, clock=clock, wait=not last)
    except ApiError as exc:
        exc.written = plan.sent > 0
        raise _refused(exc, what, plan.resource)
    except VeeamEmError as exc:
        exc.written = True
        raise
    plan.sent += 1
    if answer.task is not None:
        tasks.append(_tasks.public_task(answer.task))
    return answer


def _write(client, plan, tasks, result, wait_timeout, sleep, clock):
    """The plan's writes, through the resource's hooks: the record read back after them, or None."""
    res = plan.resource
    write = {'delete': res.delete, 'create': res.create}.get(plan.action, res.edit)
    return write(client, plan, tasks, result, wait_timeout, sleep, clock)


def _item(plan):
    res = plan.resource
    return res.url(res.item, plan.parent_id, res.record_id(plan.entity) if plan.entity is not None else None)


def _create(client, plan, tasks, wait_timeout, sleep, clock):
    res = plan.resource
    what = _what(plan)
    now = [n for n in plan.send if not res.by_option[n].later]
    body = res.body(res.create_root, plan.wanted, now, context=plan.context)
    try:
        answer = _sent(client, plan, tasks, 'POST', res.url(res.collection, plan.parent_id), body, res.create_params,
                       what, wait_timeout, sleep, clock)
    except VeeamEmError as exc:
        made_anyway(client, plan, exc)
        raise
    entity = _verify(client, plan, answer, None, what, wait_timeout, sleep, clock, names=now)
    later = [n for n in plan.send if res.by_option[n].later]
    if not later:
        return entity
    item = res.url(res.item, plan.parent_id, res.record_id(entity))
    body = res.body(res.edit_root, plan.wanted, later, entity, plan.context)
    answer = _sent(client, plan, tasks, 'PUT', item, body, res.edit_params, _what(plan, 'edit'),
                   wait_timeout, sleep, clock)
    return _verify(client, plan, answer, item, _what(plan, 'edit'), wait_timeout, sleep, clock)


def made_anyway(client, plan, exc):
    """After a create EM failed once sent (its task failed or timed out), look the record up by its key, never
    sending the create again: EM may have made it all the same (em-api-cloud.md 7.2). When it did, ``exc`` says so
    and carries it as ``entity``, so the run's result shows it with its id."""
    res = plan.resource
    if not getattr(exc, 'written', True):
        return
    before = getattr(plan, 'before_ids', ())
    try:
        found, _first = res.match([r for r in res.find(client, plan.params, plan.parent_id)
                                   if res.record_id(r) not in before], plan.params)
    except VeeamEmError:
        return  # the lookup is a courtesy: EM's own error stands
    if len(found) == 1:
        exc.entity = found[0]
        exc.msg = ('%s; EM made the %s all the same (id %s): it is not created again; check it, and run again to '
                   'apply what it lacks' % (exc.msg, res.noun, res.record_id(found[0])))


def _edit(client, plan, tasks, wait_timeout, sleep, clock):
    res = plan.resource
    item = _item(plan)
    what = _what(plan)
    answer = Answer()
    for write in [w for w in plan.child_writes if w.first]:
        answer = _sent(client, plan, tasks, write.method, write.path, write.body, write.params,
                       '%s (%s)' % (what, write.label), wait_timeout, sleep, clock)
        if write.check is not None:
            write.check(client)
    if plan.send:
        answer = _sent(client, plan, tasks, 'PUT', item, res.edit_body(plan), res.edit_params, what, wait_timeout,
                       sleep, clock)
    for write in [w for w in plan.child_writes if not w.first]:
        done = _sent(client, plan, tasks, write.method, write.path, write.body, write.params,
                     '%s (%s)' % (what, write.label), wait_timeout, sleep, clock)
        answer = Answer(task=done.task if done.settled and (answer.settled or not plan.send) else None)
    return _verify(client, plan, answer, item, what, wait_timeout, sleep, clock)


def _verify(client, plan, answer, item, what, wait_timeout, sleep, clock, names=None):
    """Read the record after its writes (``item``; None: find the new one) until it shows them."""
    res = plan.resource

    if item is not None and plan.read_later is not None and answer.settled and answer.entity is None:
        plan.read_later.append(plan)  # its task finished: the caller reads it back with others
        return None

    def find():
        if item is not None:
            if answer.entity is not None and not find.called:
                find.called = True
                bad = plan.mismatches(answer.entity, names)
                if not bad:
                    return answer.entity, bad
                # EM answered with the record, not showing the change: read it once more (never sent again)
            find.called = True
            entity = client.get(item, params=res.get_params)
            return entity, plan.mismatches(entity, names)
        new = _related(client, plan, answer)
        if not new:
            new = [r for r in res.find(client, plan.params, plan.parent_id)
                   if res.record_id(r) not in plan.before_ids]
            new = [r for r in new if not plan.mismatches(r, names)] or new
        if len(new) > 1:
            new = _newest(new)
        if len(new) > 1:
            raise VerifyFailed('%s: EM shows several new records that match: %s' % (what, res.describe(new)))
        return (new[0], plan.mismatches(new[0], names)) if new else (None, [])
    find.called = False
    entity, bad = _reread(find, wait_timeout, sleep, clock, once=answer.settled)
    if entity is None:
        how = 'EM accepted it' if answer.known else 'EM lost its task (it is not sent again)' if answer.lost else \
            'the request was sent but its answer was lost (it is not sent again)'
        raise VerifyFailed('%s: %s, but no new %s shows%s after %s s'
                           % (what, how, res.noun, plan._where(), wait_timeout))
    if bad:
        raise not_kept(plan, bad, what, None if answer.settled else wait_timeout)
    return entity


def not_kept(plan, bad, what, watched=None):
    """The error of a write whose record, read after it, does not hold what was sent (``watched``: for so many
    seconds, the write's end being unknown)."""
    how = ' (its end could not be followed; the %s was read again for %s s)' % (plan.resource.noun, watched) \
        if watched is not None else ''
    return VerifyFailed('%s: EM did not keep %s%s' % (what, plan.not_kept(bad), how))


def _related(client, plan, answer):
    """The new record EM answered the create with, or the one its task links to when the link's Type says it is one
    (``created_type``); else []."""
    res = plan.resource
    if answer.entity is not None and res.record_id(answer.entity) not in plan.before_ids:
        return [answer.entity]
    if res.created_type is None or answer.task is None:
        return []
    for link in answer.task.get('related') or []:
        if link.get('type') == res.created_type and link.get('href'):
            href = link['href']
            entity = client.get(href) if '?' in href else client.get(href, params=res.get_params)
            if _xml.localname(entity.tag) == res.entity_root and res.record_id(entity) not in plan.before_ids:
                return [entity]
    return []


def _newest(records):
    """Of several new records, the one modified last (a tie is left to the caller)."""
    dated = [(_xml.findtext(r, 'LastModificationDate') or '', r) for r in records]
    top = max(d for d, _r in dated)
    return [r for d, r in dated if d == top] if top else records


def _delete(client, plan, tasks, wait_timeout, sleep, clock):
    res = plan.resource
    item = _item(plan)
    what = _what(plan)
    record_id = res.record_id(plan.entity)
    params = res.delete_params(plan.params) if res.delete_params is not None else None
    answer = Answer()
    try:
        answer = _sent(client, plan, tasks, 'DELETE', item, None, params, what, wait_timeout, sleep, clock)
    except ApiError as exc:
        if exc.status == 403:
            raise
        if res.exists(client, plan, record_id):
            err = VeeamEmError('EM refused %s%s (HTTP %s: %s); it is kept%s' % (
                what, plan._where(), exc.status, exc.message or 'no message',
                '. EM refuses to delete a %s while a job or another component uses it' % res.noun if res.in_use else ''))
            err.written = False
            raise err

    def gone():
        return True, ['present'] if res.exists(client, plan, record_id) else []
    _done, left = _reread(gone, wait_timeout, sleep, clock, once=answer.settled)
    if left:
        raise VerifyFailed('%s: EM accepted it, but the %s still exists%s' % (
            what, res.noun, '' if answer.settled else ' after %s s' % wait_timeout))
    return None


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


def info_all(client, resource, params):
    """Every record of a resource without an owner, read in one request, with its ``info_children``.

    Filters: the first key (exact or pattern), the further keys (exact, case-insensitive) and ``info_options``.
    An option named as the children's ``info_key`` (C(subtenants)) set to false leaves them out.
    """
    if resource.probe is not None:
        resource.probe(client)
    keys = resource.identity.keys
    context = resource.context(client, None, params, None) if resource.context is not None else None
    child = resource.info_children
    if child is not None and params.get(child.info_key) is False:
        child = None
    out = []
    for entity in resource.list(client):
        view = resource.view(entity, None, None, context)
        if not matches(view.get(keys[0]), params.get(keys[0])):
            continue
        if any(params.get(k) is not None and (view.get(k) or '').lower() != params[k].lower() for k in keys[1:]):
            continue
        if any(match is not None and params.get(o) is not None and not match(view, params[o])
               for o, _spec, _doc, match in resource.info_options):
            continue
        out.append((entity, view))
    kids = child.list_many(client, [resource.record_id(e) for e, _v in out]) if child is not None and out else {}
    for entity, view in out if child is not None else ():
        ctx = child.context(client, None, params, entity) if child.context is not None else None
        found = [child.view(c, None, view.get(keys[0]), ctx) for c in kids.get(resource.record_id(entity)) or ()]
        view[child.info_key] = sorted(found, key=lambda v: ((v.get(child.identity.keys[0]) or '').lower(), v['id']))
    out = [view for _e, view in out]
    return sorted(out, key=lambda v: tuple((v.get(k) or '').lower() for k in reversed(keys)) + (v['id'] or '',))


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
                                         with_diff=module._diff, wait_timeout=module.params['wait_timeout'],
                                         wait=module.params['wait']))


def run_info_module(resource, servers=None):
    """The whole of a resource's _info module; ``servers(client, name)`` gives the parents to read (none: the
    resource has no owner, and one request reads every record)."""
    spec = dict((name, spec) for name, spec, _doc in resource.info_option_docs())
    module = VeeamEmModule(spec, supports_check_mode=True)

    def read(client):
        if resource.parent is None:
            return {'changed': False, resource.info_key: info_all(client, resource, module.params)}
        found = info(client, resource, module.params, servers(client, module.params.get(resource.parent.option)))
        return {'changed': False, resource.info_key: found}
    module.run_safely(read)
