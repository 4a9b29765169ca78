"""Octavia's list query: limit/marker/page_reverse, sort, fields, AND-filters, tag filters, links.

Keyset pagination over the sort keys (always ending in `id`), so pages stay stable under writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.api.errors import (
    InvalidLimit,
    InvalidMarker,
    InvalidParams,
    InvalidSortDirection,
    InvalidSortKey,
)
from bigip_lbaas.api.resources import Resource

RESERVED = {
    "limit",
    "marker",
    "page_reverse",
    "sort",
    "sort_key",
    "sort_dir",
    "fields",
    "tags",
    "tags-any",
    "not-tags",
    "not-tags-any",
}
TRUE = {"true", "1", "yes", "on", "t", "y"}
FALSE = {"false", "0", "no", "off", "f", "n"}


@dataclass(frozen=True)
class ListQuery:
    limit: int | None
    marker: str | None
    page_reverse: bool
    sort: tuple[tuple[str, bool], ...]  # (column, ascending)
    fields: tuple[str, ...]
    filters: tuple[tuple[str, Any], ...]  # (column, typed value)
    tags: dict[str, tuple[str, ...]]
    params: tuple[tuple[str, str], ...]  # what to repeat in links (filters, sort)


def parse_bool(value: str) -> bool:
    low = value.strip().lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise InvalidParams()


def typed(res: Resource, column: str, value: str) -> Any:
    try:
        py = res.model.__table__.c[column].type.python_type
    except NotImplementedError:
        return value
    if py is bool:
        return parse_bool(value)
    if py in (int, float):
        try:
            return py(value)
        except ValueError as err:
            raise InvalidParams() from err
    if py is str:
        return value
    raise InvalidParams()


def parse(res: Resource, params: Sequence[tuple[str, str]], max_limit: int) -> ListQuery:
    single: dict[str, str] = {}
    fields: list[str] = []
    repeat: list[tuple[str, str]] = []
    filters: list[tuple[str, Any]] = []
    tags: dict[str, tuple[str, ...]] = {}
    seen: set[str] = set()
    for name, value in params:
        if name == "fields":
            fields += [f for f in value.split(",") if f]
            continue
        if name in seen:
            raise InvalidParams()
        seen.add(name)
        if name in ("tags", "tags-any", "not-tags", "not-tags-any"):
            tags[name] = tuple(t for t in value.split(",") if t)
            repeat.append((name, value))
        elif name in RESERVED:
            single[name] = value
            if name in ("sort", "sort_key", "sort_dir"):
                repeat.append((name, value))
        else:
            column = res.column_of(name)
            if column is None:
                raise InvalidParams()
            filters.append((column, typed(res, column, value)))
            repeat.append((name, value))
    for f in fields:
        if f not in res.fields:
            raise InvalidParams()
    limit = _limit(single.get("limit"), max_limit)
    return ListQuery(
        limit=limit,
        marker=single.get("marker") or None,
        page_reverse=parse_bool(single["page_reverse"]) if "page_reverse" in single else False,
        sort=_sort(res, single),
        fields=tuple(fields),
        filters=tuple(filters),
        tags=tags,
        params=tuple(repeat),
    )


def _limit(raw: str | None, max_limit: int) -> int | None:
    cap = max_limit if max_limit > 0 else None
    if raw is None:
        return cap
    if raw.lower() == "infinite":
        return cap
    try:
        value = int(raw)
    except ValueError as err:
        raise InvalidLimit(key=raw) from err
    if value < 1:
        return cap
    return min(value, cap) if cap else value


def _sort(res: Resource, single: dict[str, str]) -> tuple[tuple[str, bool], ...]:
    pairs: list[tuple[str, str]] = []
    if "sort" in single:
        for part in single["sort"].split(","):
            key, _, direction = part.strip().partition(":")
            pairs.append((key, direction or "asc"))
    elif "sort_key" in single:
        keys = single["sort_key"].split(",")
        dirs = single.get("sort_dir", "asc").split(",")
        pairs = [(k, dirs[i] if i < len(dirs) else dirs[-1]) for i, k in enumerate(keys)]
    else:
        pairs = [("created_at", "asc"), ("id", "asc")]
    out: list[tuple[str, bool]] = []
    for key, direction in pairs:
        column = res.column_of(key.strip())
        if column is None:
            raise InvalidSortKey(key=key)
        if direction.lower() not in ("asc", "desc"):
            raise InvalidSortDirection(key=direction)
        out.append((column, direction.lower() == "asc"))
    if "id" not in {c for c, _ in out}:
        out.append(("id", out[-1][1] if out else True))
    return tuple(out)


def apply(res: Resource, stmt: sa.Select[Any], q: ListQuery) -> sa.Select[Any]:
    """Add the filters (not the page) to `stmt`."""
    model = res.model
    for column, value in q.filters:
        stmt = stmt.where(getattr(model, column) == value)
    return stmt


def _tags_ok(row_tags: list[str] | None, tags: dict[str, tuple[str, ...]]) -> bool:
    have = set(row_tags or [])
    if "tags" in tags and not set(tags["tags"]) <= have:
        return False
    if "tags-any" in tags and not set(tags["tags-any"]) & have:
        return False
    if "not-tags" in tags and set(tags["not-tags"]) <= have and tags["not-tags"]:
        return False
    return not ("not-tags-any" in tags and set(tags["not-tags-any"]) & have)


def page(session: Session, res: Resource, stmt: sa.Select[Any], q: ListQuery) -> list[Any]:
    """Run `stmt` (already filtered and scoped) for one page; tag filters are applied in Python."""
    model = res.model
    sort = [(c, asc != q.page_reverse) for c, asc in q.sort]
    if q.marker:
        if session.get(model, q.marker) is None:
            raise InvalidMarker(key=q.marker)
        # Compare with the marker row's values inside the database (a literal round trip
        # would not compare equal on SQLite, where timestamps are stored as text).
        marker = sa.select(model).where(model.id == q.marker).subquery()

        def mval(c: str) -> Any:
            return sa.select(marker.c[c]).scalar_subquery()

        ors = []
        for i, (column, asc) in enumerate(sort):
            conds = [getattr(model, c) == mval(c) for c, _ in sort[:i]]
            col = getattr(model, column)
            conds.append(col > mval(column) if asc else col < mval(column))
            ors.append(sa.and_(*conds))
        stmt = stmt.where(sa.or_(*ors))
    stmt = stmt.order_by(
        *[getattr(model, c).asc() if asc else getattr(model, c).desc() for c, asc in sort]
    )
    if not q.tags and q.limit:
        stmt = stmt.limit(q.limit)
    rows = list(session.scalars(stmt))
    if q.tags:
        rows = [r for r in rows if _tags_ok(getattr(r, "tags", None), q.tags)]
        if q.limit:
            rows = rows[: q.limit]
    if q.page_reverse:
        rows.reverse()
    return rows


def links(base_url: str, q: ListQuery, rows: Sequence[Any]) -> list[dict[str, str]]:
    """Octavia's links: `next` whenever the page is full, `previous` when a marker was given."""
    out: list[dict[str, str]] = []
    if not rows or q.limit is None:
        return out
    common = [*q.params, *(("fields", f) for f in q.fields)]
    if len(rows) >= q.limit:
        nxt = [("limit", str(q.limit)), *common, ("marker", rows[-1].id)]
        out.append({"href": f"{base_url}?{urlencode(nxt)}", "rel": "next"})
    if q.marker:
        prev = [("limit", str(q.limit)), *common, ("marker", rows[0].id), ("page_reverse", "True")]
        out.append({"href": f"{base_url}?{urlencode(prev)}", "rel": "previous"})
    return out


def select_fields(body: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k in fields} if fields else body
