"""Limits on a patient's photos, checked on sizes alone before any photo is copied, hashed or decoded.

A modified client can hand the New consultation page any number of files; decoding twelve, or eight of
18 MiB, before saying "at most 3" cost the server ~160 MB and seconds of CPU per attempt.
"""
from __future__ import annotations

from collections.abc import Sequence


def upload_problem(sizes: Sequence[int], max_files: int, max_bytes: int) -> str | None:
    """What is wrong with photos of these byte sizes, in words for the patient, or None when within limits."""
    if len(sizes) > max_files:
        return f"remove {len(sizes) - max_files} photo(s): at most {max_files}"
    too_large = sum(size > max_bytes for size in sizes)
    if too_large:
        return f"remove {too_large} photo(s) larger than {max_bytes / 2**20:.3g} MB"
    return None
