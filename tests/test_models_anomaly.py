"""The anomaly detector flags what a customer would call unusual, says why, and is fast for one transaction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest

from analytics.anomaly import FlatForest, TransactionAnomalyDetector
from tests.model_frames import frame, synth_bank

GROCERY_AMOUNTS = [420.0, 480.0, 500.0, 510.0, 530.0, 560.0, 450.0, 500.0, 470.0, 540.0]


@pytest.fixture(scope="module")
def habitual() -> TransactionAnomalyDetector:
    """C1 buys groceries for about ₹500 in Mumbai between 10 am and 7 pm, 40 times over 80 days."""
    rows = []
    for i in range(40):
        rows.append({"customer_id": "C1", "ts": pd.Timestamp("2016-06-01 10:15") + pd.Timedelta(days=2 * i, hours=i % 9),
                     "amount": GROCERY_AMOUNTS[i % 10], "location": "MUMBAI"})
    for i in range(40):  # other customers so the bank-wide baseline exists
        rows.append({"customer_id": f"C{100 + i}", "ts": pd.Timestamp("2016-06-01 12:00") + pd.Timedelta(days=i),
                     "amount": 200.0 + 37 * i, "location": "PUNE"})
    return TransactionAnomalyDetector(random_state=0).fit(frame(rows))


def new(amount: float, ts: str = "2016-08-25 13:40", location: str = "MUMBAI", customer: str = "C1") -> dict:
    return {"customer_id": customer, "ts": pd.Timestamp(ts), "amount": amount, "location": location,
            "txn_type": "DEBIT"}


def test_tenfold_grocery_spend_is_flagged_with_the_ratio(habitual):
    score, flagged, reasons = habitual.score_one(new(5000.0))
    usual = float(np.median(GROCERY_AMOUNTS))                      # 500
    assert flagged and score >= 0.5
    assert reasons[0] == f"₹5,000.00 is {5000 / usual:.0f}× your usual amount"


def test_usual_grocery_spend_is_not_flagged(habitual):
    score, flagged, reasons = habitual.score_one(new(520.0))
    assert not flagged and score < 0.3 and reasons == []


def test_first_transaction_in_a_new_city_is_flagged_with_the_city(habitual):
    _, flagged, reasons = habitual.score_one(new(510.0, location="DUBAI"))
    assert flagged and "first transaction in DUBAI" in reasons


def test_night_transaction_is_explained_but_not_flagged_alone(habitual):
    _, flagged, reasons = habitual.score_one(new(500.0, ts="2016-08-25 03:12"))
    assert "at 3:12 am, outside your usual hours" in reasons
    assert not flagged


def test_night_transaction_in_a_new_city_is_flagged(habitual):
    _, flagged, reasons = habitual.score_one(new(500.0, ts="2016-08-25 03:12", location="DUBAI"))
    assert flagged and len(reasons) == 2


def test_fifth_payment_within_ten_minutes_is_flagged(habitual):
    start = pd.Timestamp("2016-08-25 14:00")
    recent = [start + pd.Timedelta(minutes=2 * k) for k in range(4)]
    _, flagged, reasons = habitual.score_one(new(500.0, ts=str(start + pd.Timedelta(minutes=8))), recent=recent)
    assert flagged and "5th transaction within 10 minutes" in reasons


def test_customer_without_history_is_judged_on_bank_wide_amounts(habitual):
    _, flagged_small, reasons_small = habitual.score_one(new(600.0, customer="NEW1"))
    assert not flagged_small and reasons_small == []
    _, flagged_huge, reasons_huge = habitual.score_one(new(5_000_000.0, customer="NEW1"))
    assert flagged_huge and "too little history of yours" in reasons_huge[0]


def test_score_one_equals_score_frame_for_the_same_rows():
    bank = synth_bank()
    txns = bank.transactions
    cut = txns["ts"].quantile(0.95)
    detector = TransactionAnomalyDetector(random_state=0).fit(txns[txns["ts"] < cut])
    later = txns[txns["ts"] >= cut].drop_duplicates("customer_id").head(400)
    bulk = detector.score_frame(later)
    for row, (_, expected) in zip(later.to_dict("records"), bulk.iterrows(), strict=True):
        score, flagged, reasons = detector.score_one(row)
        assert score == pytest.approx(expected["anomaly_score"], abs=1e-12)
        assert flagged == expected["flagged"] and reasons == list(expected["reasons"])


def test_fit_score_frame_equals_fit_then_scoring_the_fitted_rows():
    txns = synth_bank().transactions
    together = TransactionAnomalyDetector(random_state=0)
    combined = together.fit_score_frame(txns)
    separate = TransactionAnomalyDetector(random_state=0).fit(txns)
    assert (together.forest_low_, together.forest_high_) == (separate.forest_low_, separate.forest_high_)
    pd.testing.assert_frame_equal(combined, separate.score_frame(txns, part_of_fit=True))


def test_usual_hours_wrap_round_midnight():
    rows = [{"customer_id": "C1", "ts": pd.Timestamp("2016-06-01 23:20") + pd.Timedelta(days=i), "amount": 500.0}
            for i in range(40)]
    rows += [{"customer_id": f"C{100 + i}", "ts": pd.Timestamp("2016-06-01 12:00") + pd.Timedelta(days=i),
              "amount": 200.0 + 37 * i} for i in range(40)]
    detector = TransactionAnomalyDetector(random_state=0).fit(frame(rows))
    _, _, after_midnight = detector.score_one(new(500.0, ts="2016-08-25 00:10"))
    _, _, at_noon = detector.score_one(new(500.0, ts="2016-08-25 12:10"))
    assert not any("usual hours" in r for r in after_midnight)
    assert "at 12:10 pm, outside your usual hours" in at_noon


def test_flat_forest_equals_sklearn_scores():
    X = np.random.default_rng(0).normal(size=(2000, 7))
    forest = IsolationForest(n_estimators=25, max_features=0.7, random_state=0).fit(X)
    flat = FlatForest(forest)
    expected = -forest.score_samples(X)
    assert np.allclose(flat.score(X), expected, atol=1e-12)
    assert all(flat.score_row(x) == pytest.approx(e, abs=1e-12) for x, e in zip(X[:100], expected[:100], strict=True))


def test_injected_fraud_is_found_with_useful_precision():
    bank = synth_bank()
    txns = bank.transactions
    scored = TransactionAnomalyDetector(random_state=0).fit(txns).score_frame(txns, part_of_fit=True)
    truth = bank.txn_labels.set_index("TransactionID")["is_fraud"].reindex(txns["transaction_id"]).to_numpy() == 1
    flagged = scored["flagged"].to_numpy()
    precision = (truth & flagged).sum() / max(flagged.sum(), 1)
    recall = (truth & flagged).sum() / truth.sum()
    print(f"injected fraud: precision {precision:.3f}, recall {recall:.3f} ({truth.sum()} fraud rows)")
    assert recall >= 0.6 and precision >= 0.3


def test_every_flagged_transaction_has_a_reason():
    bank = synth_bank()
    txns = bank.transactions
    scored = TransactionAnomalyDetector(random_state=0).fit(txns).score_frame(txns, part_of_fit=True)
    flagged = scored[scored["flagged"]]
    assert len(flagged) > 0 and all(len(r) >= 1 for r in flagged["reasons"])
    assert scored["anomaly_score"].between(0, 1).all()


def test_tiny_test_payment_from_a_new_customer_is_explained_as_such(habitual):
    score, flagged, reasons = habitual.score_one(new(1.0, customer="NEW2"))
    assert flagged
    assert any("₹1.00 is smaller than" in r and "test payments" in r for r in reasons), reasons
    typical_score, _, _ = habitual.score_one(new(600.0, customer="NEW2"))
    assert score > typical_score


def test_monthly_rent_forty_times_the_grocery_median_is_expected():
    """C2 buys groceries for about ₹500 and pays ₹20,000 rent every month: the next rent is not unusual,
    but ₹20,000 at a grocery shop (40× the grocery median, from groceries' own baseline) is."""
    rows = [{"customer_id": "C2", "ts": pd.Timestamp("2016-01-03 10:15") + pd.Timedelta(days=3 * i, hours=i % 8),
             "amount": GROCERY_AMOUNTS[i % 10], "merchant": "KIRANA STORE", "category": "groceries"}
            for i in range(60)]
    rows += [{"customer_id": "C2", "ts": pd.Timestamp("2016-01-05 11:00") + pd.DateOffset(months=m),
              "amount": 20_000.0, "merchant": "UPI/PG RENT/MUMBAI", "category": "rent"} for m in range(6)]
    detector = TransactionAnomalyDetector(random_state=0).fit(frame(rows))
    rent = {**new(20_000.0, ts="2016-07-05 11:00", customer="C2"), "merchant": "UPI/PG RENT/MUMBAI", "category": "rent"}
    _, rent_flagged, rent_reasons = detector.score_one(rent)
    assert not rent_flagged and rent_reasons == []
    _, flagged, reasons = detector.score_one({**rent, "merchant": "KIRANA STORE", "category": "groceries"})
    assert flagged and reasons[0].startswith("₹20,000.00 is")


def test_largest_and_second_largest_debit_are_each_customers_own():
    """"Leaving the row itself out" needs the true second-largest debit, whatever the neighbours hold."""
    amounts = {"CA": [900.0], "CB": [300.0, 700.0], "CC": [100.0, 800.0, 500.0], "CD": [250.0],
               "CE": [600.0, 600.0]}
    rows = [{"customer_id": cid, "ts": pd.Timestamp("2016-06-01 11:00") + pd.Timedelta(days=i), "amount": amount,
             "location": "PUNE"} for cid, values in amounts.items() for i, amount in enumerate(values)]
    detector = TransactionAnomalyDetector(random_state=0).fit(frame(rows))
    for cid, values in amounts.items():
        at = detector.customers_.get_loc(cid)
        ranked = sorted(values, reverse=True)
        assert detector.max_debit_[at] == ranked[0]
        assert detector.second_debit_[at] == (ranked[1] if len(ranked) > 1 else 0.0), cid
