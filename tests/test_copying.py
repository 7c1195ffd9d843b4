"""The copying check: nearest neighbours find an exact copy at distance 0, in pixels and in the meter's features."""

import re

import pytest
import torch

from gan_course.copying import distance_ratio, meter_features, nearest_neighbours
from gan_course.errors import CourseError


def test_an_exact_copy_is_found_at_distance_zero(digits):
    training, copies = digits[:500], digits[[7, 123, 499]]
    distances, indices = nearest_neighbours(copies, training, chunk=2)
    assert indices.tolist() == [7, 123, 499] and distances.tolist() == [0.0, 0.0, 0.0]


def test_the_nearest_neighbour_agrees_with_a_brute_force_search(digits):
    queries, references = digits[1000:1010], digits[:300]
    distances, indices = nearest_neighbours(queries, references)
    brute = ((queries.flatten(1)[:, None] - references.flatten(1)[None]) ** 2).sum(-1).sqrt()
    assert torch.equal(indices, brute.argmin(1))
    assert torch.allclose(distances, brute.min(1).values, atol=1e-3)


def test_in_the_meters_feature_space_a_copy_is_at_distance_zero_too(digits, meter):
    features = meter_features(meter, digits[:200])
    assert features.shape == (200, 64)
    distances, indices = nearest_neighbours(meter_features(meter, digits[[5, 50]]), features)
    assert indices.tolist() == [5, 50] and distances.max() < 1e-3


def test_held_out_digits_are_not_copies(digits):
    real, _ = nearest_neighbours(digits[1500:1600], digits[:1500])
    copies, _ = nearest_neighbours(digits[:100], digits[:1500])
    assert real.min() > 1 and distance_ratio(copies, real) == 0


def test_mistakes_are_refused_with_a_message(digits):
    with pytest.raises(CourseError, match=re.escape("queries and references must have the same shape per item; "
                                                    "got (1, 28, 28) and (64,).")):
        nearest_neighbours(digits[:2], torch.zeros(3, 64))
    with pytest.raises(CourseError, match=re.escape("the held-out digits have median distance 0")):
        distance_ratio(torch.ones(3), torch.zeros(3))
