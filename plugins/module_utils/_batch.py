# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""Reading many resources of one query type by UID, a query for every few of them instead of a GET each.

A bulk module writes many resources with a pool of workers. Before each write it reads the resource again
(EM has no ETag, so that read is what keeps a console edit made meanwhile), and after the writes it reads
them back to verify. :class:`ReadAhead` serves the reads before the writes: the first worker to need a
resource reads it together with the next ones in line, so a write is never more than a chunk of writes away
from its read. :func:`query_by_uid` makes the reads after them.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import threading

from ansible_collections.veeam_em.core.plugins.module_utils._client import quote_filter_value

# Resources per query: 25 UIDs joined by "," (or) keep the query string near 2 kB.
CHUNK = 25


def query_in(client, qtype, field, values):
    """Every ``qtype`` entity whose query field ``field`` is one of ``values``, one query per CHUNK of them
    (``field==value`` or-ed); errors of the query are raised."""
    found = []
    values = list(values)
    for start in range(0, len(values), CHUNK):
        flt = ','.join('%s==%s' % (field, quote_filter_value(v)) for v in values[start:start + CHUNK])
        found.extend(client.query(qtype, filter=flt, fmt='Entities'))
    return found


def query_by_uid(client, qtype, uids):
    """``{lowercase UID: entity}`` of the ``qtype`` resources with these UIDs, one query per CHUNK of them.

    A UID that no resource has is missing from the answer; errors of the query are raised.
    """
    return dict(((entity.get('UID') or '').lower(), entity) for entity in query_in(client, qtype, 'UID', uids))


class ReadAhead:
    """The resources of ``order`` (UIDs, in the order workers will ask for them) read just before they are used.

    ``get(uid)`` returns the resource (None when none has that UID any more). The first call for a UID not read
    yet reads it and the next CHUNK - 1 unread UIDs of ``order`` with one query; each copy is handed out once.
    Safe to call from several threads; a failed query raises to its caller and leaves the UIDs unread.
    """

    def __init__(self, client, qtype, order):
        self.client = client
        self.qtype = qtype
        self._order = [uid or '' for uid in order]  # sent as given; known by their lowercase form
        self._next = 0  # where the unread part of _order starts
        self._read = set()
        self._ready = {}
        self._lock = threading.Lock()

    def get(self, uid):
        key = (uid or '').lower()
        with self._lock:
            if key not in self._ready:
                batch = {key: uid}
                at = self._next
                while len(batch) < CHUNK and at < len(self._order):
                    low = self._order[at].lower()
                    if low not in self._read and low not in batch:
                        batch[low] = self._order[at]
                    at += 1
                found = query_by_uid(self.client, self.qtype, batch.values())
                self._read.update(batch)
                while self._next < len(self._order) and self._order[self._next].lower() in self._read:
                    self._next += 1
                for low in batch:
                    self._ready[low] = found.get(low)
            return self._ready.pop(key)
