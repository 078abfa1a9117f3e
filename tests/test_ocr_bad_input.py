"""Bad input gets a clear Chinese reply and a log line, never a crash: huge, ribbon-shaped, animated, HEIC,
PDF, rotated and black images."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest
from PIL import Image

from bot.config import OcrSettings
from ocr.pipeline import OcrRejected, validate
from tests.synth import make_sample

SETTINGS = OcrSettings()


def encoded(img: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def refused(data: bytes, caplog: pytest.LogCaptureFixture) -> OcrRejected:
    with caplog.at_level(logging.INFO, logger="ocr.pipeline"), pytest.raises(OcrRejected) as err:
        validate(data, SETTINGS)
    assert err.value.code in caplog.text  # the log line names why
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.message_cn)
    return err.value


def test_ribbon_pdf_gif_and_black_images_are_refused(caplog: pytest.LogCaptureFixture) -> None:
    assert refused(encoded(Image.new("RGB", (1, 20000), "white")), caplog).code == "bad_dimensions"
    assert refused(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj", caplog).code == "pdf"
    frames = [Image.new("RGB", (400, 800), c) for c in ("white", "grey")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    assert refused(gif.getvalue(), caplog).code == "animated"
    assert refused(encoded(Image.new("RGB", (1080, 2340), "black"), "JPEG"), caplog).code == "blank"


def test_a_hundred_megapixel_image_is_refused_before_decoding(caplog: pytest.LogCaptureFixture) -> None:
    big = encoded(Image.new("1", (10000, 10000)), "PNG")  # a bilevel PNG stays small on disk
    assert refused(big, caplog).code == "too_many_pixels"


def test_exif_rotation_is_applied() -> None:
    shot = Image.open(io.BytesIO(make_sample(3).image)).convert("RGB")
    sideways = shot.rotate(90, expand=True)  # stored turned a quarter to the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    img = validate(encoded(sideways, "JPEG", exif=exif), SETTINGS)
    assert img.size == shot.size  # upright phone screenshot again, not upside down
    diff = np.abs(np.asarray(img, dtype=np.int16) - np.asarray(shot, dtype=np.int16))
    assert float(diff.mean()) < 3


def test_heic_is_read() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    shot = Image.open(io.BytesIO(make_sample(3).image)).convert("RGB")
    img = validate(encoded(shot, "HEIF"), SETTINGS)
    assert img.size[0] <= 1300 and img.height > img.width


def test_a_sideways_camera_photo_is_decoded_small_and_turned_upright() -> None:
    """A 12 MP phone photo is stored 4000×3000 with an EXIF rotation. Its size limit is chosen for the upright
    picture and JPEG decodes it at a fraction of its size, instead of 36 MB decoded whole and shrunk after."""
    from ocr.pipeline import decode_size

    upright = Image.new("RGB", (3000, 4000), (240, 240, 240))
    upright.paste((20, 20, 20), (0, 0, 3000, 400))  # a dark band at the top of the picture
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: rotate 90° clockwise to view
    exif[0x010F] = "PhoneMaker"
    data = encoded(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=80, exif=exif)
    stored = Image.open(io.BytesIO(data))
    stored.draft("RGB", decode_size(*stored.size, stored.getexif()))
    assert stored.size == (2000, 1500)  # what the decoder really produces: a quarter of the pixels
    img = validate(data, SETTINGS)
    assert img.height > img.width and img.width <= 1300
    assert np.asarray(img.convert("L"))[: img.height // 20].mean() < 60  # the band is at the top again
