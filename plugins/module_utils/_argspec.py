# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""A quick check of a long list of dicts against its argument spec (the ``config`` of a bulk module).

Ansible validates each of 10,000 entries against the whole entry spec (some 90 options), walking every
option of every entry; an entry of a bulk run sets a few. :func:`quick_list` walks only the keys an entry
sets and answers the validated list, filled the way ansible fills it (every option left out set to its
default or None, nested dicts likewise), for input that needs nothing else: every key known, every value
already of its option's type (no conversion), in its choices, no exclusive options together. For any other
input it answers None, and the module lets ansible validate the list as before, so that every error message,
conversion and warning is ansible's own.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

# The parts of an option spec the quick check knows; an option with anything else (aliases, no_log, fallback,
# deprecations, required_if, ...) leaves the whole list to ansible.
_KNOWN = frozenset(('type', 'elements', 'options', 'choices', 'default', 'required', 'mutually_exclusive',
                    'required_one_of'))
# For each type, what a value must already be so that ansible's type check returns it unchanged. An int option
# given true or false is left to ansible (bool is an int to isinstance).
_EXACT = {
    'str': lambda v: isinstance(v, str),
    'int': lambda v: type(v) is int,  # pylint: disable=unidiomatic-typecheck
    'bool': lambda v: type(v) is bool,  # pylint: disable=unidiomatic-typecheck
    'raw': lambda v: True,
}


class _Level:
    """One compiled dict level of a spec: its options and the checks that apply to the dict as a whole."""

    def __init__(self, options, spec):
        self.options = {}
        # ansible sets the options left out in two passes: those with a default, then the rest to None
        self.order = ([name for name, opt in options.items() if opt.get('default') is not None]
                      + [name for name, opt in options.items() if opt.get('default') is None])
        self.defaults = dict((name, opt.get('default')) for name, opt in options.items())
        self.required = [name for name, opt in options.items() if opt.get('required')]
        self.exclusive = [tuple(group) for group in spec.get('mutually_exclusive') or ()]
        self.one_of = [tuple(group) for group in spec.get('required_one_of') or ()]
        for name, opt in options.items():
            self.options[name] = _Option(opt)


class _Option:
    def __init__(self, opt):
        unknown = set(opt) - _KNOWN
        if unknown:
            raise _Unsupported(', '.join(sorted(unknown)))
        kind = opt.get('type', 'str')
        self.nested = None
        self.elements = None
        if kind == 'dict' and opt.get('options'):
            self.nested = _Level(opt['options'], opt)
        elif kind == 'list' and opt.get('elements') in _EXACT and not opt.get('options'):
            self.elements = _EXACT[opt['elements']]
        elif kind not in _EXACT or opt.get('options') or opt.get('elements'):
            raise _Unsupported('type %s' % kind)
        elif opt.get('mutually_exclusive') or opt.get('required_one_of'):
            raise _Unsupported('checks on a %s option' % kind)
        self.exact = _EXACT.get(kind)
        self.kind = kind
        self.choices = frozenset(opt['choices']) if opt.get('choices') is not None else None
        # a None value stays None only for an option with no default, no choices and not required
        self.none_ok = opt.get('default') is None and self.choices is None and not opt.get('required')


class _Unsupported(Exception):
    pass


def compile_list(spec):
    """The quick checker of a ``type=list, elements=dict`` option spec, or None when its spec uses anything the
    quick check does not know (then ansible validates the list)."""
    if spec.get('type') != 'list' or spec.get('elements') != 'dict' or not spec.get('options'):
        return None
    try:
        return _Level(spec['options'], spec)
    except _Unsupported:
        return None


def lean(spec):
    """The option spec ansible validates when the quick check has validated the entries: a list of dicts."""
    return dict((k, v) for k, v in spec.items() if k in ('type', 'elements', 'required', 'default'))


def quick_list(level, value):
    """The entries of ``value`` validated and filled as ansible would, or None when ansible must validate them."""
    if level is None or not isinstance(value, list):
        return None
    out = []
    for entry in value:
        filled = _dict(level, entry)
        if filled is None:
            return None
        out.append(filled)
    return out


def _dict(level, given):
    if not isinstance(given, dict):
        return None
    options = level.options
    for group in level.exclusive:
        if sum(1 for name in group if name in given) > 1:
            return None
    for group in level.one_of:
        if not any(name in given for name in group):
            return None
    for name in level.required:
        if given.get(name) is None:
            return None
    out = dict(given)
    for name, value in given.items():
        opt = options.get(name)
        if opt is None:
            return None
        if value is None:
            if not opt.none_ok:
                return None
            continue
        if opt.nested is not None:
            value = _dict(opt.nested, value)
            if value is None:
                return None
            out[name] = value
        elif opt.elements is not None:
            if not isinstance(value, list) or not all(opt.elements(item) for item in value):
                return None
            if opt.choices is not None and not all(item in opt.choices for item in value):
                return None
            out[name] = list(value)
        elif not opt.exact(value) or (opt.choices is not None and value not in opt.choices):
            return None
    if len(out) < len(level.order):
        for name in level.order:
            if name not in out:
                out[name] = level.defaults[name]
    return out
