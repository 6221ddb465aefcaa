# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Property tests of the job model against the emulator's independent PUT implementation.

For generated desired settings on every seeded job entity:

* decode -> encode -> decode is the identity;
* the diff of a state with itself is empty;
* the PUT body passes the emulator's strict order check, and applying it under
  both merge readings (deep merge, replace-the-sent-block) yields exactly the
  desired values, while every element the change did not target stays
  byte-equal after canonicalisation.

Hypothesis prints the seed of a failing example (``--hypothesis-seed`` replays it).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import os
import sys

import pytest

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from ansible_collections.veeam_em.core.plugins.module_utils import _diff, _xml  # noqa: E402
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError  # noqa: E402
from ansible_collections.veeam_em.core.plugins.module_utils._job_models import JOB_MODEL  # noqa: E402
from ansible_collections.veeam_em.core.plugins.module_utils._model import MONTHS, WEEKDAYS, resolve  # noqa: E402

EMULATOR = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', 'emulator'))
if sys.version_info < (3, 7):
    pytest.skip('the emulator needs Python 3.7+', allow_module_level=True)
sys.path.insert(0, EMULATOR)
from veeam_em_emulator import merge as emu_merge  # noqa: E402
from veeam_em_emulator.seed import seed_jobs  # noqa: E402

ENTITIES = [el for _jid, _srv, el in seed_jobs(extra_jobs=4)]
NAMES = dict((el.get('UID'), el.get('Name')) for el in ENTITIES)


class Resolver:
    def job_uid(self, name):
        for uid, n in NAMES.items():
            if n == name:
                return uid
        raise ValidationError('no job %s' % name, option='schedule.after_job')

    def job_name(self, uid):
        return NAMES.get(uid, uid)


def _hours():
    return st.one_of(st.just(''), st.just('0-24'),
                     st.tuples(st.integers(0, 23), st.integers(1, 24)).filter(lambda p: p[0] < p[1])
                     .map(lambda p: '%d-%d' % p))


def _time():
    return st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: '%02d:%02d' % t)


def _window():
    return st.dictionaries(st.sampled_from(WEEKDAYS), _hours(), max_size=3)


def _opt(strategy):
    return st.one_of(st.none(), strategy)


def _dict(**fields):
    return st.fixed_dictionaries({}, optional=fields).filter(bool)


SCHEDULE_KIND = st.one_of(
    st.fixed_dictionaries({'daily': _dict(kind=st.sampled_from(['everyday', 'weekdays', 'selected_days']),
                                          days=st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7),
                                          time=_time())}),
    st.fixed_dictionaries({'monthly': _dict(time=_time(), day_number_in_month=st.sampled_from(
        ['first', 'second', 'third', 'fourth', 'last']), day_of_week=st.sampled_from(WEEKDAYS),
        months=st.lists(st.sampled_from(MONTHS), min_size=1, max_size=12))}),
    st.fixed_dictionaries({'periodically': _dict(kind=st.just('hours'), full_period=st.integers(1, 24),
                                                 window=_window())}),
    st.fixed_dictionaries({'continuous': st.fixed_dictionaries({}, optional={'window': _window()})}),
    st.fixed_dictionaries({'after_job': st.sampled_from(['SQL Backup', 'Exchange Backup'])}),
)

SETTINGS = _dict(
    description=st.text(alphabet='abcXYZ 0123-_.', max_size=20),
    schedule_enabled=st.booleans(),
    schedule=st.one_of(SCHEDULE_KIND, _dict(
        retry=_dict(enabled=st.booleans(), times=st.integers(1, 100), wait_minutes=st.integers(1, 1440)),
        backup_window=st.one_of(_window().filter(bool), st.fixed_dictionaries({'enabled': st.booleans()})))),
    retention=_dict(type=st.sampled_from(['restore_points', 'days']), restore_points=st.integers(1, 999),
                    days=st.integers(1, 999)),
    gfs=_dict(weekly=_dict(enabled=st.booleans(), keep=st.integers(1, 99), day=st.sampled_from(WEEKDAYS)),
              yearly=_dict(enabled=st.booleans(), keep=st.integers(1, 9), month=st.sampled_from(MONTHS))),
    guest_processing=_dict(
        app_aware=_dict(mode=st.sampled_from(['require_success', 'ignore_failures', 'disabled']), copy_only=st.booleans()),
        windows_indexing=_dict(mode=st.sampled_from(['every_folders', 'specified_folders', 'except_specified_folders']),
                               exclude=st.lists(st.sampled_from(['C:\\Temp', '%windir%', 'D:\\x']), max_size=3)),
        sql=_dict(transaction_logs=st.sampled_from(['only_on_success_job', 'backup', 'never']),
                  backup_logs_frequency_min=st.integers(1, 480))),
)

PROFILE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                   print_blob=True)


def _plan(entity, params):
    wanted = JOB_MODEL.check_input(params)
    current = JOB_MODEL.read(entity)
    target, managed = JOB_MODEL.desired(wanted, current, entity, Resolver())
    changes = _diff.changed_keys(current, target, managed)
    return current, target, changes


def _strip(el, keys):
    """A copy of a Job tree without the elements/attributes of ``keys`` (the changed leaves)."""
    el = copy.deepcopy(el)
    for bkey, xml in keys:
        block = JOB_MODEL.by_key[bkey]
        path = JOB_MODEL.block_path(block, el)
        if path is None:
            continue
        node = resolve(el, path)
        if node is None:
            continue
        if xml and isinstance(xml[-1], str) and xml[-1].startswith('@'):
            owner = resolve(node, xml[:-1])
            if owner is not None and xml[-1][1:] in owner.attrib:
                del owner.attrib[xml[-1][1:]]
            continue
        if not xml:
            node.text = None
            continue
        parent = resolve(node, xml[:-1])
        if parent is None:
            continue
        for c in list(parent):
            if isinstance(c.tag, str) and c.tag == _xml.qname(xml[-1] if isinstance(xml[-1], str) else xml[-1][0]) \
                    and (not isinstance(xml[-1], tuple) or c.get('Name') == xml[-1][1]):
                parent.remove(c)
    for nr in [c for c in el if c.tag == _xml.qname('NextRun')]:
        el.remove(nr)
    return el


@pytest.mark.parametrize('entity', ENTITIES, ids=[e.get('Name') for e in ENTITIES])
def test_decode_encode_decode_is_identity(entity):
    values = JOB_MODEL.read(entity)
    body = JOB_MODEL.encode(entity, values, JOB_MODEL.available(entity))
    assert JOB_MODEL.read(body) == dict((k, v) for k, v in values.items())


@pytest.mark.parametrize('entity', ENTITIES, ids=[e.get('Name') for e in ENTITIES])
def test_state_against_itself_has_no_diff(entity):
    settings_now = JOB_MODEL.settings(JOB_MODEL.read(entity), entity, Resolver())
    _c, _t, changes = _plan(entity, copy.deepcopy(settings_now))
    assert changes == []


@PROFILE
@given(index=st.integers(0, len(ENTITIES) - 1), params=SETTINGS)
def test_put_applied_under_both_readings_gives_exactly_the_desired_job(index, params):
    entity = ENTITIES[index]
    try:
        current, target, changes = _plan(entity, params)
    except ValidationError:
        return  # an option this job type lacks, refused before any write: nothing to apply
    if not changes:
        return
    blocks = []
    for key in changes:
        if JOB_MODEL.by_key[key[0]] not in blocks:
            blocks.append(JOB_MODEL.by_key[key[0]])
    body = JOB_MODEL.encode(entity, target, blocks)
    patch, dropped = emu_merge.analyse_put(_xml.parse(_xml.to_bytes(body)), order_violation='reject')
    assert dropped == [] or all(d.get('reason', '').startswith('read-only') for d in dropped)
    for mode in ('deep', 'replace'):
        merged = emu_merge.merge(entity, patch, merge_mode=mode, absent_bool='false')
        after = JOB_MODEL.read(merged)
        for key in set(target):
            if key in current or target[key] is not None:
                assert _diff.equal(after.get(key), target[key]), (mode, key, after.get(key), target[key])
        assert _xml.canonical(_strip(merged, changes)) == _xml.canonical(_strip(entity, changes)), mode
