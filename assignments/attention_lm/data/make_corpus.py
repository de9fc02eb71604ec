"""Build this assignment's corpus from the King James Bible (public domain).

Usage (from this folder; the output is deterministic)::

    python make_corpus.py /path/to/kjv.txt [--heldout ../tests/hidden/data/heldout.txt]

``kjv.txt`` is the plain text of Debian's ``bible-kjv-text`` package as ``bible``
prints it: chapter headings such as ``Genesis 1`` and verses such as
``  1 In the beginning God created ...`` wrapped over several lines. This script
drops the headings and verse numbers, joins each verse onto one line, separates
chapters by a blank line, keeps a small character set (see ``ALLOWED``) and writes
whole books into three files:

- ``train.txt``: the training text (Genesis, Exodus, Joshua and Judges);
- ``valid.txt``: validation text for your own checks (Esther and Jonah);
- the held-out text the grader scores checkpoints on (Ruth and Ezra), which is
  not part of the release.
"""

import argparse
import re
import sys
from pathlib import Path

TRAIN_BOOKS = ["Genesis", "Exodus", "Joshua", "Judges"]
VALID_BOOKS = ["Esther", "Jonah"]
HELDOUT_BOOKS = ["Ruth", "Ezra"]
# The language model's vocabulary (char_lm.VOCAB): these 64 characters, nothing else.
ALLOWED = set("\n !'(),-.:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
REPLACE = {"`": "'", "\u2019": "'", "\u2018": "'"}

HEADING = re.compile(r"^(?P<book>(?:[123] )?[A-Z][A-Za-z ]*?) (?P<chapter>\d+)$")
VERSE = re.compile(r"^\s+(?P<number>\d+) (?P<text>.*)$")


def parse(text: str) -> dict:
    """{book: [chapter: [verse text, ...], ...]} in the order of the file."""
    books: dict = {}
    verses = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        heading = HEADING.match(line)
        if heading and not raw.startswith(" "):
            verses = []
            books.setdefault(heading["book"], []).append(verses)
            continue
        verse = VERSE.match(line)
        if verse:
            verses.append(verse["text"].strip())
        elif verses:  # a wrapped line continues the verse before it
            verses[-1] += " " + line.strip()
    return books


def clean(verse: str) -> str:
    for old, new in REPLACE.items():
        verse = verse.replace(old, new)
    verse = "".join(c for c in verse if c in ALLOWED)
    return re.sub(r"\s+", " ", verse).strip()


def book_text(chapters: list) -> str:
    return "\n\n".join("\n".join(clean(v) for v in verses) for verses in chapters) + "\n"


def write(path: Path, books: dict, names: list) -> None:
    text = "\n".join(book_text(books[name]) for name in names)
    path.write_text(text, encoding="utf-8")
    print(f"{path}: {len(text)} characters from {', '.join(names)}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kjv", type=Path, help="the King James Bible as plain text (bible-kjv-text)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="where train.txt and valid.txt go")
    parser.add_argument("--heldout", type=Path, default=None, help="where the held-out text goes")
    args = parser.parse_args(argv)
    books = parse(args.kjv.read_text(encoding="utf-8"))
    missing = [b for b in TRAIN_BOOKS + VALID_BOOKS + HELDOUT_BOOKS if b not in books]
    if missing:
        sys.exit(f"{args.kjv}: books not found: {', '.join(missing)}")
    write(args.out / "train.txt", books, TRAIN_BOOKS)
    write(args.out / "valid.txt", books, VALID_BOOKS)
    if args.heldout:
        write(args.heldout, books, HELDOUT_BOOKS)


if __name__ == "__main__":
    main()
