"""Train assignment 3's reference character-level language model and report its time
and bits per character (train.txt -> valid.txt, and the grader's held-out text).

    .venv/bin/python bench/char_lm.py [--minutes 5] [--out out/char_lm.safetensors]

Also prints the unigram and bigram baselines (add-one smoothed counts from
train.txt) that Q8's score levels are set against. Run from the repository root.

Measured 2026-11-26 on the 2-core development VM (shared with other jobs), one thread:
`.venv/bin/python bench/char_lm.py --minutes 5` ran 2382 steps (13.5 epochs) in 302 s;
the best validation epoch (9, after 207 s) was kept: valid 2.144 bpc, held-out 1.943
bpc, 1.34 MB; unigram 4.37 / bigram 3.31 bpc held-out. The result depends on how many
steps fit in the time budget, so another machine gives slightly different numbers.
"""

import argparse
import math
import sys
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = ROOT / "assignments" / "attention_lm"
DATA = ASSIGNMENT / "data"
HELDOUT = ASSIGNMENT / "tests" / "hidden" / "data" / "heldout.txt"
sys.path.insert(0, str(ROOT / "solutions" / "attention_lm"))

import char_lm


def ngram_bpc(train, text, order):
    """Bits per character of an add-one smoothed unigram (order 1) or bigram (order 2) model."""
    V = len(char_lm.VOCAB)
    if order == 1:
        counts, total = Counter(train), len(train)
        return -sum(math.log2((counts[c] + 1) / (total + V)) for c in text[1:]) / (len(text) - 1)
    pairs, firsts = Counter(pairwise(train)), Counter(train[:-1])
    return -sum(math.log2((pairs[a, b] + 1) / (firsts[a] + V)) for a, b in pairwise(text)) / (len(text) - 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    # Not the reference's own file by default: replacing it changes the sample class and the
    # recorded numbers; pass --out solutions/attention_lm/char_lm.safetensors to do that on purpose.
    parser.add_argument("--out", default=str(ROOT / "out" / "char_lm.safetensors"))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: steady timings on a shared machine; 2 threads contend badly under load)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train_text, valid, heldout = (DATA / "train.txt").read_text(), (DATA / "valid.txt").read_text(), None
    heldout = HELDOUT.read_text() if HELDOUT.is_file() else None
    for order, name in ((1, "unigram"), (2, "bigram")):
        print(f"{name} baseline: valid {ngram_bpc(train_text, valid, order):.3f} bpc"
              + (f", held-out {ngram_bpc(train_text, heldout, order):.3f} bpc" if heldout else ""))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    model = char_lm.train(args.minutes, embed_size=64, hidden_size=256, num_layers=1, cell="lstm", batch_size=32,
                          seq_len=100, lr=2e-3, clip=1.0, seed=0, out=args.out, data_dir=DATA)
    seconds = time.perf_counter() - start
    model = char_lm.load(args.out)
    t = time.perf_counter()
    line = f"reference: trained {seconds:.0f} s on {torch.get_num_threads()} threads; valid {char_lm.bits_per_char(model, valid):.3f} bpc"
    if heldout:
        line += f", held-out {char_lm.bits_per_char(model, heldout):.3f} bpc"
    print(line + f" (evaluation {time.perf_counter() - t:.1f} s); {Path(args.out).stat().st_size / 2**20:.2f} MB")


if __name__ == "__main__":
    main()
