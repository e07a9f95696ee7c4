"""Large pictures in bounded memory: strip-wise reduction equals the whole, large-decode slots."""
from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image, ImageFile

from scalp_model.serving import colour, decode_memory
from scalp_model.errors import ImageTooLargeError
from scalp_model.serving.preprocess import decode_image
from tests.factories import photo_array


def _pattern(mode: str, size: tuple[int, int]) -> Image.Image:
    rgb = Image.fromarray(photo_array(400, 300, seed=3)).resize(size, Image.Resampling.BICUBIC)
    if mode == "RGBA":
        img = rgb.convert("RGBA")
        alpha = np.zeros(size[::-1], dtype=np.uint8)
        alpha[:, : size[0] // 2] = 255
        img.putalpha(Image.fromarray(alpha))
        return img
    if mode == "P":
        return rgb.convert("P", palette=Image.Palette.ADAPTIVE)
    if mode == "I;16":
        return Image.fromarray(np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)
    return rgb.convert(mode)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "I;16"])
def test_strip_reduction_equals_reducing_the_whole_picture(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large pictures are converted and reduced a few rows at a time: the result must be the same pixels."""
    img = _pattern(mode, (2600, 1900))
    factor = max(img.size) // 512
    whole = colour.to_rgb(img.copy()).reduce(factor)
    whole.thumbnail((512, 512), Image.Resampling.BILINEAR)
    monkeypatch.setattr(decode_memory, "STRIP_PIXELS", 300_000)  # many strips, one of them partial
    strips = decode_memory.reduced_rgb(img.copy(), 512)
    assert strips.mode == "RGB" and strips.size == whole.size
    assert np.array_equal(np.asarray(strips), np.asarray(whole))


def _png(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    _pattern("RGB", size).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def test_large_decodes_wait_for_a_slot_and_are_refused_clearly_when_it_never_comes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode_memory, "LARGE_DECODE_PIXELS", 1_000_000)
    monkeypatch.setattr(decode_memory, "LARGE_DECODE_WAIT_S", 0.3)
    monkeypatch.setenv("SCALPSCOPE_MAX_LARGE_DECODES", "1")
    large, small = _png((1400, 1000)), _png((900, 700))
    slot = decode_memory.large_decode_slots()
    assert slot.acquire(timeout=5)  # another session is decoding a large picture
    try:
        with pytest.raises(ImageTooLargeError, match="busy with other very large pictures"):
            decode_image(large)
        assert decode_image(small).image.size == (512, 398)  # small pictures never wait
    finally:
        slot.release()
    assert decode_image(large).image.size == (512, 366)  # the slot is free again


def test_a_png_is_not_decoded_outside_the_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a PNG's EXIF decodes all of it (the eXIf chunk may follow the pixels): not before the slot."""
    monkeypatch.setattr(decode_memory, "LARGE_DECODE_PIXELS", 1_000_000)
    loaded_outside: list[bool] = []
    held = threading.local()
    real_enter, real_exit = decode_memory.decode_slot.__enter__, decode_memory.decode_slot.__exit__
    real_load = ImageFile.ImageFile.load

    def enter(self):  # noqa: ANN001
        held.inside = True
        return real_enter(self)

    def exit_(self, *exc):  # noqa: ANN001
        held.inside = False
        return real_exit(self, *exc)

    def load(self):  # noqa: ANN001
        if getattr(self, "_im", None) is None:  # this call decodes the pixels
            loaded_outside.append(not getattr(held, "inside", False))
        return real_load(self)

    monkeypatch.setattr(decode_memory.decode_slot, "__enter__", enter)
    monkeypatch.setattr(decode_memory.decode_slot, "__exit__", exit_)
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    _pattern("RGB", (1400, 1000)).save(buf, format="PNG", exif=exif.tobytes())
    decoded = decode_image(buf.getvalue())
    assert decoded.exif_orientation == 6 and decoded.image.size == (366, 512)
    assert loaded_outside and not any(loaded_outside)
