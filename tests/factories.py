"""Generated test material: the tests' name for :mod:`testing.factories` (shared with ``scripts/``)."""
from testing.factories import image_bytes, lively_scalpnet, make_checkpoint, photo_array  # noqa: F401
