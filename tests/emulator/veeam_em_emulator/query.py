"""Query-service filter grammar: parser and evaluator.

Grammar (``filter`` parameter, already percent-decoded, ``+`` read as space)::

    or_expr   := and_expr ( ',' and_expr )*        ',' = OR
    and_expr  := primary ( ';' primary )*          ';' = AND (binds tighter than OR)
    primary   := '(' or_expr ')' | comparison
    comparison:= FIELD OP VALUE                    OP in == != <= >= < >
    VALUE     := '"' ( any char | '""' )* '"'  |  unquoted text up to ; , ) (spaces dropped)

Field names are case-insensitive.  String comparisons are case-insensitive;
enum fields compare by their declared index; booleans, ints and dates compare
by value.  Errors raise :class:`QueryError` (the server answers 400).
"""

from __future__ import annotations

from datetime import datetime, timezone


class QueryError(ValueError):
    pass


OPS = ("==", "!=", "<=", ">=", "<", ">")


class Field:
    """A filterable/sortable field: getter(item) -> python value, kind and enum order."""

    def __init__(self, name, getter, kind="string", enum=()):
        self.name = name
        self.getter = getter
        self.kind = kind
        self.enum = tuple(enum)

    def convert(self, raw: str):
        if self.kind == "string":
            return raw.casefold()
        if self.kind == "enum":
            low = [e.casefold() for e in self.enum]
            if raw.casefold() in low:
                return low.index(raw.casefold())
            return None  # unknown enum value: matches nothing (except !=)
        if self.kind == "bool":
            v = raw.casefold()
            if v in ("true", "1"):
                return True
            if v in ("false", "0"):
                return False
            raise QueryError("Cannot convert '%s' to Boolean for field %s" % (raw, self.name))
        if self.kind == "int":
            try:
                return int(raw)
            except ValueError:
                raise QueryError("Cannot convert '%s' to a number for field %s" % (raw, self.name)) from None
        if self.kind == "datetime":
            return parse_dt(raw, self.name)
        raise QueryError("bad field kind")

    def value(self, item):
        v = self.getter(item)
        if v is None:
            return None
        if self.kind == "string":
            return str(v).casefold()
        if self.kind == "enum":
            low = [e.casefold() for e in self.enum]
            return low.index(str(v).casefold()) if str(v).casefold() in low else None
        if self.kind == "datetime" and isinstance(v, str):
            return parse_dt(v, self.name)
        return v


def parse_dt(raw, name):
    s = raw.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        raise QueryError("Cannot convert '%s' to DateTime for field %s" % (raw, name)) from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d


class _Parser:
    def __init__(self, text, fields):
        self.s = text
        self.i = 0
        self.fields = {k.casefold(): v for k, v in fields.items()}

    def skip_ws(self):
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def peek(self):
        self.skip_ws()
        return self.s[self.i] if self.i < len(self.s) else ""

    def parse(self):
        node = self.or_expr()
        if self.peek():
            raise QueryError("Unexpected '%s' at position %d of the filter" % (self.s[self.i:], self.i))
        return node

    def or_expr(self):
        parts = [self.and_expr()]
        while self.peek() == ",":
            self.i += 1
            parts.append(self.and_expr())
        return ("or", parts) if len(parts) > 1 else parts[0]

    def and_expr(self):
        parts = [self.primary()]
        while self.peek() == ";":
            self.i += 1
            parts.append(self.primary())
        return ("and", parts) if len(parts) > 1 else parts[0]

    def primary(self):
        if self.peek() == "(":
            self.i += 1
            node = self.or_expr()
            if self.peek() != ")":
                raise QueryError("Missing ')' in the filter")
            self.i += 1
            return node
        return self.comparison()

    def comparison(self):
        self.skip_ws()
        start = self.i
        while self.i < len(self.s) and (self.s[self.i].isalnum() or self.s[self.i] == "_"):
            self.i += 1
        name = self.s[start:self.i]
        if not name:
            raise QueryError("Expected a field name at position %d of the filter" % start)
        field = self.fields.get(name.casefold())
        if field is None:
            raise QueryError("Unknown filter field '%s'" % name)
        self.skip_ws()
        op = next((o for o in OPS if self.s.startswith(o, self.i)), None)
        if op is None:
            raise QueryError("Expected a comparison operator after '%s'" % name)
        self.i += len(op)
        self.skip_ws()
        if self.i < len(self.s) and self.s[self.i] == '"':
            self.i += 1
            buf = []
            while True:
                if self.i >= len(self.s):
                    raise QueryError("Unterminated quoted value in the filter")
                ch = self.s[self.i]
                if ch == '"':
                    if self.s.startswith('""', self.i):
                        buf.append('"')
                        self.i += 2
                        continue
                    self.i += 1
                    break
                buf.append(ch)
                self.i += 1
            raw = "".join(buf)
        else:
            buf = []
            while self.i < len(self.s) and self.s[self.i] not in ";,)":
                if not self.s[self.i].isspace():
                    buf.append(self.s[self.i])
                self.i += 1
            raw = "".join(buf)
        return ("cmp", field, op, field.convert(raw))


def parse_filter(text, fields):
    if text is None or not text.strip():
        return None
    return _Parser(text, fields).parse()


def evaluate(node, item) -> bool:
    if node is None:
        return True
    kind = node[0]
    if kind == "and":
        return all(evaluate(n, item) for n in node[1])
    if kind == "or":
        return any(evaluate(n, item) for n in node[1])
    field, op, want = node[1:]
    have = field.value(item)
    if op == "==":
        return have is not None and want is not None and have == want
    if op == "!=":
        return not (have is not None and want is not None and have == want)
    if have is None or want is None:
        return False
    try:
        return {"<": have < want, ">": have > want, "<=": have <= want, ">=": have >= want}[op]
    except TypeError:
        return False


def sort_items(items, fields, sort_asc=None, sort_desc=None):
    if sort_asc and sort_desc:
        raise QueryError("Use either sortAsc or sortDesc, not both")
    key = sort_asc or sort_desc
    if not key:
        return list(items)
    lookup = {k.casefold(): v for k, v in fields.items()}
    field = lookup.get(key.strip().casefold())
    if field is None:
        raise QueryError("Unknown sort field '%s'" % key)

    def k(item):
        v = field.value(item)
        return (v is None, v if v is not None else 0)
    return sorted(items, key=k, reverse=bool(sort_desc))
