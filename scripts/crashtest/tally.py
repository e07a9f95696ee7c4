"""What the crash test counted: kills, shown access codes, reported reviews, problems."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Tally:
    """Kills (and those that hit a transaction or submission in flight), checks, problems, and what the database
    must hold: every shown access code with its number of images, every reported review."""

    kills: dict[str, int] = field(default_factory=lambda: {"writer": 0, "server": 0})
    in_flight: dict[str, int] = field(default_factory=lambda: {"writer": 0, "server": 0})
    checks: int = 0
    problems: list[str] = field(default_factory=list)
    shown: dict[str, int] = field(default_factory=dict)  # access code -> number of images
    shown_by: dict[str, set[str]] = field(default_factory=lambda: {"writer": set(), "browser": set()})
    reviewed: set[int] = field(default_factory=set)
    consultations: int = 0

    def summary(self, wall_s: float) -> str:
        return (f"crash test: kills={sum(self.kills.values())} (driver {self.kills['writer']}, "
                f"{self.in_flight['writer']} before its commit returned; server {self.kills['server']}, "
                f"{self.in_flight['server']} with a submission in flight) checks={self.checks} "
                f"failed-checks={len(self.problems)} consultations={self.consultations} "
                f"shown-codes={len(self.shown)} (driver {len(self.shown_by['writer'])}, browser "
                f"{len(self.shown_by['browser'])}) reviews={len(self.reviewed)} wall={wall_s:.0f}s")


def unfinished(lines: list[list[str]], start: str, ends: tuple[str, ...]) -> bool:
    """Whether the last ``start`` line (begin, click) has no matching end line (shown, reviewed)."""
    starts = [line for line in lines if line and line[0] == start]
    return bool(starts) and not any(line[0] in ends and line[1:2] == starts[-1][1:2] for line in lines if line)


def collect(lines: list[list[str]], tally: Tally, source: str) -> None:
    """Add the codes shown and the reviews reported in ``lines`` (from ``source``: writer or browser)."""
    for line in lines:
        if len(line) >= 4 and line[0] == "shown":
            tally.shown[line[2]] = int(line[3])
            tally.shown_by[source].add(line[2])
        elif len(line) >= 3 and line[0] == "reviewed":
            tally.reviewed.add(int(line[2]))

