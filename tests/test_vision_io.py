"""vision.io (torchvision.io's image functions) against Pillow, the decoder behind them here: a uint8
tensor [C, H, W] with torchvision's channel rules per ImageReadMode."""
import numpy as np
import pytest
from PIL import Image

import tinygrad_edu as tg
from tinygrad_edu.vision.io import ImageReadMode, decode_image, read_file, read_image, write_png


def _rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("pil_mode, channels", [("L", 1), ("LA", 2), ("RGB", 3), ("RGBA", 4)])
def test_png_unchanged_is_the_files_pixels(tmp_path, pil_mode, channels):
    a = _rng().integers(0, 256, (5, 7, channels), dtype=np.uint8)
    Image.fromarray(a[:, :, 0] if channels == 1 else a, pil_mode).save(tmp_path / "x.png")
    img = read_image(tmp_path / "x.png")
    assert img.dtype == tg.uint8 and img.shape == (channels, 5, 7)
    assert np.array_equal(img.numpy(), a.transpose(2, 0, 1))
    assert np.array_equal(decode_image(read_file(tmp_path / "x.png")).numpy(), img.numpy())


@pytest.mark.parametrize("mode, pil, channels", [(ImageReadMode.GRAY, "L", 1), ("GRAY_ALPHA", "LA", 2),
                                                 (ImageReadMode.RGB, "RGB", 3), (ImageReadMode.RGB_ALPHA, "RGBA", 4)])
def test_modes_convert_as_pillow(tmp_path, mode, pil, channels):
    a = _rng().integers(0, 256, (6, 4, 3), dtype=np.uint8)
    Image.fromarray(a).save(tmp_path / "x.jpg", quality=95)
    img = read_image(str(tmp_path / "x.jpg"), mode)
    expected = np.asarray(Image.open(tmp_path / "x.jpg").convert(pil))
    assert img.shape == (channels, 6, 4)
    assert np.array_equal(img.numpy(), (expected[:, :, None] if channels == 1 else expected).transpose(2, 0, 1))


def test_palette_image_reads_as_rgb(tmp_path):
    Image.fromarray(_rng().integers(0, 256, (4, 4, 3), dtype=np.uint8)).convert("P").save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").shape == (3, 4, 4)


def test_write_png_round_trip_and_errors(tmp_path):
    x = tg.from_numpy(_rng().integers(0, 256, (3, 8, 5), dtype=np.uint8))
    write_png(x, tmp_path / "w.png")
    assert np.array_equal(read_image(tmp_path / "w.png").numpy(), x.numpy())
    with pytest.raises(RuntimeError, match=r"uint8 tensor of shape \[C, H, W\]"):
        write_png(x.float(), tmp_path / "f.png")


def test_bad_files_name_the_file(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(RuntimeError, match="bad.png: not an image"):
        read_image(tmp_path / "bad.png")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_image(tmp_path / "missing.png")
    Image.fromarray(np.zeros((2, 2), np.uint16)).save(tmp_path / "deep.png")
    with pytest.raises(RuntimeError, match="deep.png.*16/32-bit"):
        read_image(tmp_path / "deep.png")
    with pytest.raises(ValueError, match="not one of"):
        read_image(tmp_path / "deep.png", "CMYK")
