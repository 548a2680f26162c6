"""Each role sees in the console's nav exactly the pages whose page and API the role may open."""

from __future__ import annotations

import re

import pytest

from gridgov.auth.models import ROLES
from tests.console_session import signed_in

# console page → the API call that gives the same data
PAGES = {
    "/console/calendar": "/api/v1/market-days?from=2026-12-01&to=2026-12-31",
    "/console/report": "/api/v1/reports/daily?date=2026-12-01&area={area}",
    "/console/figures": "/api/v1/stats/issues?from=2026-12-01&to=2026-12-31",
    "/console/wages": "/api/v1/wage-cases/ledger?from=2026-12-01&to=2026-12-31",
}


@pytest.mark.parametrize("role", ROLES)
def test_nav_pages_and_api_agree_on_who_may_read(app, make_user, auth_headers, two_towns, role):
    user = make_user(roles=[role], areas=[two_towns["TA"]], username=f"u_{role}")
    api = app.test_client()
    console = signed_in(app, user.username)
    nav = re.search(r"<nav.*?</nav>", console.get("/console/map").get_data(as_text=True), re.S).group(0)
    for page, call in PAGES.items():
        api_allows = (
            api.get(call.format(area=two_towns["TA"].id), headers=auth_headers(user)).status_code != 403
        )
        page_allows = console.get(page).status_code != 403
        assert (f'href="{page}"' in nav, page_allows) == (api_allows, api_allows), (role, page)
