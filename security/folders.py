"""The reader-study folder: an admin may name only folders inside one configured root.

The admin types a path in the browser and the server reads every image under it, so without a bound the
form reads any folder the server's account can (``~`` used to become the server's home), and different
error messages told whether a folder exists. :func:`confined_folder` resolves the path (symlinks included)
before checking that it lies inside the root, and every refusal raises :class:`FolderRefused` with the same
message. :func:`confined_file` applies the same rule to each file found (a symlink inside the root may point
anywhere).
"""
from __future__ import annotations

import os
from pathlib import Path

REFUSED = ("This folder cannot be used for a reader study. Give a folder inside the reader-study folder of "
           "the server ({root}) that holds psoriasis/ and seborrheic_dermatitis/ with images, e.g. "
           "'pilot-2026' for {root}/pilot-2026.")


class FolderRefused(ValueError):
    """The folder is outside the root, missing, not a folder, unreadable or empty: one message for all."""

    def __init__(self, root: Path) -> None:
        super().__init__(REFUSED.format(root=root))


def confined_folder(typed: str, root: Path | str) -> Path:
    """The real path of the folder ``typed`` names inside ``root`` (relative to it, or absolute).

    Raises FolderRefused for anything else: empty or NUL-holding text, ``~``, a path that resolves (after
    following symlinks) outside ``root``, or one that does not exist or is not a folder.
    """
    root = Path(root)
    try:
        real_root = root.resolve(strict=True)
    except OSError as exc:
        raise FolderRefused(root) from exc
    text = (typed or "").strip()
    if not text or "\x00" in text or text.startswith("~"):
        raise FolderRefused(root)
    candidate = Path(text) if os.path.isabs(text) else real_root / text
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # missing, unreadable, or a symlink loop
        raise FolderRefused(root) from exc
    if not real.is_relative_to(real_root) or not real.is_dir():
        raise FolderRefused(root)
    return real


def confined_file(path: Path, root: Path | str) -> Path | None:
    """The real path of ``path`` when it is a regular file inside ``root`` after following symlinks, else None."""
    try:
        real = Path(path).resolve(strict=True)
        inside = real.is_relative_to(Path(root).resolve(strict=True))
    except (OSError, RuntimeError):
        return None
    return real if inside and real.is_file() else None
