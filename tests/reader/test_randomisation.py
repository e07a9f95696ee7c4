"""Each reader's two case orders: permutations, reproducible from the seed, and the wash-out rule."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from db.errors import ValidationError
from db.reader_study import reader_seed, reading_orders


@pytest.mark.parametrize("n", [2, 3, 4, 6, 10, 37])
def test_orders_are_permutations_and_aided_never_starts_where_unaided_ended(n: int) -> None:
    ids = [1000 + 7 * i for i in range(n)]
    for seed in range(3000):
        unaided, aided = reading_orders(ids, seed)
        assert sorted(unaided) == sorted(ids) and sorted(aided) == sorted(ids)
        assert aided[0] != unaided[-1], (seed, unaided, aided)


def test_same_seed_same_orders_and_seeds_differ() -> None:
    ids = list(range(1, 21))
    assert reading_orders(ids, 42) == reading_orders(ids, 42)
    drawn = {tuple(reading_orders(ids, seed)[0]) for seed in range(200)}
    assert len(drawn) == 200  # 20! orders: a repeat would mean the seed is ignored
    unaided, aided = reading_orders(ids, 7)
    assert unaided != aided  # an independent shuffle, not a copy


def test_two_cases_force_the_other_case_first() -> None:
    for seed in range(200):
        unaided, aided = reading_orders([5, 9], seed)
        assert aided == unaided  # with two cases the aided pass must open with the case that opened pass 1


def test_aided_order_is_uniform_over_allowed_starts() -> None:
    """Rejection sampling keeps the aided order uniform: its first case is any case but the last unaided one."""
    ids, runs = list(range(5)), 20_000
    relative = Counter()
    for seed in range(runs):
        unaided, aided = reading_orders(ids, seed)
        relative[unaided.index(aided[0])] += 1  # where the aided opener sat in the unaided order
    assert relative[4] == 0
    for place in range(4):
        assert abs(relative[place] / runs - 0.25) < 0.02, relative
    unaided_first = Counter(reading_orders(ids, seed)[0][0] for seed in range(runs))
    assert all(abs(unaided_first[i] / runs - 0.2) < 0.02 for i in ids), unaided_first


def test_orders_reject_bad_input() -> None:
    with pytest.raises(ValidationError, match="at least 2"):
        reading_orders([1], 0)
    with pytest.raises(ValidationError, match="distinct"):
        reading_orders([1, 1, 2], 0)


def test_reader_seeds_are_reproducible_and_distinct() -> None:
    assert reader_seed(123, 4) == reader_seed(123, 4)
    seeds = {reader_seed(123, user) for user in range(1, 500)}
    assert len(seeds) == 499
    assert all(0 <= s < 2**31 for s in seeds)
    assert reader_seed(124, 4) != reader_seed(123, 4)
    rng = random.Random(0)
    for _ in range(100):
        assert 0 <= reader_seed(rng.randrange(2**31), rng.randrange(1, 10**6)) < 2**31
