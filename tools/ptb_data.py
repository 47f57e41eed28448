#!/usr/bin/python3
"""Penn Treebank text for the paper's character and word language models (SPEC-symbolic.md).

Reads datasets/ptb/ptb.{train,valid,test}.txt (Mikolov's pre-processed PTB) and builds what
the official char_cnn and word_cnn code builds from them:

* characters: every "\\n" of a split becomes the five characters `<eos>`; the vocabulary is
  every character of train + " " + valid + " " + test in order of first appearance
  (49 symbols: ' ', 'a', 'e', 'r', ..., '*'); one stream per split (test: 464,989 chars).
* words: each line gives line.split() + ['<eos>']; a word gets the next index on first sight,
  reading train, valid, test in that order (10,000 words: 0 'aer', ..., 24 '<eos>', 26
  '<unk>', 27 'N', ..., 9999 'unilab'); test = 82,430 tokens.

and the official windowing of a stream (`windows`): windows of W tokens starting at 0, S, 2S,
..., the last S positions of each scored, a window skipped when start + W >= len (char) or
>= len - 1 (word).

    python3 tools/ptb_data.py                      # sizes of the vocabularies and streams
    python3 tools/ptb_data.py --write-vocab char OUT.txt   # one symbol per line, index order
"""
import argparse
import functools
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PTB_DIR = os.path.join(HERE, "..", "datasets", "ptb")
SPLITS = ("train", "valid", "test")
LEVELS = ("char", "word")
EOS = "<eos>"


@functools.lru_cache(maxsize=None)
def read_split(split, root=PTB_DIR):
    """the raw text of ptb.SPLIT.txt (UTF-8; the files are plain ASCII)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split '{split}' ({', '.join(SPLITS)})")
    with open(os.path.join(root, f"ptb.{split}.txt"), encoding="utf-8", newline="") as f:
        return f.read()


# --- characters --------------------------------------------------------------------------

def char_text(split, root=PTB_DIR):
    """the split as the char task sees it: every newline replaced by the 5 characters <eos>."""
    return read_split(split, root).replace("\n", EOS)


@functools.lru_cache(maxsize=None)
def char_vocab(root=PTB_DIR):
    """the 49 characters in order of first appearance over train + ' ' + valid + ' ' + test
    (dicts keep insertion order, which is what the official Counter-based dictionary relies on)."""
    text = char_text("train", root) + " " + char_text("valid", root) + " " + char_text("test", root)
    return tuple(dict.fromkeys(text))


@functools.lru_cache(maxsize=None)
def char_stream(split, root=PTB_DIR):
    """token ids (int64) of one split's character stream."""
    index = {c: i for i, c in enumerate(char_vocab(root))}
    text = char_text(split, root)
    # all characters are ASCII, so a byte lookup table does the mapping at C speed
    table = np.full(256, -1, dtype=np.int64)
    for c, i in index.items():
        table[ord(c)] = i
    ids = table[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    assert (ids >= 0).all()
    ids.setflags(write=False)
    return ids


# --- words -------------------------------------------------------------------------------

def _split_lines(text):
    """lines as Python's file iteration gives them (a trailing newline ends the last line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@functools.lru_cache(maxsize=None)
def word_vocab(root=PTB_DIR):
    """the 10,000 words, indexed in order of first sight over train, valid, test."""
    index = {}
    for split in SPLITS:
        for line in _split_lines(read_split(split, root)):
            for w in line.split() + [EOS]:
                if w not in index:
                    index[w] = len(index)
    return tuple(index)


@functools.lru_cache(maxsize=None)
def word_stream(split, root=PTB_DIR):
    """token ids (int64) of one split: every line's words, then <eos>."""
    index = {w: i for i, w in enumerate(word_vocab(root))}
    ids = np.array([index[w] for line in _split_lines(read_split(split, root))
                    for w in line.split() + [EOS]], dtype=np.int64)
    ids.setflags(write=False)
    return ids


# --- shared ------------------------------------------------------------------------------

def vocab(level, root=PTB_DIR):
    return {"char": char_vocab, "word": word_vocab}[level](root)


def stream(level, split, root=PTB_DIR):
    return {"char": char_stream, "word": word_stream}[level](split, root)


def batchify(ids, rows):
    """[rows, n // rows]: row b holds tokens b*(n//rows) .. (b+1)*(n//rows)-1; the remainder
    at the end is dropped (the official batchify)."""
    n = len(ids) // rows
    return np.asarray(ids[:n * rows]).reshape(rows, n)


def windows(length, W, S, level="char"):
    """start positions of the official windows over a row of `length` tokens: 0, S, 2S, ...
    (below length - 1), skipping a window when start + W >= length (char) or >= length - 1
    (word). Window at i: inputs [i, i+W), targets [i+1, i+W+1), the last S scored."""
    limit = length if level == "char" else length - 1
    return [i for i in range(0, length - 1, S) if i + W < limit]


def write_vocab(level, path):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for s in vocab(level):
            f.write(s + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write-vocab", nargs=2, metavar=("LEVEL", "OUT"),
                    help="write the char or word vocabulary, one symbol per line in index order")
    args = ap.parse_args(argv)
    if args.write_vocab:
        level, out = args.write_vocab
        if level not in LEVELS:
            ap.error(f"vocabulary level must be char or word, not '{level}'")
        write_vocab(level, out)
        print(f"{out}: {len(vocab(level))} {level} symbols")
        return
    for level in LEVELS:
        sizes = ", ".join(f"{s} {len(stream(level, s)):,}" for s in SPLITS)
        print(f"{level}: vocabulary {len(vocab(level)):,}; tokens: {sizes}")


if __name__ == "__main__":
    sys.exit(main())
