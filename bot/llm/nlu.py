"""The offline intent model: TF-IDF word and character n-grams with logistic regression, trained on data/intents."""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from bot.llm.slots import normalize

INTENTS_DIR = Path(__file__).resolve().parents[2] / "data" / "intents"

# Below this top probability, as a multiple of chance (1 / number of intents), the assistant asks instead of
# guessing. A softmax spreads its mass over more intents as intents are added, for gibberish and real questions
# alike (random letters: median top probability ~2.9x chance with 17 intents and ~2.8x with 21), so the rule
# is stated against chance and keeps its meaning when an intent is added. Calibrated with 17 intents on
# data/eval (`benchmarks/assistant_eval.py --sweep`): 5x chance (0.29 then) asked on ~2% of real questions and
# still answered ~94% right, and answered under 2% of random-letter strings; higher thresholds ask far more
# often than they save a wrong answer, lower ones guess on gibberish.
CHANCE_MULTIPLE = 5.0


@dataclass(frozen=True)
class IntentGuess:
    intent: str
    confidence: float
    ranked: tuple[tuple[str, float], ...]   # best first, for clarifying suggestions


def _prepare(text: str) -> str:
    """Normalise case and spacing; customer IDs become one token and digits 0, so '20k' and '35k' look alike."""
    return re.sub(r"\d", "0", re.sub(r"\bc\d{3,}\b", "custid", normalize(text)))


class IntentClassifier(ClassifierMixin, BaseEstimator):
    """Word 1-2-gram plus character 2-5-gram TF-IDF features and a multinomial logistic regression.

    Character n-grams carry typos ("blance", "speding") and Hinglish spellings; word bigrams carry
    phrases ("last month", "credit card").

    >>> clf = IntentClassifier().fit(["hi", "hello", "my balance", "balance pls"], ["greeting"] * 2 + ["balance"] * 2)
    >>> clf.predict(["balance?"])[0]
    'balance'
    """

    def __init__(self, C: float = 20.0, threshold: float | None = None, random_state: int = 0) -> None:
        self.C = C
        self.threshold = threshold          # None: CHANCE_MULTIPLE / number of intents, set by fit
        self.random_state = random_state

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> IntentClassifier:
        if len(texts) != len(intents) or not texts:
            raise ValueError("texts and intents must be non-empty and of equal length")
        self.pipeline_ = Pipeline([
            ("features", FeatureUnion([
                ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                          token_pattern=r"(?u)\b\w+\b|\?")),
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
            ])),
            ("model", LogisticRegression(C=self.C, solver="newton-cg", tol=1e-3, max_iter=500,
                                         random_state=self.random_state)),
        ])
        self.pipeline_.fit([_prepare(t) for t in texts], list(intents))
        self.classes_ = self.pipeline_.classes_
        self.threshold_ = self.threshold if self.threshold is not None else CHANCE_MULTIPLE / len(self.classes_)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.pipeline_.predict_proba([_prepare(t) for t in texts])

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(texts), axis=1)]

    def guess(self, text: str, top: int = 3) -> IntentGuess:
        probs = self.predict_proba([text])[0]
        order = np.argsort(probs)[::-1][:top]
        ranked = tuple((str(self.classes_[i]), float(probs[i])) for i in order)
        return IntentGuess(ranked[0][0], ranked[0][1], ranked)


def load_examples(directory: Path = INTENTS_DIR) -> tuple[list[str], list[str]]:
    """Every `text,intent` row of every CSV in the folder."""
    texts: list[str] = []
    intents: list[str] = []
    for path in sorted(directory.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("text") and row.get("intent"):
                    texts.append(row["text"])
                    intents.append(row["intent"].strip())
    if not texts:
        raise FileNotFoundError(f"no training utterances under {directory}")
    return texts, intents


@functools.lru_cache(maxsize=4)
def trained_classifier(directory: Path = INTENTS_DIR) -> IntentClassifier:
    """Fitted once per process (well under a second) and kept: the model is pure, so sharing it is safe."""
    texts, intents = load_examples(directory)
    return IntentClassifier().fit(texts, intents)
