"""Field-app bench: the shell's time to interactive on emulated phone networks, and bytes transferred.

    .venv/bin/python bench/field.py              # 3 loads per row (needs Chromium and make assets)
    .venv/bin/python bench/field.py --runs 5 --postgres

Target (issue #20): the first load of the shell transfers at most 200 KB (gzip), so it starts on a
slow 3G connection. "Interactive" is when the app's scripts have run and the sign-in form is up
(first visit) or the signed-in worker's today screen has its data (revisit). The networks are
Chrome DevTools' presets, applied with CDP `Network.emulateNetworkConditions`. The revisit row is
a phone that has been there before: the service worker answers the shell, only API calls travel.
Bytes are the `transferSize` of every resource the page loaded (headers included).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
import tempfile
import time

from common import fresh_postgres, gunicorn, seed_demo, table

BUDGET = 200 * 1024
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
# Chrome DevTools' throttling presets (latency ms, bytes per second down / up).
NETWORKS = {
    "slow 3G": (2000, 50_000, 50_000),
    "fast 3G": (562.5, 180_000, 84_375),
    "no throttling": (0, -1, -1),
}
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "user_agent": "Mozilla/5.0 (Linux; Android 13; Pixel 5) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.44",
}
TRANSFERRED = """() => [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]
    .filter(e => e.name.includes('/field/')).reduce((n, e) => n + e.transferSize, 0)"""


def prepare(url: str) -> None:
    seed_demo(url)


@contextlib.contextmanager
def database(postgres: bool):
    if postgres:
        with fresh_postgres() as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/bench-field.db"


def throttle(page, network: str) -> None:
    latency, down, up = NETWORKS[network]
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": latency, "downloadThroughput": down, "uploadThroughput": up},
    )


def first_visit(browser, base: str, network: str) -> tuple[float, int]:
    """A phone that has never been here: the whole shell over the network, to the sign-in form."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    throttle(page, network)
    start = time.perf_counter()
    page.goto(f"{base}/field/", wait_until="commit")
    page.wait_for_selector("#signin-form", state="visible", timeout=120_000)
    elapsed = time.perf_counter() - start
    page.wait_for_load_state("load")
    transferred = page.evaluate(TRANSFERRED)
    context.close()
    return elapsed, transferred


def revisit(browser, base: str, network: str) -> tuple[float, int]:
    """A signed-in worker opening the installed app again: shell from the service worker."""
    context = browser.new_context(**PHONE, geolocation={"longitude": 113.1822, "latitude": 33.7423},
                                  permissions=["geolocation"])  # fmt: skip
    page = context.new_page()
    page.goto(f"{base}/field/")
    page.fill("#signin-form input[name=username]", "worker_jinhua1")
    page.fill("#signin-form input[name=password]", "demo-pass-2026")
    page.click("#signin-form button")
    page.wait_for_selector("body[data-today-ready='1']", timeout=60_000)
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    throttle(page, network)
    start = time.perf_counter()
    page.reload(wait_until="commit")
    page.wait_for_selector("body[data-today-ready='1']", timeout=120_000)
    elapsed = time.perf_counter() - start
    transferred = page.evaluate(TRANSFERRED)
    context.close()
    return elapsed, transferred


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database, not SQLite")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    rows, ok = [], True
    with database(args.postgres) as url:
        prepare(url)
        with gunicorn(url, workers=2, threads=2) as port, sync_playwright() as pw:
            base = f"http://127.0.0.1:{port}"
            browser = pw.chromium.launch(executable_path=chromium, args=FLAGS)
            for label, measure in (
                ("first visit → sign-in form", first_visit),
                ("revisit → today's data", revisit),
            ):
                for network in NETWORKS:
                    runs = [measure(browser, base, network) for _ in range(args.runs)]
                    times = [r[0] for r in runs]
                    transferred = max(r[1] for r in runs)
                    met = transferred <= BUDGET
                    ok &= met
                    rows.append(
                        [
                            label,
                            network,
                            f"{statistics.median(times) * 1000:.0f}",
                            f"{max(times) * 1000:.0f}",
                            f"{transferred / 1024:.1f}",
                            "met" if met else "MISSED",
                        ]
                    )
            browser.close()
    print(
        f"Field app shell, gunicorn 2×2, {args.runs} loads per row, 360×740 phone (budget {BUDGET // 1024} KB)"
    )
    print(table(["load", "network", "median ms", "max ms", "shell KB transferred", "≤ 200 KB"], rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
