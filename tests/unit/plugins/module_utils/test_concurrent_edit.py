# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A console edit while the module works (issue 12 #7): read again before the PUT, warn about the rest after it.

EM has no ETag or version. The module narrows the window instead: it reads the job again just before its PUT
and plans from that read when it differs; after the write it warns about whatever changed outside the blocks it
sent between its first read and the job it finds after the write.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import os

from ansible_collections.veeam_em.core.plugins.module_utils import _jobs, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._model import resolve

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'xml')
JOB_ID = '5658281f-625e-4627-89dd-d2a0c48be99e'
STD = ('JobScheduleOptions', 'Standart')


def load(name):
    with open(os.path.join(FIXTURES, name), 'rb') as f:
        return f.read()


def job():
    return _xml.parse(load('job_backup_full.xml'))


def edited(entity, changes):
    out = copy.deepcopy(entity)
    for path, text in changes.items():
        resolve(out, path).text = text
    return out


class FakeEm:
    """GET answers the job as EM holds it at that moment (``reads``, in order); the PUT merges its blocks."""

    def __init__(self, reads, console_after_put=None):
        self.reads = list(reads)
        self.console_after_put = console_after_put or {}
        self.stored = None
        self.calls = []
        self.warnings = []

    def get(self, path, params=None):
        self.calls.append(('GET', path))
        if self.stored is None:
            self.stored = self.reads.pop(0)
        return copy.deepcopy(self.stored)

    def put(self, path, body, params=None):
        self.calls.append(('PUT', path))
        self.last_body = body
        stored = copy.deepcopy(self.stored)
        for block in body.iter('{*}RetryOptions', '{*}Description', '{*}OptionsDaily'):
            old = resolve(stored, _path_of(block))
            old.getparent().replace(old, copy.deepcopy(block))
        self.stored = edited(stored, self.console_after_put)
        return _xml.parse(load('task_finished_ok.xml'))

    def write(self, method, path, body_el=None, params=None):
        """EmClient.write: (status, answer root); the PUT is answered with a finished task."""
        assert method == 'PUT', method
        return 202, self.put(path, body_el, params)

    def delete(self, path):
        self.calls.append(('DELETE', path))

    def warn(self, msg):
        self.warnings.append(msg)


def _path_of(el):
    path = []
    while el.getparent() is not None:
        path.insert(0, _xml.localname(el.tag))
        el = el.getparent()
    return tuple(path)


class Index:
    def resolver(self, entity):
        return None


def run(em, first, wanted):
    plan = _jobs.Plan(first, _jobs.JOB_MODEL.check_input(wanted), Index())
    return _jobs.apply(em, plan, sleep=lambda s: None)


def test_an_unchanged_job_is_read_once_more_and_nobody_is_warned():
    first = job()
    em = FakeEm([first])
    result = run(em, first, {'schedule': {'retry': {'wait_minutes': 20}}})
    assert result['changed'] is True and em.calls[0] == ('GET', 'jobs/%s' % JOB_ID) and em.calls[1][0] == 'PUT'
    assert em.warnings == []


def test_a_console_edit_before_the_put_is_kept_inside_the_block_sent():
    first = job()
    console = edited(first, {STD + ('RetryOptions', 'RetryTimes'): '7'})
    em = FakeEm([console])
    result = run(em, first, {'schedule': {'retry': {'wait_minutes': 20}}})
    sent = resolve(em.last_body, STD + ('RetryOptions',))
    assert [(c.tag.split('}')[1], c.text) for c in sent] == [
        ('RetryTimes', '7'), ('RetryTimeout', '20'), ('RetrySpecified', 'true')], 'planned from the second read'
    assert result['changed'] is True and result['job']['settings']['schedule']['retry']['times'] == 7
    assert em.warnings == [], 'a change inside the block sent is carried, not lost: nothing to warn about'


def test_a_console_edit_that_already_made_the_change_sends_nothing():
    first = job()
    em = FakeEm([edited(first, {STD + ('RetryOptions', 'RetryTimeout'): '20'})])
    result = run(em, first, {'schedule': {'retry': {'wait_minutes': 20}}})
    assert result['changed'] is False and [c[0] for c in em.calls] == ['GET']


def test_changes_outside_the_blocks_sent_are_named_in_a_warning():
    first = job()
    console = edited(first, {('Description',): 'edited in the console'})
    em = FakeEm([console], console_after_put={STD + ('OptionsDaily', 'TimeOffsetUtc'): '7200',
                                              ('NextRun',): '2030-01-01T00:00:00Z'})
    result = run(em, first, {'schedule': {'retry': {'wait_minutes': 20}}})
    assert result['changed'] is True and len(em.warnings) == 1
    warning = em.warnings[0]
    assert "job 'DB Backup' was changed by someone else" in warning
    assert 'description, JobScheduleOptions/Standart/OptionsDaily/TimeOffsetUtc.' in warning
    assert 'RetryOptions' not in warning and 'NextRun' not in warning


def test_changed_elsewhere_names_options_and_paths():
    first = job()
    after = edited(first, {STD + ('RetryOptions', 'RetryTimes'): '9', ('Description',): 'x',
                           STD + ('OptionsDaily', 'Time'): '23:00:00.0000000+01:00'})
    resolve(after, STD + ('OptionsPeriodically', 'Schedule')).getchildren()[1].text = ','.join(['0'] * 24)
    plan = _jobs.Plan(first, _jobs.JOB_MODEL.check_input({'schedule': {'retry': {'times': 9}}}), Index())
    assert _jobs.changed_elsewhere(plan, first, after) == [
        'description', 'schedule.daily.time', 'schedule.periodically.window.monday']
