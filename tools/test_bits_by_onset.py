#!/usr/bin/python3
"""bits_by_onset finds note onsets where the audio jumps in level, and only there."""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bits_by_onset import FRAME, samples_since_onset  # noqa: E402

RATE = 16000


def struck_note(seconds, hz=220.0):
    t = np.arange(int(seconds * RATE)) / RATE
    return 0.5 * np.sin(2 * np.pi * hz * t) * np.exp(-t / 0.4)


class OnsetTest(unittest.TestCase):
    def test_each_struck_note_after_silence_starts_the_count_again(self):
        x = np.concatenate([np.zeros(RATE // 2), struck_note(0.5), np.zeros(RATE // 4), struck_note(0.5)])
        since = samples_since_onset(x)
        first, second = RATE // 2, RATE // 2 + RATE // 2 + RATE // 4
        self.assertGreater(since[first - 1], 10 ** 9)  # nothing before the first note
        self.assertEqual(since[first], 0)
        self.assertEqual(since[first + 1000], 1000)
        self.assertEqual(since[second], 0)
        self.assertEqual(since[second + FRAME], FRAME)

    def test_a_steady_or_decaying_note_has_no_further_onsets(self):
        since = samples_since_onset(np.concatenate([np.zeros(FRAME * 4), struck_note(1.0)]))
        np.testing.assert_array_equal(since[FRAME * 4:], np.arange(RATE))


if __name__ == "__main__":
    unittest.main()
