"""Named errors whose messages a patient or an operator can act on.

Every error raised on purpose by ``scalp_model`` derives from :class:`ScalpScopeError`, so the app
can turn all of them into a friendly message in one place and let genuine bugs surface.
"""
from __future__ import annotations


class ScalpScopeError(Exception):
    """Base class for errors whose message is safe to show to a user."""


class InvalidImageError(ScalpScopeError, ValueError):
    """The upload is not an image we can read (corrupt, truncated, wrong type, empty)."""


class ImageTooLargeError(InvalidImageError):
    """The upload is too large in bytes or pixels to be processed safely."""


class TruncatedImageError(InvalidImageError):
    """The file itself ends before the picture does (not an upload problem: sending it again cannot help).

    ``fraction_present``: the share of the picture's rows that the file holds intact, when it can be told.
    """

    def __init__(self, message: str, *, fraction_present: float | None = None) -> None:
        super().__init__(message)
        self.fraction_present = fraction_present


class WeightsError(ScalpScopeError, RuntimeError):
    """The model checkpoint cannot be used."""


class WeightsMissingError(WeightsError, FileNotFoundError):
    """No checkpoint file at the configured path."""


class WeightsCorruptError(WeightsError):
    """The checkpoint is truncated, not a checkpoint, or does not match its model card."""


class WeightsMismatchError(WeightsError):
    """The checkpoint is readable but made for another architecture or label set."""
