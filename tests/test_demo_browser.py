"""Every console page, for every demo role, shows the demo town's three months (headless Chromium).

One screenshot per page per account lands in tests/artifacts/demo/ (gitignored) for a person to
look at; the browser fixtures are test_console_browser's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridgov.seeding import seed_demo
from tests.test_console_browser import _wait_map, browser, open_page, server  # noqa: F401

SHOTS = Path(__file__).resolve().parent / "artifacts" / "demo"
# One account per role, and the staff of both towns.
ACCOUNTS = (
    "admin",
    "staff_huangtai",
    "staff_zunhua",
    "dept_urban",
    "worker_jinhua1",
    "patrol_zunhua",
    "wage_officer",
    "leader",
)


@pytest.fixture
def demo(app):
    return seed_demo()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _check_map(page) -> None:
    _wait_map(page)
    assert page.locator("path.issue-marker").count() > 0
    assert page.locator("#issue-list tbody tr").count() > 0


def _check_calendar(page) -> None:
    assert page.locator("#calendar .market").count() > 0


def _check_report(page) -> None:
    page.wait_for_selector("body[data-chart-ready]")
    assert page.locator("#report-grids tbody tr").count() > 0
    assert page.locator("#report-workers tbody tr").count() > 0


def _check_figures(page) -> None:
    page.wait_for_selector("body[data-chart-ready]")
    rows = page.locator("#figures-table tbody tr")
    assert rows.count() > 0
    assert page.input_value("input[name=from]").endswith("-01")  # the current month


def _check_wages(page) -> None:
    assert page.locator("#ledger tbody tr[data-case]").count() > 0


CHECKS = {
    "map": _check_map,
    "calendar": _check_calendar,
    "report": _check_report,
    "figures": _check_figures,
    "wages": _check_wages,
}


def test_every_page_shows_the_demo_town_for_every_role(open_page, server):  # noqa: F811
    seen = set()
    for username in ACCOUNTS:
        page = open_page(username)
        links = page.locator("nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        names = [re.search(r"/console/(\w+)", href).group(1) for href in links]
        assert names[0] == "map" and len(names) >= 2, (username, names)
        for name, href in zip(names, links, strict=True):
            page.goto(f"{server}{href}")
            CHECKS[name](page)
            _shot(page, f"{username}-{name}")
            if name == "map":
                first = page.locator("#issue-list tbody tr").first.get_attribute("data-issue")
                page.goto(f"{server}/console/issues/{first}")
                assert page.locator("#timeline tbody tr").count() > 0
                _shot(page, f"{username}-issue")
            if name == "wages" and page.locator("#ledger tbody tr[data-case] a").count():  # leaders only read
                page.locator("#ledger tbody tr[data-case] a").first.click()
                page.wait_for_url(re.compile(r"/console/wages/\d+$"))
                assert page.locator("#case-timeline tbody tr").count() > 0
                _shot(page, f"{username}-wage-case")
        seen.update(names)
        page.context.close()
    assert seen == set(CHECKS)
