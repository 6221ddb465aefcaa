# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file is internal to the veeam_em.core collection. It is not a public API
# and may change in any release without notice.

"""HTTP client for the Veeam Backup Enterprise Manager XML REST API (v1_7).

This is the only file of the collection that imports ``requests``.

Policy (see the design notes): explicit TLS verification on every request, no
environment trust, no cookies, no redirects, a (connect, read) timeout plus an
overall deadline per logical request, bounded response size, reads retried
with full-jitter backoff (on 429, 500, 502, 503, 504 and transport errors),
writes never resent once they may have reached the server, one re-logon per
client on a 401.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import collections
import email.utils
import ipaddress
import json
import os
import random
import re
import threading
import time
import traceback

from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookiePolicy
from urllib.parse import quote, unquote, urlsplit

try:
    import requests
    import requests.adapters
    import requests.exceptions
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

try:
    import urllib3
    from urllib3.exceptions import ConnectTimeoutError as _U3ConnectTimeoutError
    from urllib3.exceptions import InsecureRequestWarning as _U3InsecureRequestWarning
    from urllib3.exceptions import NewConnectionError as _U3NewConnectionError
    HAS_URLLIB3 = True
except ImportError:
    urllib3 = None
    _U3ConnectTimeoutError = _U3NewConnectionError = _U3InsecureRequestWarning = None
    HAS_URLLIB3 = False

from ansible_collections.veeam_em.core.plugins.module_utils import _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import (
    AmbiguousWriteError,
    ApiError,
    AuthenticationError,
    TransportError,
    UnsafeXmlError,
    ValidationError,
    VeeamEmError,
)

COLLECTION_VERSION = '1.0.0'
USER_AGENT = 'veeam_em.core/%s' % COLLECTION_VERSION
API_VERSION = 'v1_7'
DEFAULT_PORT = 9398
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
RETRY_STATUSES = (429, 502, 503, 504)
# EM answers transient faults with 500 too; only a request that may be resent (a read, a task poll) retries it.
IDEMPOTENT_RETRY_STATUSES = (500,)
AMBIGUOUS_WRITE_STATUSES = (502, 503, 504)
MAX_RETRY_AFTER = 120.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
CONNECT_TIMEOUT_CAP = 10.0
MAX_PAGES = 10000
PAGES_IN_FLIGHT = 2  # query pages asked for ahead of the caller, at most
READ_CHUNK = 65536
SESSION_HEADER = 'X-RestSvcSessionId'
REDACTED = '********'

_HOSTNAME_RE = re.compile(r'^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}[A-Za-z0-9_])?$')
_TOKEN_RE = re.compile(r'^[\x21-\x7e]{1,4096}$')
_ABSOLUTE_RE = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')
_BAD_ENCODED_RE = re.compile(r'%(?:2e|2f|5c|00|25)', re.IGNORECASE)


class _RefuseAllCookies(CookiePolicy):
    """EM lets a cookie override the session header: never store nor send a cookie."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie, request):
        return False

    def return_ok(self, cookie, request):
        return False

    def domain_return_ok(self, domain, request):
        return False

    def path_return_ok(self, path, request):
        return False


class _Response:
    """A fully read, bounded HTTP answer."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body


class _NotSent(Exception):
    """The request provably did not reach the server (connection refused or connect timeout)."""


class _SentNoAnswer(Exception):
    """The request may have reached the server, but no complete answer came back."""

    def __init__(self, reason, retryable=True):
        super(_SentNoAnswer, self).__init__(reason)
        self.reason = reason
        self.retryable = retryable


def quote_filter_value(value):
    """A value for an EM query filter: double-quoted, embedded double quotes doubled.

    >>> quote_filter_value('Exchange "prod" Backup')
    '"Exchange ""prod"" Backup"'
    """
    if isinstance(value, bool):
        value = 'True' if value else 'False'
    return '"%s"' % str(value).replace('"', '""')


def encode_params(params):
    """Percent-encode query parameters (dict or list of pairs) as a whole, so ';', ',', '=' and '"' are escaped."""
    if not params:
        return ''
    items = params.items() if isinstance(params, dict) else params
    parts = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, bool):
            value = 'true' if value else 'false'
        parts.append('%s=%s' % (quote(str(key), safe=''), quote(str(value), safe='')))
    return '&'.join(parts)


def _excerpt(text, limit=200):
    text = ' '.join(str(text).split())
    text = ''.join(c if c.isprintable() else '?' for c in text)
    if len(text) > limit:
        text = text[:limit] + '...'
    return text


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent or unparseable."""
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    if re.match(r'^[0-9]+(?:\.[0-9]+)?$', value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if now is None:
        now = time.time()
    return max(0.0, when.timestamp() - now)


class EmClient:
    """One logon session against one Enterprise Manager.

    Use it as a context manager: ``with EmClient(...) as client:`` logs on at
    enter and logs off at exit, also when the body raises.
    """

    def __init__(self, server, username, password, port=DEFAULT_PORT, validate_certs=True, ca_path=None,
                 request_timeout=30.0, max_retries=4, warn=None, no_log_values=None, sleep=time.sleep,
                 clock=time.monotonic, session_factory=None, request_deadline=None, rng=None,
                 max_response_bytes=MAX_RESPONSE_BYTES):
        if not HAS_REQUESTS:
            raise VeeamEmError('the Python library requests is required but could not be imported')
        self.username = username or ''
        self._password = password or ''
        self._basic = 'Basic ' + base64.b64encode(
            ('%s:%s' % (self.username, self._password)).encode('utf-8')).decode('ascii')
        self._b64 = self._basic[len('Basic '):]
        self.no_log_values = no_log_values if no_log_values is not None else set()
        if self._password:
            self.no_log_values.add(self._password)
        self.no_log_values.add(self._b64)

        self.scheme, self.host, self.port = self._parse_server(server, port)
        self.origin = '%s://%s:%d' % (self.scheme, self.host, self.port)
        self.base_url = self.origin + '/api/'

        try:
            self.request_timeout = float(request_timeout)
        except (TypeError, ValueError):
            raise ValidationError('request_timeout must be a number of seconds', option='request_timeout')
        if self.request_timeout <= 0:
            raise ValidationError('request_timeout must be greater than 0', option='request_timeout')
        self.timeout = (min(CONNECT_TIMEOUT_CAP, self.request_timeout), self.request_timeout)
        self.request_deadline = float(request_deadline) if request_deadline else max(2.0 * self.request_timeout, 10.0)
        self.max_retries = max(0, int(max_retries))
        self.max_response_bytes = int(max_response_bytes)

        if ca_path:
            if not os.path.exists(ca_path):
                raise ValidationError('ca_path %s does not exist' % ca_path, option='ca_path')
            self.verify = ca_path
        else:
            self.verify = bool(validate_certs)

        self._warn = warn or (lambda msg: None)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self.requests_sent = 0

        self._token = None
        self.session_id = None
        self.session_href = None
        self._relogon_used = False

        if self.scheme == 'http':
            self._warn('server uses plain http: the credentials and the session token travel unencrypted')
        elif self.verify is False:
            self._warn('validate_certs is false: the TLS certificate of %s is not verified' % self.host)
            if HAS_URLLIB3:
                urllib3.disable_warnings(_U3InsecureRequestWarning)

        factory = session_factory or requests.Session
        self._session = factory()
        self._setup_session(self._session)

    # ---- set-up ---------------------------------------------------------

    @staticmethod
    def _setup_session(session):
        session.trust_env = False
        session.proxies = {}
        session.headers.clear()
        session.cookies.clear()
        session.cookies.set_policy(_RefuseAllCookies())
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=16, max_retries=0)
        session.mount('https://', adapter)
        session.mount('http://', adapter)

    @staticmethod
    def _parse_server(server, port):
        def bad(why):
            return ValidationError('invalid server %r: %s' % (_excerpt(server, 80), why), option='server')

        if not isinstance(server, str) or not server.strip():
            raise ValidationError('server is required', option='server')
        if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7f for c in server):
            raise bad('whitespace and control characters are not allowed')
        value = server
        if '://' in value:
            scheme = value.split('://', 1)[0].lower()
            if scheme not in ('https', 'http'):
                raise bad('only https:// (or an explicit http://) is supported')
            value = value.split('://', 1)[1]
        else:
            scheme = 'https'
        if any(c in value for c in '@?#\\'):
            raise bad('give only a host name and an optional port (no user, path, query or fragment)')
        if '/' in value.rstrip('/') or value.endswith('//'):
            raise bad('give only a host name and an optional port (no path)')
        value = value.rstrip('/')
        if value.startswith('['):
            end = value.find(']')
            if end < 0:
                raise bad('unterminated IPv6 literal')
            literal = value[1:end]
            rest = value[end + 1:]
            try:
                ipaddress.IPv6Address(literal)
            except ValueError:
                raise bad('not a valid IPv6 address')
            host = '[%s]' % literal
        else:
            if value.count(':') > 1:
                raise bad('write an IPv6 address in brackets, e.g. [2001:db8::1]:9398')
            host, sep, rest = value.partition(':')
            rest = sep + rest
            if not _HOSTNAME_RE.match(host) or '..' in host:
                raise bad('not a valid host name')
        if rest:
            if not rest.startswith(':') or not rest[1:].isdigit():
                raise bad('the port must be a number')
            port = int(rest[1:])
        try:
            port = int(port if port is not None else DEFAULT_PORT)
        except (TypeError, ValueError):
            raise ValidationError('port must be an integer', option='port')
        if not 0 < port < 65536:
            raise ValidationError('port %d is out of range 1-65535' % port, option='port')
        return scheme, host.lower(), port

    # ---- secrets --------------------------------------------------------

    def _secrets(self):
        values = [self._password, self._b64, self._basic, self._token, self.session_id]
        return sorted((v for v in values if v), key=len, reverse=True)

    def redact(self, text):
        """Replace every known secret (password, Basic credentials, token, session id) in ``text``."""
        text = str(text)
        for secret in self._secrets():
            text = text.replace(secret, REDACTED)
        return text

    def _remember_secret(self, value):
        if value:
            self.no_log_values.add(value)

    def __repr__(self):
        return 'EmClient(%s, user=%r)' % (self.base_url, self.username)

    # ---- URLs -----------------------------------------------------------

    def rebase(self, href):
        """Map a server Href or a relative path onto the configured base URL.

        Absolute Hrefs keep only path and query (EM writes its own FQDN into
        them); 'jobs/ID' and '/api/jobs/ID' are accepted. Anything that would
        leave /api/ or smuggle characters into the request line is refused.
        """
        if href is None:
            href = ''
        if not isinstance(href, str):
            raise ValidationError('invalid resource path (not a string)', option='path')
        if any(ord(c) < 0x21 or ord(c) == 0x7f for c in href):
            raise ValidationError('invalid resource path: whitespace or control characters', option='path')
        if '#' in href or '\\' in href:
            raise ValidationError('invalid resource path: "#" and "\\" are not allowed', option='path')
        if _ABSOLUTE_RE.match(href):
            parts = urlsplit(href)
            if parts.scheme.lower() not in ('http', 'https'):
                raise ValidationError('invalid resource URL scheme', option='path')
            path, query = parts.path or '/', parts.query
        else:
            if href.startswith('//'):
                raise ValidationError('invalid resource path: network-path reference', option='path')
            path, _sep, query = href.partition('?')
            if not path.startswith('/'):
                path = '/api/' + path
        if path == '/api':
            path = '/api/'
        if not path.startswith('/api/'):
            raise ValidationError('resource path %s is outside /api/' % _excerpt(path, 80), option='path')
        if _BAD_ENCODED_RE.search(path):
            raise ValidationError('invalid resource path: encoded dot, slash or percent', option='path')
        decoded = unquote(path)
        segments = decoded.split('/')
        if '..' in segments or '.' in segments or '//' in decoded:
            raise ValidationError('invalid resource path: dot segments are not allowed', option='path')
        url = self.origin + path
        if query:
            url += '?' + query
        return url

    def _url(self, path, params=None):
        url = self.rebase(path)
        encoded = encode_params(params)
        if encoded:
            url += ('&' if '?' in url else '?') + encoded
        return url

    @staticmethod
    def _path_of(url):
        parts = urlsplit(url)
        return parts.path + ('?' + parts.query if parts.query else '')

    # ---- one HTTP exchange ----------------------------------------------

    def _count(self):
        with self._count_lock:
            self.requests_sent += 1

    def _headers(self, token, has_body, basic):
        headers = {
            'Accept': 'application/xml',
            'Accept-Encoding': 'identity',
            'User-Agent': USER_AGENT,
        }
        if has_body:
            headers['Content-Type'] = 'application/xml; charset=utf-8'
        if basic:
            headers['Authorization'] = self._basic
        elif token:
            headers[SESSION_HEADER] = token
        return headers

    @staticmethod
    def _is_not_sent(exc):
        """True when a requests ConnectionError wraps a failure to establish the connection."""
        seen = 0
        stack = [exc]
        while stack and seen < 20:
            cur = stack.pop()
            seen += 1
            if cur is None:
                continue
            if HAS_URLLIB3 and isinstance(cur, (_U3NewConnectionError, _U3ConnectTimeoutError)):
                return True
            if isinstance(cur, ConnectionRefusedError):
                return True
            reason = getattr(cur, 'reason', None)
            if isinstance(reason, BaseException):
                stack.append(reason)
            for arg in getattr(cur, 'args', ()):
                if isinstance(arg, BaseException):
                    stack.append(arg)
            stack.append(cur.__cause__)
        return False

    def _send_once(self, method, url, data, headers, deadline):
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise _SentNoAnswer('no complete answer within %.0f s' % self.request_deadline, retryable=False)
        timeout = (max(0.001, min(self.timeout[0], remaining)), max(0.001, min(self.timeout[1], remaining)))
        self._count()
        try:
            # Session.send() would read a whole 3xx body to prepare the next hop even with
            # allow_redirects=False; the adapter sends exactly one request and nothing else.
            prepared = self._session.prepare_request(requests.Request(method, url, data=data, headers=headers))
            adapter = self._session.get_adapter(url)
            resp = adapter.send(prepared, stream=True, timeout=timeout, verify=self.verify, cert=None, proxies={})
        except requests.exceptions.SSLError as exc:
            raise TransportError('TLS error talking to %s:%d: %s' % (self.host, self.port, _excerpt(self.redact(exc), 300)))
        except requests.exceptions.ConnectTimeout as exc:
            raise _NotSent(exc)
        except requests.exceptions.ConnectionError as exc:
            if self._is_not_sent(exc):
                raise _NotSent(exc)
            raise _SentNoAnswer(exc)
        except requests.exceptions.Timeout as exc:
            raise _SentNoAnswer(exc)
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader) as exc:
            raise TransportError('invalid request: %s' % _excerpt(self.redact(exc), 200))
        except requests.exceptions.RequestException as exc:
            raise _SentNoAnswer(exc)
        try:
            body = self._read_body(resp, deadline)
            return _Response(resp.status_code, resp.headers, body)
        finally:
            try:
                resp.close()
            finally:
                self._session.cookies.clear()

    @staticmethod
    def _socket_of(raw):
        conn = getattr(raw, 'connection', None) or getattr(raw, '_connection', None)
        return getattr(conn, 'sock', None)

    def _read_body(self, resp, deadline):
        encoding = (resp.headers.get('Content-Encoding') or '').strip().lower()
        if encoding not in ('', 'identity'):
            raise _SentNoAnswer('compressed response refused (Content-Encoding: %s)' % _excerpt(encoding, 40), retryable=False)
        length = resp.headers.get('Content-Length')
        if length and length.strip().isdigit() and int(length) > self.max_response_bytes:
            raise _SentNoAnswer('response too large (%s bytes, limit %d)' % (length.strip(), self.max_response_bytes), retryable=False)
        raw = resp.raw
        reader = getattr(raw, 'read1', None)
        if reader is None:
            reader = getattr(getattr(raw, '_fp', None), 'read1', None) or raw.read
        chunks = []
        total = 0
        try:
            while True:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise _SentNoAnswer('no complete answer within %.0f s' % self.request_deadline, retryable=False)
                sock = self._socket_of(raw)
                if sock is not None:
                    try:
                        sock.settimeout(max(0.001, min(self.timeout[1], remaining)))
                    except (OSError, ValueError, AttributeError):
                        pass
                chunk = reader(READ_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > self.max_response_bytes:
                    raise _SentNoAnswer('response too large (more than %d bytes)' % self.max_response_bytes, retryable=False)
                chunks.append(chunk)
        except _SentNoAnswer:
            raise
        except (requests.exceptions.RequestException, OSError, ValueError) as exc:
            raise _SentNoAnswer(exc)
        except Exception as exc:  # pylint: disable=broad-except
            # urllib3 raises its own exception classes while streaming.
            if HAS_URLLIB3 and isinstance(exc, urllib3.exceptions.HTTPError):
                raise _SentNoAnswer(exc)
            raise
        return b''.join(chunks)

    # ---- the request loop -----------------------------------------------

    @staticmethod
    def _idempotent(method, url):
        """Reads, and the DELETE of a task or logon session, may be resent; every other write may not."""
        if method in ('GET', 'HEAD'):
            return True
        if method == 'DELETE':
            path = urlsplit(url).path
            return path.startswith('/api/tasks/') or path.startswith('/api/logonSessions/')
        return False

    def _backoff(self, attempt, retry_after, deadline):
        """Sleep before retry number ``attempt`` (1-based); False if that would pass the deadline."""
        delay = self._rng.uniform(BACKOFF_BASE, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt))
        if retry_after is not None:
            delay = max(delay, retry_after)
        if self._clock() + delay >= deadline:
            return False
        self._sleep(delay)
        return True

    def _request(self, method, path, body=None, params=None, logon=False, basic=False, relogon=True, idempotent=None):
        url = self._url(path, params)
        where = '%s %s' % (method, self.redact(self._path_of(url)))
        if idempotent is None:
            idempotent = self._idempotent(method, url)
        data = _xml.to_bytes(body) if body is not None else None
        deadline = self._clock() + self.request_deadline
        attempt = 0
        while True:
            token = None if logon else self._token
            headers = self._headers(token, data is not None, basic)
            try:
                resp = self._send_once(method, url, data, headers, deadline)
            except _NotSent as exc:
                if attempt < self.max_retries and self._backoff(attempt + 1, None, deadline):
                    attempt += 1
                    continue
                raise TransportError('%s: could not connect to %s:%d (%d attempt(s)): %s'
                                     % (where, self.host, self.port, attempt + 1, _excerpt(self.redact(exc), 300)))
            except _SentNoAnswer as exc:
                reason = _excerpt(self.redact(exc.reason), 300)
                if not idempotent:
                    raise AmbiguousWriteError('%s: the request was sent but no usable answer came back (%s); its outcome is unknown'
                                              % (where, reason), method=method, path=self.redact(self._path_of(url)))
                if exc.retryable and attempt < self.max_retries and self._backoff(attempt + 1, None, deadline):
                    attempt += 1
                    continue
                raise TransportError('%s: no usable answer from %s:%d (%d attempt(s)): %s'
                                     % (where, self.host, self.port, attempt + 1, reason))

            status = resp.status
            if 200 <= status < 300:
                return resp, url
            if status == 401 and not logon and relogon and self._relogon(token):
                continue
            if status in RETRY_STATUSES or (idempotent and status in IDEMPOTENT_RETRY_STATUSES):
                if not idempotent and status in AMBIGUOUS_WRITE_STATUSES:
                    raise AmbiguousWriteError('%s: EM answered HTTP %d after the request was sent; its outcome is unknown'
                                              % (where, status), method=method, path=self.redact(self._path_of(url)))
                if idempotent:
                    header = resp.headers.get('Retry-After')
                    retry_after = parse_retry_after(header)
                    if retry_after is not None and retry_after > MAX_RETRY_AFTER:
                        raise self._api_error(resp, method, url, extra='the server asked to retry later (Retry-After: %s), '
                                              'more than the %d s this client waits' % (_excerpt(header, 40), MAX_RETRY_AFTER))
                    if attempt < self.max_retries:
                        if self._backoff(attempt + 1, retry_after, deadline):
                            attempt += 1
                            continue
                        if retry_after is not None:
                            raise self._api_error(resp, method, url, extra='Retry-After: %s does not fit in the %.0f s request deadline'
                                                  % (_excerpt(header, 40), self.request_deadline))
            if logon and status in (401, 403):
                message = self._error_message(resp)
                raise AuthenticationError('logon failed for user %s: HTTP %d%s'
                                          % (self.username, status, ': ' + message if message else ''),
                                          status=status, message=message, method=method, path=self._path_of(url))
            raise self._api_error(resp, method, url)

    def _relogon(self, failed_token):
        """After a 401: log on again, once per client lifetime. True when the request may be retried."""
        with self._lock:
            if self._token and self._token != failed_token:
                return True
            if self._relogon_used or not failed_token:
                return False
            self._relogon_used = True
            self._token = None
            self._create_session()
            return True

    def _error_message(self, resp):
        body = resp.body or b''
        if not body.strip():
            return ''
        message = None
        try:
            root = _xml.parse(body, max_bytes=self.max_response_bytes)
            if _xml.localname(root.tag) == 'Error':
                message = root.get('Message') or _xml.findtext(root, 'Message')
            else:
                message = ' '.join(root.itertext())
        except UnsafeXmlError:
            try:
                doc = json.loads(body.decode('utf-8', 'replace'))
                if isinstance(doc, dict):
                    message = doc.get('Message') or doc.get('message')
            except ValueError:
                message = None
            if message is None:
                message = body[:400].decode('utf-8', 'replace')
        return _excerpt(self.redact(message or ''), 400)

    def _api_error(self, resp, method, url, extra=None):
        status = resp.status
        path = self.redact(self._path_of(url))
        message = self._error_message(resp)
        if 300 <= status < 400:
            location = resp.headers.get('Location') or ''
            message = 'redirect to %s not followed' % _excerpt(self.redact(location), 200)
        if extra:
            message = '%s; %s' % (message, extra) if message else extra
        return ApiError('EM refused %s %s: HTTP %d%s' % (method, path, status, ': ' + message if message else ''),
                        status=status, message=message, method=method, path=path)

    def _element(self, resp, method, url, write=False):
        if resp.status == 204 or not (resp.body or b'').strip():
            return None
        try:
            return _xml.parse(resp.body, max_bytes=self.max_response_bytes)
        except UnsafeXmlError as exc:
            if write:
                raise AmbiguousWriteError('%s %s: the answer could not be read (%s); the outcome of the write is unknown'
                                          % (method, self.redact(self._path_of(url)), exc.msg),
                                          method=method, path=self.redact(self._path_of(url)))
            raise UnsafeXmlError('%s %s: %s' % (method, self.redact(self._path_of(url)), exc.msg))

    # ---- sessions -------------------------------------------------------

    def logon(self):
        """Create a logon session: one POST sessionMngr/?v=v1_7, no version discovery first.

        Only when EM answers that POST with HTTP 400 (an API version it does not
        know) or 404 is GET /api/ read, without authentication, to name the
        versions EM supports in the error. If v1_7 is among them after all, the
        original ApiError of the POST is raised. A refused logon (401/403) is an
        AuthenticationError after exactly one attempt and never reads GET /api/.
        """
        try:
            self._create_session()
        except AuthenticationError:
            raise
        except ApiError as exc:
            if exc.status not in (400, 404):
                raise
            versions = self._supported_versions()
            if versions is not None and API_VERSION not in versions:
                raise VeeamEmError('unsupported EM API version (found %s); this collection needs %s'
                                   % (', '.join(versions) or 'none', API_VERSION))
            raise exc
        return self

    def _supported_versions(self):
        """The SupportedVersion names of GET /api/ (unauthenticated), or None when it cannot be read."""
        try:
            resp, url = self._request('GET', '', logon=True, idempotent=True)
            root = self._element(resp, 'GET', url)
        except VeeamEmError:
            return None
        versions = [sv.get('Name') for sv in _xml.findall(root, 'SupportedVersions/SupportedVersion')] if root is not None else []
        return [v for v in versions if v]

    def _create_session(self):
        resp, url = self._request('POST', 'sessionMngr/', params=[('v', API_VERSION)], logon=True, basic=True, idempotent=True)
        token = resp.headers.get(SESSION_HEADER)
        if not token or not _TOKEN_RE.match(token):
            raise VeeamEmError('logon answer carried no usable %s header' % SESSION_HEADER)
        self._remember_secret(token)
        self._token = token
        root = self._element(resp, 'POST', url)
        session_id = _xml.findtext(root, 'SessionId') if root is not None else None
        if session_id:
            self._remember_secret(session_id)
            self.session_id = session_id
        href = None
        if root is not None:
            for link in _xml.findall(root, 'Links/Link'):
                if (link.get('Rel') or '').lower() == 'delete' and link.get('Href'):
                    href = link.get('Href')
                    break
            if href is None and _xml.localname(root.tag) == 'LogonSession':
                href = root.get('Href')
        if href is None and session_id:
            href = 'logonSessions/%s' % quote(session_id, safe='')
        self.session_href = self.rebase(href) if href else None

    def logoff(self):
        """DELETE the logon session. Best effort, idempotent, never raises."""
        with self._lock:
            href, token = self.session_href, self._token
            self.session_href = None
        if not token or not href:
            self._token = None
            return
        try:
            self._request('DELETE', href, relogon=False, idempotent=True)
        except Exception:  # pylint: disable=broad-except
            pass
        finally:
            self._token = None

    def close(self):
        try:
            self._session.close()
        except Exception:  # pylint: disable=broad-except
            pass

    def __enter__(self):
        self.logon()
        return self

    def __exit__(self, exc_type, exc_value, tb):
        try:
            self.logoff()
        finally:
            self.close()
        return False

    @property
    def logged_on(self):
        return self._token is not None

    def warn(self, msg):
        """Pass a warning to the module (a no-op without one)."""
        self._warn(msg)

    # ---- verbs ----------------------------------------------------------

    def get(self, path, params=None):
        """GET a resource and return its root element."""
        resp, url = self._request('GET', path, params=params)
        root = self._element(resp, 'GET', url)
        if root is None:
            raise TransportError('GET %s: empty answer' % self.redact(self._path_of(url)))
        return root

    def write(self, method, path, body_el=None, params=None):
        """Send one write (PUT, POST or DELETE) and return ``(HTTP status, root element or None)``.

        The answer is not interpreted here: _tasks.settle_write() tells a task from a resource.
        """
        resp, url = self._request(method, path, body=body_el, params=params)
        return resp.status, self._element(resp, method, url, write=not self._idempotent(method, url))

    def put(self, path, body_el, params=None):
        """PUT an XML body; return the answer's root element or None (see write())."""
        return self.write('PUT', path, body_el, params)[1]

    def post(self, path, body_el=None, params=None):
        """POST (optionally with an XML body); return the answer's root element or None (see write())."""
        return self.write('POST', path, body_el, params)[1]

    def delete(self, path):
        """DELETE a resource; return the answer's root element or None (204).

        Only the DELETE of a task or logon session is retried; deleting anything
        else is a write and follows the PUT/POST rules.
        """
        return self.write('DELETE', path)[1]

    def query(self, qtype, filter=None, fmt='Entities', page_size=None):  # pylint: disable=redefined-builtin
        """Run the query service and return the item elements of every page.

        ``fmt='Entities'`` gives e.g. every <Job> under Entities/Jobs;
        ``fmt='Refs'`` every <Ref>. Pages are followed through
        PagingInfo/Links/Link[@Rel="Next"] until there is none.
        """
        items = []
        for page in self.query_pages(qtype, filter=filter, fmt=fmt, page_size=page_size):
            items.extend(page)
        return items

    def query_pages(self, qtype, filter=None, fmt='Entities', page_size=None, in_flight=None):  # pylint: disable=redefined-builtin
        """Like query(), one page at a time: a caller that keeps only some items lets each page go.

        The next pages are asked for while the caller works on the current one. When the first page's
        PagingInfo gives the number of pages of the size asked for, pages 2, 3, ... are asked for by number,
        ``in_flight`` requests out at most (PAGES_IN_FLIGHT by default), and given back in order; otherwise
        each page's Next link is followed, one page ahead. At most ``in_flight`` parsed pages wait ahead of
        the caller; ``in_flight=0`` reads every page in line. The last numbered page's Next link, if any, is
        still followed (the query grew meanwhile). On an error, no later page is given back, the requests
        not yet sent are dropped and those under way are waited for before the error is raised.
        """
        in_flight = PAGES_IN_FLIGHT if in_flight is None else max(0, int(in_flight))
        params = [('type', qtype)]
        if fmt and fmt.lower() not in ('refs', 'reference'):
            params.append(('format', fmt))
        if filter:
            params.append(('filter', filter))
        if page_size:
            params.append(('pageSize', int(page_size)))
            params.append(('page', 1))
        root = self.get('query', params=params)
        last = _pages_count(root, page_size) if page_size and in_flight else 0
        number, seen, ahead = 2, set(), collections.deque()
        pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix='veeam_em-pages') if in_flight else None
        try:
            while True:
                while number <= last and len(ahead) < in_flight:
                    ahead.append(pool.submit(self.get, 'query', params[:-1] + [('page', number)]))
                    number += 1
                if number > last and not ahead:  # by the Next link: from the first page, or after the last numbered one
                    url = self._next_page(qtype, root, seen)
                    if url:
                        ahead.append(pool.submit(self.get, url) if pool else url)
                yield _query_items(root)
                if not ahead:
                    return
                root = ahead.popleft()
                root = root.result() if pool else self.get(root)
        finally:
            if pool:
                for future in ahead:
                    future.cancel()
                pool.shutdown(wait=True)

    def _next_page(self, qtype, root, seen):
        """The URL of the page after ``root`` by its Next link, None on the last page; refuses a loop."""
        for link in _xml.findall(root, 'PagingInfo/Links/Link'):
            if (link.get('Rel') or '').lower() == 'next' and link.get('Href'):
                url = self.rebase(link.get('Href'))
                if url in seen or len(seen) >= MAX_PAGES:
                    raise VeeamEmError('query %s: the server\'s paging links loop (page %s seen twice)' % (qtype, self.redact(self._path_of(url))))
                seen.add(url)
                return url
        return None


def _pages_count(root, page_size):
    """The number of pages the first page's PagingInfo announces for ``page_size``; 0 when it gives no usable one."""
    info = _xml.find(root, 'PagingInfo')
    if info is None or info.get('PageNum') != '1' or info.get('PageSize') != str(int(page_size)):
        return 0
    count = info.get('PagesCount') or ''
    if not count.isdigit() or not 1 <= int(count) <= MAX_PAGES:
        return 0
    return int(count)


def _query_items(root):
    items = []
    for part in root:
        name = _xml.localname(part.tag)
        if name == 'Refs':
            items.extend(child for child in part if isinstance(child.tag, str))
        elif name in ('Entities', 'Resources'):
            for container in part:
                if isinstance(container.tag, str):
                    items.extend(child for child in container if isinstance(child.tag, str))
    return items
