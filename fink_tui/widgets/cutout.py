"""An alert cutout (a small FITS image) drawn in the terminal with textual-image."""

from __future__ import annotations

import gzip
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label
from textual_image.widget import HalfcellImage


def cutout_array(data: bytes) -> np.ndarray:
    """The pixels of a cutout: gzipped (ZTF) or plain (LSST) FITS, first HDU with an image."""
    # astropy weighs ~25 MB and half a second to import: only once an alert is opened.
    from astropy.io import fits

    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LSST stamps carry a non-standard SIMPLE card
        with fits.open(io.BytesIO(data), ignore_missing_simple=True) as hdus:
            for hdu in hdus:
                if hdu.data is not None and getattr(hdu.data, "ndim", 0) == 2:
                    return np.array(hdu.data, dtype=float)
    raise ValueError("no image in this FITS file")


def cutout_image(pixels: np.ndarray) -> PILImage.Image:
    """A grey-scale picture of the pixels, scaled with zscale as astronomers expect."""
    from astropy.visualization import ZScaleInterval

    finite = np.nan_to_num(pixels, nan=np.nanmedian(pixels) if np.isfinite(pixels).any() else 0)
    low, high = ZScaleInterval().get_limits(finite)
    scaled = np.clip((finite - low) / ((high - low) or 1.0), 0, 1)
    # FITS rows run bottom-up; pictures top-down.
    return PILImage.fromarray((np.flipud(scaled) * 255).astype(np.uint8), mode="L")


@dataclass(frozen=True)
class CutoutPicture:
    """A cutout ready to draw: its title and picture, or why there is none."""

    title: str
    image: PILImage.Image | None = None
    problem: str = ""


def prepare_cutout(title: str, data: bytes | None) -> CutoutPicture:
    """Read and scale a cutout (slow: FITS and zscale; run it off the UI thread)."""
    if data is None:
        return CutoutPicture(title, problem="no cutout in this alert")
    try:
        pixels = cutout_array(data)
        height, width = pixels.shape
        return CutoutPicture(f"{title} {width}×{height}", cutout_image(pixels))
    except (OSError, ValueError) as exc:
        return CutoutPicture(title, problem=f"cannot read this cutout: {exc}")


class CutoutView(Vertical):
    """One titled cutout, or why it cannot be shown."""

    DEFAULT_CSS = """
    CutoutView { width: 1fr; height: 1fr; }
    CutoutView > Label { width: 100%; text-align: center; text-style: bold; }
    CutoutView { align-horizontal: center; }
    CutoutView > HalfcellImage { width: auto; height: 1fr; }
    CutoutView > .missing { color: $text-muted; }
    """

    def __init__(self, picture: CutoutPicture, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.picture = picture

    def compose(self) -> ComposeResult:
        yield Label(self.picture.title)
        if self.picture.image is None:
            yield Label(self.picture.problem, classes="missing")
        else:
            yield HalfcellImage(self.picture.image)
