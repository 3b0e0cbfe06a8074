"""Segmentation chooses k by its silhouette criterion and names segments uniquely and stably."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import silhouette_score

from analytics.profiles import build_profiles
from analytics.segments import PERSONAS, CustomerSegmenter, segment_features
from tests.model_frames import synth_bank


@pytest.fixture(scope="module")
def profiles() -> pd.DataFrame:
    bank = synth_bank()
    return build_profiles(bank.transactions, bank.as_of)


@pytest.fixture(scope="module")
def fitted(profiles) -> CustomerSegmenter:
    return CustomerSegmenter(random_state=0).fit(profiles)


def test_k_is_the_best_silhouette_in_range(fitted):
    assert set(fitted.scores_) <= set(range(3, 9)) and len(fitted.scores_) >= 4
    assert fitted.scores_[fitted.k_] == max(fitted.scores_.values())
    assert fitted.k_ == len(fitted.personas_) == len(fitted.centroids_)


def test_silhouette_recorded_is_the_real_one_for_chosen_k(fitted, profiles):
    # Recompute independently on a fresh sample: the figure must be close to what was recorded.
    raw = segment_features(profiles).to_numpy(float)
    X = fitted.scaler_.transform(np.where(np.isnan(raw), fitted.impute_, raw))
    sample = np.random.default_rng(1).choice(len(X), 1500, replace=False)
    labels = fitted.predict(profiles)[sample]
    assert silhouette_score(X[sample], labels) == pytest.approx(fitted.scores_[fitted.k_], abs=0.06)


def test_persona_names_are_unique_and_from_the_catalogue(fitted):
    names = [name for name, _ in fitted.personas_.values()]
    assert len(set(names)) == len(names)
    assert set(names) <= {name for name, _ in PERSONAS}


def test_same_data_and_seed_give_same_segments_and_names(profiles, fitted):
    again = CustomerSegmenter(random_state=0).fit(profiles)
    assert again.personas_ == fitted.personas_
    assert (again.predict(profiles) == fitted.predict(profiles)).all()


def test_segments_are_numbered_by_centroid_balance(fitted):
    balances = fitted.centroids_["log_balance"].to_numpy()
    assert (np.diff(balances) >= 0).all()


def test_low_balance_persona_goes_to_lowest_balance_segment_when_present(fitted):
    names = {name: seg for seg, (name, _) in fitted.personas_.items()}
    if "Low-balance customer" in names:
        assert names["Low-balance customer"] == 0
    if "Dormant customer" in names:
        dormant = names["Dormant customer"]
        assert fitted.centroids_.loc[dormant, "recency_days"] == fitted.centroids_["recency_days"].max()


def test_students_and_retirees_land_in_different_segments(fitted, profiles):
    labels = pd.Series(fitted.predict(profiles), index=profiles.index)
    persona = synth_bank().customer_labels.set_index("CustomerID")["persona"].reindex(profiles.index)
    top = labels.groupby(persona).agg(lambda s: s.value_counts().idxmax())
    assert top["student"] != top["retiree"]


def test_persona_names_hold_in_real_units(fitted):
    for segment, (name, _) in fitted.personas_.items():
        c = fitted.centroids_.loc[segment]
        if name == "Retiree":
            assert c["age"] >= 55
        if name == "Young starter":
            assert c["age"] <= 30
        if name == "Dormant customer":
            assert c["recency_days"] >= 60
        if name == "Frequent spender":
            assert np.expm1(c["log_frequency"]) >= 6
