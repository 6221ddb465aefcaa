# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""Job runs: trigger an action, find the job session it started, and follow it to its end."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import time

from ansible_collections.veeam_em.core.plugins.module_utils import _tasks, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._client import quote_filter_value
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError, VeeamEmError

ACTIONS = {
    'Backup': ('start', 'stop', 'retry'),
    'Replica': ('start', 'stop', 'retry'),
    'BackupCopy': ('sync',),
    'ImmediateBackupCopy': ('sync',),
}


class SessionFailed(VeeamEmError):
    pass


class SessionTimeout(VeeamEmError):
    pass


def session_type(job):
    return 'ReplicaJobSession' if job['job_type'] == 'Replica' else 'BackupJobSession'


def session_dict(entity):
    if entity is None:
        return {}
    uid = entity.get('UID') or ''
    return {
        'id': uid.rsplit(':', 1)[-1].lower() if uid else None,
        'name': entity.get('Name'),
        'state': _xml.findtext(entity, 'State'),
        'result': _xml.findtext(entity, 'Result'),
        'start_time': _xml.findtext(entity, 'CreationTimeUTC'),
        'end_time': _xml.findtext(entity, 'EndTimeUTC') or '',
        'failure_message': _xml.findtext(entity, 'FailureMessage') or '',
    }


def latest_session(client, job):
    """The job's newest session (one page of the query service, newest first), or {}."""
    root = client.get('query', params=[('type', session_type(job)), ('format', 'Entities'),
                                       ('filter', 'JobUid==%s' % quote_filter_value(job['uid'])),
                                       ('sortDesc', 'CreationTime'), ('pageSize', 1), ('page', 1)])
    entities = _xml.findall(root, 'Entities/*/*')
    return session_dict(entities[0]) if entities else {}


def run_action(client, job, action, check_mode=False, wait=True, wait_timeout=3600, allow_warning=False,
               sleep=None, clock=None):
    """Do ``action`` on ``job`` (a job_summary dict) and return the module result."""
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    allowed = ACTIONS.get(job['job_type'], ())
    if action not in allowed:
        raise ValidationError('action: %s is not possible for %s job %r; accepted: %s'
                              % (action, job['job_type'], job['name'], ', '.join(allowed) or 'none'), option='action')
    last = latest_session(client, job)
    running = bool(last) and last.get('state') != 'Stopped'
    if action == 'retry' and not running and last.get('result') != 'Failed':
        raise ValidationError('action: retry re-runs a failed session, but the last session of job %r ended %s'
                              % (job['name'], last.get('result') or 'never ran'), option='action')
    nothing_to_do = running if action != 'stop' else not running
    result = {'changed': not nothing_to_do, 'session': last if action == 'stop' or running else {}}
    if nothing_to_do:
        if running and wait and action != 'stop':
            result['session'] = follow(client, job, last, clock, sleep, wait_timeout)
            check_result(result['session'], job, allow_warning)
        return result
    if check_mode:
        return result
    # A 202 task is followed to Finished; an answer done at once (200/204) has no task to report.
    answer = _tasks.perform_write(client, 'POST', 'jobs/%s' % job['id'], params={'action': action},
                                  timeout=min(wait_timeout, 900), sleep=sleep, clock=clock)
    if answer.task is not None:
        result['task'] = answer.public_task()
    if action == 'stop':
        result['session'] = follow(client, job, last, clock, sleep, wait_timeout) if wait else last
        return result
    if not wait:
        return result
    started = None
    for _tick in _tasks.poll_schedule(wait_timeout, sleep, clock):
        newest = latest_session(client, job)
        if newest and newest.get('id') != last.get('id'):
            started = newest
            break
    if started is None:
        err = SessionTimeout('%s of job %r: no new session appeared within %s s' % (action, job['name'], wait_timeout))
        err.result = result
        raise err
    try:
        result['session'] = follow(client, job, started, clock, sleep, wait_timeout)
        check_result(result['session'], job, allow_warning)
    except VeeamEmError as exc:
        exc.result = dict(result, session=getattr(exc, 'session', None) or started)
        raise
    return result


def follow(client, job, session, clock, sleep, timeout):
    """Poll a session until it is Stopped; raise SessionTimeout naming it and its state."""
    path = '%s/%s' % ('replicaSessions' if job['job_type'] == 'Replica' else 'backupSessions', session['id'])
    current = session
    if current.get('state') == 'Stopped':
        return current
    for _tick in _tasks.poll_schedule(timeout, sleep, clock):
        current = session_dict(client.get(path, params={'format': 'Entity'}))
        if current.get('state') == 'Stopped':
            return current
    label = current.get('name') or current.get('id')
    err = SessionTimeout('session %s of job %r is still %s after %s s' % (label, job['name'], current.get('state'), timeout))
    err.session = current
    raise err


def check_result(session, job, allow_warning):
    outcome = session.get('result')
    if outcome == 'Success' or (outcome == 'Warning' and allow_warning):
        return
    detail = (': %s' % session['failure_message']) if session.get('failure_message') else ''
    hint = ' (set allow_warning to accept warnings)' if outcome == 'Warning' else ''
    err = SessionFailed('session %s of job %r ended %s%s%s' % (session.get('name'), job['name'], outcome, detail, hint))
    err.session = session
    raise err
