"""Peak memory of the server while sessions upload small files of huge pictures (a benchmark, not a test).

Starts ``streamlit run serve.py`` on 127.0.0.1 (the shipped checkpoint, a temporary SQLite file), warms it up
with one ordinary consultation, then drives N sessions in headless Chromium (one browser, one context per
session). Each session consents, hands the page three PNGs of ~59 megapixels that are only ~250 kB each
(flat colour with a few shapes: what "small file, huge image" uploads look like) all at once, waits until the
page has checked them, and submits. The server's resident memory is sampled every 0.2 s, and its peak
(``VmHWM``) is read at the end. Prints the baseline after the warm-up, the peak, and what each session got: a
result with its access code, or the message it was shown. Bounded: a timeout per step, at most
``--max-seconds`` in all, and the server is stopped at the end. Linux only (``/proc``).

    python scripts/memory_test.py [--sessions 8] [--photos 3] [--megapixels 59] [--json]

Goal (issue 16): the peak stays under 1.5 GB and every session gets a result or a clear refusal.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from scalp_model.settings import DEFAULT_WEIGHTS  # noqa: E402
from scripts.browser_latency import HEADLESS_SHELL, server_memory_mb  # noqa: E402
from testing.factories import image_bytes  # noqa: E402
from testing.live import CHROMIUM, launch_chromium, live_app  # noqa: E402
from testing.pages import CONSENT_ACKNOWLEDGED  # noqa: E402

STEP_MS = 300_000
GOAL_MB = 1536


def huge_png(seed: int, megapixels: float) -> bytes:
    """A 4:3 RGB PNG of ``megapixels`` that compresses to a few hundred kB (flat colour, a few ellipses)."""
    import numpy as np
    from PIL import Image, ImageDraw

    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    size = (width, int(width * 3 / 4))
    img = Image.new("RGB", size, (200 - 7 * (seed % 10), 150, 130))
    draw = ImageDraw.Draw(img)
    rng = np.random.default_rng(seed)
    for _ in range(40):
        x, y = int(rng.integers(0, size[0] - 800)), int(rng.integers(0, size[1] - 800))
        w, h = int(rng.integers(100, 800)), int(rng.integers(100, 800))
        draw.ellipse((x, y, x + w, y + h), fill=tuple(int(v) for v in rng.integers(60, 230, 3)))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=9)
    return buf.getvalue()


def reset_peak(marker: str) -> bool:
    """Start the server's peak (VmHWM) afresh, so that it covers the load and not the warm-up's ONNX export
    (``/proc/PID/clear_refs`` ← 5, Linux ≥ 4.0, own processes). True when it could be reset."""
    done = False
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                (proc / "clear_refs").write_text("5")
                done = True
        except OSError:
            continue
    return done


class Sampler(threading.Thread):
    """The serving process's resident memory every ``interval`` seconds, until stopped."""

    def __init__(self, marker: str, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.marker, self.interval, self.samples, self.stop = marker, interval, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            rss = server_memory_mb(self.marker).get("rss_mb")
            if rss:
                self.samples.append((time.monotonic(), rss))
            self.stop.wait(self.interval)


async def settled(page) -> None:
    from playwright.async_api import expect

    await expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=STEP_MS)
    await expect(page.locator('[data-testid="stElementContainer"][data-stale="true"]')).to_have_count(
        0, timeout=STEP_MS)


async def consultation(browser, url: str, photos: list[Path], start: asyncio.Barrier | None) -> dict[str, object]:
    """One session: consent, hand over ``photos`` at once, wait for the checks, submit; what it was shown."""
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(STEP_MS)
    began = time.monotonic()
    try:
        await page.goto(f"{url}/new_consultation")
        await page.get_by_text("I have read this and agree").click()
        await page.get_by_text(CONSENT_ACKNOWLEDGED).wait_for(timeout=STEP_MS)
        await settled(page)
        if start is not None:
            await start.wait()
        began = time.monotonic()
        await page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(photos)
        for photo in photos:  # checked: its size line, or an error under its name
            done = page.get_by_text(f"{photo.name} ·").or_(
                page.locator('[data-testid="stAlertContentError"]').first)
            await expect(done.first).to_be_visible(timeout=STEP_MS)
        await settled(page)
        submit = page.get_by_role("button", name="Submit for review")
        if await submit.is_disabled():
            errors = await page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
            return {"outcome": "refused", "message": " | ".join(errors), "seconds": time.monotonic() - began}
        await submit.click()
        sent = page.get_by_text("Your consultation has been sent")
        failed = page.locator('[data-testid="stAlertContentError"]')
        await expect(sent.or_(failed.first).first).to_be_visible(timeout=STEP_MS)
        if await sent.count():
            code = (await page.locator(".st-key-access_code code").inner_text()).strip()
            return {"outcome": "result", "code": code, "seconds": time.monotonic() - began}
        return {"outcome": "refused", "message": " | ".join(await failed.all_inner_texts()),
                "seconds": time.monotonic() - began}
    except Exception as exc:  # noqa: BLE001 - a benchmark reports what happened to every session
        return {"outcome": "failed", "message": f"{type(exc).__name__}: {str(exc)[:300]}",
                "seconds": time.monotonic() - began}
    finally:
        await context.close()


async def drive(url: str, browser_path: Path, photos: list[Path], warm: Path, sessions: int,
                marker: str) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await launch_chromium(pw, browser_path)
        try:
            warm_up = await consultation(browser, url, [warm], None)  # model loaded, ONNX export verified
            if warm_up["outcome"] != "result":
                raise RuntimeError(f"warm-up failed: {warm_up}")
            global BASELINE_MB  # noqa: PLW0603 - read by main once the warm-up is done
            BASELINE_MB = server_memory_mb(marker).get("rss_mb", 0.0)
            global LOAD_FROM  # noqa: PLW0603
            LOAD_FROM = time.monotonic()
            global PEAK_RESET  # noqa: PLW0603
            PEAK_RESET = reset_peak(marker)
            barrier = asyncio.Barrier(sessions) if sessions > 1 else None
            return list(await asyncio.gather(*(consultation(browser, url, photos, barrier) for _ in range(sessions))))
        finally:
            await browser.close()


BASELINE_MB = 0.0
PEAK_RESET = False
LOAD_FROM = float("inf")  # when the warm-up ended and the load began (time.monotonic)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8, help="sessions at once (default 8)")
    parser.add_argument("--photos", type=int, default=3, help="huge photos per session (default 3, at most 3)")
    parser.add_argument("--megapixels", type=float, default=59.0, help="pixels per photo (default 59 M)")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--browser", type=Path, default=HEADLESS_SHELL if HEADLESS_SHELL.exists() else CHROMIUM)
    parser.add_argument("--max-seconds", type=float, default=900.0, help="give up after this (default 900)")
    parser.add_argument("--json", action="store_true")
    return parser


def write_photos(folder: Path, count: int, megapixels: float) -> tuple[list[Path], list[int], Path]:
    """``count`` huge PNGs (at most 3) and one ordinary JPEG for the warm-up; also the PNGs' sizes in kB."""
    photos, sizes_kb = [], []
    for i in range(min(count, 3)):
        photos.append(folder / f"huge-{i}.png")
        data = huge_png(i, megapixels)
        photos[-1].write_bytes(data)
        sizes_kb.append(round(len(data) / 1024))
    warm = folder / "ordinary.jpg"
    warm.write_bytes(image_bytes("JPEG", 1600, 1200, seed=1))
    return photos, sizes_kb, warm


def measure(args: argparse.Namespace, folder: Path, photos: list[Path], warm: Path) -> tuple[list[dict], dict, list, float]:
    """Serve the app, sample its memory while the sessions run; their outcomes, the server's memory at the end,
    the samples and the wall time."""
    # The user's ONNX cache, as a server has it: a verified export is served without building the network.
    env = {"DATABASE_URL": f"sqlite:///{folder / 'memory.db'}", "SCALPSCOPE_WEIGHTS": str(args.weights)}
    with live_app(env, log_name="memory-test-server.log") as url:
        marker = f"--server.port {url.rsplit(':', 1)[1]}"  # this server only, not another one on the machine
        sampler = Sampler(marker)
        sampler.start()
        began = time.monotonic()
        try:
            outcomes = asyncio.run(asyncio.wait_for(
                drive(url, args.browser, photos, warm, args.sessions, marker), timeout=args.max_seconds))
        finally:
            sampler.stop.set()
            sampler.join(timeout=5)
        memory = server_memory_mb(marker)
    return outcomes, memory, sampler.samples, time.monotonic() - began


def build_report(args: argparse.Namespace, photos: list[Path], sizes_kb: list[int], outcomes: list[dict],
                 memory: dict, samples: list, wall: float) -> dict[str, object]:
    """The figures: baseline, peak (VmHWM when it could be reset after the warm-up, else the samples), end;
    what the sessions got."""
    sampled = [rss for at, rss in samples if at >= LOAD_FROM]
    # VmHWM covers the load phase when it could be reset after the warm-up; the samples always do.
    peak = max(memory.get("peak_mb", 0.0) if PEAK_RESET else 0.0, max(sampled, default=0.0))
    return {
        "sessions": args.sessions, "photos_per_session": len(photos), "megapixels": args.megapixels,
        "file_kb": sizes_kb,
        "baseline_mb": round(BASELINE_MB), "peak_mb": round(peak), "peak_from": "VmHWM" if PEAK_RESET else "samples", "end_mb": round(memory.get("rss_mb", 0.0)),
        "goal_mb": GOAL_MB, "met": peak < GOAL_MB, "wall_s": round(wall, 1),
        "results": sum(o["outcome"] == "result" for o in outcomes),
        "refusals": sum(o["outcome"] == "refused" for o in outcomes),
        "failures": sum(o["outcome"] == "failed" for o in outcomes),
        "sessions_detail": outcomes,
    }


def print_report(report: dict, sizes_kb: list[int], wall: float) -> None:
    print(f"memory test: {report['sessions']} sessions x {report['photos_per_session']} PNGs of "
          f"{report['megapixels']:g} MP ({', '.join(f'{k} kB' for k in sizes_kb)}); server RSS "
          f"baseline {report['baseline_mb']} MB, peak {report['peak_mb']} MB (goal < {GOAL_MB} MB: "
          f"{'met' if report['met'] else 'NOT met'}), end {report['end_mb']} MB; results {report['results']}, "
          f"refusals {report['refusals']}, failures {report['failures']}; wall {wall:.0f} s")
    for i, o in enumerate(report["sessions_detail"]):
        print(f"  session {i}: {o['outcome']} after {o['seconds']:.1f} s"
              + (f": {o.get('message')}" if o["outcome"] != "result" else ""))


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scalpscope-memory-") as tmp:
        folder = Path(tmp)
        photos, sizes_kb, warm = write_photos(folder, args.photos, args.megapixels)
        outcomes, memory, samples, wall = measure(args, folder, photos, warm)
    report = build_report(args, photos, sizes_kb, outcomes, memory, samples, wall)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_report(report, sizes_kb, wall)
    return 0 if report["met"] and report["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
