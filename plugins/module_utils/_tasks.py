# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file is internal to the veeam_em.core collection. It is not a public API
# and may change in any release without notice.

"""Write answers and EM tasks: the one place that reads what EM answered a PUT, POST or DELETE.

EM may answer a write at once (``200`` with the resource, ``200``/``204`` with
no body, ``201``) or with ``202`` and a Task (``put_method.md``,
``http_response_codes.md``). :func:`perform_write` sends a write and
:func:`settle_write` carries its answer to an end: a Task is waited on, the
rest is complete at once. Callers verify the result from the resource in the
body or by reading again.

A task belongs to the logon session that created it, so it is polled through
the same client. ``OperationFinished`` is not done: only ``Finished`` is.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import time

from ansible_collections.veeam_em.core.plugins.module_utils import _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import (
    ApiError,
    DecodeError,
    TaskFailed,
    TaskLost,
    TaskPollError,
    TaskTimeout,
    TransportError,
    VeeamEmError,
)

RUNNING = 'Running'
OPERATION_FINISHED = 'OperationFinished'
FINISHED = 'Finished'

TASK = 'task'
RESOURCE = 'resource'
DONE = 'done'
ACCEPTED = 'accepted'


class WriteOutcome:
    """How one write ended, from its answer.

    ``kind`` is one of:

    - ``task``: EM answered with a Task; ``task`` is its last dict (waited on to
      ``Finished`` unless the caller asked not to wait).
    - ``resource``: done at once; ``resource`` is the written or created object
      EM sent back (its root is one of the names the caller expects).
    - ``done``: done at once without the resource (no body, or a reference or
      an unknown document, kept in ``element``): read the object again.
    - ``accepted``: ``202`` without a task: EM carries it out later, untracked;
      watch the object until it shows the change.
    """

    def __init__(self, kind, status=None, task=None, resource=None, element=None):
        self.kind = kind
        self.status = status
        self.task = task
        self.resource = resource
        self.element = element

    @property
    def pending(self):
        """True when the outcome is not known yet: the caller must watch the object."""
        return self.kind == ACCEPTED

    def wait(self, client, timeout=900, sleep=None, clock=None):
        """Wait for the task, if EM gave one, to be Finished (errors of wait_for_task propagate); return self."""
        if self.kind == TASK:
            self.task = wait_for_task(client, self.task, timeout=timeout, sleep=sleep, clock=clock)
        return self

    def public_task(self):
        """The task as returned to playbooks, or None when EM gave no task."""
        return public_task(self.task) if self.task is not None else None

    def __repr__(self):
        return 'WriteOutcome(%s, status=%s)' % (self.kind, self.status)


def _is_ours(el, local):
    return isinstance(el.tag, str) and el.tag == '{%s}%s' % (_xml.NS, local)


def classify_answer(status, element, resources=()):
    """A write's answer as a WriteOutcome, without waiting.

    The root element and its namespace decide, never an Href's shape nor the
    status alone: a ``Task`` is a task whatever the status; an ``Error`` is a
    failure even under a 2xx; a root named in ``resources`` (e.g. ``('Job',)``)
    is the resource; any other body, or none, means done at once, except a
    ``202`` without a task, which means accepted for later.
    """
    if element is not None:
        if _is_ours(element, 'Task'):
            return WriteOutcome(TASK, status, task=task_to_dict(element), element=element)
        if _is_ours(element, 'Error'):
            message = element.get('Message') or _xml.findtext(element, 'Message') or 'no message'
            raise ApiError('EM answered HTTP %s with an error: %s' % (status, message), status=status, message=message)
        if any(_is_ours(element, name) for name in resources):
            return WriteOutcome(RESOURCE, status, resource=element, element=element)
    if status == 202:
        return WriteOutcome(ACCEPTED, status, element=element)
    return WriteOutcome(DONE, status, element=element)


def settle_write(client, status, element, resources=(), wait=True, timeout=900, sleep=None, clock=None):
    """Carry the answer of one write to an end and return its WriteOutcome.

    A Task is waited on (unless ``wait`` is false) with :func:`wait_for_task`,
    whose errors (TaskFailed, TaskTimeout, TaskLost, TaskPollError) propagate;
    every other answer is final at once (see :func:`classify_answer`).
    """
    outcome = classify_answer(status, element, resources)
    return outcome.wait(client, timeout=timeout, sleep=sleep, clock=clock) if wait else outcome


def perform_write(client, method, path, body=None, params=None, resources=(), wait=True, timeout=900, sleep=None,
                  clock=None):
    """Send one write (never resent) and settle its answer: the path every write of the collection takes.

    Returns a WriteOutcome. AmbiguousWriteError (sent, no usable answer)
    propagates: the caller re-reads and decides.
    """
    status, element = client.write(method, path, body, params)
    return settle_write(client, status, element, resources=resources, wait=wait, timeout=timeout, sleep=sleep,
                        clock=clock)


def task_to_dict(el):
    """<Task> element -> {'id', 'state', 'operation', 'success', 'message', 'href', 'related'}."""
    result = _xml.find(el, 'Result')
    success = None
    message = None
    if result is not None:
        try:
            success = _xml.parse_bool(result.get('Success'))
        except DecodeError:
            success = None
        message = _xml.findtext(result, 'Message')
    href = el.get('Href')
    if not href:
        for link in _xml.findall(el, 'Links/Link'):
            if (link.get('Rel') or '').lower() == 'delete' and link.get('Href'):
                href = link.get('Href')
                break
    task_id = _xml.findtext(el, 'TaskId')
    if not href and task_id:
        href = 'tasks/%s' % task_id
    return {
        'id': task_id,
        'state': _xml.findtext(el, 'State'),
        'operation': _xml.findtext(el, 'Operation'),
        'success': success,
        'message': message,
        'href': href,
        'related': related_links(el),
    }


def related_links(el):
    """The task's Rel="Related" links (e.g. the new job of a CloneJob) as dicts {'href', 'type', 'name'}."""
    links = []
    for link in _xml.findall(el, 'Links/Link'):
        if (link.get('Rel') or '').lower() == 'related':
            links.append({'href': link.get('Href'), 'type': link.get('Type'), 'name': link.get('Name')})
    return links


def poll_schedule(timeout, sleep=None, clock=None, initial=1.0, factor=1.5, maximum=10.0):
    """Sleep, then yield, before each poll (1 s, x1.5, at most 10 s apart) while ``timeout`` allows another."""
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    deadline = clock() + timeout
    interval = initial
    while clock() + interval <= deadline:
        sleep(interval)
        yield
        interval = min(interval * factor, maximum)


def watch_until(shows, timeout, sleep=None, clock=None):
    """Call ``shows()`` on the poll schedule until it is true (True) or ``timeout`` passes (False).

    For a write whose outcome comes later or is unknown: watch the object, never send the write again.
    """
    return any(shows() for _tick in poll_schedule(timeout, sleep, clock))


def public_task(task):
    """The task dict without 'href' and empty 'related' (the shape returned to playbooks)."""
    return dict((k, v) for k, v in task.items() if k != 'href' and not (k == 'related' and not v))


def _label(task):
    return task.get('id') or task.get('href') or 'unknown'


def _failed_message(task):
    return 'EM task %s (%s) failed: %s' % (_label(task), task.get('operation') or 'unknown operation',
                                           task.get('message') or 'no message')


def _is_poll_error(exc):
    if isinstance(exc, TransportError):
        return True
    if isinstance(exc, ApiError) and exc.status is not None and (exc.status >= 500 or exc.status == 429):
        return True
    return False


def _delete_task(client, task):
    href = task.get('href')
    if not href:
        return
    try:
        client.delete(href)
    except Exception:  # pylint: disable=broad-except
        pass


def wait_for_task(client, task, timeout=900, sleep=None, clock=None, initial_interval=1.0, factor=1.5,
                  max_interval=10.0, max_poll_errors=3, settle_seconds=60):
    """Poll an EM task until it is Finished and return its dict.

    ``task`` is the <Task> element of a 202 answer or a dict from
    :func:`task_to_dict`. Polls at 1 s, x1.5, at most ``max_interval`` apart,
    never sleeping past ``timeout``. Raises TaskFailed (Success=false),
    TaskTimeout (deadline; names the id and last state), TaskLost (404, e.g.
    under a new session after a re-logon) or TaskPollError (more than
    ``max_poll_errors`` consecutive transport/5xx errors). After Finished the
    task is deleted (best effort).
    """
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    if isinstance(task, dict):
        current = dict(task)
    else:
        current = task_to_dict(task)
    if not current.get('href') and current.get('id'):
        current['href'] = 'tasks/%s' % current['id']
    if not current.get('href'):
        raise VeeamEmError('cannot wait for a task without id or Href')

    start = clock()
    deadline = start + float(timeout)
    interval = float(initial_interval)
    errors = 0
    settle_since = None
    first = True

    while True:
        if not first or current.get('state'):
            outcome = _evaluate(client, current, clock, settle_since, settle_seconds)
            if outcome == 'done':
                return current
            if outcome == 'settling':
                if settle_since is None:
                    settle_since = clock()
            else:
                settle_since = None
        first = False

        remaining = deadline - clock()
        if remaining <= 0:
            raise TaskTimeout('EM task %s did not finish within %s s (last state: %s)'
                              % (_label(current), _num(timeout), current.get('state') or 'unknown'), task=current)
        sleep(min(interval, remaining))
        interval = min(interval * factor, max_interval)
        try:
            el = client.get(current['href'])
        except ApiError as exc:
            if exc.status == 404:
                raise TaskLost('EM task %s is no longer known to EM (HTTP 404); verify the result by reading the object again'
                               % _label(current), task=current)
            if not _is_poll_error(exc):
                raise
            errors = _count_error(errors, max_poll_errors, exc, current)
            continue
        except TransportError as exc:
            errors = _count_error(errors, max_poll_errors, exc, current)
            continue
        errors = 0
        polled = task_to_dict(el)
        if not polled.get('href'):
            polled['href'] = current['href']
        if not polled.get('id'):
            polled['id'] = current.get('id')
        current = polled


def _count_error(errors, max_poll_errors, exc, task):
    errors += 1
    if errors > max_poll_errors:
        raise TaskPollError('polling EM task %s failed %d times in a row: %s' % (_label(task), errors, exc.msg), task=task)
    return errors


def _evaluate(client, task, clock, settle_since, settle_seconds):
    """'done', 'settling' or 'waiting' for the current task dict; raises TaskFailed."""
    state = task.get('state')
    success = task.get('success')
    if state == FINISHED:
        _delete_task(client, task)
        if success is False:
            raise TaskFailed(_failed_message(task), task=task)
        return 'done'
    if state == OPERATION_FINISHED:
        if success is False:
            raise TaskFailed(_failed_message(task), task=task)
        if settle_seconds <= 0 or (settle_since is not None and clock() - settle_since >= settle_seconds):
            return 'done'
        return 'settling'
    return 'waiting'


def _num(value):
    value = float(value)
    return '%d' % value if value == int(value) else '%g' % value
