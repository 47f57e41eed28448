#!/usr/bin/python3
"""one_step_hiss draws each sample from the model's prediction given the real past, and reads
off how many bits/sample a given cleanliness needs."""
import os
import sys
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from one_step_hiss import (fit_bits_for_flatness, one_step_samples, signal_to_error_db,  # noqa: E402
                           window_logits)


class RepeatsItsInput:
    """A stand-in model with the valid-pass contract of sequnet_torch's models (first output
    at crop index n_out, one output per later index) that predicts, with certainty, that the
    next class repeats the current one."""
    input_size = 12
    n_out = 7

    def __call__(self, crop, first_n=0):
        seen = crop[0, self.n_out:]
        logits = torch.full((1, 256, len(seen)), -1e4)
        logits[0, seen, torch.arange(len(seen))] = 0.0
        return logits, self.n_out


class OneStepHissTest(unittest.TestCase):
    def test_each_prediction_sees_exactly_the_real_past(self):
        classes = np.random.default_rng(0).integers(0, 256, 400).astype(np.uint8)
        first, length = 100, 50
        logits = window_logits(RepeatsItsInput(), classes, first, length)
        self.assertEqual(tuple(logits.shape), (256, length))
        drawn = one_step_samples(logits, 1.0, torch.Generator().manual_seed(0)).numpy()
        # "repeat the current class" drawn from the real past is the window shifted by one
        np.testing.assert_array_equal(drawn, classes[first - 1:first + length - 1])

    def test_draws_follow_the_predicted_distribution_at_the_temperature(self):
        logits = torch.zeros(256, 20000) - 1e4
        logits[3] = 0.0
        logits[5] = np.log(3.0)  # three times as likely as class 3 at temperature 1
        g = torch.Generator().manual_seed(1)
        share_5 = float((one_step_samples(logits, 1.0, g) == 5).double().mean())
        self.assertAlmostEqual(share_5, 0.75, delta=0.02)
        # at temperature 0.5 the odds square: 9 to 1
        share_5 = float((one_step_samples(logits, 0.5, g) == 5).double().mean())
        self.assertAlmostEqual(share_5, 0.9, delta=0.02)

    def test_signal_to_error_ratio(self):
        real = np.sin(np.arange(1000) / 7.0)
        self.assertAlmostEqual(signal_to_error_db(real, real * 1.1), 20.0, places=6)

    def test_fit_reads_off_the_bits_for_a_target_flatness(self):
        # flatness halves with every bit/sample fewer: 0.04 at 4 bits, 0.02 at 3
        bits = [5.0, 4.0, 3.0]
        flatness = [0.08, 0.04, 0.02]
        slope, needed = fit_bits_for_flatness(bits, flatness, [0.01, 0.04])
        self.assertAlmostEqual(np.exp(slope), 2.0, places=6)
        self.assertAlmostEqual(needed[0], 2.0, places=6)
        self.assertAlmostEqual(needed[1], 4.0, places=6)


if __name__ == "__main__":
    unittest.main()
