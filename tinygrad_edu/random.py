"""Random numbers: one global generator, seeded by `manual_seed`, and `Generator` objects.

As PyTorch, a seed makes runs repeatable. Differs from PyTorch: the stream is NumPy's PCG64,
so `manual_seed(0); rand(3)` gives other numbers than PyTorch's Mersenne Twister.
"""
from __future__ import annotations

import numpy as np


class Generator:
    """`torch.Generator`: a random stream of its own (for DataLoader shuffling, random_split)."""

    def __init__(self, device: str = "cpu"):
        self._seed: int | None = None  # drawn from the OS on first use
        self._rng: np.random.Generator | None = None

    @property
    def rng(self) -> np.random.Generator:
        if self._rng is None:  # NOTE: lazily, because importing numpy.random costs ~20 ms
            self.seed()
        return self._rng

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        return self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))._seed

    def initial_seed(self) -> int:
        return self.rng and self._seed

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> Generator:
        self.rng.bit_generator.state = state
        return self


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the global generator (and return it, as PyTorch)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def _generator(generator: Generator | None) -> np.random.Generator:
    return (generator or default_generator).rng
