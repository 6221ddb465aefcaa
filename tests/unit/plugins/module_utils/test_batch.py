# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reads of many resources by UID: a query per 25, each resource read just before it is used."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.veeam_em.core.plugins.module_utils import _batch, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ApiError


class Em:
    """A query service over resources named by UID; it answers the filter the reads send: UID=="..." or-ed."""

    def __init__(self, count, fail=0):
        self.uids = ['urn:veeam:Job:%08d-0000-0000-0000-000000000000' % n for n in range(count)]
        self.queries = []
        self.fail = fail
        self.lock = threading.Lock()

    def query(self, qtype, filter=None, fmt='Entities'):  # pylint: disable=redefined-builtin
        with self.lock:
            self.queries.append(filter)
            if self.fail:
                self.fail -= 1
                raise ApiError('GET query: HTTP 500', status=500)
        wanted = [part.split('==', 1)[1].strip('"') for part in filter.split(',')]
        return [_xml.element(qtype, attrib={'UID': uid.upper() if n % 2 else uid})
                for n, uid in enumerate(wanted) if uid in self.uids]


def test_query_by_uid_reads_25_per_query_and_leaves_out_the_missing():
    em = Em(60)
    found = _batch.query_by_uid(em, 'Job', em.uids + ['urn:veeam:Job:gone'])
    assert sorted(found) == sorted(u.lower() for u in em.uids) and len(em.queries) == 3
    assert [len(q.split(',')) for q in em.queries] == [25, 25, 11]


def test_query_in_ors_any_field_25_values_per_query():
    em = Em(30)
    found = _batch.query_in(em, 'Job', 'UID', em.uids)
    assert [e.get('UID').lower() for e in found] == [u.lower() for u in em.uids]
    assert [q.count('UID==') for q in em.queries] == [25, 5] and _batch.query_in(em, 'Job', 'UID', []) == []


def test_read_ahead_reads_each_one_once_in_chunks_in_the_order_asked():
    em = Em(60)
    ahead = _batch.ReadAhead(em, 'Job', em.uids)
    got = [ahead.get(uid.lower() if n == 30 else uid) for n, uid in enumerate(em.uids)]
    assert [e.get('UID').lower() for e in got] == [u.lower() for u in em.uids]
    assert [len(q.split(',')) for q in em.queries] == [25, 25, 10]


def test_read_ahead_out_of_order_and_from_threads():
    em = Em(60)
    ahead = _batch.ReadAhead(em, 'Job', em.uids)
    assert ahead.get(em.uids[40]).get('UID').lower() == em.uids[40].lower()  # 40, then 0..23 in line
    assert em.queries[0].split(',')[1].endswith('00000000-0000-0000-0000-000000000000"')
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(ahead.get, [u for n, u in enumerate(em.uids) if n != 40]))
    assert all(e is not None for e in got)
    assert sum(len(q.split(',')) for q in em.queries) == 60 and len(em.queries) == 3


def test_read_ahead_a_gone_resource_is_none_and_a_failed_query_is_retried_by_the_next_caller():
    em = Em(3, fail=1)
    ahead = _batch.ReadAhead(em, 'Job', em.uids + ['urn:veeam:Job:gone'])
    with pytest.raises(ApiError):
        ahead.get(em.uids[0])
    assert ahead.get(em.uids[1]) is not None and ahead.get(em.uids[0]) is not None
    assert ahead.get('urn:veeam:Job:gone') is None
    assert len(em.queries) == 2
