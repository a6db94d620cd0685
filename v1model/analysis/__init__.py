"""Receptive-field and code analysis: pure functions in, xarray out.

- :mod:`.gabor`: Gabor fits of atoms and receptive fields (Ringach's nx, ny);
- :mod:`.mapping`: receptive fields of any encoder by reverse correlation;
- :mod:`.tuning`: grating protocols, tuning curves, contrast response;
- :mod:`.nonclassical`: size tuning, surround and cross-orientation suppression,
  length tuning and end-stopping;
- :mod:`.sparseness`: activity ratios, local/sparse/dense, sparseness indices;
- :mod:`.coherence`: mutual coherence and the Babel function;
- :mod:`.matching`: learned atoms paired one to one with a reference basis's, up to sign;
- :mod:`.reconstruction`: the fraction of variance reconstructions leave unexplained;
- :mod:`.auditory`: frequency tuning and temporal envelope of time-domain (audio) kernels.
"""

from .auditory import BANDWIDTH_LEVELS_DB, auditory_tuning, bandwidth_fit, erb_bandwidth
from .coherence import babel, coactive_babel, mutual_coherence
from .gabor import GABOR_LIKE_R2, GABOR_PARAMS, fit_gabor, gabor_model, reliable_gabor_fits
from .mapping import cosine_similarity, map_receptive_fields
from .matching import match_atoms
from .nonclassical import (cross_orientation_suppression, end_stopping, length_tuning,
                           size_tuning, surround_suppression)
from .reconstruction import fraction_variance_unexplained
from .sparseness import (
    activity_ratio,
    code_class,
    dead_units,
    hoyer_sparseness,
    kurtosis,
    lifetime_sparseness,
    mean_active_count,
    population_sparseness,
    sparseness,
    treves_rolls,
    vinje_gallant,
)
from .tuning import (
    circular_variance,
    contrast_response,
    drifting_grating_responses,
    grating_responses,
    naka_rushton,
    tuning_curves,
)

__all__ = [
    "fit_gabor", "gabor_model", "reliable_gabor_fits", "GABOR_PARAMS", "GABOR_LIKE_R2",
    "map_receptive_fields", "cosine_similarity", "match_atoms",
    "grating_responses", "tuning_curves", "drifting_grating_responses", "contrast_response",
    "circular_variance", "naka_rushton",
    "size_tuning", "surround_suppression", "cross_orientation_suppression",
    "length_tuning", "end_stopping",
    "activity_ratio", "mean_active_count", "code_class", "treves_rolls", "vinje_gallant",
    "lifetime_sparseness", "population_sparseness", "hoyer_sparseness", "kurtosis",
    "dead_units", "sparseness",
    "mutual_coherence", "babel", "coactive_babel",
    "fraction_variance_unexplained",
    "auditory_tuning", "bandwidth_fit", "erb_bandwidth", "BANDWIDTH_LEVELS_DB",
]
