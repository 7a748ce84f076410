"""Enough WIQL to answer the flat queries a sync job sends, evaluated over plain field maps.

Supported: ``SELECT [f], ... FROM WorkItems [WHERE <cond>] [ORDER BY [f] [ASC|DESC], ...]`` with
AND/OR/NOT and parentheses; operators ``= <> < > <= >= IN, NOT IN, CONTAINS, NOT CONTAINS, UNDER,
NOT UNDER``; literals ``'text'`` (``''`` escapes a quote), numbers, ``@project``, ``@me``,
``@today[-N]``. As on the service, dates compare by day unless ``timePrecision=true``, and a
literal carrying a time without it is refused (VS402625).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.ado.errors import AdoError
from sandbox.ado.processes import FIELDS, field_by_name

MAX_RESULTS = 20000
_TOKEN = re.compile(r"\s*(?:(?P<field>\[[^\]]+\])|(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)"
                    r"|(?P<macro>@\w+(?:\s*[-+]\s*\d+)?)|(?P<op><>|<=|>=|=|<|>|\(|\)|,)|(?P<word>[A-Za-z_]+))")


def syntax_error(message: str) -> AdoError:
    return AdoError(400, "WorkItemTrackingQuerySyntaxException", f"TF51006: {message}", 0, 3200)


@dataclass(frozen=True)
class QueryContext:
    project: str | None
    me: str  # distinct name of the caller
    time_precision: bool
    now: datetime


@dataclass(frozen=True)
class Query:
    columns: tuple[str, ...]
    where: Callable[[dict[str, Any]], bool]
    order: tuple[tuple[str, bool], ...]  # (field ref, descending)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise syntax_error(f"Expecting a valid token at position {pos} of the query: «{text[pos:pos + 20]}».")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _field_ref(token: str) -> str:
    name = token.strip("[]")
    fdef = field_by_name(name)
    if fdef is None:
        raise AdoError(400, "WorkItemTrackingQueryException",
                       f"TF51005: The query references a field that does not exist. The error is caused by «{name}».",
                       0, 3200)
    return fdef.ref


def _as_date(text: str, ctx: QueryContext) -> datetime:
    has_time = "T" in text or ":" in text
    if has_time and not ctx.time_precision:
        raise AdoError(400, "WorkItemTrackingQueryException",
                       "VS402625: Dates must be entered without a time when the query is run with date "
                       f"precision. The error is caused by «'{text}'».", 0, 3200)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise syntax_error(f"The date «{text}» is not valid.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], ctx: QueryContext) -> None:
        self.t, self.i, self.ctx = tokens, 0, ctx

    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.t[j] if j < len(self.t) else ("end", "")

    def word(self, *words: str) -> bool:
        kind, text = self.peek()
        if kind == "word" and text.upper() in words:
            self.i += 1
            return True
        return False

    def expect_word(self, w: str) -> None:
        if not self.word(w):
            raise syntax_error(f"Expecting {w} near «{self.peek()[1] or 'end of query'}».")

    def take(self, kind: str) -> str:
        k, text = self.peek()
        if k != kind:
            raise syntax_error(f"Expecting a {kind} near «{text or 'end of query'}».")
        self.i += 1
        return text

    def query(self) -> Query:
        self.expect_word("SELECT")
        cols = [_field_ref(self.take("field"))]
        while self.peek() == ("op", ","):
            self.i += 1
            cols.append(_field_ref(self.take("field")))
        self.expect_word("FROM")
        if not self.word("WORKITEMS"):
            raise syntax_error("Only FROM WorkItems is supported (flat queries).")
        where = self.or_expr() if self.word("WHERE") else _always
        order: list[tuple[str, bool]] = []
        if self.word("ORDER"):
            self.expect_word("BY")
            while True:
                ref = _field_ref(self.take("field"))
                desc = self.word("DESC")
                if not desc:
                    self.word("ASC")
                order.append((ref, desc))
                if self.peek() != ("op", ","):
                    break
                self.i += 1
        if self.peek()[0] != "end":
            raise syntax_error(f"Unexpected «{self.peek()[1]}» in the query.")
        return Query(tuple(cols), where, tuple(order))

    def or_expr(self) -> Callable[[dict[str, Any]], bool]:
        left = self.and_expr()
        while self.word("OR"):
            right, prev = self.and_expr(), left
            left = lambda f, a=prev, b=right: a(f) or b(f)  # noqa: E731
        return left

    def and_expr(self) -> Callable[[dict[str, Any]], bool]:
        left = self.unary()
        while self.word("AND"):
            right, prev = self.unary(), left
            left = lambda f, a=prev, b=right: a(f) and b(f)  # noqa: E731
        return left

    def unary(self) -> Callable[[dict[str, Any]], bool]:
        if self.peek() == ("word", "NOT") or self.peek() == ("word", "not"):
            self.i += 1
            inner = self.unary()
            return lambda f: not inner(f)
        if self.peek() == ("op", "("):
            self.i += 1
            inner = self.or_expr()
            if self.take("op") != ")":
                raise syntax_error("Expecting ) in the query.")
            return inner
        return self.clause()

    def literal(self, ref: str) -> Any:
        kind, text = self.peek()
        self.i += 1
        if kind == "str":
            value: Any = text[1:-1].replace("''", "'")
        elif kind == "num":
            value = float(text) if "." in text else int(text)
        elif kind == "macro":
            value = self.macro(text)
        else:
            raise syntax_error(f"Expecting a value near «{text or 'end of query'}».")
        if FIELDS[ref].type == "dateTime" and isinstance(value, str):
            return _as_date(value, self.ctx)
        return value

    def macro(self, text: str) -> Any:
        name = re.match(r"@(\w+)", text).group(1).lower()  # type: ignore[union-attr]
        if name == "project":
            if not self.ctx.project:
                raise AdoError(400, "WorkItemTrackingQueryException",
                               "TF51011: The @project macro needs a project context; call the "
                               "project-scoped wiql route.", 0, 3200)
            return self.ctx.project
        if name == "me":
            return self.ctx.me
        if name == "today":
            delta = int(re.sub(r"\s", "", text[len("@today"):]) or 0)
            today = self.ctx.now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            return today + timedelta(days=delta)
        raise syntax_error(f"The macro «{text}» is not supported.")

    def clause(self) -> Callable[[dict[str, Any]], bool]:
        ref = _field_ref(self.take("field"))
        negate = self.word("NOT")
        kind, text = self.peek()
        self.i += 1
        op = text.upper()
        if op == "IN":
            if self.take("op") != "(":
                raise syntax_error("Expecting ( after IN.")
            values = [self.literal(ref)]
            while self.take("op") == ",":
                values.append(self.literal(ref))
            test = _in(ref, values, self.ctx)
        elif op in ("CONTAINS", "UNDER"):
            if op == "CONTAINS" and self.peek() == ("word", "WORDS"):
                self.i += 1
            value = self.literal(ref)
            test = _contains(ref, value) if op == "CONTAINS" else _under(ref, value)
        elif kind == "op" and op in ("=", "<>", "<", ">", "<=", ">="):
            test = _compare(ref, op, self.literal(ref), self.ctx)
        else:
            raise syntax_error(f"Expecting an operator after [{ref}], got «{text}».")
        return (lambda f: not test(f)) if negate else test


def _always(_fields: dict[str, Any]) -> bool:
    return True


def _norm(ref: str, value: Any, ctx: QueryContext) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if ctx.time_precision else value.date()
    if FIELDS[ref].type == "dateTime" and isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if ctx.time_precision else parsed.date()
    if isinstance(value, str):
        return value.lower()
    return value


def _identity_forms(value: str) -> set[str]:
    m = re.match(r"^(.*?)\s*<([^>]+)>$", value)
    return {value.lower(), m.group(1).lower(), m.group(2).lower()} if m else {value.lower()}


def _eq(ref: str, actual: Any, wanted: Any, ctx: QueryContext) -> bool:
    if FIELDS[ref].type == "identity" and isinstance(actual, str) and isinstance(wanted, str):
        return bool(_identity_forms(actual) & _identity_forms(wanted))
    return _norm(ref, actual, ctx) == _norm(ref, wanted, ctx)


def _compare(ref: str, op: str, wanted: Any, ctx: QueryContext) -> Callable[[dict[str, Any]], bool]:
    def test(fields: dict[str, Any]) -> bool:
        actual = fields.get(ref)
        if op == "=":
            return _eq(ref, actual, wanted, ctx) if wanted != "" else actual in (None, "")
        if op == "<>":
            return not _eq(ref, actual, wanted, ctx) if wanted != "" else actual not in (None, "")
        a, w = _norm(ref, actual, ctx), _norm(ref, wanted, ctx)
        if a is None:
            return False
        try:
            return {"<": a < w, ">": a > w, "<=": a <= w, ">=": a >= w}[op]
        except TypeError:
            return False
    return test


def _in(ref: str, values: list[Any], ctx: QueryContext) -> Callable[[dict[str, Any]], bool]:
    return lambda f: any(_eq(ref, f.get(ref), v, ctx) for v in values)


def _contains(ref: str, value: Any) -> Callable[[dict[str, Any]], bool]:
    needle = str(value).lower()
    if ref == "System.Tags":
        return lambda f: needle in [t.strip().lower() for t in (f.get(ref) or "").split(";")]
    return lambda f: needle in str(f.get(ref) or "").lower()


def _under(ref: str, value: Any) -> Callable[[dict[str, Any]], bool]:
    root = str(value).lower()
    return lambda f: (str(f.get(ref) or "").lower() + "\\").startswith(root.rstrip("\\") + "\\")


def parse(text: str, ctx: QueryContext) -> Query:
    if not isinstance(text, str) or not text.strip():
        raise syntax_error("The query text is empty.")
    if len(text) > 32000:
        raise AdoError(400, "WorkItemTrackingQueryException", "VS402336: The query is longer than 32000 "
                       "characters.", 0, 3200)
    return _Parser(_tokens(text), ctx).query()


def run(query: Query, rows: list[dict[str, Any]], top: int | None = None) -> list[int]:
    """Ids of matching rows (fields with identities as distinct strings), ordered, capped."""
    hits = [r for r in rows if query.where(r)]
    hits.sort(key=lambda r: r["System.Id"])
    for ref, desc in reversed(query.order):
        present = [r for r in hits if r.get(ref) is not None]
        missing = [r for r in hits if r.get(ref) is None]
        present.sort(key=lambda r, k=ref: (str(r[k]).lower() if isinstance(r[k], str) else r[k]), reverse=desc)
        hits = present + missing
    if len(hits) > MAX_RESULTS:
        raise AdoError(400, "WorkItemTrackingQueryResultSizeLimitExceededException",
                       "VS402337: The number of work items returned exceeds the size limit of 20000. Change "
                       "the query to return fewer items.", 0, 3200)
    ids = [r["System.Id"] for r in hits]
    return ids[:top] if top is not None else ids
