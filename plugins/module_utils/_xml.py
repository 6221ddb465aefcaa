# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file is internal to the veeam_em.core collection. It is not a public API
# and may change in any release without notice.

"""Hardened XML parsing, namespace-aware helpers, builders and scalar codecs.

Every document that comes from EM goes through :func:`parse`. XML is built
with lxml element builders only, never with string formatting.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re
import threading
import traceback

try:
    from lxml import etree
    HAS_LXML = True
    LXML_IMPORT_ERROR = None
except ImportError:
    etree = None
    HAS_LXML = False
    LXML_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.veeam_em.core.plugins.module_utils._errors import (
    DecodeError,
    UnsafeXmlError,
    VeeamEmError,
)

NS = 'http://www.veeam.com/ent/v1.0'
NSMAP = {None: NS}

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 200
# libxml2's own cap on one text node without XML_PARSE_HUGE. Older libxml2 builds (Debian 12's 2.9.14,
# under its lxml 4.9.2) do not enforce it, so the tree walk enforces it on every version alike.
MAX_TEXT = 10000000

_XINCLUDE_NAMESPACES = ('http://www.w3.org/2001/XInclude', 'http://www.w3.org/2003/XInclude')
# Markup declarations are never legitimate in an EM answer; refuse them before libxml2 sees them.
_DECLARATION_RE = re.compile(br'<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)', re.IGNORECASE)
_UTF8_BOM = b'\xef\xbb\xbf'


def _make_parser():
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
        remove_blank_text=True,
        remove_comments=True,
        remove_pis=True,
    )


PARSER = _make_parser() if HAS_LXML else None
_LOCAL = threading.local()


def _require_lxml():
    if not HAS_LXML:
        raise VeeamEmError('the Python library lxml is required but could not be imported')


def _parser():
    """The module parser in the main thread, a private copy in any other (lxml parsers are not shared)."""
    if threading.current_thread() is threading.main_thread():
        return PARSER
    parser = getattr(_LOCAL, 'parser', None)
    if parser is None:
        parser = _make_parser()
        _LOCAL.parser = parser
    return parser


def qname(tag):
    """'Job' -> '{http://www.veeam.com/ent/v1.0}Job'; already qualified names are returned unchanged."""
    if tag.startswith('{'):
        return tag
    return '{%s}%s' % (NS, tag)


def localname(tag):
    """'{ns}Job' -> 'Job'."""
    if not isinstance(tag, str):
        return ''
    if tag.startswith('{'):
        return tag.split('}', 1)[1]
    return tag


def _safe_excerpt(text, limit=120):
    text = ' '.join(str(text).split())
    text = ''.join(c if c.isprintable() else '?' for c in text)
    if len(text) > limit:
        text = text[:limit] + '...'
    return text


def parse(data, max_bytes=MAX_BYTES, max_depth=MAX_DEPTH):
    """Parse an EM XML document with the hardened parser and return its root element.

    Raises UnsafeXmlError for a document that carries a DOCTYPE or any markup
    declaration, an entity, XInclude, more than ``max_bytes`` bytes, nesting
    deeper than ``max_depth``, a non UTF-8 encoding, or malformed XML.
    """
    _require_lxml()
    if isinstance(data, str):
        data = data.encode('utf-8')
    elif isinstance(data, bytearray):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise UnsafeXmlError('XML input must be bytes, got %s' % type(data).__name__)
    if len(data) > max_bytes:
        raise UnsafeXmlError('unsafe XML: document too large (%d bytes, limit %d)' % (len(data), max_bytes))
    if not data.strip():
        raise UnsafeXmlError('malformed XML: empty document')
    if b'\x00' in data:
        # UTF-16/32 would hide declarations from the scan below; EM speaks UTF-8.
        raise UnsafeXmlError('unsafe XML: only UTF-8 documents are accepted')
    if _DECLARATION_RE.search(data):
        raise UnsafeXmlError('unsafe XML: DOCTYPE or entity declarations are not allowed')
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXmlError('malformed XML: %s' % _safe_excerpt(exc.msg if getattr(exc, 'msg', None) else exc))
    except ValueError as exc:
        raise UnsafeXmlError('malformed XML: %s' % _safe_excerpt(exc))
    if root is None:
        raise UnsafeXmlError('malformed XML: no root element')
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXmlError('unsafe XML: DOCTYPE is not allowed')
    # A text node can hold no more characters than the document has bytes: most answers skip that check.
    _check_tree(root, max_depth, check_text=len(data) > MAX_TEXT)
    return root


def reparse(data):
    """Parse bytes this collection serialised itself from a document that parse() accepted.

    Still the hardened parser, without the checks parse() already made on the original.
    """
    _require_lxml()
    return etree.fromstring(data, parser=_parser())


_DEPTH_PROBES = {}


def _check_tree(root, max_depth, check_text=True):
    """Refuse entity references, XInclude and nesting deeper than ``max_depth``; with ``check_text`` also
    any text or attribute value longer than MAX_TEXT.

    Without ``check_text`` every check runs inside lxml (tag filters and one XPath), so a page of
    thousands of jobs is checked at C speed; the text check needs the walk over every node.
    """
    if check_text:
        _walk_tree(root, max_depth)
        return
    for _entity in root.iter(etree.Entity):
        raise UnsafeXmlError('unsafe XML: entity references are not allowed')
    for _el in root.iter(*('{%s}*' % ns for ns in _XINCLUDE_NAMESPACES)):
        raise UnsafeXmlError('unsafe XML: XInclude is not allowed')
    probe = _DEPTH_PROBES.get(max_depth)
    if probe is None:
        # an element at depth max_depth + 1 (the root is at depth 1); comments and PIs are removed by the parser
        probe = _DEPTH_PROBES[max_depth] = etree.XPath('boolean(%s)' % ('/*' * (max_depth + 1)))
    if probe(root):
        raise UnsafeXmlError('unsafe XML: nesting deeper than %d levels' % max_depth)


def _walk_tree(root, max_depth):
    stack = [(root, 1)]
    while stack:
        el, depth = stack.pop()
        if depth > max_depth:
            raise UnsafeXmlError('unsafe XML: nesting deeper than %d levels' % max_depth)
        if isinstance(el, etree._Entity):  # pylint: disable=protected-access
            raise UnsafeXmlError('unsafe XML: entity references are not allowed')
        for text in [el.text, el.tail] + el.values():
            if text is not None and len(text) > MAX_TEXT:
                raise UnsafeXmlError('unsafe XML: a text or attribute value longer than %d characters' % MAX_TEXT)
        tag = el.tag
        if isinstance(tag, str) and tag.startswith('{'):
            if tag[1:].split('}', 1)[0] in _XINCLUDE_NAMESPACES:
                raise UnsafeXmlError('unsafe XML: XInclude is not allowed')
        for child in el:
            stack.append((child, depth + 1))


_PATHS = {}


def _path(path):
    """Qualify every step of a slash path of local names; predicates in [] are kept as they are.

    The paths come from the code, so there are few of them: each is worked out once (a bulk run reads the same
    paths of hundreds of records).
    """
    qualified = _PATHS.get(path)
    if qualified is None:
        if len(_PATHS) > 4096:
            _PATHS.clear()
        qualified = _PATHS[path] = _qualify(path)
    return qualified


def _qualify(path):
    steps = []
    current = []
    bracket = 0
    for ch in path:
        if ch == '[':
            bracket += 1
        elif ch == ']':
            bracket -= 1
        if ch == '/' and bracket == 0:
            steps.append(''.join(current))
            current = []
        else:
            current.append(ch)
    steps.append(''.join(current))
    out = []
    for step in steps:
        name, sep, pred = step.partition('[')
        if name in ('', '.', '..', '*') or name.startswith('{'):
            out.append(step)
        else:
            out.append(qname(name) + sep + pred)
    return '/'.join(out)


def find(el, path):
    """First element matching a slash path of local names (e.g. 'Links/Link[@Rel="Delete"]'), or None."""
    if el is None:
        return None
    return el.find(_path(path))


def findall(el, path):
    """All elements matching a slash path of local names."""
    if el is None:
        return []
    return el.findall(_path(path))


def findtext(el, path, default=None):
    """Text of the first match, '' for an empty element, ``default`` when there is no match."""
    found = find(el, path)
    if found is None:
        return default
    return found.text if found.text is not None else ''


def _text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return format_bool(value)
    return str(value)


def element(tag, text=None, attrib=None):
    """A new element in the EM namespace (default namespace)."""
    _require_lxml()
    el = etree.Element(qname(tag), nsmap=NSMAP)
    if attrib:
        for key, value in attrib.items():
            el.set(key, _text(value))
    if text is not None:
        el.text = _text(text)
    return el


def sub(parent, tag, text=None, attrib=None):
    """A new child element of ``parent`` in the EM namespace."""
    _require_lxml()
    el = etree.SubElement(parent, qname(tag))
    if attrib:
        for key, value in attrib.items():
            el.set(key, _text(value))
    if text is not None:
        el.text = _text(text)
    return el


def to_bytes(el):
    """Serialise to UTF-8 bytes with an XML declaration."""
    _require_lxml()
    return etree.tostring(el, encoding='utf-8', xml_declaration=True)


def canonical(el):
    """Canonical XML 2.0 (C14N2) bytes, for byte-wise comparisons."""
    _require_lxml()
    return etree.tostring(el, method='c14n2')


# ---- scalar codecs -------------------------------------------------------

_TRUE = ('true', '1')
_FALSE = ('false', '0')


def parse_bool(text):
    """'true' / 'True' / '1' -> True, 'false' / 'False' / '0' -> False, None -> None."""
    if text is None:
        return None
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise DecodeError('not a boolean: %r' % _safe_excerpt(text, 40))


def format_bool(value):
    """True -> 'true', False -> 'false'."""
    return 'true' if value else 'false'


def parse_int(text):
    """'10' -> 10, None -> None."""
    if text is None:
        return None
    if isinstance(text, bool):
        raise DecodeError('not an integer: %r' % text)
    if isinstance(text, int):
        return text
    value = str(text).strip()
    if not re.match(r'^[+-]?[0-9]+$', value):
        raise DecodeError('not an integer: %r' % _safe_excerpt(text, 40))
    return int(value)


_TIME_RE = re.compile(r'^([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}:[0-9]{2})?$')
_HHMM_RE = re.compile(r'^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$')
_OFFSET_RE = re.compile(r'^(?:Z|[+-](?:0[0-9]|1[0-4]):[0-5][0-9])$')


def parse_time(text):
    """xs:time -> (wall clock, offset): '22:00:00.0000000+01:00' -> ('22:00', '+01:00').

    The wall clock is 'HH:MM', or 'HH:MM:SS' when the seconds are not zero.
    The offset is '' when the value has none.
    """
    if text is None:
        return None
    value = str(text).strip()
    match = _TIME_RE.match(value)
    if not match:
        raise DecodeError('not an xs:time value: %r' % _safe_excerpt(text, 40))
    hours, minutes, seconds, _fraction, offset = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or (seconds is not None and int(seconds) > 59):
        raise DecodeError('time out of range: %r' % value)
    if offset and offset != 'Z' and not _OFFSET_RE.match(offset):
        raise DecodeError('bad time zone offset: %r' % value)
    wall = '%s:%s' % (hours, minutes)
    if seconds is not None and int(seconds) != 0:
        wall = '%s:%s' % (wall, seconds)
    return wall, offset or ''


def format_time(wall, offset=''):
    """('22:00', '+01:00') -> '22:00:00.0000000+01:00'; an empty offset adds no suffix."""
    match = _HHMM_RE.match(str(wall).strip())
    if not match:
        raise DecodeError('not a time of day (HH:MM): %r' % _safe_excerpt(wall, 40))
    hours, minutes, seconds = match.groups()
    hours_i, minutes_i, seconds_i = int(hours), int(minutes), int(seconds or 0)
    if hours_i > 23 or minutes_i > 59 or seconds_i > 59:
        raise DecodeError('time of day out of range: %r' % wall)
    offset = offset or ''
    if offset and not _OFFSET_RE.match(offset):
        raise DecodeError('bad time zone offset: %r' % _safe_excerpt(offset, 40))
    return '%02d:%02d:%02d.0000000%s' % (hours_i, minutes_i, seconds_i, offset)
