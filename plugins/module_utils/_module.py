# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""The base class of every module: shared options, one EM session, errors to fail_json."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import signal
import traceback
from contextlib import contextmanager

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.veeam_em.core.plugins.module_utils import _argspec, _client, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import VeeamEmError


def connection_spec():
    return dict(
        server=dict(type='str', required=True, fallback=(env_fallback, ['VEEAM_EM_SERVER'])),
        port=dict(type='int', fallback=(env_fallback, ['VEEAM_EM_PORT'])),
        username=dict(type='str', required=True, fallback=(env_fallback, ['VEEAM_EM_USERNAME'])),
        password=dict(type='str', required=True, no_log=True, fallback=(env_fallback, ['VEEAM_EM_PASSWORD'])),
        validate_certs=dict(type='bool', fallback=(env_fallback, ['VEEAM_EM_VALIDATE_CERTS'])),
        ca_path=dict(type='path', fallback=(env_fallback, ['VEEAM_EM_CA_PATH'])),
        request_timeout=dict(type='float', default=30.0),
    )


def wait_spec():
    return dict(
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=900),
    )


class VeeamEmModule(AnsibleModule):
    """AnsibleModule with the connection options and the EM session built in.

    ``quick_lists`` names options that are long lists of dicts (a bulk module's ``config``): when every entry
    passes the quick check of :mod:`._argspec`, ansible checks only that the option is a list of dicts, and
    :meth:`entries` gives the entries validated and filled as ansible would have; ``params`` keeps them as
    given, which is what the result's ``invocation`` shows. Any other input is validated by ansible against
    the whole spec, as without the option.
    """

    def __init__(self, argument_spec, with_wait=False, quick_lists=(), **kwargs):
        spec = connection_spec()
        if with_wait:
            spec.update(wait_spec())
        spec.update(argument_spec)
        self._quick = dict((name, spec[name]) for name in quick_lists)
        self._entries = {}
        super(VeeamEmModule, self).__init__(argument_spec=spec, **kwargs)
        if not _client.HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib('requests'), exception=_client.REQUESTS_IMPORT_ERROR)
        if not _xml.HAS_LXML:
            self.fail_json(msg=missing_required_lib('lxml'), exception=_xml.LXML_IMPORT_ERROR)
        wait_timeout = self.params.get('wait_timeout')
        if wait_timeout is not None and wait_timeout < 0:
            # A negative wait would send the write and then fail at once: refuse it before the logon.
            self.fail_json(msg='wait_timeout: %d is not a number of seconds; accepted: 0 or more' % wait_timeout,
                           option='wait_timeout')
        self.client = None

    def _load_params(self):
        """Load the arguments, then choose the spec ansible validates them with (see ``quick_lists``)."""
        super(VeeamEmModule, self)._load_params()
        for name, spec in getattr(self, '_quick', {}).items():
            entries = _argspec.quick_list(_argspec.compile_list(spec), self.params.get(name))
            if entries is not None:
                self.argument_spec[name] = _argspec.lean(spec)
                self._entries[name] = entries

    def entries(self, name):
        """The validated entries of the list option ``name`` (filled with every option's default or None)."""
        entries = getattr(self, '_entries', {})
        return entries[name] if name in entries else self.params[name]

    def _client(self):
        p = self.params
        validate = p['validate_certs']
        return _client.EmClient(
            server=p['server'], username=p['username'], password=p['password'],
            port=p['port'] or 9398, validate_certs=True if validate is None else validate,
            ca_path=p['ca_path'], request_timeout=p['request_timeout'],
            warn=self.warn, no_log_values=self.no_log_values,
        )

    @contextmanager
    def em_session(self):
        """Log on, yield the client, and log off whatever happens (SIGTERM included)."""
        client = self._client()
        self.client = client

        def terminated(signum, frame):
            raise VeeamEmError('stopped by signal %d; the EM session was logged off' % signum)

        previous = signal.signal(signal.SIGTERM, terminated)
        try:
            client.logon()
            yield client
        finally:
            try:
                client.logoff()
            finally:
                signal.signal(signal.SIGTERM, previous)

    def fail_from(self, exc, **result):
        """The one place where an exception becomes ``fail_json``."""
        if isinstance(exc, VeeamEmError):
            kwargs = exc.to_fail_kwargs()
            kwargs.update(result)
            self.fail_json(**kwargs)
        self.fail_json(msg='unexpected error: %s' % exc, exception=traceback.format_exc(), **result)

    def run_safely(self, func):
        """Run ``func(client)`` inside a session and map every error to fail_json."""
        result = {}
        try:
            with self.em_session() as client:
                result = func(client)
        except Exception as exc:  # pylint: disable=broad-except
            partial = getattr(exc, 'result', None) or {}
            self.fail_from(exc, **partial)
        self.exit_json(**result)
