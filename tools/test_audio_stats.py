#!/usr/bin/python3
"""audio_stats tells tonal audio from hiss: checked on signals whose answer is known."""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audio_stats import RATE, in_tune_share, noise_calibration, stats, with_white_noise  # noqa: E402

SECONDS = 2
t = np.arange(SECONDS * RATE) / RATE


def sine(hz, amplitude=0.5):
    return amplitude * np.sin(2 * np.pi * hz * t)


class AudioStatsTest(unittest.TestCase):
    def test_a_few_partials_are_nearly_flatness_zero(self):
        chord = sine(220, 0.3) + sine(277.2, 0.2) + sine(329.6, 0.2)
        _, flatness, _, _ = stats(chord)
        self.assertLess(flatness, 0.01)

    def test_white_noise_is_flat(self):
        noise = np.random.default_rng(0).uniform(-0.5, 0.5, len(t))
        _, flatness, hf_db, _ = stats(noise)
        self.assertGreater(flatness, 0.5)
        # half of the 0..8 kHz band lies above 4 kHz: about -3 dB
        self.assertAlmostEqual(hf_db, -3.0, delta=0.5)

    def test_hiss_under_a_tone_raises_flatness(self):
        rng = np.random.default_rng(1)
        values = [stats(sine(440) + level * rng.uniform(-1, 1, len(t)))[1] for level in (0.0, 0.003, 0.03)]
        self.assertLess(values[0], values[1])
        self.assertLess(values[1], values[2])

    def test_white_noise_is_added_at_the_asked_ratio(self):
        tone = sine(440)
        noisy = with_white_noise(tone, 20, np.random.default_rng(2))
        snr = 10 * np.log10(np.mean(tone ** 2) / np.mean((noisy - tone) ** 2))
        self.assertAlmostEqual(snr, 20, delta=0.2)

    def test_calibration_flatness_rises_as_the_noise_comes_up(self):
        chord = sine(220, 0.3) + sine(277.2, 0.2) + sine(329.6, 0.2)
        rows = noise_calibration([chord, 0.5 * chord])
        self.assertEqual([snr for snr, _, _ in rows], sorted((snr for snr, _, _ in rows), reverse=True))
        flat = [f for _, f, _ in rows]
        self.assertEqual(flat, sorted(flat))
        self.assertLess(flat[0], flat[-1] / 10)

    def test_high_band_share_follows_the_pitch(self):
        self.assertLess(stats(sine(440))[2], -40)
        self.assertGreater(stats(sine(6000))[2], -1)

    def test_silence_has_no_loud_frames(self):
        loud, flatness, _, _ = stats(np.zeros(len(t)))
        self.assertEqual(loud, 0.0)
        self.assertTrue(np.isnan(flatness))
        self.assertEqual(stats(sine(440))[0], 1.0)

    def test_a_model_stuck_on_one_class_is_silence_not_a_pure_tone(self):
        # a constant -0.1 (a class just below the middle, repeated) is -20 dBFS of DC
        stuck = np.concatenate([sine(440)[: len(t) // 2], np.full(len(t) - len(t) // 2, -0.1)])
        loud, flatness, _, _ = stats(stuck)
        self.assertAlmostEqual(loud, 0.5, delta=0.05)
        self.assertAlmostEqual(flatness, stats(sine(440))[1], delta=0.01)

    def test_notes_on_equal_tempered_pitches_are_in_tune(self):
        # A major triad, A3 C#4 E4, each note with its 2nd and 4th harmonics
        notes = [440 * 2 ** (n / 12) for n in (-12, -8, -5)]
        chord = sum(sine(f * h, 0.2 / h) for f in notes for h in (1, 2, 4))
        self.assertEqual(in_tune_share(chord), 1.0)

    def test_notes_a_quarter_tone_off_are_out_of_tune(self):
        notes = [440 * 2 ** ((n + 0.5) / 12) for n in (-12, -8, -5)]
        chord = sum(sine(f * h, 0.2 / h) for f in notes for h in (1, 2, 4))
        self.assertEqual(in_tune_share(chord), 0.0)

    def test_a_tone_20_cents_off_is_the_edge(self):
        self.assertEqual(in_tune_share(sine(440 * 2 ** (15 / 1200))), 1.0)
        self.assertEqual(in_tune_share(sine(440 * 2 ** (25 / 1200))), 0.0)

    def test_hiss_and_silence_have_no_peaks_to_judge(self):
        noise = np.random.default_rng(0).uniform(-0.5, 0.5, len(t))
        self.assertTrue(np.isnan(in_tune_share(noise)))
        self.assertTrue(np.isnan(stats(np.zeros(len(t)))[3]))

    def test_in_tune_notes_under_hiss_stay_in_tune(self):
        notes = [440 * 2 ** (n / 12) for n in (-12, -8, -5)]
        chord = sum(sine(f * h, 0.2 / h) for f in notes for h in (1, 2, 4))
        noisy = with_white_noise(chord, 25, np.random.default_rng(1))
        self.assertEqual(stats(noisy)[3], 1.0)

    def test_too_short_for_four_frames_is_none(self):
        self.assertIsNone(stats(np.zeros(1000)))


if __name__ == "__main__":
    unittest.main()
