"""An animation that does not fit is never silently sent as a still (adapters/images.py).

By default ``fit_image`` refuses it wherever the platform takes GIFs (that platform shows
animations, so a still would be a silent loss); where a platform takes no GIF at all, the first
frame is the only picture it can show and is sent. Callers may still say so explicitly
(Weasyl, FurAffinity and Mastodon pass ``refuse_animation=True``).
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from adapters.base import ImageLimits
from adapters.errors import ContentRejected
from adapters.images import fit_image
from adapters.publishing import Media


def animation(size: tuple[int, int] = (120, 80)) -> Media:
    frames = [Image.new("RGB", size, colour) for colour in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=80)
    return Media(buffer.getvalue(), "image/gif", "hop.gif", *size)


def test_by_default_an_oversized_animation_is_refused_where_gifs_are_taken():
    gif = animation()
    takes_gif = ImageLimits(max_bytes=len(gif.data) - 1)
    with pytest.raises(ContentRejected, match=r"hop\.gif: an animation larger than Site's limit"):
        fit_image(gif, takes_gif, "Site")
    no_gif = ImageLimits(max_bytes=len(gif.data) * 4, formats=("image/jpeg", "image/png"))
    still = fit_image(gif, no_gif, "Photos")  # a still is all such a site can show
    assert still.media_type in no_gif.formats
    assert fit_image(gif, takes_gif, "Site", refuse_animation=False).media_type == "image/jpeg"
    assert fit_image(gif, ImageLimits(), "Site").data == gif.data  # fits: sent as it is
