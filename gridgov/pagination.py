"""One page of a select, with the total handed to flask-smorest for the X-Pagination header."""

from __future__ import annotations

import json
from collections.abc import Callable

import flask_smorest
from flask import Response
from sqlalchemy import Select, func, select

from gridgov.extensions import db


def paginate(
    query: Select,
    pagination_parameters,
    count: Callable[[], int | None] | None = None,
    cursor: Callable[[object], int] | None = None,
) -> list:
    """Run `query` for the requested page; sets the item count smorest puts in X-Pagination.

    A page that comes back short is the last one, so its own length gives the total; only a full
    page, or one past the end, asks for a count: `count()` when it can tell cheaply (None when it
    cannot), else the database counts the rows. With `cursor`, a page followed by more gives
    `next_after`, the cursor of its last row, for keyset paging (`keyset_page`).
    """
    size = pagination_parameters.page_size
    offset = (pagination_parameters.page - 1) * size
    rows = [] if offset > 2**31 else list(db.session.scalars(query.limit(size).offset(offset)))
    if 0 < len(rows) < size or (not rows and offset == 0):
        pagination_parameters.item_count = offset + len(rows)
    else:
        total = count() if count else None
        if total is None:
            total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        pagination_parameters.item_count = total
    if cursor and rows and offset + len(rows) < pagination_parameters.item_count:
        pagination_parameters.next_after = cursor(rows[-1])
    return rows


def keyset_page(query: Select, pagination_parameters, cursor: Callable[[object], int]) -> list:
    """The first `page_size` rows of `query` (already limited to those after the client's cursor),
    without a count: X-Pagination says `page_size` and, when more rows follow, `next_after`."""
    size = pagination_parameters.page_size
    rows = list(db.session.scalars(query.limit(size + 1)))
    pagination_parameters.keyset = True
    pagination_parameters.item_count = len(rows[:size])
    if len(rows) > size:
        pagination_parameters.next_after = cursor(rows[size - 1])
    return rows[:size]


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, for every API blueprint with paged lists.

    A list that also answers with a whole set (GeoJSON, .xlsx) gives a ready Response, which is
    not paged, so it carries no X-Pagination header: one that claimed pages would send a client
    looking for a page 2 that does not exist. A keyset page (`after`) has no page number and no
    total: its header holds `page_size` and `next_after`.
    """

    @staticmethod
    def _make_pagination_metadata(page, page_size, item_count):
        """X-Pagination's fields as smorest's PaginationMetadataSchema names and orders them
        (smorest's own method builds that schema anew on every request to dump these integers)."""
        if item_count == 0:
            return {"total": 0, "total_pages": 0}
        last = (item_count - 1) // page_size + 1
        metadata = {"total": item_count, "total_pages": last, "first_page": 1, "last_page": last}
        if page <= last:
            metadata["page"] = page
            if page > 1:
                metadata["previous_page"] = page - 1
            if page < last:
                metadata["next_page"] = page + 1
        return metadata

    def _set_pagination_metadata(self, page_params, result, headers):
        if isinstance(result, Response):
            return result, headers
        if getattr(page_params, "keyset", False):
            metadata = {"page_size": page_params.page_size}
        else:
            metadata = self._make_pagination_metadata(
                page_params.page, page_params.page_size, page_params.item_count
            )
        if getattr(page_params, "next_after", None) is not None:
            metadata["next_after"] = page_params.next_after
        headers = {} if headers is None else headers
        headers[self.PAGINATION_HEADER_NAME] = json.dumps(metadata)
        return result, headers
