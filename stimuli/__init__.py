"""Stimuli for sparse-coding networks, as NumPy arrays.

Images are ``(n_images, height, width)`` float arrays; patches are
``(n_patches, size * size)``.
"""

from .images import load_images, sample_patches, whiten
from .splits import split_images
from .gratings import (annulus_grating, aperture, bar_aperture, bar_grating, disc_grating,
                       drifting_grating, gabor_patch, grating, grating_set, plaid, sparse_noise,
                       white_noise)
from .synthetic import dead_leaves, pink_noise

__all__ = ["load_images", "whiten", "sample_patches", "split_images", "pink_noise",
           "dead_leaves"]
__all__ += ["grating", "grating_set", "drifting_grating", "gabor_patch", "white_noise",
            "sparse_noise", "aperture", "disc_grating", "annulus_grating", "plaid",
            "bar_aperture", "bar_grating"]
