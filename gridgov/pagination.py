"""One page of a select, with the total handed to flask-smorest for the X-Pagination header."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from gridgov.extensions import db


def paginate(query: Select, pagination_parameters) -> list:
    """Run `query` for the requested page; sets the item count smorest puts in X-Pagination."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pagination_parameters.item_count = total
    size = pagination_parameters.page_size
    offset = (pagination_parameters.page - 1) * size
    if offset > 2**31:  # far past any real page: empty, without asking the database
        return []
    return list(db.session.scalars(query.limit(size).offset(offset)))
