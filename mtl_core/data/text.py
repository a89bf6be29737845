"""Tokenizer-free text inputs: each text becomes a fixed-length row of hashed word n-gram and
character n-gram ids, padded with 0, so text batches by row indexing like any tensor
(x: long [N, max_tokens]) and works offline. The model side averages the n-gram
embeddings, padding left out (see models/encoders.py)."""

from __future__ import annotations

import re
import zlib

import numpy as np
import pandas as pd

from mtl_core.config.schema import TextConfig

# Id space of the hashed n-grams; id 0 is padding, so hashes land in 1..HASH_BUCKETS-1.
HASH_BUCKETS = 2**14
MAX_SHOWN = 3  # n-grams kept per id to label it (several n-grams can share an id)
_WORD = re.compile(r"\w+", re.UNICODE)


def _bucket(token: str) -> int:
    # crc32 is stable across processes (Python's hash() is salted per process).
    return zlib.crc32(token.encode("utf-8")) % (HASH_BUCKETS - 1) + 1


def text_ngrams(text: str, settings: TextConfig) -> list[str]:
    """Word n-grams (1..word_ngrams) then character n-grams of each word, in that order."""
    words = _WORD.findall(text.lower() if settings.lowercase else text)
    grams = []
    for n in range(1, settings.word_ngrams + 1):
        grams += ["w:" + " ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    if settings.char_ngrams:
        n = settings.char_ngrams
        for word in words:
            padded = f"<{word}>"
            grams += ["c:" + padded[i : i + n] for i in range(max(1, len(padded) - n + 1))]
    return grams


def hash_texts(
    texts: pd.Series, settings: TextConfig, vocabulary: dict[int, list[str]] | None = None
) -> np.ndarray:
    """int64 [N, max_tokens]: hashed n-gram ids, truncated, padded with 0. `vocabulary`, when
    given, collects the n-grams behind each id (up to MAX_SHOWN distinct ones: ids collide)."""
    ids = np.zeros((len(texts), settings.max_tokens), dtype=np.int64)
    cache: dict[str, int] = {}
    for row, text in enumerate(texts.fillna("").astype(str)):
        grams = text_ngrams(text, settings)[: settings.max_tokens]
        for col, gram in enumerate(grams):
            bucket = cache.get(gram)
            if bucket is None:
                bucket = cache[gram] = _bucket(gram)
                if vocabulary is not None:
                    seen = vocabulary.setdefault(bucket, [])
                    if gram not in seen and len(seen) < MAX_SHOWN:
                        seen.append(gram)
            ids[row, col] = bucket
    return ids


def token_label(grams: list[str]) -> str:
    """How an id reads on a chart: word n-grams as their words, character n-grams in
    brackets ("[<go]"), colliding n-grams joined by " / "."""
    return " / ".join(g[2:] if g.startswith("w:") else f"[{g[2:]}]" for g in grams)


def joined_text(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Several text columns read as one text per row, separated by ' | '."""
    if len(columns) == 1:
        return frame[columns[0]].fillna("").astype(str)
    parts = [frame[c].fillna("").astype(str) for c in columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + " | " + part
    return joined
