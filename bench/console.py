"""Console bench: how long each staff-console page takes to show the demo data in headless Chromium.

    .venv/bin/python bench/console.py            # 5 loads a page (needs PostgreSQL, Chromium, make assets)
    .venv/bin/python bench/console.py --runs 10

Target (issue #11): every page renders the demo data in under 2 s on this machine, and no page
makes a request outside the app. A page is "rendered" when its data is drawn: the map when the
areas and issues from the API are on it, the report and figures when the chart is drawn, the
others at the load event. The sign-in page, which reads no data, is the baseline of the run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time

from common import fresh_postgres, gunicorn, seed_demo, table

TARGET_S = 2.0
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def prepare(url: str) -> None:
    seed_demo(url)


def pages(case_id: int, issue_id: int) -> list[tuple[str, str, str, str | None]]:
    """(label, user, path, selector that says the data is drawn)."""
    return [
        ("map", "staff_zunhua", "/console/map", "body[data-map-ready='1']"),
        ("issue", "staff_zunhua", f"/console/issues/{issue_id}", None),
        ("calendar", "staff_zunhua", "/console/calendar", None),
        ("report", "leader", "/console/report", "body[data-chart-ready]"),
        ("figures", "leader", "/console/figures?from=2020-01-01&to=2030-12-31", "body[data-chart-ready]"),
        ("wage ledger", "wage_officer", "/console/wages", None),
        ("wage case", "wage_officer", f"/console/wages/{case_id}", None),
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with fresh_postgres() as url:
        prepare(url)
        with gunicorn(url, workers=2, threads=4) as port, sync_playwright() as pw:
            base = f"http://127.0.0.1:{port}"
            browser = pw.chromium.launch(executable_path=chromium, args=FLAGS)
            outside: list[str] = []
            contexts: dict[str, object] = {}

            def page_for(user: str | None):
                if user not in contexts:
                    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
                    page = context.new_page()
                    page.on(
                        "request",
                        lambda r: None if r.url.startswith((base, "data:")) else outside.append(r.url),
                    )
                    if user:
                        page.goto(f"{base}/console/login")
                        page.fill("input[name=username]", user)
                        page.fill("input[name=password]", "demo-pass-2026")
                        page.click("#login-form button")
                        page.wait_for_url("**/console/map")
                    contexts[user] = page
                return contexts[user]

            officer = page_for("wage_officer")
            officer.goto(f"{base}/console/wages")
            case_id = int(officer.locator("#ledger tbody tr[data-case]").first.get_attribute("data-case"))
            staff = page_for("staff_zunhua")
            staff.goto(f"{base}/console/map")
            staff.wait_for_selector("body[data-map-ready='1']")
            issue_id = int(staff.locator("#issue-list tbody tr").first.get_attribute("data-issue"))

            def timed(user: str | None, path: str, ready: str | None) -> float:
                page = page_for(user)
                start = time.perf_counter()
                page.goto(base + path, wait_until="load")
                if ready:
                    page.wait_for_selector(ready, timeout=10_000)
                return time.perf_counter() - start

            baseline = [timed(None, "/console/login", None) for _ in range(args.runs)]
            base_median = statistics.median(baseline)
            rows = [
                ["sign-in (baseline)", f"{base_median * 1000:.0f}", f"{max(baseline) * 1000:.0f}", "1.0", "—"]
            ]
            ok = True
            for label, user, path, ready in pages(case_id, issue_id):
                times = [timed(user, path, ready) for _ in range(args.runs)]
                met = max(times) < TARGET_S
                ok &= met
                rows.append(
                    [
                        label,
                        f"{statistics.median(times) * 1000:.0f}",
                        f"{max(times) * 1000:.0f}",
                        f"{statistics.median(times) / base_median:.1f}",
                        "met" if met else "MISSED",
                    ]
                )
            browser.close()
    print(
        f"Console pages, demo data, gunicorn 2×4 on PostgreSQL, {args.runs} loads each (target < {TARGET_S:.0f} s)"
    )
    print(table(["page", "median ms", "max ms", "× sign-in", "< 2 s"], rows))
    print(f"requests outside the app: {len(outside)}" + (f" {outside[:5]}" if outside else ""))
    return 0 if ok and not outside else 1


if __name__ == "__main__":
    sys.exit(main())
