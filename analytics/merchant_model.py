"""The merchant-text classifier: a scikit-learn estimator, kept apart so the rules in categorize import fast."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.utils.validation import check_is_fitted

from analytics.categorize import normalize_merchant


class MerchantCategorizer(ClassifierMixin, BaseEstimator):
    """Predicts a spending category from merchant text, for merchants never seen in training.

    Character n-grams catch brand fragments ("PHARMA", "PETRO", "MART"); word n-grams catch description
    keywords ("ATM WDL", "SCHOOL FEE"). Text is normalised with `normalize_merchant` first.

    Parameters
    ----------
    char_ngram_range : tuple[int, int]
        Character n-gram sizes (within word boundaries).
    word_ngram_range : tuple[int, int]
        Word n-gram sizes.
    C : float
        Inverse regularisation strength of the logistic regression.
    random_state : int | None
        Seed for the solver.

    Examples
    --------
    >>> clf = MerchantCategorizer().fit(["DMART", "SWIGGY", "BIGBASKET", "ZOMATO"],
    ...                                 ["groceries", "dining", "groceries", "dining"])
    >>> clf.predict(["POS 4456 DMART THANE"]).tolist()
    ['groceries']
    """

    def __init__(self, char_ngram_range: tuple[int, int] = (2, 5), word_ngram_range: tuple[int, int] = (1, 2),
                 C: float = 10.0, random_state: int | None = 0) -> None:
        self.char_ngram_range = char_ngram_range
        self.word_ngram_range = word_ngram_range
        self.C = C
        self.random_state = random_state

    def _build(self):
        features = FeatureUnion([
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=self.char_ngram_range, sublinear_tf=True,
                                     lowercase=False, preprocessor=normalize_merchant)),
            ("word", TfidfVectorizer(analyzer="word", ngram_range=self.word_ngram_range, sublinear_tf=True,
                                     lowercase=False, preprocessor=normalize_merchant,
                                     token_pattern=r"(?u)\b\w+\b")),
        ])
        model = LogisticRegression(C=self.C, solver="sag", max_iter=3000, random_state=self.random_state)
        return make_pipeline(features, model)

    def fit(self, names: Sequence[str], categories: Sequence[str]) -> MerchantCategorizer:
        """Learn from merchant names and their categories; returns self."""
        names = [str(n) for n in names]
        categories = np.asarray([str(c) for c in categories])
        if len(names) != len(categories):
            raise ValueError(f"{len(names)} names but {len(categories)} categories")
        if len(set(categories)) < 2:
            raise ValueError("need at least two categories to learn from")
        self.pipeline_ = self._build().fit(names, categories)
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, names: Iterable[str]) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict_proba([str(n) for n in names])

    def predict(self, names: Iterable[str]) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict([str(n) for n in names])

