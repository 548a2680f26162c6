"""One page of a select, with the total handed to flask-smorest for the X-Pagination header."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from gridgov.extensions import db


def _count(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def paginate(query: Select, pagination_parameters) -> list:
    """Run `query` (one entity) for the requested page; sets the item count smorest puts in X-Pagination.

    The total rides on the page's own rows as `count(*) OVER ()`, so a page costs one query; only
    a page past the end, or a DISTINCT or grouped query (where the window would count the wrong
    rows), asks for the count on its own.
    """
    size = pagination_parameters.page_size
    offset = (pagination_parameters.page - 1) * size
    if offset > 2**31:  # far past any real page: empty, without asking the database for rows
        pagination_parameters.item_count = _count(query)
        return []
    # SQLAlchemy 2.0 has no public accessor for these two.
    if query._distinct or query._group_by_clauses:
        pagination_parameters.item_count = _count(query)
        return list(db.session.scalars(query.limit(size).offset(offset)))
    rows = db.session.execute(query.add_columns(func.count().over()).limit(size).offset(offset)).all()
    if rows:
        pagination_parameters.item_count = rows[0][-1]
    else:
        pagination_parameters.item_count = _count(query) if offset else 0
    return [row[0] for row in rows]
