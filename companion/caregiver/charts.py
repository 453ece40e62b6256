"""Charts for e-mail as small PNG images: numpy draws, zlib compresses, nothing else is needed.

Mail clients strip SVG and scripts, so the summary's charts are PNGs attached inline (cid:).
The images carry no text at all: labels are HTML table cells under the image, one per day, so
they stay readable at any width and with images blocked. Every chart divides its width into
equal slots, one per day, exactly like the table cells below it.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

SCALE = 2  # drawn at twice the display size: sharp on phone screens
WIDTH, HEIGHT = 560, 150  # display size in CSS pixels

INK = (29, 36, 48)
GRID = (227, 230, 234)
BAND = (222, 226, 245)
BLUE = (30, 136, 229)
PURPLE = (94, 53, 177)
ORANGE = (239, 108, 0)
GREEN = (67, 160, 71)
RED = (229, 57, 53)


def png_bytes(rgb: np.ndarray) -> bytes:
    """An (h, w, 3) uint8 array as a PNG file (8-bit RGB, no interlace)."""
    h, w, _ = rgb.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = np.zeros((h, 1 + w * 3), dtype=np.uint8)  # each row: filter byte 0, then the pixels
    raw[:, 1:] = rgb.reshape(h, w * 3)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)) + chunk(b"IEND", b""))


class Canvas:
    """A white RGB image with the few shapes the charts need, in display pixels (drawn at SCALE)."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        self.w, self.h = width, height
        self.px = np.full((height * SCALE, width * SCALE, 3), 255, dtype=np.uint8)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: tuple[int, int, int]) -> None:
        """Fill [x0, x1) × [y0, y1) (display pixels, clipped)."""
        a, b = sorted((int(round(x0 * SCALE)), int(round(x1 * SCALE))))
        c, d = sorted((int(round(y0 * SCALE)), int(round(y1 * SCALE))))
        self.px[max(c, 0):max(d, 0), max(a, 0):max(b, 0)] = color

    def hline(self, y: float, color: tuple[int, int, int], width: float = 1.0, dash: int = 0) -> None:
        """A horizontal line across the whole chart (dashed when dash > 0)."""
        if dash:
            for x in range(0, self.w, 2 * dash):
                self.rect(x, y - width / 2, x + dash, y + width / 2, color)
        else:
            self.rect(0, y - width / 2, self.w, y + width / 2, color)

    def dot(self, cx: float, cy: float, r: float, color: tuple[int, int, int]) -> None:
        """A filled circle."""
        yy, xx = np.ogrid[: self.px.shape[0], : self.px.shape[1]]
        mask = (xx - cx * SCALE) ** 2 + (yy - cy * SCALE) ** 2 <= (r * SCALE) ** 2
        self.px[mask] = color

    def png(self) -> bytes:
        """The PNG file."""
        return png_bytes(self.px)


def slot_x(i: int, n: int, width: int = WIDTH) -> float:
    """Centre of slot i of n equal slots across the width (matches n equal table cells)."""
    return width * (i + 0.5) / n


@dataclass(frozen=True)
class Chart:
    """A PNG and the words that describe it (alt text for blocked images and screen readers)."""

    png: bytes
    alt: str


def bar_chart(values: list[float | None], color: tuple[int, int, int], alt: str,
              highlight: list[bool] | None = None) -> Chart:
    """One bar per day, from a common baseline; None = no data (a small grey tick)."""
    c = Canvas()
    top, bottom = 10.0, c.h - 8.0
    hi = max([v for v in values if v is not None] + [1.0])
    for k in (0.5, 1.0):
        c.hline(bottom - (bottom - top) * k, GRID)
    c.hline(bottom, INK, 1.5)
    n = len(values)
    bar = min(44.0, c.w / n * 0.55)
    for i, v in enumerate(values):
        x = slot_x(i, n)
        if v is None:
            c.rect(x - bar / 2, bottom - 2, x + bar / 2, bottom, GRID)
            continue
        height = (bottom - top) * v / hi
        c.rect(x - bar / 2, bottom - height, x + bar / 2, bottom, ORANGE if highlight and highlight[i] else color)
    return Chart(c.png(), alt)


def mood_chart(diffs: list[float | None], band: float, alt: str) -> Chart:
    """Each day's mood as a dot above (brighter) or below (lower) her usual, the middle line; the
    shaded band is her usual range. None = no readings that day."""
    c = Canvas()
    mid, span = c.h / 2, c.h / 2 - 12
    limit = max([abs(d) for d in diffs if d is not None] + [band * 2, 0.2])
    c.rect(0, mid - span * band / limit, c.w, mid + span * band / limit, BAND)
    c.hline(mid, PURPLE, 1.5, dash=6)
    n = len(diffs)
    for i, d in enumerate(diffs):
        x = slot_x(i, n)
        if d is None:
            c.rect(x - 6, mid - 1, x + 6, mid + 1, GRID)
            continue
        y = mid - span * d / limit
        color = RED if d < -band else GREEN if d > band else PURPLE
        c.rect(x - 1.5, min(y, mid), x + 1.5, max(y, mid), color)
        c.dot(x, y, 7, color)
    return Chart(c.png(), alt)
