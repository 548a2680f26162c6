"""Small generated photos for the demo's reports and fixes (no camera, no location data)."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageDraw

PALETTE = ((96, 125, 139), (121, 85, 72), (76, 175, 80), (255, 152, 0), (63, 81, 181), (158, 158, 158))


@cache
def photo(n: int) -> bytes:
    """A 160×120 JPEG, one of a few: ground, a wall and a coloured object."""
    ground, thing = PALETTE[n % len(PALETTE)], PALETTE[(n // len(PALETTE) + 3) % len(PALETTE)]
    image = Image.new("RGB", (160, 120), (200, 210, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 70, 160, 120), fill=ground)
    draw.rectangle((20 + n % 5 * 10, 40, 80 + n % 5 * 10, 95), fill=thing, outline=(30, 30, 30))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()
