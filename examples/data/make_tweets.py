"""Writes two small synthetic tweet datasets for the multi-dataset text example:
tweets_sentiment.csv (text, sentiment) and tweets_irony.csv (tweet, irony). Deterministic
(seeded); rerun with `python examples/data/make_tweets.py` to rebuild the same files.

The tasks are related on purpose: irony is praise words about a bad situation, so a model
that has learned which words are positive and which situations are bad (sentiment) has a
head start on irony."""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
PRAISE = [
    "great",
    "love",
    "wonderful",
    "fantastic",
    "amazing",
    "perfect",
    "brilliant",
    "lovely",
    "awesome",
    "best",
]
BLAME = [
    "awful",
    "hate",
    "terrible",
    "horrible",
    "worst",
    "boring",
    "broken",
    "sad",
    "annoying",
    "useless",
]
GOOD_THINGS = [
    "sunny morning",
    "fresh coffee",
    "new album",
    "day off",
    "free pizza",
    "long weekend",
    "quiet train",
    "good book",
    "warm bread",
    "clear sky",
]
BAD_THINGS = [
    "flight delay",
    "monday meeting",
    "flat tyre",
    "cold shower",
    "traffic jam",
    "lost wallet",
    "rainy commute",
    "server outage",
    "missed bus",
    "long queue",
]
FILLER = ["today", "again", "honestly", "right now", "this week", "as usual", "lol", "tbh"]
IRONY_MARKS = ["oh", "just", "yeah", "#not", "totally", "so"]
# Share of labels flipped, so that neither task is solved perfectly.
LABEL_NOISE = 0.1


def _tweet(rng: random.Random, praise: bool, good_thing: bool, marked: bool) -> str:
    word = rng.choice(PRAISE if praise else BLAME)
    thing = rng.choice(GOOD_THINGS if good_thing else BAD_THINGS)
    parts = [rng.choice(IRONY_MARKS)] if marked else []
    parts += rng.sample([f"{word} {thing}", rng.choice(FILLER)], 2)
    return " ".join(parts)


def sentiment_rows(rng: random.Random, n: int) -> list[tuple[str, str]]:
    rows = []
    for _ in range(n):
        positive = rng.random() < 0.5
        text = _tweet(rng, praise=positive, good_thing=positive, marked=rng.random() < 0.1)
        label = positive != (rng.random() < LABEL_NOISE)
        rows.append((text, "positive" if label else "negative"))
    return rows


def irony_rows(rng: random.Random, n: int) -> list[tuple[str, str]]:
    rows = []
    for _ in range(n):
        ironic = rng.random() < 0.4
        praise = True if ironic else rng.random() < 0.5
        text = _tweet(
            rng,
            praise=praise,
            good_thing=not ironic and praise,
            marked=rng.random() < (0.7 if ironic else 0.15),
        )
        label = ironic != (rng.random() < LABEL_NOISE)
        rows.append((text, "ironic" if label else "not_ironic"))
    return rows


def write(path: Path, header: tuple[str, str], rows: list[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


if __name__ == "__main__":
    write(
        HERE / "tweets_sentiment.csv", ("text", "sentiment"), sentiment_rows(random.Random(0), 600)
    )
    write(HERE / "tweets_irony.csv", ("tweet", "irony"), irony_rows(random.Random(1), 300))
