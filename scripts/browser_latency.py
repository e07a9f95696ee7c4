"""Upload → result-with-map latency in headless Chromium, one session and N at once (a benchmark, not a test).

Starts ``streamlit run app.py`` on 127.0.0.1 with the shipped checkpoint and a temporary SQLite file,
drives the New consultation page with Playwright (Debian's chromium-headless-shell if installed, else
/usr/bin/chromium) and prints p50/p95 of the time from handing the photo to the page until the attention
map is shown, with the CPU seconds that server and browsers used. With N sessions, each round is a burst:
all N pages are loaded and consented first, then all N upload at the same moment. Bounded: a fixed number
of rounds, a timeout per step, and the server is stopped at the end.

    python scripts/browser_latency.py [--rounds 10] [--sessions 8] [--concurrent-rounds 3] [--json]

Status (2026-11-24): both phases run end to end. The concurrent phase used to time out now and then
waiting for the uploaded photo's caption. The cause was a race between this driver and Streamlit, not a
bug in the pages. The driver handed over the photo right after its consent click, before that click's
rerun had started. Streamlit answers the uploader's request for upload URLs with a FileURLsResponse.
When a script run starts, AppSession empties the session's outgoing queue except for run-lifecycle
messages (ForwardMsgQueue.clear on SCRIPT_STARTED), and a response that is still queued is dropped with
it. The browser then never uploads and waits for ever: no PUT, no file in the list. A busy server (several
sessions on few cores) widens the window. The driver now waits, as a person would, until the server has
acknowledged the consent (the "To submit" line no longer asks for it) and the run has finished. Only then
does it hand over the photo and start the clock. Each concurrent session uses a photo of its own.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from scalp_model.settings import DEFAULT_WEIGHTS  # noqa: E402
from testing.factories import image_bytes  # noqa: E402
from testing.live import ARTIFACTS, CHROMIUM, launch_chromium, live_app  # noqa: E402
from testing.pages import CONSENT_ACKNOWLEDGED  # noqa: E402

STEP_MS = 120_000
# Debian's old headless shell (package chromium-headless-shell): the same Blink and V8 as /usr/bin/chromium
# without the desktop browser's own WebUI pages (omnibox popup and its ~300 modules), which the full browser
# loads for every new tab even when headless: half its CPU per page load here, and nothing a patient's
# page needs. Used when installed; --browser chooses.
HEADLESS_SHELL = Path("/usr/bin/chromium-headless-shell")


async def settled(page) -> None:
    """Wait until no script run is under way (as tests.app.browser.settle does, but async)."""
    from playwright.async_api import expect

    await expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=STEP_MS)
    await expect(page.locator('[data-testid="stElementContainer"][data-stale="true"]')).to_have_count(
        0, timeout=STEP_MS)


async def ready_to_upload(page, url: str) -> None:
    """A fresh New consultation page with the consent given and acknowledged by the server."""
    await page.goto(f"{url}/new_consultation")
    await page.get_by_text("I have read this and agree").click()
    # The photo must not go in before the consent click's rerun has started: Streamlit drops the reply to the
    # uploader's upload-URL request if a run starts while that reply is still queued (see the docstring).
    await page.get_by_text(CONSENT_ACKNOWLEDGED).wait_for()
    await settled(page)


async def timed_submission(page, photo: Path) -> tuple[float, float]:
    """Seconds from giving the page the photo until it is checked and listed, and from there (the click on
    Submit) until the map of the result is visible (or, for a photo out of scope, which gets no estimate and no
    map, its warning). Their sum is the figure the issue asks for."""
    start = time.perf_counter()
    await page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(photo)
    await page.get_by_text(f"{photo.name} ·").wait_for()
    listed = time.perf_counter()
    await page.get_by_role("button", name="Submit for review").click()
    await (page.get_by_text("Warm colours show the areas")
           .or_(page.get_by_text("does not look like the scalp photos")).first.wait_for())
    return listed - start, time.perf_counter() - listed


async def session(browser, url: str, photo: Path, rounds: int,
                  barrier: asyncio.Barrier | None = None) -> list[tuple[float, float]]:
    """One simulated patient device: each submission in a fresh browser context (a new Streamlit session with
    its own cookie, as a new patient; a tab of the same context would show the previous result, which the app
    keeps with its browser).

    With a barrier, every round's upload starts when all sessions have their page loaded and consent
    given: the uploads of all sessions overlap completely (a burst), and loading the pages, which happens
    on the patients' own devices in real use, does not fall inside another session's timed span.
    """
    times = []
    for _ in range(rounds):
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(STEP_MS)
        try:
            page = await context.new_page()
            try:
                await ready_to_upload(page, url)
                if barrier is not None:
                    await asyncio.wait_for(barrier.wait(), STEP_MS / 1000)
                times.append(await timed_submission(page, photo))
            except Exception:
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / f"latency-failure-{photo.stem}.png"))
                raise
        finally:
            await context.close()
    return times


def process_files(marker: str, name: str) -> Iterator[str]:
    """The text of /proc/PID/``name`` for every process whose command line contains ``marker`` (Linux only).

    Processes that end while being read are skipped.
    """
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                yield (proc / name).read_text()
        except OSError:
            continue


def cpu_seconds(marker: str) -> float:
    """CPU seconds used so far by processes whose command line contains ``marker`` (and their reaped children).

    Browser tabs are child processes that the browser reaps, so they count too.
    """
    tick = os.sysconf("SC_CLK_TCK")
    return sum(sum(int(v) for v in stat.rsplit(")", 1)[1].split()[11:15]) / tick  # utime, stime, cutime, cstime
               for stat in process_files(marker, "stat"))


def server_memory_mb(marker: str = "streamlit run") -> dict[str, float]:
    """Resident memory of the serving process (the largest process whose command line has ``marker``), in MB:
    now, its peak, and the anonymous and file-backed parts (shared libraries are file-backed and shared
    between app processes on one host)."""
    best: dict[str, float] = {}
    for status in process_files(marker, "status"):
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        values = {name: int(fields[key].split()[0]) / 1024 for name, key in
                  (("rss_mb", "VmRSS"), ("peak_mb", "VmHWM"), ("anon_mb", "RssAnon"), ("file_mb", "RssFile"))
                  if key in fields}
        if values.get("rss_mb", 0) > best.get("rss_mb", 0):
            best = values
    return best


def summary(phases: list[tuple[float, float]]) -> dict[str, float]:
    samples = [a + b for a, b in phases]
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(samples), "p50_s": statistics.median(samples), "p95_s": p95, "max_s": ordered[-1],
            "p50_upload_checked_s": statistics.median(a for a, _ in phases),
            "p50_submit_to_map_s": statistics.median(b for _, b in phases)}


async def phase(browser, url: str, photos: list[Path], rounds: int) -> dict[str, object]:
    """``len(photos)`` sessions at once (bursts when more than one), with the CPU that server and browsers used.

    Browsers and server share this machine's cores here; in use, browsers run on the patients' devices.
    """
    barrier = asyncio.Barrier(len(photos)) if len(photos) > 1 else None
    t0 = time.perf_counter()
    cpu0 = {"server": cpu_seconds("streamlit run"), "browser": cpu_seconds("/chromium")}
    runs = await asyncio.gather(*(session(browser, url, photo, rounds, barrier) for photo in photos))
    wall = time.perf_counter() - t0
    cpu = {"server": cpu_seconds("streamlit run") - cpu0["server"],
           "browser": cpu_seconds("/chromium") - cpu0["browser"]}
    flat = [s for run in runs for s in run]
    return {**summary(flat), "sessions": len(photos), "wall_s": wall, "cpu_cores": os.cpu_count(),
            "server_cpu_s": cpu["server"], "browser_cpu_s": cpu["browser"],
            "server_cpu_s_per_submission": cpu["server"] / len(flat),
            "browser_cpu_s_per_submission": cpu["browser"] / len(flat)}


async def measure(url: str, photos: list[Path], args: argparse.Namespace) -> dict[str, object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await launch_chromium(pw, args.browser)
        try:
            result: dict[str, object] = {"browser": f"{args.browser} {browser.version}"}
            await session(browser, url, photos[0], 1)  # warm-up: model load and ONNX export
            result["single"] = await phase(browser, url, photos[:1], args.rounds)
            if args.sessions > 1:
                result["concurrent"] = await phase(browser, url, photos[:args.sessions], args.concurrent_rounds)
            result["server_memory"] = server_memory_mb()
        finally:
            await browser.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="sequential submissions in one session (default 10)")
    parser.add_argument("--sessions", type=int, default=8, help="sessions at once (default 8; 1 skips that phase)")
    parser.add_argument("--concurrent-rounds", type=int, default=3, help="submissions per concurrent session")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--browser", type=Path, default=HEADLESS_SHELL if HEADLESS_SHELL.exists() else CHROMIUM,
                        help="Chromium executable (default: chromium-headless-shell if installed, else chromium)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photos = []
        for i in range(max(1, args.sessions)):  # one photo (content and name) per concurrent patient
            photos.append(Path(tmp) / f"scalp{i}.jpg")
            photos[-1].write_bytes(image_bytes("JPEG", 1600, 1200, seed=i, quality=90))
        env = {"DATABASE_URL": f"sqlite:///{tmp}/latency.db", "SCALPSCOPE_WEIGHTS": str(args.weights),
               "SCALPSCOPE_DEMO": "0"}
        with live_app(env, log_name="latency-server.log") as url:
            result = asyncio.run(measure(url, photos, args))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        s = result["single"]
        print(f"browser: {result['browser']}")
        print(f"one session:  n={s['n']}  p50 {s['p50_s']:.2f} s  p95 {s['p95_s']:.2f} s  (goal p50 ≤ 1 s)")
        if "concurrent" in result:
            c = result["concurrent"]
            print(f"{c['sessions']} at once:   n={c['n']}  p50 {c['p50_s']:.2f} s  p95 {c['p95_s']:.2f} s  "
                  f"(goal p95 ≤ 3 s); wall {c['wall_s']:.1f} s")
        print("serving process, MB: " + ", ".join(f"{k[:-3]} {v:.0f}" for k, v in result["server_memory"].items())
              + "  (goal ≤ 1 GB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
