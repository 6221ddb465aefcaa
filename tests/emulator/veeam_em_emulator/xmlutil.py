"""Small XML helpers: namespace handling, element building, safe parsing, value formats."""

from __future__ import annotations

import copy
import re

from lxml import etree

NS = "http://www.veeam.com/ent/v1.0"
NSMAP = {None: NS}


def qn(local: str) -> str:
    """Qualified (Clark notation) name in the EM namespace."""
    return "{%s}%s" % (NS, local)


def local(el) -> str:
    """Local name of an element ('' for comments and other non-elements)."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def in_ns(el) -> bool:
    return isinstance(el.tag, str) and el.tag.startswith("{%s}" % NS)


def E(name: str, *children, text=None, attrs=None, root=False):
    """Build an element in the EM namespace.

    ``children`` may contain elements or ``None`` (skipped).  ``attrs`` is an
    ordered list/dict of attributes, kept in the given order.
    """
    el = etree.Element(qn(name), nsmap=NSMAP) if root else etree.Element(qn(name))
    if attrs:
        items = attrs.items() if isinstance(attrs, dict) else attrs
        for k, v in items:
            if v is not None:
                el.set(k, str(v))
    if text is not None:
        el.text = str(text)
    for c in children:
        if c is None:
            continue
        if isinstance(c, (list, tuple)):
            for cc in c:
                if cc is not None:
                    el.append(cc)
        else:
            el.append(c)
    return el


def SE(parent, name: str, text=None, attrs=None):
    """Append a new child element and return it."""
    el = E(name, text=text, attrs=attrs)
    parent.append(el)
    return el


def with_nsmap(el):
    """Return a copy of ``el`` whose root declares the default namespace."""
    new = etree.Element(el.tag, nsmap=NSMAP)
    for k, v in el.attrib.items():
        new.set(k, v)
    new.text = el.text
    for c in el:
        new.append(copy.deepcopy(c))
    return new


def to_bytes(el) -> bytes:
    if el.nsmap.get(None) != NS:
        el = with_nsmap(el)
    return etree.tostring(el, xml_declaration=True, encoding="utf-8")


class XMLBodyError(ValueError):
    """Request body is not acceptable XML."""


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True,
                           remove_pis=True, collect_ids=False)


def parse_xml(data: bytes):
    """Parse untrusted XML; reject DOCTYPEs and anything that is not well-formed."""
    if not data or not data.strip():
        raise XMLBodyError("The request body is empty")
    if re.search(rb"<!DOCTYPE", data[:4096], re.I) or re.search(rb"<!ENTITY", data, re.I):
        raise XMLBodyError("DTDs are not allowed in request bodies")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise XMLBodyError("The request body is not well-formed XML: %s" % exc) from None
    if root.getroottree().docinfo.doctype:
        raise XMLBodyError("DTDs are not allowed in request bodies")
    return root


def error_element(status: int, message: str, status_name: str | None = None):
    attrs = [("Message", message), ("StatusCode", str(status))]
    if status_name:
        attrs.append(("Status", status_name))
    return E("Error", attrs=attrs, root=True)


def fmt_bool(v: bool) -> str:
    return "true" if v else "false"


def fmt_dt(dt) -> str:
    """UTC dateTime as .NET prints it: fraction trimmed, 'Z' suffix."""
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        s += ("." + "%06d" % dt.microsecond).rstrip("0")
    return s + "Z"


def c14n(el) -> bytes:
    return etree.tostring(el, method="c14n2")
