"""Enrolment images of a station list drawn in a process pool: the same images whatever the number of processes."""

from __future__ import annotations

import numpy as np

from simulation.population import generate_country, station_voters
from simulation.population.enrolment import enrolment_images


def test_pool_draws_the_same_fingers_as_one_process_in_list_order() -> None:
    country = generate_country(seed=3)
    voters = list(station_voters(country, country.stations[0]))[:3]
    alone = list(enrolment_images(voters, processes=1))
    pooled = list(enrolment_images(voters, processes=2))
    expected = [(v.personal_number, f.position) for v in voters for f in v.fingers]
    assert [(e.personal_number, e.position) for e in pooled] == expected
    assert len(expected) >= 3
    for a, b in zip(alone, pooled, strict=True):
        assert a.image.dtype == np.uint8 and a.image.shape == b.image.shape
        assert np.array_equal(a.image, b.image)
        assert a.cpu_s > 0
    # Different fingers give different images (the pool did not hand one result out twice).
    assert not np.array_equal(pooled[0].image, pooled[1].image)
