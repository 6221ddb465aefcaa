# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import time

import pytest
from lxml import etree

from ansible_collections.veeam_em.core.plugins.module_utils import _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import DecodeError, UnsafeXmlError

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'xml')


def load(name):
    with open(os.path.join(FIXTURES, name), 'rb') as f:
        return f.read()


def test_parse_and_find_helpers():
    root = _xml.parse(load('logon.xml'))
    assert root.tag == _xml.qname('LogonSession')
    assert _xml.findtext(root, 'SessionId') == '7686d89e-26fd-48e6-963c-c9dbce802981'
    assert _xml.findtext(root, 'Missing') is None
    assert _xml.findtext(root, 'Missing', default='x') == 'x'
    links = _xml.findall(root, 'Links/Link')
    assert len(links) == 6
    delete = _xml.find(root, 'Links/Link[@Rel="Delete"]')
    assert delete.get('Href').endswith('/logonSessions/7686d89e-26fd-48e6-963c-c9dbce802981')
    href_pred = _xml.find(root, 'Links/Link[@Href="https://em01.example.com:9398/api/tasks"]')
    assert href_pred.get('Type') == 'TaskList'


def test_query_href_entities_are_decoded():
    root = _xml.parse(load('query_job_page1.xml'))
    nxt = _xml.find(root, 'PagingInfo/Links/Link[@Rel="Next"]')
    assert nxt.get('Href') == 'https://em01.example.com:9398/api/query?type=Job&format=Entities&pageSize=2&page=2'


def test_blank_text_and_comments_removed():
    root = _xml.parse(b'<a xmlns="http://www.veeam.com/ent/v1.0">\n  <!-- c -->\n  <b>1</b>\n  <?pi x?>\n</a>')
    assert [_xml.localname(c.tag) for c in root] == ['b']
    assert root.text is None


def test_utf8_bom_accepted():
    root = _xml.parse(b'\xef\xbb\xbf<a xmlns="http://www.veeam.com/ent/v1.0"><b>\xc3\xa9</b></a>')
    assert _xml.findtext(root, 'b') == u'\xe9'


@pytest.mark.parametrize('name', [
    'attack_xxe_file.xml',
    'attack_xxe_http.xml',
    'attack_external_dtd.xml',
    'attack_billion_laughs.xml',
    'attack_xinclude.xml',
    'attack_undeclared_entity.xml',
])
def test_attacks_refused(name):
    start = time.process_time()
    with pytest.raises(UnsafeXmlError) as exc:
        _xml.parse(load(name))
    assert time.process_time() - start < 2
    text = str(exc.value)
    assert 'etc/hostname' not in text
    assert '127.0.0.1' not in text


def test_doctype_refused_even_if_scan_bypassed(monkeypatch):
    # the tree check must catch what the byte scan would miss
    monkeypatch.setattr(_xml, '_DECLARATION_RE', type('R', (), {'search': staticmethod(lambda data: None)})())
    with pytest.raises(UnsafeXmlError, match='DOCTYPE|entity|malformed'):
        _xml.parse(load('attack_xxe_file.xml'))
    with pytest.raises(UnsafeXmlError):
        _xml.parse(load('attack_billion_laughs.xml'))


def test_quadratic_blowup_refused():
    data = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "' + b'A' * 50000 + b'">]><a>' + b'&x;' * 50000 + b'</a>'
    start = time.process_time()
    with pytest.raises(UnsafeXmlError):
        _xml.parse(data)
    assert time.process_time() - start < 2


def test_utf16_refused():
    data = u'<?xml version="1.0" encoding="utf-16"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'.encode('utf-16')
    with pytest.raises(UnsafeXmlError):
        _xml.parse(data)


@pytest.mark.parametrize('depth', [201, 300, 5000])
def test_deep_nesting_refused(depth):
    data = b'<a>' * depth + b'</a>' * depth
    start = time.process_time()
    with pytest.raises(UnsafeXmlError):
        _xml.parse(data)
    assert time.process_time() - start < 2


def test_nesting_at_limit_accepted():
    data = b'<a>' * 200 + b'</a>' * 200
    assert _xml.parse(data) is not None


@pytest.mark.parametrize('where', ['text', 'tail', 'attribute'])
def test_text_longer_than_libxml2_cap_refused(where):
    """15 MiB in one node: refused whatever libxml2 enforces itself (Debian 12's 2.9.14 does not)."""
    big = 'y' * (15 * 1024 * 1024)
    doc = {'text': '<a><b>%s</b></a>', 'tail': '<a><b/>%s</a>', 'attribute': '<a><b c="%s"/></a>'}[where] % big
    start = time.process_time()  # CPU, not wall: a loaded machine stretches the wall clock, not the work
    with pytest.raises(UnsafeXmlError, match='(?i)longer than|limit|too long'):
        _xml.parse(doc.encode())
    assert time.process_time() - start < 2  # refused from one pass over the node, not after building on it


@pytest.mark.parametrize('where', ['text', 'tail', 'attribute'])
def test_tree_walk_enforces_the_text_cap_itself(where):
    """The walk's own check, on a tree built in memory, so no libxml2 limit is involved."""
    root = etree.Element('a')
    child = etree.SubElement(root, 'b')
    big = 'y' * (_xml.MAX_TEXT + 1)
    if where == 'attribute':
        child.set('c', big)
    else:
        setattr(child, where, big)
    _xml._check_tree(root, 200, check_text=False)  # pylint: disable=protected-access
    with pytest.raises(UnsafeXmlError, match='longer than 10000000'):
        _xml._check_tree(root, 200)  # pylint: disable=protected-access


def test_oversize_refused_without_parsing():
    data = b'<a>' + b'x' * (16 * 1024 * 1024) + b'</a>'
    start = time.process_time()
    with pytest.raises(UnsafeXmlError, match='too large'):
        _xml.parse(data)
    assert time.process_time() - start < 2
    with pytest.raises(UnsafeXmlError, match='too large'):
        _xml.parse(b'<a>123456</a>', max_bytes=5)


@pytest.mark.parametrize('data', [b'', b'   ', b'<a>', b'not xml', b'{"Message": "x"}', b'<a></b>'])
def test_malformed_refused(data):
    with pytest.raises(UnsafeXmlError) as exc:
        _xml.parse(data)
    assert isinstance(exc.value, ValueError)
    assert len(str(exc.value)) < 300


def test_malformed_message_is_short():
    data = b'<a>' + b'secret-content ' * 1000 + b'</b>'
    with pytest.raises(UnsafeXmlError) as exc:
        _xml.parse(data)
    assert 'secret-content secret-content' not in str(exc.value)


def test_builders_and_serialisation():
    job = _xml.element('Job', attrib={'Name': 'SQL "Backup" <1>'})
    _xml.sub(job, 'Description', u'caf\xe9 & <b>')
    _xml.sub(job, 'ScheduleEnabled', True)
    _xml.sub(job, 'RetryTimes', 3)
    _xml.sub(job, 'Empty')
    data = _xml.to_bytes(job)
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert b'xmlns="http://www.veeam.com/ent/v1.0"' in data
    assert b'ns0' not in data
    back = _xml.parse(data)
    assert back.get('Name') == 'SQL "Backup" <1>'
    assert _xml.findtext(back, 'Description') == u'caf\xe9 & <b>'
    assert _xml.findtext(back, 'ScheduleEnabled') == 'true'
    assert _xml.findtext(back, 'RetryTimes') == '3'
    assert _xml.findtext(back, 'Empty') == ''
    assert _xml.canonical(job) == _xml.canonical(back)


def test_canonical_ignores_attribute_order_and_prefixes():
    a = _xml.parse(b'<Job xmlns="http://www.veeam.com/ent/v1.0" A="1" B="2"><X>1</X></Job>')
    b = _xml.parse(b'<Job B="2" A="1" xmlns="http://www.veeam.com/ent/v1.0"><X>1</X></Job>')
    assert _xml.canonical(a) == _xml.canonical(b)


@pytest.mark.parametrize('text,expected', [
    ('true', True), ('True', True), ('TRUE', True), ('1', True), (' true ', True),
    ('false', False), ('False', False), ('0', False), (None, None),
])
def test_parse_bool(text, expected):
    assert _xml.parse_bool(text) is expected


@pytest.mark.parametrize('text', ['yes', '', '2', 'tru'])
def test_parse_bool_invalid(text):
    with pytest.raises(DecodeError):
        _xml.parse_bool(text)


def test_format_bool():
    assert _xml.format_bool(True) == 'true'
    assert _xml.format_bool(False) == 'false'


@pytest.mark.parametrize('text,expected', [('10', 10), (' 7 ', 7), ('-3', -3), (None, None), (5, 5)])
def test_parse_int(text, expected):
    assert _xml.parse_int(text) == expected


@pytest.mark.parametrize('text', ['1.5', 'ten', '', True])
def test_parse_int_invalid(text):
    with pytest.raises(DecodeError):
        _xml.parse_int(text)


@pytest.mark.parametrize('text,expected', [
    ('22:00:00.0000000+01:00', ('22:00', '+01:00')),
    ('22:00:00', ('22:00', '')),
    ('08:30:00.0000000-05:00', ('08:30', '-05:00')),
    ('00:00:00Z', ('00:00', 'Z')),
    ('10:15:30.5+00:00', ('10:15:30', '+00:00')),
    ('10:15', ('10:15', '')),
])
def test_parse_time(text, expected):
    assert _xml.parse_time(text) == expected


@pytest.mark.parametrize('text', ['25:00:00', '10:60:00', '1000', '10:00:00+1:00', 'noon'])
def test_parse_time_invalid(text):
    with pytest.raises(DecodeError):
        _xml.parse_time(text)


@pytest.mark.parametrize('wall,offset,expected', [
    ('22:00', '+01:00', '22:00:00.0000000+01:00'),
    ('22:00', '', '22:00:00.0000000'),
    ('7:05', None, '07:05:00.0000000'),
    ('10:15:30', 'Z', '10:15:30.0000000Z'),
])
def test_format_time(wall, offset, expected):
    assert _xml.format_time(wall, offset) == expected


@pytest.mark.parametrize('wall,offset', [('24:00', ''), ('10:61', ''), ('ten', ''), ('10:00', '+1'), ('10:00', '+15:00')])
def test_format_time_invalid(wall, offset):
    with pytest.raises(DecodeError):
        _xml.format_time(wall, offset)


def test_time_round_trip():
    for text in ('22:00:00.0000000+01:00', '06:45:00.0000000', '23:59:00.0000000-11:30'):
        assert _xml.format_time(*_xml.parse_time(text)) == text


def test_parser_in_thread_is_private():
    import threading
    results = []

    def work():
        results.append(_xml._parser() is _xml.PARSER)
        results.append(_xml.findtext(_xml.parse(load('logon.xml')), 'UserName'))

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert results == [False, 'EM01\\Administrator']
    assert _xml._parser() is _xml.PARSER


@pytest.mark.parametrize('bad', ['entity', 'xinclude', 'depth'])
def test_fast_tree_check_refuses_what_the_walk_refuses(bad):
    """The check made inside lxml (every answer under MAX_TEXT bytes) refuses the same trees as the walk."""
    root = etree.Element('a')
    if bad == 'entity':
        etree.SubElement(root, 'b').append(etree.Entity('x'))
    elif bad == 'xinclude':
        etree.SubElement(etree.SubElement(root, 'b'), '{http://www.w3.org/2001/XInclude}include')
    else:
        el = root
        for _i in range(200):  # the root is level 1: 201 levels
            el = etree.SubElement(el, 'c')
    for check_text in (False, True):
        with pytest.raises(UnsafeXmlError):
            _xml._check_tree(root, 200, check_text=check_text)  # pylint: disable=protected-access
    if bad == 'depth':
        el.getparent().remove(el)  # 200 levels: accepted
        _xml._check_tree(root, 200, check_text=False)  # pylint: disable=protected-access
