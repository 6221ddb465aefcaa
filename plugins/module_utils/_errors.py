# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file is internal to the veeam_em.core collection. It is not a public API
# and may change in any release without notice.

"""Exception hierarchy shared by the collection's module_utils.

Every exception carries a short, human-readable ``msg``. None of them ever
holds the password, the Basic auth header value or the session token: the
client scrubs any text that comes from the server before it builds one.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class VeeamEmError(Exception):
    """Base class of every error raised by the collection's module_utils.

    ``result`` is the module result reached before the error (for example
    ``changed: true`` and the task of a write that was sent), or None; the
    module reports it beside the failure.
    """

    def __init__(self, msg, result=None):
        super(VeeamEmError, self).__init__(msg)
        self.msg = msg
        self.result = result

    def __str__(self):
        return self.msg

    def extra(self):
        """Extra keys for ``fail_json`` besides ``msg`` (override in subclasses)."""
        return {}

    def to_fail_kwargs(self):
        """Keyword arguments for ``module.fail_json(**err.to_fail_kwargs())``."""
        kwargs = dict(self.extra())
        kwargs['msg'] = self.msg
        return kwargs


class ValidationError(VeeamEmError):
    """An option value was refused before any request was sent."""

    def __init__(self, msg, option=None):
        super(ValidationError, self).__init__(msg)
        self.option = option

    def extra(self):
        return {'option': self.option} if self.option else {}


class DecodeError(VeeamEmError, ValueError):
    """A scalar value from EM (or for EM) does not follow its XML type."""


class UnsafeXmlError(VeeamEmError, ValueError):
    """An XML document was refused: DOCTYPE, entity, too large, too deep or malformed."""


class TransportError(VeeamEmError):
    """Connection failure, timeout or unreadable response, after the allowed retries."""


class NotFoundError(VeeamEmError):
    """The object the options name (a job, a repository...) does not exist."""


class AmbiguousNameError(VeeamEmError):
    """A name matches more than one object, so the options do not say which one is meant.

    ``candidates`` lists where the name was found (e.g. the backup servers of
    the jobs of that name). This is never "not found": a caller that treats a
    missing object as already absent must not treat this one so.
    """

    def __init__(self, msg, candidates=None):
        super(AmbiguousNameError, self).__init__(msg)
        self.candidates = list(candidates or [])


class AmbiguousWriteError(VeeamEmError):
    """A write (PUT/POST) was sent but its outcome is unknown.

    The caller must re-read the entity and diff again; it must never resend
    the write blindly.
    """

    def __init__(self, msg, method=None, path=None):
        super(AmbiguousWriteError, self).__init__(msg)
        self.method = method
        self.path = path

    def extra(self):
        return {'method': self.method, 'path': self.path}


class ApiError(VeeamEmError):
    """EM answered with a non-2xx status.

    ``status`` is the numeric HTTP status, ``message`` EM's ``Error/@Message``
    (or a short excerpt of a non-XML body), ``method`` and ``path`` the request
    (URL path and query only: never a host credential or token).
    """

    def __init__(self, msg, status=None, message=None, method=None, path=None):
        super(ApiError, self).__init__(msg)
        self.status = status
        self.message = message
        self.method = method
        self.path = path

    def extra(self):
        return {'status': self.status, 'error': self.message, 'method': self.method, 'path': self.path}


class AuthenticationError(ApiError):
    """The logon itself was refused (HTTP 401 or 403)."""


class TaskError(VeeamEmError):
    """Base class of the errors about an EM task; ``task`` is the task dict."""

    def __init__(self, msg, task=None):
        super(TaskError, self).__init__(msg)
        self.task = task or {}

    def extra(self):
        return {'task': self.task}


class TaskFailed(TaskError):
    """The task ended with ``Result/@Success="false"``; ``msg`` holds EM's message."""


class TaskTimeout(TaskError):
    """The task did not finish before the deadline; ``msg`` names its id and last state."""


class TaskLost(TaskError):
    """EM no longer knows the task (404), e.g. after a re-logon into a new session.

    The caller should verify the outcome by re-reading the entity.
    """


class TaskPollError(TaskError):
    """Polling the task failed too many times in a row."""
