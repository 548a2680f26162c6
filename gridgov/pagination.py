"""One page of a select, with the total handed to flask-smorest for the X-Pagination header."""

from __future__ import annotations

import flask_smorest
from flask import Response
from sqlalchemy import Select, func, select

from gridgov.extensions import db


def paginate(query: Select, pagination_parameters) -> list:
    """Run `query` for the requested page; sets the item count smorest puts in X-Pagination.

    A page that comes back short is the last one, so its own length gives the total; only a full
    page, or one past the end, asks the database to count.
    """
    size = pagination_parameters.page_size
    offset = (pagination_parameters.page - 1) * size
    rows = [] if offset > 2**31 else list(db.session.scalars(query.limit(size).offset(offset)))
    if 0 < len(rows) < size or (not rows and offset == 0):
        pagination_parameters.item_count = offset + len(rows)
    else:
        pagination_parameters.item_count = db.session.scalar(
            select(func.count()).select_from(query.order_by(None).subquery())
        )
    return rows


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint for lists that also answer with a whole set (GeoJSON, .xlsx).

    Such an answer is a ready Response and is not paged, so it carries no X-Pagination header:
    one that claimed pages would send a client looking for a page 2 that does not exist.
    """

    def _set_pagination_metadata(self, page_params, result, headers):
        if isinstance(result, Response):
            return result, headers
        return super()._set_pagination_metadata(page_params, result, headers)
