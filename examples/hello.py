"""A small program to run under bchook: word statistics of a short text.

    python examples/hello.py
    python -m bchook -p identity examples/hello.py    # same output, every function
                                                      # rewritten through bchook.ir
"""

import sys
from collections import Counter

TEXT = """\
Beautiful is better than ugly. Explicit is better than implicit.
Simple is better than complex. Complex is better than complicated.
Flat is better than nested. Sparse is better than dense.
Readability counts.
"""


def words(text):
    for line in text.splitlines():
        for word in line.split():
            word = word.strip(".,").lower()
            if word:
                yield word


class Stats:
    def __init__(self, text):
        self.counts = Counter(words(text))

    def top(self, n):
        return self.counts.most_common(n)

    def longest(self):
        try:
            return max(self.counts, key=lambda w: (len(w), w))
        except ValueError:
            return None


def main(argv):
    n = int(argv[1]) if len(argv) > 1 else 3
    stats = Stats(TEXT)
    print(f"hello from {__name__}: {sum(stats.counts.values())} words, "
          f"{len(stats.counts)} different")
    for word, count in stats.top(n):
        print(f"  {word:<10} {count}")
    print(f"longest word: {stats.longest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
