"""TMDB image URLs: the documented base URL plus a size and the image's path.

TMDB documents the image base URL and the sizes it serves per image kind
(https://developer.themoviedb.org/docs/image-basics, ``/configuration``). The base URL comes
from the request context (``image_base_url``, set from the ``MOVIES_IMAGE_BASE_URL`` setting),
so a mirror or a local image cache can be put in front without a code change.
"""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from data.paths import TMDB_IMAGE_BASE_URL

DEFAULT_IMAGE_BASE_URL = TMDB_IMAGE_BASE_URL


@strawberry.enum(description="TMDB poster sizes (width in pixels, or the original file).")
class PosterSize(Enum):
    W92 = "w92"
    W154 = "w154"
    W185 = "w185"
    W342 = "w342"
    W500 = "w500"
    W780 = "w780"
    ORIGINAL = "original"


@strawberry.enum(description="TMDB profile image sizes (w = width, h = height in pixels).")
class ProfileSize(Enum):
    W45 = "w45"
    W185 = "w185"
    H632 = "h632"
    ORIGINAL = "original"


def image_url(info: Info, path: str | None, size: PosterSize | ProfileSize) -> str | None:
    """The full URL of a TMDB image path at ``size``; None when the movie or person has none."""
    if not path:
        return None
    context = info.context if isinstance(info.context, dict) else {}
    base = str(context.get("image_base_url") or DEFAULT_IMAGE_BASE_URL)
    return f"{base.rstrip('/')}/{size.value}/{path.lstrip('/')}"
