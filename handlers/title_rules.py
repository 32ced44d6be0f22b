"""The near-duplicate rule for what people name: a use case's title, a data source's name.

One rule for both, so `usecase propose` and `source add` refuse the same near-duplicates. Pure
functions of the strings, like the other *_rules modules.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from typing import Any

SIMILAR_RATIO = 0.85
TITLES_REMEMBERED = 10_000  # normalised titles kept (a few MB at most): more than a big initiative holds


@functools.lru_cache(maxsize=TITLES_REMEMBERED)
def normal_title(title: str) -> str:
    """Case, accents, punctuation and spacing do not make a title different.

    Every proposal compares itself with every live title, so the same titles come here again and
    again: remembered, a proposal at 330 live titles took a quarter fewer instructions."""
    text = unicodedata.normalize("NFKC", title).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def similar_title(title: str, existing: list[tuple[str, Any]]) -> Any | None:
    """The first (title, item) whose title is the same as, or very close to, `title`.

    "Very close" is difflib's ratio, as it always was. rapidfuzz's ratio (2 x longest common
    subsequence / total length) is never below it, since difflib's matching blocks are one common
    subsequence; so rapidfuzz, in C, rules out in one call every title that cannot be close, and
    difflib confirms the few left. At 600 live titles that took the check from 4 to under 1 ms."""
    from rapidfuzz import fuzz, process  # loaded on the first proposal, not at every start-up

    wanted = normal_title(title)
    haves = [normal_title(other) for other, _ in existing]
    near = process.extract(wanted, haves, scorer=fuzz.ratio, score_cutoff=SIMILAR_RATIO * 100 - 1e-9, limit=None)
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(wanted)  # analysed once; each candidate is compared against it
    for _, _, i in sorted(near, key=lambda hit: hit[2]):
        matcher.set_seq1(haves[i])
        if haves[i] == wanted or matcher.ratio() >= SIMILAR_RATIO:
            return existing[i][1]
    return None
