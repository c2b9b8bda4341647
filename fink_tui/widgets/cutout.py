"""An alert cutout (a small FITS image) drawn in the terminal with half-block characters.

Each character cell shows two pixels, one above the other ("▀": the upper one in the text's
colour, the lower one in the background's). The lines are made for a size once, off the UI
thread when the screen opens (:func:`cutout_lines`), and kept: drawing them again costs
nothing. (textual-image drew the same, but scaled the picture again on every paint, made the
layout render it to learn its width, and asked the terminal about graphics when imported:
~1 s at every start in a terminal that does not answer.)
"""

from __future__ import annotations

import gzip
import io
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:  # imported where pictures are made, on the loading thread: numpy and PIL
    import numpy as np  # took ~160 ms of the key that first opened an alert
    from PIL import Image as PILImage

HALF_BLOCK = "▀"


def cutout_array(data: bytes) -> np.ndarray:
    """The pixels of a cutout: gzipped (ZTF) or plain (LSST) FITS, first HDU with an image."""
    import numpy as np

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
    import numpy as np
    from astropy.visualization import ZScaleInterval
    from PIL import Image as PILImage

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


def _centred(text: str, width: int, style: Style) -> Strip:
    text = text[:width]
    left = (width - len(text)) // 2
    right = width - left - len(text)
    return Strip([Segment(" " * left), Segment(text, style), Segment(" " * right)], width)


@lru_cache(maxsize=4096)
def _grey(top: int, bottom: int) -> Style:
    """The style of a cell: its upper pixel's grey as the text's colour, the lower one's as
    the background (kept for the pairs seen lately: 65,536 could weigh tens of MB)."""
    return Style.parse(f"rgb({top},{top},{top}) on rgb({bottom},{bottom},{bottom})")


def cutout_lines(picture: CutoutPicture, size: Size) -> list[Strip]:
    """The lines of a cutout drawn in ``size``: the title centred on the first, then the
    picture as large as fits with its proportions (pixels are square: a cell is one pixel wide
    and two high), centred. Any thread."""
    import numpy as np
    from PIL import Image as PILImage
    width, height = size
    if width <= 0 or height <= 0:
        return []
    title = _centred(picture.title, width, Style(bold=True))
    blank = Strip([Segment(" " * width)], width)
    if picture.image is None:
        return [title, _centred(picture.problem, width, Style(dim=True))] + [blank] * (height - 2)
    image = picture.image
    rows = height - 1
    scale = min(width / image.width, 2 * rows / image.height)
    cols, pixel_rows = max(1, round(image.width * scale)), max(2, round(image.height * scale))
    cols, pixel_rows = min(cols, width), min(pixel_rows + pixel_rows % 2, 2 * rows)
    pixels = np.asarray(image.resize((cols, pixel_rows), PILImage.Resampling.LANCZOS))
    left = (width - cols) // 2
    pad_left, pad_right = Segment(" " * left), Segment(" " * (width - left - cols))
    lines = [title]
    for y in range(0, pixel_rows, 2):
        tops, bottoms = pixels[y].tolist(), pixels[y + 1].tolist()
        cells = [Segment(HALF_BLOCK, _grey(t, b)) for t, b in zip(tops, bottoms, strict=True)]
        lines.append(Strip([pad_left, *cells, pad_right], width).simplify())
    lines += [blank] * (height - len(lines))
    return lines


class CutoutView(Widget):
    """One titled cutout, or why it cannot be shown; its lines made once per size."""

    DEFAULT_CSS = """
    CutoutView { width: 1fr; height: 1fr; }
    """

    def __init__(self, picture: CutoutPicture | None = None, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.picture = picture
        self._lines: tuple[Size, list[Strip]] | None = None

    def show(
        self, picture: CutoutPicture | None, lines: tuple[Size, list[Strip]] | None = None
    ) -> None:
        """Draw ``picture`` (with its lines, when made already for a size; None: nothing)."""
        if picture is None and self.picture is None:
            return  # blank already: its lines drawn stay (AlertScreen renders them ahead)
        self.picture, self._lines = picture, lines
        self.refresh()

    def render_line(self, y: int) -> Strip:
        if self.picture is None:
            return Strip.blank(self.size.width)
        if self._lines is None or self._lines[0] != self.size:
            self._lines = (self.size, cutout_lines(self.picture, self.size))
        lines = self._lines[1]
        return lines[y] if y < len(lines) else Strip.blank(self.size.width)
