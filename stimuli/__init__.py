"""Stimuli for sparse-coding networks, as NumPy arrays.

Images are ``(n_images, height, width)`` float arrays; patches are
``(n_patches, size * size)``.
"""

from .images import load_images, sample_patches, whiten
from .synthetic import dead_leaves, pink_noise

__all__ = ["load_images", "whiten", "sample_patches", "pink_noise", "dead_leaves"]
