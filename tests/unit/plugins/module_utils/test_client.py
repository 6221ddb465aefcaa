# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import email.utils
import io
import os
import re
import threading
import time

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from ansible_collections.veeam_em.core.plugins.module_utils import _client, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import (
    AmbiguousWriteError,
    ApiError,
    AuthenticationError,
    TransportError,
    UnsafeXmlError,
    ValidationError,
    VeeamEmError,
)

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'xml')

HOST = 'em.test'
BASE = 'https://em.test:9398/api/'
USER = 'EM01\\Administrator'
PASSWORD = 'pw-CANARY-7f3a9c1e55d04b'
TOKEN = 'sid-CANARY-O9Msj3rq7EGUhtSMBQx+mw=='
SESSION_ID = '7686d89e-26fd-48e6-963c-c9dbce802981'
B64 = base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode('utf-8')).decode('ascii')
JOB = BASE + 'jobs/11111111-1111-1111-1111-111111111111'
LOGOFF = BASE + 'logonSessions/' + SESSION_ID
LOGON = BASE + 'sessionMngr/?v=v1_7'


def load(name):
    with open(os.path.join(FIXTURES, name), 'rb') as f:
        return f.read()


class FakeTime:
    """A clock that only moves when the client sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class RecordingRandom:
    """Returns the upper bound of every uniform() draw and records the bounds."""

    def __init__(self):
        self.calls = []

    def uniform(self, low, high):
        self.calls.append((low, high))
        return high


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def fake_time():
    return FakeTime()


def make_client(fake_time, **kwargs):
    args = dict(server=HOST, username=USER, password=PASSWORD, sleep=fake_time.sleep, clock=fake_time.clock)
    args.update(kwargs)
    return _client.EmClient(**args)


def add_logon(rsps, token=TOKEN, cookie=False):
    headers = {'X-RestSvcSessionId': token}
    if cookie:
        headers['Set-Cookie'] = 'X-RestSvcSessionId=%s; Path=/api;' % token
    rsps.add(responses.POST, LOGON, body=load('logon.xml'), status=201, headers=headers, content_type='application/xml')


def add_logoff(rsps, url=LOGOFF):
    rsps.add(responses.DELETE, url, status=204)


def sequence(rsps):
    return [(c.request.method, c.request.url) for c in rsps.calls]


def refused():
    return requests.exceptions.ConnectionError(
        MaxRetryError(None, '/api/', NewConnectionError(None, '[Errno 111] Connection refused')))


def reset_after_send():
    return requests.exceptions.ConnectionError(
        ProtocolError('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer')))


def assert_no_secret(text):
    for secret in (PASSWORD, B64, TOKEN, SESSION_ID):
        assert secret not in text


# ---- logon / logoff and headers -----------------------------------------

def test_full_sequence_headers_and_secrets(rsps, fake_time):
    add_logon(rsps, cookie=True)
    rsps.add(responses.GET, JOB + '?format=Entity', body=load('job_entity.xml'), status=200,
             headers={'Set-Cookie': 'X-RestSvcSessionId=evil; Path=/api;'})
    add_logoff(rsps)
    no_log = set()
    with make_client(fake_time, no_log_values=no_log) as client:
        job = client.get('jobs/11111111-1111-1111-1111-111111111111', params={'format': 'Entity'})
        assert job.get('Name') == 'SQL Backup'
        assert client.logged_on
    assert not client.logged_on
    assert sequence(rsps) == [
        ('POST', LOGON),
        ('GET', JOB + '?format=Entity'),
        ('DELETE', LOGOFF),
    ]
    assert client.requests_sent == 3
    for i, call in enumerate(rsps.calls):
        headers = call.request.headers
        assert headers['Accept'] == 'application/xml'
        assert headers['User-Agent'] == 'veeam_em.core/%s' % _client.COLLECTION_VERSION
        assert headers.get('Accept-Encoding') == 'identity'
        assert 'Cookie' not in headers
        assert call.request.req_kwargs['verify'] is True
        assert call.request.req_kwargs['timeout'] == (10.0, 30.0)
        if i == 0:
            assert headers['Authorization'] == 'Basic ' + B64
            assert 'X-RestSvcSessionId' not in headers
        else:
            assert 'Authorization' not in headers
            assert headers['X-RestSvcSessionId'] == TOKEN
    assert TOKEN in no_log and SESSION_ID in no_log and PASSWORD in no_log
    assert client.session_id == SESSION_ID
    assert TOKEN not in repr(client)


def test_logon_is_one_post_before_the_first_request(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.GET, JOB, body=load('job_entity.xml'), status=200)
    client = make_client(fake_time)
    client.logon()
    assert sequence(rsps) == [('POST', LOGON)]
    assert client.requests_sent == 1
    client.get(JOB)
    assert sequence(rsps) == [('POST', LOGON), ('GET', JOB)]
    assert client.requests_sent == 2


def version_refused(rsps, status=400):
    rsps.add(responses.POST, LOGON, status=status, content_type='application/xml',
             body=b'<Error xmlns="http://www.veeam.com/ent/v1.0" StatusCode="%d" '
                  b'Message="Unsupported API version v1_7"/>' % status)


@pytest.mark.parametrize('status', [400, 404])
def test_unsupported_version(rsps, fake_time, status):
    version_refused(rsps, status)
    rsps.add(responses.GET, BASE, body=load('em_root_old.xml'), status=200, content_type='application/xml')
    with pytest.raises(VeeamEmError) as exc:
        with make_client(fake_time):
            pass
    assert not isinstance(exc.value, ApiError)
    assert str(exc.value) == 'unsupported EM API version (found v1_5, v1_6); this collection needs v1_7'
    assert sequence(rsps) == [('POST', LOGON), ('GET', BASE)]
    discovery = rsps.calls[1].request.headers
    assert 'Authorization' not in discovery and 'X-RestSvcSessionId' not in discovery


def test_400_on_logon_with_v1_7_listed_is_the_original_error(rsps, fake_time):
    version_refused(rsps)
    rsps.add(responses.GET, BASE, body=load('em_root.xml'), status=200, content_type='application/xml')
    with pytest.raises(ApiError) as exc:
        with make_client(fake_time):
            pass
    assert not isinstance(exc.value, AuthenticationError)
    assert exc.value.status == 400
    assert exc.value.message == 'Unsupported API version v1_7'
    assert exc.value.method == 'POST'
    assert 'HTTP 400: Unsupported API version v1_7' in str(exc.value)
    assert 'unsupported EM API version' not in str(exc.value)
    assert sequence(rsps) == [('POST', LOGON), ('GET', BASE)]


def test_400_on_logon_with_unreadable_discovery_is_the_original_error(rsps, fake_time):
    version_refused(rsps)
    rsps.add(responses.GET, BASE, body=load('error_404.xml'), status=404, content_type='application/xml')
    with pytest.raises(ApiError) as exc:
        make_client(fake_time).logon()
    assert exc.value.status == 400 and exc.value.message == 'Unsupported API version v1_7'
    assert sequence(rsps) == [('POST', LOGON), ('GET', BASE)]


@pytest.mark.parametrize('status', [401, 403])
def test_bad_credentials_one_attempt_no_secret(rsps, fake_time, status):
    rsps.add(responses.GET, BASE, body=load('em_root.xml'), status=200)  # must not be read
    rsps.add(responses.POST, LOGON, body=load('error_401.xml'), status=status,
             headers={'WWW-Authenticate': 'Basic Realm=RestSvc'})
    with pytest.raises(AuthenticationError) as exc:
        with make_client(fake_time):
            pass
    assert sequence(rsps) == [('POST', LOGON)]
    text = str(exc.value) + repr(exc.value.to_fail_kwargs())
    assert 'logon failed for user %s: HTTP %d' % (USER, status) in text
    assert 'wrong user name or password' in text
    assert_no_secret(text)
    assert fake_time.sleeps == []


def test_logon_requires_token_header(rsps, fake_time):
    rsps.add(responses.POST, LOGON, body=load('logon.xml'), status=201)
    with pytest.raises(VeeamEmError, match='X-RestSvcSessionId'):
        make_client(fake_time).logon()


def test_token_with_crlf_refused(rsps, fake_time):
    client = make_client(fake_time)
    rsps.add(responses.POST, LOGON, body=load('logon.xml'), status=201,
             headers={'X-RestSvcSessionId': 'abc def'})
    with pytest.raises(VeeamEmError, match='no usable'):
        client.logon()


def test_logoff_on_exception_and_idempotent(rsps, fake_time):
    add_logon(rsps)
    add_logoff(rsps)
    client = make_client(fake_time)
    with pytest.raises(RuntimeError):
        with client:
            raise RuntimeError('boom')
    client.logoff()
    client.logoff()
    assert sequence(rsps)[-1] == ('DELETE', LOGOFF)
    assert [m for m, _u in sequence(rsps)].count('DELETE') == 1


@pytest.mark.parametrize('failure', ['500', 'refused', '401'])
def test_logoff_never_raises(rsps, fake_time, failure):
    add_logon(rsps)
    if failure == '500':
        rsps.add(responses.DELETE, LOGOFF, body=load('error_500.xml'), status=500)
    elif failure == '401':
        rsps.add(responses.DELETE, LOGOFF, body=load('error_401.xml'), status=401)
    else:
        rsps.add(responses.DELETE, LOGOFF, body=refused())
    client = make_client(fake_time, max_retries=1)
    with client:
        pass
    methods = [m for m, _u in sequence(rsps)]
    assert methods.count('POST') == 1  # a 401 at logoff never triggers a re-logon
    assert not client.logged_on


def test_hrefs_from_foreign_host_are_rebased(rsps, fake_time):
    base = 'https://10.0.0.5:9443/api/'
    rsps.add(responses.POST, base + 'sessionMngr/?v=v1_7', body=load('logon.xml'), status=201,
             headers={'X-RestSvcSessionId': TOKEN})
    rsps.add(responses.DELETE, base + 'logonSessions/' + SESSION_ID, status=204)
    with make_client(fake_time, server='10.0.0.5:9443'):
        pass
    assert sequence(rsps)[-1] == ('DELETE', base + 'logonSessions/' + SESSION_ID)


# ---- TLS options ------------------------------------------------------------

def test_validate_certs_false_warns_once(rsps, fake_time):
    warnings = []
    add_logon(rsps)
    add_logoff(rsps)
    with make_client(fake_time, validate_certs=False, warn=warnings.append) as client:
        client.logoff()
    assert len(warnings) == 1
    assert 'validate_certs' in warnings[0]
    assert all(c.request.req_kwargs['verify'] is False for c in rsps.calls)


def test_ca_path_wins_over_environment(rsps, fake_time, tmp_path, monkeypatch):
    ca = tmp_path / 'ca.pem'
    ca.write_text(u'not really a CA')
    other = tmp_path / 'other.pem'
    other.write_text(u'other')
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(other))
    monkeypatch.setenv('CURL_CA_BUNDLE', str(other))
    monkeypatch.setenv('HTTPS_PROXY', 'http://proxy.invalid:3128')
    warnings = []
    add_logon(rsps)
    add_logoff(rsps)
    with make_client(fake_time, ca_path=str(ca), validate_certs=False, warn=warnings.append):
        pass
    assert warnings == []
    for call in rsps.calls:
        assert call.request.req_kwargs['verify'] == str(ca)
        assert not call.request.req_kwargs.get('proxies')


def test_missing_ca_path(fake_time, tmp_path):
    with pytest.raises(ValidationError) as exc:
        make_client(fake_time, ca_path=str(tmp_path / 'nope.pem'))
    assert exc.value.option == 'ca_path'


def test_session_does_not_trust_environment(fake_time):
    client = make_client(fake_time)
    assert client._session.trust_env is False


# ---- server option ------------------------------------------------------------

@pytest.mark.parametrize('server,port,expected', [
    ('em01', 9398, 'https://em01:9398/api/'),
    ('em01.example.com:9443', 9398, 'https://em01.example.com:9443/api/'),
    ('https://EM01.example.com', 1234, 'https://em01.example.com:1234/api/'),
    ('https://em01:9400/', 9398, 'https://em01:9400/api/'),
    ('http://em01:9399', 9398, 'http://em01:9399/api/'),
    ('10.1.2.3', 9398, 'https://10.1.2.3:9398/api/'),
    ('[2001:db8::1]', 9398, 'https://[2001:db8::1]:9398/api/'),
    ('https://[2001:db8::1]:9443', 9398, 'https://[2001:db8::1]:9443/api/'),
])
def test_server_forms(fake_time, server, port, expected):
    client = make_client(fake_time, server=server, port=port)
    assert client.base_url == expected


@pytest.mark.parametrize('server', [
    'https://em01/api', 'em01/api/', 'em01?x=1', 'user:pw@em01', 'https://user@em01', 'em01#frag',
    'em 01', 'em01\r\nX-Evil: 1', 'ftp://em01', '2001:db8::1', 'em01:port', 'em01:99999', '', '[::1',
    'em01\\x', 'https://em01:9398/api/jobs',
])
def test_server_invalid(fake_time, server):
    with pytest.raises(ValidationError) as exc:
        make_client(fake_time, server=server)
    assert exc.value.option in ('server', 'port')


def test_http_warns(fake_time):
    warnings = []
    make_client(fake_time, server='http://em01:9399', warn=warnings.append)
    assert len(warnings) == 1 and 'http' in warnings[0]


# ---- rebase / path safety ------------------------------------------------------

@pytest.mark.parametrize('href,expected', [
    ('jobs/abc', 'https://em.test:9398/api/jobs/abc'),
    ('/api/jobs/abc', 'https://em.test:9398/api/jobs/abc'),
    ('https://em01.corp.example.com:9398/api/jobs/abc?format=Entity', 'https://em.test:9398/api/jobs/abc?format=Entity'),
    ('http://other:80/api/tasks/task-1', 'https://em.test:9398/api/tasks/task-1'),
    ('', 'https://em.test:9398/api/'),
    ('/api', 'https://em.test:9398/api/'),
    ('query?type=Job&filter=Name%3D%3D%22a%2Fb%22', 'https://em.test:9398/api/query?type=Job&filter=Name%3D%3D%22a%2Fb%22'),
])
def test_rebase(fake_time, href, expected):
    assert make_client(fake_time).rebase(href) == expected


@pytest.mark.parametrize('href', [
    '../secret', 'jobs/../../etc', 'jobs/%2e%2e/x', 'jobs/%2E%2E/x', 'jobs%2Fx', 'jobs/x%2fy', '/other/x',
    'https://em.test:9398/other', 'jobs/x\r\nHost: evil', 'jobs/x\n', 'jobs/x#frag', 'jobs/./x', '//evil.com/api/x',
    'jobs/x y', 'jobs\\x', 'jobs/%252e%252e/x', 'javascript://x/api/', 'jobs//x', 'jobs/%00',
])
def test_rebase_refuses_escapes(fake_time, href):
    with pytest.raises(ValidationError):
        make_client(fake_time).rebase(href)


def test_path_escape_sends_nothing(rsps, fake_time):
    add_logon(rsps)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        before = client.requests_sent
        for bad in ('jobs/../x', 'jobs/a%2Fb', 'jobs/a\r\nX: y'):
            with pytest.raises(ValidationError):
                client.get(bad)
        assert client.requests_sent == before


def test_quote_filter_value_and_encoding(rsps, fake_time):
    assert _client.quote_filter_value('Exchange "prod" Backup') == '"Exchange ""prod"" Backup"'
    assert _client.quote_filter_value('x') == '"x"'
    add_logon(rsps)
    flt = 'Name==%s;JobType==Backup,Platform==VMware' % _client.quote_filter_value('a;b,c=d "e"')
    url = BASE + 'query?type=Job&format=Entities&filter=Name%3D%3D%22a%3Bb%2Cc%3Dd%20%22%22e%22%22%22%3BJobType%3D%3DBackup%2CPlatform%3D%3DVMware'
    rsps.add(responses.GET, url, body=load('query_refs_empty.xml'), status=200)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        assert client.query('Job', filter=flt) == []
    assert sequence(rsps)[1] == ('GET', url)


# ---- query paging ---------------------------------------------------------------

def test_query_follows_next_links(rsps, fake_time):
    add_logon(rsps)
    first = BASE + 'query?type=Job&format=Entities&pageSize=2&page=1'
    second = BASE + 'query?type=Job&format=Entities&pageSize=2&page=2'
    rsps.add(responses.GET, first, body=load('query_job_page1.xml'), status=200)
    rsps.add(responses.GET, second, body=load('query_job_page2.xml'), status=200)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        jobs = client.query('Job', page_size=2)
    assert [j.get('Name') for j in jobs] == ['SQL Backup', 'Exchange Backup', 'File Copy']
    assert all(j.tag == _xml.qname('Job') for j in jobs)
    assert sequence(rsps)[1:3] == [('GET', first), ('GET', second)]
    assert client.requests_sent == 4


def test_query_paging_loop_detected(rsps, fake_time):
    add_logon(rsps)
    second = BASE + 'query?type=Job&format=Entities&pageSize=2&page=2'
    rsps.add(responses.GET, BASE + 'query?type=Job&format=Entities', body=load('query_job_page1.xml'), status=200)
    rsps.add(responses.GET, second, body=load('query_job_page1.xml'), status=200)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(VeeamEmError, match='loop'):
            client.query('Job')


QUERY = BASE + 'query?type=Job&format=Entities&pageSize=1&page=%d'


def numbered_page(number, count, info=None, next_link=None):
    """Page ``number`` of ``count``, one job each, as EM answers with pageSize=1 (or with ``info`` as PagingInfo's attributes)."""
    attrs = info if info is not None else {'PageNum': str(number), 'PageSize': '1', 'PagesCount': str(count)}
    links = '<Link Href="%s" Rel="First"/>' % (QUERY % 1).replace('&', '&amp;')
    if next_link or number < count:
        links += '<Link Href="%s" Rel="Next"/>' % (next_link or QUERY % (number + 1)).replace('&', '&amp;')
    return ('<QueryResult xmlns="http://www.veeam.com/ent/v1.0"><Entities><Jobs><Job Type="Job" Name="job %d"/></Jobs></Entities>'
            '<PagingInfo %s><Links>%s</Links></PagingInfo></QueryResult>'
            % (number, ' '.join('%s="%s"' % item for item in sorted(attrs.items())), links)).encode('utf-8')


def page_number(request):
    return int(request.url.rsplit('page=', 1)[1]) if '&page=' in request.url else 1


def add_pages(rsps, answer):
    """Answer every query page through ``answer(number)`` -> (status, body)."""
    def callback(request):
        status, body = answer(page_number(request))
        return status, {'Content-Type': 'application/xml'}, body
    rsps.add_callback(responses.GET, re.compile(re.escape(BASE + 'query?') + '.*'), callback=callback)


def names(pages):
    return [[job.get('Name') for job in page] for page in pages]


def page_threads():
    return [t for t in threading.enumerate() if t.name.startswith('veeam_em-pages')]


def test_query_pages_by_number_two_in_flight_in_order(rsps, fake_time):
    add_logon(rsps)
    out, most = [], [0]
    lock = threading.Lock()
    page2_may_answer = threading.Event()

    def answer(number):
        with lock:
            out.append(number)
            most[0] = max(most[0], len(out))
        if number == 2:  # page 3 is asked for, and answered, before page 2 is
            assert page2_may_answer.wait(5)
        if number == 3:
            page2_may_answer.set()
        with lock:
            out.remove(number)
        return 200, numbered_page(number, 5)
    add_pages(rsps, answer)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        pages = list(client.query_pages('Job', page_size=1, in_flight=2))
        assert client.requests_sent == 6  # logon and five pages, as by the Next links
    assert names(pages) == [['job 1'], ['job 2'], ['job 3'], ['job 4'], ['job 5']]
    assert sorted(url for method, url in sequence(rsps) if method == 'GET') == [QUERY % n for n in range(1, 6)]
    assert most[0] == 2
    assert not page_threads()


def settled_calls(rsps, expected, timeout=10):
    """Whether the calls made reach ``expected`` and stay there a moment longer."""
    deadline = time.monotonic() + timeout
    while len(rsps.calls) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    return len(rsps.calls) == expected


def test_query_pages_hold_at_most_in_flight_pages_ahead(rsps, fake_time):
    add_logon(rsps)
    add_pages(rsps, lambda number: (200, numbered_page(number, 6)))
    add_logoff(rsps)
    with make_client(fake_time) as client:
        pages = client.query_pages('Job', page_size=1, in_flight=2)
        assert names([next(pages)]) == [['job 1']]
        assert settled_calls(rsps, 1 + 3)  # logon, page 1, and pages 2 and 3 asked for ahead, no more
        assert names([next(pages)]) == [['job 2']]
        assert settled_calls(rsps, 1 + 4)
        pages.close()  # the caller stops early: what is under way is waited for, nothing more is asked
        assert not page_threads()
    assert len([1 for method, url in sequence(rsps) if method == 'GET']) <= 5


def test_query_pages_error_on_page_3_of_5(rsps, fake_time):
    add_logon(rsps)
    error = b'<Error xmlns="http://www.veeam.com/ent/v1.0" Message="Query failed" StatusCode="404"/>'
    add_pages(rsps, lambda number: (404, error) if number == 3 else (200, numbered_page(number, 5)))
    add_logoff(rsps)
    got = []
    with make_client(fake_time) as client:
        with pytest.raises(ApiError, match='Query failed'):
            for page in client.query_pages('Job', page_size=1, in_flight=2):
                got.append(page)
        assert not page_threads()
    assert names(got) == [['job 1'], ['job 2']]
    assert sequence(rsps)[-1] == ('DELETE', LOGOFF)


@pytest.mark.parametrize('info', [
    {'PageNum': '1', 'PageSize': '1'},  # no count
    {'PageNum': '1', 'PageSize': '1', 'PagesCount': 'many'},
    {'PageNum': '1', 'PageSize': '2', 'PagesCount': '3'},  # not the size asked for
    {'PageNum': '2', 'PageSize': '1', 'PagesCount': '3'},
])
def test_query_pages_without_a_usable_count_follow_next_links(rsps, fake_time, info):
    add_logon(rsps)
    add_pages(rsps, lambda number: (200, numbered_page(number, 3, info=info if number == 1 else None)))
    add_logoff(rsps)
    with make_client(fake_time) as client:
        assert names(client.query_pages('Job', page_size=1)) == [['job 1'], ['job 2'], ['job 3']]
        assert client.requests_sent == 4
    assert [url for method, url in sequence(rsps) if method == 'GET'] == [QUERY % n for n in range(1, 4)]


def test_query_pages_follow_the_last_numbered_pages_next_link(rsps, fake_time):
    add_logon(rsps)  # two pages announced, a third one there by the time the second is read
    add_pages(rsps, lambda number: (200, numbered_page(number, 2 if number == 1 else 3)))
    add_logoff(rsps)
    with make_client(fake_time) as client:
        assert names(client.query_pages('Job', page_size=1)) == [['job 1'], ['job 2'], ['job 3']]
    assert [url for method, url in sequence(rsps) if method == 'GET'] == [QUERY % n for n in range(1, 4)]


@pytest.mark.parametrize('in_flight', [0, 2])
def test_query_pages_next_link_loop_guard(rsps, fake_time, in_flight):
    add_logon(rsps)
    add_pages(rsps, lambda number: (200, numbered_page(number, 3, next_link=QUERY % 2)))
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(VeeamEmError, match='loop'):
            list(client.query_pages('Job', in_flight=in_flight))
        assert not page_threads()


# ---- redirects, errors -----------------------------------------------------------

def test_redirect_not_followed(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.GET, JOB, status=302, headers={'Location': 'https://127.0.0.1:9398/api/jobs/x'})
    rsps.add(responses.GET, 'https://127.0.0.1:9398/api/jobs/x', body=load('job_entity.xml'))
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(ApiError) as exc:
            client.get(JOB)
    assert exc.value.status == 302
    assert 'not followed' in str(exc.value)
    assert all('127.0.0.1' not in url for _m, url in sequence(rsps))


@pytest.mark.parametrize('body,content_type,message', [
    (load('error_404.xml'), 'application/xml', 'Task with id [task-1] was not found.'),
    (b'<Error xmlns="http://www.veeam.com/ent/v1.0" Message="Job not found" StatusCode="404"/>', 'application/xml', 'Job not found'),
    (b'{"FirstChanceExceptionMessage":null,"Message":"Node [root] does not exist.","StackTrace":null,"Status":null,"StatusCode":400}',
     'application/json', 'Node [root] does not exist.'),
    (b'<html><body>Bad gateway</body></html>', 'text/html', 'Bad gateway'),
    (b'', 'text/plain', ''),
])
def test_error_bodies(rsps, fake_time, body, content_type, message):
    add_logon(rsps)
    rsps.add(responses.GET, JOB, body=body, status=404, content_type=content_type)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(ApiError) as exc:
            client.get(JOB)
    assert exc.value.status == 404
    assert message in exc.value.message
    assert exc.value.method == 'GET'
    assert exc.value.path == '/api/jobs/11111111-1111-1111-1111-111111111111'
    kwargs = exc.value.to_fail_kwargs()
    assert kwargs['status'] == 404 and kwargs['msg'] == str(exc.value)


def test_server_echo_of_secrets_is_redacted(rsps, fake_time):
    add_logon(rsps)
    echo = '<Error xmlns="http://www.veeam.com/ent/v1.0" Message="bad session %s for %s pw %s" StatusCode="400"/>' % (
        TOKEN, SESSION_ID, PASSWORD)
    rsps.add(responses.GET, JOB, body=echo.encode('utf-8'), status=400)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(ApiError) as exc:
            client.get(JOB)
    assert_no_secret(str(exc.value) + repr(exc.value.to_fail_kwargs()))
    assert '********' in str(exc.value)


def test_500_on_a_read_is_retried_within_max_retries(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.GET, JOB, body=load('error_500.xml'), status=500)
    add_logoff(rsps)
    with make_client(fake_time, max_retries=2, request_deadline=1000) as client:
        with pytest.raises(ApiError) as exc:
            client.get(JOB)
    assert exc.value.status == 500
    # 1 attempt + max_retries, each retry after a jittered pause
    assert [u for _m, u in sequence(rsps)].count(JOB) == 3
    assert len(fake_time.sleeps) == 2
    for attempt, delay in enumerate(fake_time.sleeps, 1):
        assert 0.5 <= delay <= min(30, 0.5 * 2 ** attempt)


def test_500_on_a_delete_of_a_job_is_not_resent(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.DELETE, JOB, body=load('error_500.xml'), status=500)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(ApiError) as exc:
            client.delete(JOB)
    assert exc.value.status == 500
    assert [u for m, u in sequence(rsps) if m == 'DELETE'].count(JOB) == 1
    assert fake_time.sleeps == []


def test_unsafe_xml_in_response(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.GET, JOB, body=load('attack_xxe_file.xml'), status=200)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(UnsafeXmlError):
            client.get(JOB)
    assert sequence(rsps)[-1] == ('DELETE', LOGOFF)


def test_compressed_response_refused(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.GET, JOB, body=b'\x1f\x8b\x08\x00' + b'\x00' * 40, status=200,
             headers={'Content-Encoding': 'gzip'})
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(TransportError, match='compressed'):
            client.get(JOB)
    assert [u for _m, u in sequence(rsps)].count(JOB) == 1


def test_oversize_response_refused(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.GET, JOB, body=b'<a>' + b'x' * 5000 + b'</a>', status=200)
    add_logoff(rsps)
    with make_client(fake_time, max_response_bytes=4096) as client:
        with pytest.raises(TransportError, match='too large'):
            client.get(JOB)
    assert [u for _m, u in sequence(rsps)].count(JOB) == 1


def test_oversize_without_content_length(rsps, fake_time):
    add_logon(rsps)

    rsps.add(responses.GET, JOB, body=io.BufferedReader(io.BytesIO(b'x' * 10240)), status=200)
    add_logoff(rsps)
    with make_client(fake_time, max_response_bytes=4096) as client:
        with pytest.raises(TransportError, match='too large'):
            client.get(JOB)


def test_overall_deadline(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.GET, JOB, body=load('job_entity.xml'), status=200)
    add_logoff(rsps)
    with make_client(fake_time, request_deadline=5) as client:
        orig = client._clock
        ticks = {'n': 0}

        def jumpy():
            ticks['n'] += 1
            return orig() + (100 if ticks['n'] > 2 else 0)

        client._clock = jumpy
        with pytest.raises(TransportError, match='within 5 s'):
            client.get(JOB)
        client._clock = orig
    assert [u for _m, u in sequence(rsps)].count(JOB) == 1


# ---- retries ---------------------------------------------------------------------

def test_connect_refused_twice_then_ok(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.GET, JOB, body=refused())
    rsps.add(responses.GET, JOB, body=refused())
    rsps.add(responses.GET, JOB, body=load('job_entity.xml'), status=200)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        assert client.get(JOB).get('Name') == 'SQL Backup'
    assert [u for _m, u in sequence(rsps)].count(JOB) == 3
    assert len(fake_time.sleeps) == 2
    assert 0.5 <= fake_time.sleeps[0] <= 1.0
    assert 0.5 <= fake_time.sleeps[1] <= 2.0


def test_logon_retried_on_refused_connection(rsps, fake_time):
    rsps.add(responses.POST, LOGON, body=refused())
    rsps.add(responses.POST, LOGON, body=refused())
    add_logon(rsps)
    add_logoff(rsps)
    with make_client(fake_time):
        pass
    assert [m for m, _u in sequence(rsps)] == ['POST', 'POST', 'POST', 'DELETE']
    assert len(fake_time.sleeps) == 2


def test_retries_exhausted_attempts_bounded(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.GET, JOB, body=refused())
    add_logoff(rsps)
    rng = RecordingRandom()
    with make_client(fake_time, max_retries=4, rng=rng, request_deadline=1000) as client:
        with pytest.raises(TransportError) as exc:
            client.get(JOB)
    assert [u for _m, u in sequence(rsps)].count(JOB) == 5
    assert rng.calls == [(0.5, 1.0), (0.5, 2.0), (0.5, 4.0), (0.5, 8.0)]
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert '5 attempt(s)' in str(exc.value)
    assert_no_secret(str(exc.value))


def test_backoff_cap(fake_time):
    rng = RecordingRandom()
    client = make_client(fake_time, rng=rng)
    assert client._backoff(10, None, fake_time.now + 1000)
    assert rng.calls == [(0.5, 30.0)]
    assert fake_time.sleeps == [30.0]


def test_full_jitter_real_random(rsps, fake_time):
    add_logon(rsps)
    for _i in range(4):
        rsps.add(responses.GET, JOB, status=503)
    rsps.add(responses.GET, JOB, body=load('job_entity.xml'), status=200)
    add_logoff(rsps)
    with make_client(fake_time, request_deadline=1000) as client:
        client.get(JOB)
    assert len(fake_time.sleeps) == 4
    for attempt, delay in enumerate(fake_time.sleeps, 1):
        assert 0.5 <= delay <= min(30, 0.5 * 2 ** attempt)


@pytest.mark.parametrize('status', [429, 500, 502, 503, 504])
def test_transient_status_retried_for_get(rsps, fake_time, status):
    add_logon(rsps)
    rsps.add(responses.GET, JOB, status=status)
    rsps.add(responses.GET, JOB, body=load('job_entity.xml'), status=200)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        client.get(JOB)
    assert [u for _m, u in sequence(rsps)].count(JOB) == 2
    assert len(fake_time.sleeps) == 1


def test_read_timeout_retried_for_get(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.GET, JOB, body=requests.exceptions.ReadTimeout('read timed out'))
    rsps.add(responses.GET, JOB, body=load('job_entity.xml'), status=200)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        client.get(JOB)
    assert [u for _m, u in sequence(rsps)].count(JOB) == 2


@pytest.mark.parametrize('header', ['2', 'date'])
def test_retry_after_honoured(rsps, fake_time, header):
    if header == 'date':
        header = email.utils.formatdate(time.time() + 5, usegmt=True)
        minimum = 3.5
    else:
        minimum = 2.0
    add_logon(rsps)
    rsps.add(responses.GET, JOB, status=503, headers={'Retry-After': header})
    rsps.add(responses.GET, JOB, body=load('job_entity.xml'), status=200)
    add_logoff(rsps)
    with make_client(fake_time, rng=RecordingRandom()) as client:
        client.get(JOB)
    assert len(fake_time.sleeps) == 1
    assert fake_time.sleeps[0] >= minimum


def test_huge_retry_after_fails_promptly(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.GET, JOB, status=429, headers={'Retry-After': '3600'})
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(ApiError) as exc:
            client.get(JOB)
    assert 'Retry-After: 3600' in str(exc.value)
    assert exc.value.status == 429
    assert fake_time.sleeps == []
    assert [u for _m, u in sequence(rsps)].count(JOB) == 1


def test_parse_retry_after():
    assert _client.parse_retry_after('7') == 7.0
    assert _client.parse_retry_after(None) is None
    assert _client.parse_retry_after('soon') is None
    assert _client.parse_retry_after(email.utils.formatdate(1000.0, usegmt=True), now=990.0) == pytest.approx(10.0)
    assert _client.parse_retry_after(email.utils.formatdate(1000.0, usegmt=True), now=2000.0) == 0.0


# ---- writes are never resent blindly ---------------------------------------------

def body_el():
    job = _xml.element('Job')
    _xml.sub(job, 'Description', 'x')
    return job


@pytest.mark.parametrize('status', [502, 503, 504])
def test_put_not_resent_after_gateway_error(rsps, fake_time, status):
    add_logon(rsps)
    rsps.add(responses.PUT, JOB + '?action=edit', status=status)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(AmbiguousWriteError) as exc:
            client.put(JOB, body_el(), params={'action': 'edit'})
    assert [m for m, _u in sequence(rsps)].count('PUT') == 1
    assert 'outcome is unknown' in str(exc.value)
    assert fake_time.sleeps == []


@pytest.mark.parametrize('error', [requests.exceptions.ReadTimeout('timed out'), reset_after_send()])
def test_put_not_resent_after_timeout_or_reset(rsps, fake_time, error):
    add_logon(rsps)
    rsps.add(responses.PUT, JOB + '?action=edit', body=error)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(AmbiguousWriteError):
            client.put(JOB, body_el(), params={'action': 'edit'})
    assert [m for m, _u in sequence(rsps)].count('PUT') == 1


def test_put_garbled_answer_is_ambiguous(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.PUT, JOB + '?action=edit', body=b'<Task><oops', status=202)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(AmbiguousWriteError):
            client.put(JOB, body_el(), params={'action': 'edit'})


def test_put_resent_when_connection_refused(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.PUT, JOB + '?action=edit', body=refused())
    rsps.add(responses.PUT, JOB + '?action=edit', body=load('task_running.xml'), status=202)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        task = client.put(JOB, body_el(), params={'action': 'edit'})
    assert task.tag == _xml.qname('Task')
    puts = [c for c in rsps.calls if c.request.method == 'PUT']
    assert len(puts) == 2
    for call in puts:
        assert call.request.headers['Content-Type'] == 'application/xml; charset=utf-8'
        assert call.request.headers['X-RestSvcSessionId'] == TOKEN
        assert _xml.canonical(_xml.parse(call.request.body)) == _xml.canonical(body_el())


def test_put_500_is_api_error_not_retried(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.PUT, JOB + '?action=edit', body=load('error_500.xml'), status=500)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(ApiError) as exc:
            client.put(JOB, body_el(), params={'action': 'edit'})
    assert not isinstance(exc.value, AmbiguousWriteError)
    assert [m for m, _u in sequence(rsps)].count('PUT') == 1


def test_post_without_body_and_delete_task(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.POST, JOB + '?action=start', body=load('task_running.xml'), status=202)
    rsps.add(responses.DELETE, BASE + 'tasks/task-1', status=204)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        task = client.post(JOB, params={'action': 'start'})
        assert _xml.findtext(task, 'TaskId') == 'task-1'
        assert client.delete(task.get('Href')) is None
    post = [c for c in rsps.calls if c.request.method == 'POST'][-1]
    assert 'Content-Type' not in post.request.headers


# ---- 401 after logon ----------------------------------------------------------------

def test_401_relogon_once(rsps, fake_time):
    token2 = 'sid-CANARY-second-token=='
    rsps.add(responses.POST, LOGON, body=load('logon.xml'), status=201, headers={'X-RestSvcSessionId': TOKEN})
    rsps.add(responses.POST, LOGON, body=load('logon.xml'), status=201, headers={'X-RestSvcSessionId': token2})
    rsps.add(responses.GET, JOB, body=load('error_401.xml'), status=401)
    rsps.add(responses.GET, JOB, body=load('job_entity.xml'), status=200)
    rsps.add(responses.GET, JOB + '?format=Entity', body=load('error_401.xml'), status=401)
    add_logoff(rsps)
    no_log = set()
    with make_client(fake_time, no_log_values=no_log) as client:
        client.get(JOB)
        with pytest.raises(ApiError) as exc:
            client.get(JOB + '?format=Entity')
        assert exc.value.status == 401
    assert [m for m, _u in sequence(rsps)] == ['POST', 'GET', 'POST', 'GET', 'GET', 'DELETE']
    gets = [c for c in rsps.calls if c.request.url == JOB]
    assert gets[0].request.headers['X-RestSvcSessionId'] == TOKEN
    assert gets[1].request.headers['X-RestSvcSessionId'] == token2
    assert rsps.calls[-1].request.headers['X-RestSvcSessionId'] == token2
    assert token2 in no_log


def test_401_on_put_relogon_and_single_resend(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.PUT, JOB + '?action=edit', body=load('error_401.xml'), status=401)
    rsps.add(responses.PUT, JOB + '?action=edit', body=load('task_running.xml'), status=202)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        client.put(JOB, body_el(), params={'action': 'edit'})
    assert [m for m, _u in sequence(rsps)] == ['POST', 'PUT', 'POST', 'PUT', 'DELETE']


def test_relogon_failure_is_authentication_error(rsps, fake_time):
    rsps.add(responses.POST, LOGON, body=load('logon.xml'), status=201, headers={'X-RestSvcSessionId': TOKEN})
    rsps.add(responses.POST, LOGON, body=load('error_401.xml'), status=401)
    rsps.add(responses.GET, JOB, body=load('error_401.xml'), status=401)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(AuthenticationError):
            client.get(JOB)
    assert [m for m, _u in sequence(rsps)].count('POST') == 2
    assert ('GET', BASE) not in sequence(rsps)


# ---- real sockets: slow drip, hang, big body, redirect --------------------------------

class _Server:
    """A tiny TCP server on 127.0.0.1 whose handler writes raw HTTP."""

    def __init__(self, handler):
        import socket
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve)
        self.thread.daemon = True
        self.thread.start()

    def _serve(self):
        import socket
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            try:
                conn.settimeout(5)
                conn.recv(65536)
                self.handler(conn, self.stop)
            except OSError:
                pass
            finally:
                conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()
        self.thread.join(2)


def _drip(conn, stop):
    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\n\r\n')
    while not stop.is_set():
        conn.sendall(b' ')
        time.sleep(0.1)


def _hang(conn, stop):
    stop.wait(10)


def _big(conn, stop):
    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n\r\n')
    chunk = b'x' * 65536
    try:
        for _i in range(800):  # 50 MiB, no Content-Length
            if stop.is_set():
                return
            conn.sendall(chunk)
    except OSError:
        pass


@pytest.mark.parametrize('handler,error', [(_drip, TransportError), (_hang, TransportError), (_big, TransportError)])
def test_real_socket_bounded(handler, error):
    server = _Server(handler)
    try:
        client = _client.EmClient('http://127.0.0.1:%d' % server.port, USER, PASSWORD, request_timeout=0.5,
                                  request_deadline=1.5, max_retries=4)
        start = time.monotonic()
        with pytest.raises(error) as exc:
            client.get('jobs')
        elapsed = time.monotonic() - start
        assert elapsed < 1.5 + 1.0
        assert_no_secret(str(exc.value))
    finally:
        server.close()


def test_real_socket_redirect_to_other_host_not_followed():
    other = _Server(_hang)

    def redirect(conn, stop):
        conn.sendall(('HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/api/jobs\r\nContent-Length: 0\r\n\r\n'
                      % other.port).encode('ascii'))

    server = _Server(redirect)
    try:
        client = _client.EmClient('http://localhost:%d' % server.port, USER, PASSWORD, request_timeout=2)
        with pytest.raises(ApiError) as exc:
            client.get('jobs')
        assert exc.value.status == 302
        time.sleep(0.3)
        assert other.connections == 0
    finally:
        server.close()
        other.close()


def test_real_socket_refused_is_retried_with_backoff(fake_time):
    import socket
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    client = _client.EmClient('http://127.0.0.1:%d' % port, USER, PASSWORD, request_timeout=2, max_retries=2,
                              sleep=fake_time.sleep)
    with pytest.raises(TransportError, match='could not connect'):
        client.get('jobs')
    assert client.requests_sent == 3
    assert len(fake_time.sleeps) == 2


def test_delete_job_is_a_write(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.DELETE, JOB, status=502)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        with pytest.raises(AmbiguousWriteError):
            client.delete(JOB)
    assert [u for _m, u in sequence(rsps)].count(JOB) == 1


def test_delete_task_is_retried(rsps, fake_time):
    add_logon(rsps)
    rsps.add(responses.DELETE, BASE + 'tasks/task-1', status=503)
    rsps.add(responses.DELETE, BASE + 'tasks/task-1', status=204)
    add_logoff(rsps)
    with make_client(fake_time) as client:
        assert client.delete('tasks/task-1') is None
    assert [u for _m, u in sequence(rsps)].count(BASE + 'tasks/task-1') == 2
