# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""The machinery that turns the ordered job model (``_job_models``) into everything else.

Terms:

* a *leaf* is one typed value in the Job entity (an element's text, an attribute,
  a repeated element as a list, or one day of an hour mask);
* a *block* is the smallest element that the collection always sends whole in a
  PUT (``OptionsDaily``, ``RetryOptions``, ``SimpleRetentionPolicy``...), found at
  one of its possible paths below the ``Job`` root;
* *settings* are what users write and what modules return: nested dicts keyed by
  option names.

Every value is normalised when it is decoded, so the diff only compares plain
Python values.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import re

from ansible_collections.veeam_em.core.plugins.module_utils import _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError


WEEKDAYS = ('sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday')
MONTHS = ('january', 'february', 'march', 'april', 'may', 'june', 'july', 'august',
          'september', 'october', 'november', 'december')

_TIME_RE = re.compile(r'^([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?$')
_RANGE_RE = re.compile(r'^([0-9]{1,2})-([0-9]{1,2})$')


# ---------------------------------------------------------------------------
# Declarations

# Elements the v13 pages type Int64 (put_jobs_id_actionedit.md, jobscheduleoptions.md,
# simple_and_gfs_retention_policies.md); every other integer is an Int (Int32).
INT64_ELEMENTS = frozenset(('RetryTimes', 'RetryTimeout', 'BackupCompetitionWaitingPeriodMin', 'FullPeriod',
                            'RetainCycles', 'RetainDaysToKeep', 'RetentionPeriod'))


class Leaf:
    """One typed value inside a block.

    ``option`` is the settings path (a tuple of option names), or None for a
    value the module derives itself (an ``Enabled`` flag, ``ScheduleConfigured``).
    ``xml`` is the path below the block element: a tuple of element names, where
    an item ``('Day', 'Monday')`` selects the child whose ``Name`` attribute has
    that value and a final ``'@Enabled'`` names an attribute. An empty tuple means
    the block element's own text.
    """

    def __init__(self, option, xml, kind, choices=None, minimum=None, maximum=None, doc=None,
                 elements=None):
        self.option = tuple(option) if option else None
        self.xml = tuple(xml)
        self.kind = kind
        self.choices = choices
        self.minimum = minimum
        self.maximum = maximum
        self.doc = doc
        self.elements = elements
        self._by_xml = None

    def choice_for(self, low):
        """The option value whose EM spelling is ``low`` (lowercased), or None; the map is built once per leaf."""
        if self._by_xml is None:
            self._by_xml = dict((xml.lower(), opt) for opt, xml in reversed(list(self.choices.items())))
        return self._by_xml.get(low)

    @property
    def name(self):
        return self.option[-1] if self.option else None

    @property
    def int_bits(self):
        """64 for an element EM types Int64, else 32 (only meaningful for kind 'int')."""
        last = self.xml[-1] if self.xml else None
        return 64 if isinstance(last, str) and last in INT64_ELEMENTS else 32

    def __repr__(self):
        return 'Leaf(%r)' % (self.option or self.xml,)


class Block:
    """A group of leaves that is always sent whole.

    ``paths`` lists where the block may sit below ``Job``; the first one whose
    parent exists in the entity is used (a Backup job has ``BackupJobInfo``, a
    Replica job ``ReplicaJobInfo``). ``enabled_attr`` says the element carries an
    ``Enabled`` attribute that must be sent every time.
    """

    def __init__(self, key, paths, leaves, enabled_attr=False, doc=None):
        self.key = key
        self.paths = tuple(tuple(p) for p in paths)
        self.leaves = tuple(leaves)
        self.enabled_attr = enabled_attr
        self.doc = doc

    def __repr__(self):
        return 'Block(%r)' % (self.key,)


class Group:
    """Documentation and argument-spec node for a dict option (``schedule``, ``gfs``...)."""

    def __init__(self, option, doc, mutually_exclusive=None):
        self.option = tuple(option)
        self.doc = doc
        self.mutually_exclusive = mutually_exclusive


# ---------------------------------------------------------------------------
# Scalar codecs: XML text <-> normalised Python values


def _enum_decode(leaf, text):
    if text is None or text == '':
        return None
    found = leaf.choice_for(text.strip().lower())
    if found is not None:
        return found
    # A value the model does not know: keep it readable rather than lose it.
    return text.strip()


def hours_to_text(mask):
    """``[0,0,1,1,...]`` (24 items) -> ``'2-4,20-24'``; all hours ``'0-24'``, none ``''``."""
    parts = []
    start = -1
    for hour in range(25):
        on = hour < 24 and mask[hour]
        if on and start < 0:
            start = hour
        elif not on and start >= 0:
            parts.append('%d-%d' % (start, hour))
            start = -1
    return ','.join(parts)


def text_to_hours(text):
    """Parse the readable hour form; raise ValueError with a short reason."""
    mask = [0] * 24
    text = (text or '').replace(' ', '')
    if text.lower() in ('', 'none'):
        return mask
    if text.lower() == 'all':
        return [1] * 24
    for part in text.split(','):
        m = _RANGE_RE.match(part)
        if not m:
            raise ValueError('%r is not an hour range such as "8-17"' % part)
        start, end = int(m.group(1)), int(m.group(2))
        if not 0 <= start < end <= 24:
            raise ValueError('%r: hours go from 0 to 24 and the start must be before the end' % part)
        for hour in range(start, end):
            mask[hour] = 1
    return mask


_MASKS = {}


def _mask_decode(text):
    if text is None:
        return None
    found = _MASKS.get(text)
    if found is None:
        found = _mask_decode_uncached(text)
        if len(_MASKS) < 4096:  # jobs share a few dozen masks; a bound keeps odd input from growing it
            _MASKS[text] = found
    return found


def _mask_decode_uncached(text):
    items = [i.strip() for i in text.split(',')]
    if len(items) != 24 or any(i not in ('0', '1') for i in items):
        return text.strip()
    return hours_to_text([int(i) for i in items])


def normalize_time(text):
    m = _TIME_RE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError('%r is not a time of day in HH:MM form' % (text,))
    hh, mm, ss = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if ss:
        return '%02d:%02d:%02d' % (hh, mm, ss)
    return '%02d:%02d' % (hh, mm)


def decode_value(leaf, texts):
    """Decode the XML text(s) found for ``leaf``; ``texts`` is a list for list kinds."""
    kind = leaf.kind
    if kind in ('enum_list', 'str_list'):
        if texts is None:
            return None
        values = [t.strip() for t in texts if t is not None and t.strip() != '']
        if kind == 'str_list':
            return values
        decoded = [_enum_decode(leaf, t) for t in values]
        order = list(leaf.choices)
        return sorted(set(decoded), key=lambda v: order.index(v) if v in order else len(order))
    text = texts
    if text is None:
        return None
    if kind == 'str':
        return text
    if kind == 'uid':
        return text.strip() or None
    if kind == 'bool':
        try:
            return _xml.parse_bool(text)
        except ValueError:
            return text
    if kind == 'int':
        try:
            return int(text.strip())
        except ValueError:
            return text
    if kind == 'enum':
        return _enum_decode(leaf, text)
    if kind == 'time':
        try:
            return normalize_time(_xml.parse_time(text)[0])
        except ValueError:
            return text
    if kind == 'hours':
        return _mask_decode(text)
    raise AssertionError('unknown leaf kind %s' % kind)


def encode_value(leaf, value, current_text=None):
    """Return the XML text for ``value`` (a list of texts for list kinds)."""
    kind = leaf.kind
    if kind == 'enum_list':
        return [leaf.choices[v] for v in value]
    if kind == 'str_list':
        return list(value)
    if kind == 'bool':
        return _xml.format_bool(value)
    if kind == 'int':
        return str(int(value))
    if kind == 'enum':
        return leaf.choices[value]
    if kind == 'time':
        offset = ''
        if current_text:
            try:
                offset = _xml.parse_time(current_text)[1]
            except ValueError:
                offset = ''
        return _xml.format_time(value, offset)
    if kind == 'hours':
        return ','.join(str(h) for h in text_to_hours(value))
    if kind in ('str', 'uid'):
        return '' if value is None else value
    raise AssertionError('unknown leaf kind %s' % kind)


def normalize_input(leaf, value, option_name):
    """Validate and normalise one user value; raise ValidationError naming the option."""
    if value is None:
        return None
    kind = leaf.kind
    try:
        if kind == 'time':
            return normalize_time(value)
        if kind == 'hours':
            return hours_to_text(text_to_hours(value))
        if kind == 'enum_list':
            order = list(leaf.choices)
            return sorted(set(value), key=order.index)
        if kind == 'int':
            if leaf.minimum is not None and value < leaf.minimum:
                raise ValueError('%s is below the minimum of %s' % (value, leaf.minimum))
            if leaf.maximum is not None and value > leaf.maximum:
                raise ValueError('%s is above the maximum of %s' % (value, leaf.maximum))
            limit = 2 ** (leaf.int_bits - 1)
            if not -limit <= value < limit:
                raise ValueError('%s does not fit in the Int%d EM stores it in' % (value, leaf.int_bits))
            return value
        if kind == 'str':
            return value
    except ValueError as exc:
        raise ValidationError('%s: %s' % (option_name, exc), option=option_name)
    return value


def _option_value(params, option):
    value = params
    for name in option:
        value = value.get(name) if isinstance(value, dict) else None
    return value


# ---------------------------------------------------------------------------
# XML navigation on tuple paths


def _matching(el, step):
    """Children of ``el`` that match ``step``: a name, or ``(name, Name attribute)``.

    lxml's iterchildren filters by tag in C; find() would parse a path on every call, and reading one
    job looks up some 170 elements.
    """
    if isinstance(step, tuple):
        name = step[1]
        return (c for c in el.iterchildren(_xml.qname(step[0])) if c.get('Name') == name)
    return el.iterchildren(_xml.qname(step))


def child(el, step):
    """The first child element matching ``step``, or None."""
    return next(_matching(el, step), None)


def children(el, step):
    return list(_matching(el, step))


def resolve(root, path):
    el = root
    for step in path:
        if el is None:
            return None
        el = child(el, step)
    return el


def local(el):
    return el.tag.rsplit('}', 1)[-1]


def insert_ordered(parent, new, order):
    """Insert ``new`` under ``parent`` where the schema sequence ``order`` puts it.

    Children the schema does not list keep their place; ``new`` goes after the
    last child whose name comes earlier in ``order``.
    """
    name = local(new)
    rank = order.index(name) if name in order else len(order)
    pos = 0
    for i, c in enumerate(parent):
        if not isinstance(c.tag, str):
            continue
        cname = local(c)
        crank = order.index(cname) if cname in order else -1
        if crank <= rank:
            pos = i + 1
    parent.insert(pos, new)
    return new


def ensure_child(parent, step, order):
    found = child(parent, step)
    if found is not None:
        return found
    if isinstance(step, tuple):
        new = _xml.element(step[0], attrib={'Name': step[1]})
    else:
        new = _xml.element(step)
    return insert_ordered(parent, new, order.get(local(parent), ()))


# ---------------------------------------------------------------------------
# Model: read, plan and encode


class JobModel:
    """The job settings model built from ordered block declarations."""

    def __init__(self, blocks, groups, schema_order, rules):
        self.blocks = tuple(blocks)
        self.groups = tuple(groups)
        self.order = schema_order
        self.rules = tuple(rules)
        self.by_key = dict((b.key, b) for b in self.blocks)
        self._layout = None
        self._layouts = {}
        # The elements that place the blocks (the first two steps of each path), for layout()'s cache; None when
        # a step picks an element by its Name attribute, which this cache does not tell apart.
        anchors = set(path[:min(2, len(path) - 1)] for b in self.blocks for path in b.paths)
        self._anchor_heads = (None if any(isinstance(step, tuple) for a in anchors for step in a)
                              else frozenset(_xml.qname(a[0]) for a in anchors if a))
        self.leaves = []
        for b in self.blocks:
            for leaf in b.leaves:
                self.leaves.append((b, leaf))
        self.rank = dict(((b.key, leaf.xml), i) for i, (b, leaf) in enumerate(self.leaves))  # keys in leaf order
        # {option path: [(index in leaves, block, leaf)]} and the paths above them, for check_input()
        self._by_option, self._option_dirs = {}, set()
        for i, (b, leaf) in enumerate(self.leaves):
            if leaf.option:
                self._by_option.setdefault(tuple(leaf.option), []).append((i, b, leaf))
                for depth in range(1, len(leaf.option)):
                    self._option_dirs.add(tuple(leaf.option[:depth]))

    # -- argument spec -------------------------------------------------------

    def argument_spec(self):
        """Ansible argument spec of the settings options (every default None)."""
        spec = {}
        group_by_path = dict((g.option, g) for g in self.groups)
        for _block, leaf in self.leaves:
            if not leaf.option:
                continue
            node = spec
            for depth in range(len(leaf.option) - 1):
                prefix = leaf.option[:depth + 1]
                entry = node.setdefault(prefix[-1], {'type': 'dict', 'options': {}})
                grp = group_by_path.get(prefix)
                if grp is not None and grp.mutually_exclusive:
                    entry['mutually_exclusive'] = [list(grp.mutually_exclusive)]
                node = entry['options']
            if leaf.option[-1] in node:
                continue
            node[leaf.option[-1]] = leaf_spec(leaf)
        return spec

    # -- reading -------------------------------------------------------------

    def layout(self, entity):
        """``{block key: its path in entity, or None}``.

        A block is placed by the elements of its path's first two steps, so the answer depends only on which
        of those elements the entity has: it is computed once per such shape (thousands of jobs of a bulk read
        share a handful), and kept for the last entity asked about.
        """
        cached = self._layout
        if cached is not None and cached[0] is entity:
            return cached[1]
        heads = self._anchor_heads
        shape = None if heads is None else tuple((c.tag, tuple(g.tag for g in c)) for c in entity if c.tag in heads)
        paths = self._layouts.get(shape) if shape is not None else None
        if paths is None:
            paths = {}
            for block in self.blocks:
                paths[block.key] = None
                for path in block.paths:
                    anchor = path[:min(2, len(path) - 1)]
                    if resolve(entity, anchor) is not None:
                        paths[block.key] = path
                        break
            if len(self._layouts) >= 256:
                self._layouts.clear()
            if shape is not None:
                self._layouts[shape] = paths
        self._layout = (entity, paths)
        return paths

    def block_path(self, block, entity):
        """The path of ``block`` in ``entity``, or None when the job has no place for it."""
        return self.layout(entity)[block.key]

    def available(self, entity):
        paths = self.layout(entity)
        return [b for b in self.blocks if paths[b.key] is not None]

    def read(self, entity, blocks=None):
        """All leaves of the blocks this job has: ``{(block key, leaf xml): value}``; only those of the block keys
        in ``blocks`` when given."""
        values = {}
        for block in self.available(entity):
            if blocks is not None and block.key not in blocks:
                continue
            el = resolve(entity, self.block_path(block, entity))
            found = subtree(el) if el is not None else None
            for leaf in block.leaves:
                values[(block.key, leaf.xml)] = read_leaf(el, leaf, found)
        return values

    def settings(self, values, entity, resolver=None):
        """The user-facing settings view of ``values``; the rules hide what is inactive."""
        out = {}
        for block in self.available(entity):
            for leaf in block.leaves:
                if not leaf.option:
                    continue
                value = values.get((block.key, leaf.xml))
                node = out
                for name in leaf.option[:-1]:
                    node = node.setdefault(name, {})
                node[leaf.option[-1]] = value
        for rule in self.rules:
            rule.view(self, values, out, resolver)
        return out

    # -- desired state -------------------------------------------------------

    def check_input(self, params):
        """Validate user settings offline; return the normalised ``{(block, xml): value}``."""
        found = []  # the options given: walk the values set (an entry of a bulk run sets a few of some 70)
        todo = [((), params)]
        while todo:
            prefix, node = todo.pop()
            for name, value in node.items():
                if value is None:
                    continue
                path = prefix + (name,)
                found.extend(self._by_option.get(path, ()))
                if isinstance(value, dict) and path in self._option_dirs:
                    todo.append((path, value))
        wanted = {}
        for _i, block, leaf in sorted(found, key=lambda item: item[0]):  # in declaration order, as before
            wanted[(block.key, leaf.xml)] = normalize_input(leaf, _option_value(params, leaf.option),
                                                            '.'.join(leaf.option))
        for rule in self.rules:
            rule.check(self, params, wanted)
        return wanted

    def desired(self, wanted, current, entity, resolver=None):
        """Current leaves with the wanted ones laid over, then the derived leaves applied.

        Returns ``(target, managed)``: the full target map and the set of keys the
        module manages in this run (the ones whose difference means a change).
        """
        available = set(b.key for b in self.available(entity))
        for (bkey, _xml_path) in wanted:
            if bkey not in available:
                block = self.by_key[bkey]
                names = sorted(set('.'.join(leaf.option) for (b, leaf) in self.leaves
                                   if b is block and leaf.option and (b.key, leaf.xml) in wanted))
                if not names:  # only a switch without an option of its own (choosing a schedule kind)
                    names = sorted(set('.'.join(leaf.option[:-1]) for (b, leaf) in self.leaves
                                       if b is block and leaf.option and len(leaf.option) > 1))[:1]
                raise ValidationError(
                    '%s: this job has no such setting (its %s entity has no %s element)'
                    % (', '.join(names), entity_job_type(entity),
                       ' or '.join('/'.join(p) for p in block.paths)), option=names[0])
        target = dict(current)
        target.update(wanted)
        managed = set(wanted)
        for rule in self.rules:
            rule.derive(self, wanted, target, managed, available, resolver)
        return target, managed

    # -- encoding ------------------------------------------------------------

    def encode(self, entity, target, blocks):
        """Build the PUT body: root attributes from the GET, bare wrappers, whole blocks."""
        attrib = dict((k, entity.get(k)) for k in ('Href', 'Type', 'Name', 'UID') if entity.get(k) is not None)
        body = _xml.element('Job', attrib=attrib)
        for block in sorted(blocks, key=self.blocks.index):
            self.place_block(body, block, self.block_path(block, entity), entity, target)
        return body

    def place_block(self, dest, block, path, source, target):
        """Put the whole of ``block`` at ``path`` under ``dest``: its element in ``source`` (if any) with the
        leaves of ``target`` written over it, wrappers created in schema order. An element already at that
        place in ``dest`` is replaced."""
        parent = dest
        for step in path[:-1]:
            parent = ensure_child(parent, step, self.order)
        current = resolve(source, path) if source is not None else None
        el = copy.deepcopy(current) if current is not None else _xml.element(path[-1])
        for leaf in block.leaves:
            key = (block.key, leaf.xml)
            if key in target and target[key] is not None:
                write_leaf(el, leaf, target[key], self.order)
        if block.enabled_attr and el.get('Enabled') is None:
            el.set('Enabled', 'false')
        el.tail = None
        there = child(parent, path[-1])
        if there is not None:
            parent.replace(there, el)
        else:
            insert_ordered(parent, el, self.order.get(local(parent), ()))
        return el


def entity_job_type(entity):
    jt = resolve(entity, ('JobType',))
    return jt.text if jt is not None and jt.text else 'job'


def leaf_spec(leaf):
    kind = leaf.kind
    spec = {'type': 'str'}
    if kind == 'bool':
        spec = {'type': 'bool'}
    elif kind == 'int':
        spec = {'type': 'int'}
    elif kind == 'enum':
        spec = {'type': 'str', 'choices': list(leaf.choices)}
    elif kind == 'enum_list':
        spec = {'type': 'list', 'elements': 'str', 'choices': list(leaf.choices)}
    elif kind == 'str_list':
        spec = {'type': 'list', 'elements': 'str'}
    return spec


def subtree(block_el):
    """``{path below block_el: [elements]}`` for :func:`read_leaf`, in one pass over the block.

    A path step goes into the first matching child only, as :func:`resolve` does; the last step lists
    every matching child of that one parent. Keys are the steps of leaf paths: a name, and for a child
    with a ``Name`` attribute also ``(name, Name)``.
    """
    prefix = '{%s}' % _xml.NS
    cut = len(prefix)
    found = {}
    stack = [((), block_el)]
    while stack:
        path, el = stack.pop()
        for c in el:
            tag = c.tag
            if not isinstance(tag, str) or not tag.startswith(prefix):
                continue
            name = tag[cut:]
            attr = c.get('Name')
            for step in ((name,), ((name, attr),)) if attr is not None else ((name,),):
                key = path + step
                got = found.get(key)
                if got is None:
                    found[key] = [c]
                    if len(c):
                        stack.append((key, c))
                else:
                    got.append(c)
    return found


def _first(found, path, block_el):
    if not path:
        return block_el
    got = found.get(path)
    return got[0] if got else None


def read_leaf(block_el, leaf, found=None):
    """Decode one leaf from its block element (None when absent); ``found`` is its :func:`subtree`, if made."""
    if block_el is None:
        return None
    path = leaf.xml
    if found is not None:
        if path and isinstance(path[-1], str) and path[-1].startswith('@'):
            el = _first(found, path[:-1], block_el)
            return None if el is None else decode_value(leaf, el.get(path[-1][1:]))
        if leaf.kind in ('enum_list', 'str_list'):
            if _first(found, path[:-1], block_el) is None:
                return None
            return decode_value(leaf, [c.text for c in found.get(path, ())])
        el = _first(found, path, block_el)
        if el is None:
            return None
        return decode_value(leaf, el.text if el.text is not None else '')
    if path and isinstance(path[-1], str) and path[-1].startswith('@'):
        el = resolve(block_el, path[:-1])
        if el is None:
            return None
        return decode_value(leaf, el.get(path[-1][1:]))
    if leaf.kind in ('enum_list', 'str_list'):
        parent = resolve(block_el, path[:-1])
        if parent is None:
            return None
        return decode_value(leaf, [c.text for c in children(parent, path[-1])])
    el = resolve(block_el, path)
    if el is None:
        return None
    return decode_value(leaf, el.text if el.text is not None else '')


def write_leaf(block_el, leaf, value, order):
    """Set one leaf inside a (copied) block element, creating elements in schema order."""
    path = leaf.xml
    if path and isinstance(path[-1], str) and path[-1].startswith('@'):
        parent = block_el
        for step in path[:-1]:
            parent = ensure_child(parent, step, order)
        parent.set(path[-1][1:], encode_value(leaf, value))
        return
    if leaf.kind in ('enum_list', 'str_list'):
        parent = block_el
        for step in path[:-1]:
            parent = ensure_child(parent, step, order)
        existing = children(parent, path[-1])
        texts = encode_value(leaf, value)
        if [c.text for c in existing] == texts:
            return
        anchor = None
        if existing:
            anchor = parent.index(existing[0])
            for c in existing:
                parent.remove(c)
        for i, text in enumerate(texts):
            new = _xml.element(path[-1], text=text)
            if anchor is None:
                insert_ordered(parent, new, order.get(local(parent), ()))
                anchor = parent.index(new) + 1
            else:
                parent.insert(anchor + i, new)
        return
    el = block_el
    for step in path:
        el = ensure_child(el, step, order)
    if decode_value(leaf, el.text if el.text is not None else '') == value:
        return  # keep the server's own spelling of an equal value
    el.text = encode_value(leaf, value, el.text)
