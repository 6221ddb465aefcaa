# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""Pure comparison functions: no I/O, no knowledge of any field name.

Values reaching here were normalised by the codecs in ``_model`` (booleans,
enum case, times, sorted day and month lists), so equality is plain equality,
with two allowances: an empty string or list equals an absent value, and lists
compare as sets (no list in a job's settings carries meaning in its order).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


def canonical(value):
    """The form two values are compared in."""
    if value is None or value == '':
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(canonical(v) for v in value) or None
    if isinstance(value, dict):
        return tuple(sorted((k, canonical(v)) for k, v in value.items()))
    return value


def equal(a, b):
    return canonical(a) == canonical(b)


def changed_keys(current, target, managed, order=None):
    """Keys of ``managed`` whose target value differs from the current one, in ``order`` (a sequence of keys, or
    a ``{key: rank}`` dict made once for many calls)."""
    keys = [k for k in managed if not equal(current.get(k), target.get(k))]
    if order is not None and len(keys) > 1:
        rank = order if isinstance(order, dict) else dict((k, i) for i, k in enumerate(order))
        keys.sort(key=lambda k: rank.get(k, len(rank)))
    return keys


def prune(before, after):
    """Restrict two nested dicts to the keys whose values differ.

    Returns ``(before, after)``; a key present on one side only is kept on that side.
    """
    b_out, a_out = {}, {}
    for key in list(before) + [k for k in after if k not in before]:
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            sub_old, sub_new = prune(old, new)
            if sub_old or sub_new:
                b_out[key], a_out[key] = sub_old, sub_new
        elif not equal(old, new):
            if key in before:
                b_out[key] = old
            if key in after:
                a_out[key] = new
    return b_out, a_out
