"""The report: the machine measured on, the Markdown table of p50 / p95 per metric and size, and the printout."""
from __future__ import annotations

import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# (key, label, goal for p95 in ms or None)
METRICS: list[tuple[str, str, float | None]] = [
    ("q_open", "queue: open, page 1", 300),
    ("q_open_uncertain", "queue: open + uncertain only, page 1", 300),
    ("q_open_oos_wait", "queue: open + out of scope + waiting ≥ 1 day", 300),
    ("q_all", "queue: all statuses, page 1", 300),
    ("q_open_deep", "queue: open, keyset page 20 (or last)", 300),
    ("q_all_deep", "queue: all statuses, keyset page 200 (or last)", 300),
    ("counts", "queue counts (per status)", None),
    ("turnaround", "turnaround, 3 windows (7 d, 30 d, all)", None),
    ("queue_page", "queue page as pages/queue.py (counts + turnaround + page 1)", 300),
    ("queue_page_cached", "queue page with turnaround cached in the UI (counts + page 1)", 300),
    ("open_consultation", "open a consultation (images + overlays, audited)", None),
    ("review_save", "review save (claim + review + next, one commit)", None),
    ("lookup", "patient code look-up (audited: includes its commit)", 10),
    ("lookup_read", "patient code look-up, reads only (audit event not committed)", 10),
]


def machine() -> dict[str, Any]:
    """CPU, memory, load, Python and SQLite versions: what the figures depend on."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = next(
            int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        mem_kb = 0
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024**2, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def markdown(report: dict[str, Any]) -> str:
    """One row per metric, one column per (backend, size); then the realistic sizes when measured."""
    runs = report["runs"]
    columns = [(r["backend"], r["size"]) for r in runs]
    header = (
        "| metric (p50 / p95 ms) | goal p95 | "
        + " | ".join(f"{'SQLite' if b == 'sqlite' else 'PostgreSQL'} {n:,}" for b, n in columns)
        + " |"
    )
    lines = [header, "|" + "---|" * (len(columns) + 2)]
    for key, label, goal in METRICS:
        cells = []
        for run in runs:
            t = run["timings"].get(key)
            cells.append(f"{t['p50']:.1f} / {t['p95']:.1f}" if t else "n/a")
        lines.append(f"| {label} | {f'≤ {goal:g}' if goal else ''} | " + " | ".join(cells) + " |")
    lines.append("| seed time for this step (s) | | " + " | ".join(f"{r['seed_seconds']:.1f}" for r in runs) + " |")
    lines.append(
        "| database size / consultation (KB, demo images) | | "
        + " | ".join(f"{r['bytes_per_consultation'] / 1024:.1f}" for r in runs)
        + " |"
    )
    lines.append(
        "| of which not image/overlay bytes (KB) | | "
        + " | ".join(f"{r['overhead_bytes_per_consultation'] / 1024:.1f}" for r in runs)
        + " |"
    )
    lines.append("| open consultations at this size | | " + " | ".join(f"{r['open']:,}" for r in runs) + " |")
    out = ["\n".join(lines)]
    realistic = report.get("realistic")
    if realistic and realistic["photos"]:
        rows = ["| photo | stored size (px) | sanitised JPEG (KB) | overlay PNG 512 px (KB) |", "|---|---|---|---|"]
        for p in realistic["photos"]:
            rows.append(
                f"| {p['photo']} | {p['stored_px'][0]}×{p['stored_px'][1]} | {p['jpeg_bytes'] / 1024:.0f} | "
                f"{p['overlay_png_bytes'] / 1024:.0f} |"
            )
        est = realistic["estimate"]
        rows.append(
            f"\nRealistic per consultation ({est['images_per_consultation']:.2f} photos on average, as seeded): "
            f"**{est['kb_per_consultation']:.0f} KB** = {est['overhead_kb']:.1f} KB rows/indexes (measured, "
            f"{est['overhead_from']}) + photos × {est['photo_kb']:.0f} KB; 1 photo ≈ {est['kb_1_photo']:.0f} KB, "
            f"3 photos ≈ {est['kb_3_photos']:.0f} KB; 100,000 consultations ≈ {est['gb_per_100k']:.1f} GB. "
            f"Pipeline: {realistic['pipeline']}."
        )
        out.append("\n".join(rows))
    return "\n\n".join(out)


def print_report(report: dict[str, Any]) -> None:
    """The machine line, the table, and PostgreSQL's plans (``--explain``) folded away, on stdout."""
    m = report["machine"]
    print(
        f"Measured {m['date']} on {m['cpu']} ({m['cpus']} CPUs, {m['memory_gib']} GiB), Python {m['python']}, "
        f"SQLite {m['sqlite']}, load average at start {m['load_average_at_start']}; total {report['seconds']:.0f} s.\n"
    )
    print(markdown(report))
    for name, plan in report["explain"].items():
        print(f"\n<details><summary>EXPLAIN ANALYZE: {name}</summary>\n\n```\n{plan}\n```\n</details>")
