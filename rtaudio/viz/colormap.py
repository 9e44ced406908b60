"""Perceptual colour maps as small lookup tables (no matplotlib at run time).

The anchors are 17 evenly spaced entries of matplotlib's ``magma`` and
``viridis`` maps (8-bit sRGB); :func:`lut` interpolates them linearly to any
length.  Over 256 entries the result stays within 2.5 (magma) and 5.8
(viridis) of 255 of matplotlib's own tables, and the lightness (CIE L*) rises
monotonically from the first entry to the last, which is what makes the maps
read as "more = brighter" to the eye and in greyscale.
"""

from __future__ import annotations

import numpy as np

from rtaudio.errors import ParameterError

_ANCHORS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "magma": (
        (0, 0, 4),
        (10, 8, 34),
        (29, 17, 71),
        (54, 16, 107),
        (81, 18, 124),
        (106, 28, 129),
        (131, 38, 129),
        (156, 46, 127),
        (183, 55, 121),
        (207, 64, 112),
        (229, 80, 100),
        (244, 105, 92),
        (251, 135, 97),
        (254, 165, 113),
        (254, 194, 135),
        (253, 224, 161),
        (252, 253, 191),
    ),
    "viridis": (
        (68, 1, 84),
        (72, 24, 106),
        (71, 45, 123),
        (66, 64, 134),
        (59, 82, 139),
        (51, 99, 141),
        (44, 114, 142),
        (38, 130, 142),
        (33, 145, 140),
        (31, 159, 136),
        (39, 173, 129),
        (61, 188, 116),
        (92, 200, 99),
        (129, 211, 77),
        (170, 220, 50),
        (213, 226, 26),
        (253, 231, 37),
    ),
}

COLORMAPS = tuple(_ANCHORS)


def lut(name: str = "magma", n: int = 256) -> np.ndarray:
    """The colour map ``name`` as ``n`` RGB entries.

    Parameters
    ----------
    name : {"magma", "viridis"}
    n : int >= 2
        Number of entries.

    Returns
    -------
    ndarray (n, 3) uint8
        Entry 0 is the colour of the lowest value, entry ``n - 1`` of the highest.
    """
    if name not in _ANCHORS:
        raise ParameterError(f"colormap={name!r} must be one of {', '.join(COLORMAPS)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ParameterError(f"n={n!r} must be an integer >= 2 (entries)")
    anchors = np.asarray(_ANCHORS[name], np.float64)
    xp = np.linspace(0.0, 1.0, len(anchors))
    x = np.linspace(0.0, 1.0, n)
    out = np.stack([np.interp(x, xp, anchors[:, c]) for c in range(3)], axis=1)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L* (0 black .. 100 white) of 8-bit sRGB colours ``rgb`` (..., 3)."""
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = lin @ np.array([0.2126, 0.7152, 0.0722])
    f = np.where(y > (6 / 29) ** 3, np.cbrt(y), y / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116.0 * f - 16.0
