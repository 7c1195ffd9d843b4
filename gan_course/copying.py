"""Is the generator copying its training digits? Nearest neighbours in pixels and in the meter's features (notebook 07).

A generated digit that sits as close to some training digit as a copy would is memorised, not invented.
"Close" only means something next to a yardstick: real digits the GAN never saw (held out) also have a
nearest training digit, and its distance is what an independent, new digit looks like.
"""

from __future__ import annotations

import torch

from gan_course.errors import CourseError
from gan_course.models import check_image_batch


@torch.no_grad()
def nearest_neighbours(queries: torch.Tensor, references: torch.Tensor, chunk: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query row, the Euclidean distance to its nearest reference row and that row's index.

    queries (Q, ...) and references (N, ...) with the same trailing shape, e.g. images (., 1, 28, 28) in
    [-1, 1] or features (., 64); each row is flattened. Returns distances (Q,) float32 >= 0 and indices (Q,)
    int64 into `references`. Works through the queries `chunk` at a time to keep memory small.
    """
    if queries.shape[1:] != references.shape[1:]:
        raise CourseError(f"queries and references must have the same shape per item; got {tuple(queries.shape[1:])} "
                          f"and {tuple(references.shape[1:])}.")
    if len(references) == 0 or len(queries) == 0:
        raise CourseError("nearest_neighbours needs at least one query and one reference.")
    refs = references.flatten(1).float()
    # cdist's fast matrix-product form is off by ~0.01: good enough to pick the neighbour, then measure exactly
    indices = torch.cat([torch.cdist(q.flatten(1).float(), refs).argmin(dim=1) for q in queries.split(chunk)])
    return (queries.flatten(1).float() - refs[indices]).norm(dim=1), indices


@torch.no_grad()
def meter_features(meter, images: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
    """The digit meter's features (B, 64) of images (B, 1, 28, 28) in [-1, 1]: what its classifier "sees"."""
    check_image_batch(images)
    return torch.cat([meter.classifier.features(part.float().cpu()) for part in images.split(chunk)])


def distance_ratio(fake_distances: torch.Tensor, real_distances: torch.Tensor) -> float:
    """Median nearest-training distance of generated digits over that of held-out real digits.

    Near 1 or above: the fakes are as far from the training digits as new real digits are. Far below 1:
    they hug the training set; 0 would be exact copies.
    """
    real = float(real_distances.median())
    if real == 0:
        raise CourseError("the held-out digits have median distance 0 to the training digits: they are in the "
                          "training set. Hold out digits the GAN did not train on.")
    return float(fake_distances.median()) / real
