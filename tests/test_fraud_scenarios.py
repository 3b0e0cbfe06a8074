"""The independent scenario injector: each scenario injects what it says, on rich and on real-like frames.

Every expectation is computed here from the original frame (the customer's own median debit, places,
categories, payees), never taken from the injector's own bookkeeping.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import synth_params
from analytics.categorize import normalize_merchant
from analytics.fraud_scenarios import DOMESTIC_CITIES, FOREIGN_CITIES, SCENARIOS, inject_scenarios
from analytics.ingest import read_transactions, to_canonical
from analytics.schema import CREDIT, DEBIT, TXN_COLUMNS
from analytics.synth import DEFAULT_MERCHANTS_PATH, generate_bank, load_merchants, write_bank

PER_SCENARIO = 6
REAL_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "bank_transactions_sample.csv"


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """A synthetic bank read back through the ingester: merchants, categories, channels, credits, a ledger."""
    bank = generate_bank(customers=250, months=12, seed=21, merchants=load_merchants(DEFAULT_MERCHANTS_PATH))
    paths = write_bank(bank, tmp_path_factory.mktemp("bank"))
    return read_transactions([paths["transactions"]]).frame


@pytest.fixture(scope="module")
def injection(original: pd.DataFrame):
    return inject_scenarios(original, seed=4, per_scenario=PER_SCENARIO)


def _rows(injection, scenario: str) -> pd.DataFrame:
    labels = injection.labels[injection.labels["scenario"] == scenario]
    rows = injection.frame.merge(labels[["transaction_id", "event", "step"]], on="transaction_id")
    assert rows["event"].nunique() == PER_SCENARIO, scenario
    return rows.sort_values(["event", "ts"], kind="stable")


def _mine(original: pd.DataFrame, customer: str) -> pd.DataFrame:
    return original[original["customer_id"] == customer]


def _median_debit(original: pd.DataFrame, customer: str) -> float:
    own = _mine(original, customer)
    debits = own.loc[(own["txn_type"] == DEBIT) & (own["amount"] > 0), "amount"]
    return float(debits.median())


def _events(rows: pd.DataFrame):
    for _, event in rows.groupby("event"):
        yield event.iloc[0]["customer_id"], event


def _homes(original: pd.DataFrame, customer: str) -> set[str]:
    """The customer's most used places (all of them on a tie)."""
    counts = _mine(original, customer)["location"].value_counts()
    return set(counts[counts == counts.max()].index)


def _minutes(event: pd.DataFrame) -> float:
    return (event["ts"].max() - event["ts"].min()).total_seconds() / 60


# ------------------------------------------------------------------------------------------ fraud
def test_every_scenario_is_injected_as_often_as_asked_on_a_rich_frame(injection) -> None:
    summary = injection.summary.set_index("scenario")
    assert list(summary.index) == list(SCENARIOS)
    assert (summary["events"] == PER_SCENARIO).all()
    assert injection.labels.groupby("scenario")["event"].nunique().to_dict() == dict.fromkeys(SCENARIOS, PER_SCENARIO)
    fraud = injection.labels.groupby("scenario")["is_fraud"].unique()
    assert all(list(fraud[name]) == [int(s.is_fraud)] for name, s in SCENARIOS.items())


def test_account_takeover_sends_large_sums_from_a_new_place_to_a_new_payee(injection, original) -> None:
    for customer, event in _events(_rows(injection, "account_takeover")):
        own = _mine(original, customer)
        assert event["location"].nunique() == 1
        assert event["location"].iloc[0] not in set(own["location"])
        assert not set(event["merchant"]) & set(own["merchant"].dropna())
        transfers = event[event["step"] == "transfer"]
        assert 1 <= len(transfers) <= 3 and set(event["step"]) <= {"probe", "transfer"}
        assert (transfers["amount"] >= 8 * _median_debit(original, customer)).all()
        assert (event["txn_type"] == DEBIT).all()
        assert _minutes(event) <= 15 + 2 * 150


def test_card_testing_is_tiny_online_payments_then_one_large_one_minutes_later(injection, original) -> None:
    for customer, event in _events(_rows(injection, "card_testing")):
        steps = list(event["step"])
        assert steps[-1] == "large" and set(steps[:-1]) == {"probe"} and 2 <= len(steps) - 1 <= 4
        probes, large = event.iloc[:-1], event.iloc[-1]
        assert (probes["amount"] < 100).all()
        assert large["amount"] >= 0.99 * 10 * _median_debit(original, customer)
        assert (event["channel"] == "ONLINE").all()
        assert not set(event["merchant"]) & set(_mine(original, customer)["merchant"].dropna())
        assert _minutes(event) <= 4 * 6 + 25


def test_night_burst_is_three_to_five_large_debits_within_an_hour_between_one_and_four(injection, original) -> None:
    for customer, event in _events(_rows(injection, "night_burst")):
        assert 3 <= len(event) <= 5
        assert event["ts"].dt.hour.between(1, 3).all()
        assert _minutes(event) <= 60
        assert (event["amount"] >= 0.99 * 4 * _median_debit(original, customer)).all()
        assert event["ts"].dt.normalize().nunique() == 1


def test_rare_category_purchase_is_far_above_usual_in_a_category_the_customer_seldom_uses(injection,
                                                                                         original) -> None:
    checked = 0
    for customer, event in _events(_rows(injection, "rare_category_purchase")):
        assert len(event) == 1
        row = event.iloc[0]
        assert row["amount"] >= 0.99 * 6 * _median_debit(original, customer)
        assert 9 <= row["ts"].hour <= 22
        if row["category"] is not None:
            own = _mine(original, customer)
            known = own.loc[(own["txn_type"] == DEBIT) & own["category"].notna(), "category"]
            assert (known == row["category"]).mean() <= 0.05
            checked += 1
    assert checked >= PER_SCENARIO // 2


def test_atm_cashout_is_two_to_five_withdrawals_in_a_new_city_within_two_hours(injection, original) -> None:
    foreign = {city for city, _ in FOREIGN_CITIES}
    for customer, event in _events(_rows(injection, "atm_cashout")):
        assert 2 <= len(event) <= 5
        assert (event["channel"] == "ATM").all() and event["location"].nunique() == 1
        place = event["location"].iloc[0]
        assert place not in set(_mine(original, customer)["location"])
        assert _minutes(event) <= 120
        assert (event["amount"] >= 3 * _median_debit(original, customer)).all()
        if place not in foreign:
            assert (event["amount"] % 500 == 0).all()


def test_payee_scam_is_escalating_transfers_to_one_new_payee_from_home(injection, original) -> None:
    for customer, event in _events(_rows(injection, "payee_scam")):
        own = _mine(original, customer)
        assert 2 <= len(event) <= 6
        amounts = event["amount"].to_numpy()
        assert (np.diff(amounts) >= 0).all() and amounts[-1] > amounts[0]
        assert amounts[0] >= 0.9 * 2 * _median_debit(original, customer)
        assert event["location"].nunique() == 1 and event["location"].iloc[0] in _homes(original, customer)
        assert 9 <= event["ts"].iloc[0].hour < 16
        assert _minutes(event) <= 5 * 80
        # One payee (the same person's name in every narration) the customer never paid before.
        name = set.intersection(*(set(normalize_merchant(m).split()) for m in event["merchant"]))
        assert len(name) >= 2
        assert not any(name <= set(normalize_merchant(m).split()) for m in own["merchant"].dropna())


# ------------------------------------------------------------------------------------------ genuine
def test_trip_abroad_books_travel_then_spends_usual_amounts_in_one_foreign_city(injection, original) -> None:
    offsets = dict(FOREIGN_CITIES)
    for customer, event in _events(_rows(injection, "trip_abroad")):
        own = _mine(original, customer)
        usual = _median_debit(original, customer)
        booking = event[event["step"] == "booking"]
        abroad = event[event["step"].isin(["abroad", "abroad_cash"])]
        assert len(booking) == 1 and len(abroad) >= 3 and len(event) == len(booking) + len(abroad)
        travel = own.loc[(own["txn_type"] == DEBIT) & (own["category"] == "travel"), "amount"]
        assert len(travel) >= 2
        assert 1.5 * 0.99 <= booking["amount"].iloc[0] / travel.median() <= 5 * 1.01
        assert booking["ts"].iloc[0] < abroad["ts"].min()
        assert abroad["location"].nunique() == 1
        city = abroad["location"].iloc[0]
        assert city in offsets and city not in set(own["location"])
        assert (abroad["amount"] <= 2.5 * usual * 1.01).all()
        local = abroad["ts"] + pd.to_timedelta(offsets[city] - 5.5, unit="h")
        assert (local.dt.hour >= 8).all()
        assert (local.dt.normalize().max() - local.dt.normalize().min()).days <= 9


def test_salary_bonus_is_a_credit_several_times_the_salary_from_the_same_payer(injection, original) -> None:
    for customer, event in _events(_rows(injection, "salary_bonus")):
        assert len(event) == 1
        bonus = event.iloc[0]
        assert bonus["txn_type"] == CREDIT
        own = _mine(original, customer)
        credits = own[(own["txn_type"] == CREDIT) & own["merchant"].notna()]
        # The bonus names the payer of one of the customer's own steady monthly credits.
        payer = normalize_merchant(bonus["merchant"])
        same = credits[[payer.startswith(normalize_merchant(m)) for m in credits["merchant"]]]
        assert len(same) >= 3 and same["ts"].dt.to_period("M").nunique() >= 3
        assert 2 * 0.99 <= bonus["amount"] / same["amount"].median() <= 6 * 1.01


def test_family_transfer_is_one_or_two_moderate_daytime_transfers_from_home(injection, original) -> None:
    for customer, event in _events(_rows(injection, "family_transfer")):
        own = _mine(original, customer)
        usual = _median_debit(original, customer)
        assert 1 <= len(event) <= 2 and (event["txn_type"] == DEBIT).all()
        assert ((event["amount"] >= 2 * usual - 50) & (event["amount"] <= 6 * usual + 50)).all()
        assert event["ts"].dt.hour.between(9, 20).all()
        assert set(event["location"]) <= _homes(original, customer) and len(own)


def test_annual_premium_is_a_morning_auto_debit_to_one_of_a_few_shared_insurers(injection) -> None:
    rows = _rows(injection, "annual_premium")
    insurers = {normalize_merchant(m) for m in rows["merchant"]}
    assert len(insurers) <= 6 and all("INSURANCE" in name for name in insurers)
    assert rows["ts"].dt.hour.between(6, 11).all()
    for _, event in _events(rows):
        this_year = event[event["step"] == "premium"]
        assert len(this_year) == 1
        last_year = event[event["step"] == "premium_last_year"]
        if len(last_year):
            gap = (this_year["ts"].iloc[0].normalize() - last_year["ts"].iloc[0].normalize()).days
            assert 362 <= gap <= 368
            assert last_year["amount"].iloc[0] <= this_year["amount"].iloc[0]


def test_rent_increase_raises_every_later_payment_to_the_same_landlord(injection, original) -> None:
    removed = original[original["transaction_id"].isin(injection.removed)]
    assert not injection.frame["transaction_id"].isin(injection.removed).any()
    for customer, event in _events(_rows(injection, "rent_increase")):
        old = removed[removed["customer_id"] == customer].sort_values("ts")
        assert len(old) == len(event) >= 1
        assert list(old["ts"]) == list(event["ts"]) and list(old["merchant"]) == list(event["merchant"])
        assert event["amount"].nunique() == 1
        assert 1.10 - 1e-9 <= event["amount"].iloc[0] / old["amount"].median() <= 1.20 + 1e-9
        landlord = {normalize_merchant(m) for m in old["merchant"]}
        own = _mine(original, customer)
        later = own[(own["ts"] >= old["ts"].min()) & own["merchant"].map(normalize_merchant).isin(landlord)
                    & (own["txn_type"] == DEBIT)]
        assert set(later["transaction_id"]) == set(old["transaction_id"])
        before = own[(own["ts"] < old["ts"].min()) & own["merchant"].map(normalize_merchant).isin(landlord)]
        assert len(before) >= 2


def test_planned_purchase_follows_a_matching_credit_and_loans_are_repaid_monthly(injection) -> None:
    for _, event in _events(_rows(injection, "planned_purchase")):
        funding = event[event["step"] == "funding"].iloc[0]
        purchase = event[event["step"] == "purchase"].iloc[0]
        emis = event[event["step"] == "emi"]
        assert funding["txn_type"] == CREDIT and purchase["txn_type"] == DEBIT
        assert funding["ts"] < purchase["ts"] <= funding["ts"] + pd.Timedelta(days=5)
        assert 0.85 * 0.99 <= purchase["amount"] / funding["amount"] <= 1.0
        if len(emis):
            assert emis["amount"].nunique() == 1 and (emis["ts"] > purchase["ts"]).all()
            gaps = emis["ts"].dt.normalize().diff().dt.days.dropna()
            assert gaps.between(28, 31).all()
            assert funding["amount"] <= emis["amount"].iloc[0] * 12 <= 1.16 * 2 * funding["amount"]


# ------------------------------------------------------------------------------------------ the frame
def test_balances_still_form_a_ledger_for_every_touched_customer(injection, original) -> None:
    frame = injection.frame
    touched = set(injection.labels["customer_id"])
    rows = frame[frame["customer_id"].isin(touched)].sort_values(["customer_id", "ts"], kind="stable")
    signed = np.where(rows["txn_type"] == CREDIT, rows["amount"], -rows["amount"])
    step = rows["balance"].diff().to_numpy() - signed
    same = (rows["customer_id"] == rows["customer_id"].shift()).to_numpy()
    known = same & rows["balance"].notna().to_numpy() & rows["balance"].shift().notna().to_numpy()
    assert known.sum() > 1000
    assert np.abs(step[known]).max() < 0.011
    assert (rows["balance"].dropna() >= 0).all()


def test_original_rows_are_unchanged_except_later_balances(injection, original) -> None:
    after = injection.frame.set_index("transaction_id")
    kept = original[~original["transaction_id"].isin(injection.removed)].set_index("transaction_id")
    columns = [c for c in TXN_COLUMNS if c not in ("transaction_id", "balance")]
    pd.testing.assert_frame_equal(after.loc[kept.index, columns], kept[columns])
    untouched = ~kept["customer_id"].isin(set(injection.labels["customer_id"]))
    pd.testing.assert_series_equal(after.loc[kept.index[untouched], "balance"], kept.loc[untouched, "balance"])
    first_new = injection.labels.merge(injection.frame[["transaction_id", "ts"]]).groupby("customer_id")["ts"].min()
    earlier = kept["ts"].to_numpy() < kept["customer_id"].map(first_new).to_numpy()
    np.testing.assert_allclose(after.loc[kept.index[earlier], "balance"], kept.loc[earlier, "balance"], atol=0.005)


def test_new_ids_never_collide_and_rows_add_up(injection, original) -> None:
    ids = injection.frame["transaction_id"]
    new = set(injection.labels["transaction_id"])
    assert ids.is_unique and len(new) == len(injection.labels)
    assert not new & set(original["transaction_id"])
    assert new <= set(ids) and set(injection.removed) <= set(original["transaction_id"])
    assert len(injection.frame) == len(original) + len(new) - len(injection.removed)
    assert list(injection.frame.columns) == list(TXN_COLUMNS)


def test_same_seed_same_injection_and_another_seed_another(original) -> None:
    one = inject_scenarios(original, seed=9, per_scenario=3)
    two = inject_scenarios(original, seed=9, per_scenario=3)
    pd.testing.assert_frame_equal(one.frame, two.frame)
    pd.testing.assert_frame_equal(one.labels, two.labels)
    other = inject_scenarios(original, seed=10, per_scenario=3)
    assert set(other.labels["customer_id"]) != set(one.labels["customer_id"])


def test_amounts_are_multiples_that_vary_not_constants(injection, original) -> None:
    for scenario in ("night_burst", "account_takeover", "card_testing", "trip_abroad", "payee_scam"):
        rows = _rows(injection, scenario)
        ratio = rows["amount"] / rows["customer_id"].map(lambda c: _median_debit(original, c))
        assert ratio.map(lambda x: f"{x:.3g}").nunique() >= 0.8 * len(rows), scenario


def test_injected_names_are_not_the_generators_own(injection) -> None:
    merchants = {normalize_merchant(m) for m in pd.read_csv(DEFAULT_MERCHANTS_PATH)["merchant"]}
    fresh = injection.frame.merge(injection.labels.drop(columns="customer_id"), on="transaction_id")
    fresh = fresh[~fresh["step"].isin(["raised_rent", "bonus"]) & (fresh["channel"] != "ATM")]
    assert not {normalize_merchant(m) for m in fresh["merchant"].dropna()} & merchants
    assert not set(fresh["location"]) & set(synth_params.FOREIGN_CITIES)
    assert not set(DOMESTIC_CITIES) & {c for c, _ in synth_params.CITIES}
    assert not {c for c, _ in FOREIGN_CITIES} & set(synth_params.FOREIGN_CITIES)


# ------------------------------------------------------------------------------------------ thin frames
def _thin_frame(customers: int = 60, rows_each: int = 6) -> pd.DataFrame:
    """Debits only, no merchant/category/channel, balances that are not a ledger: like the public file."""
    rng = np.random.default_rng(3)
    n = customers * rows_each
    days = rng.integers(0, 80, n)
    frame = pd.DataFrame({
        "transaction_id": [f"T{i + 1}" for i in range(n)],
        "customer_id": [f"C{1000 + i // rows_each}" for i in range(n)],
        "ts": pd.Timestamp("2016-08-01") + pd.to_timedelta(days, unit="D")
        + pd.to_timedelta(rng.integers(8 * 3600, 22 * 3600, n), unit="s"),
        "amount": np.round(np.exp(rng.normal(6, 1, n))),
        "balance": np.round(rng.uniform(5_000, 90_000, n), 2),
        "txn_type": DEBIT, "merchant": None, "category": None, "channel": None,
        "location": rng.choice(["MUMBAI", "PUNE", "NOIDA", "KOLKATA"], n),
        "dob": pd.Timestamp("1990-01-01"), "gender": "F",
    })
    return to_canonical(frame)


def test_a_thin_frame_gets_every_scenario_that_needs_no_payee_and_no_invented_fields() -> None:
    thin = _thin_frame()
    result = inject_scenarios(thin, seed=2, per_scenario=2, min_history=4)
    summary = result.summary.set_index("scenario")
    assert not summary.loc[["annual_premium", "rent_increase"], "applicable"].any()
    applicable = summary[summary["applicable"]]
    assert (applicable["events"] == 2).all()
    assert result.frame[["merchant", "category", "channel"]].isna().all().all()
    kept = result.frame[result.frame["transaction_id"].isin(thin["transaction_id"])].set_index("transaction_id")
    pd.testing.assert_series_equal(kept["balance"], thin.set_index("transaction_id")["balance"])
    new = result.frame.merge(result.labels.drop(columns="customer_id"), on="transaction_id")
    assert (new["balance"].dropna() >= 0).all()
    # A debit's derived balance is the last reported one minus what the event itself took since.
    for _, row in new[new["txn_type"] == DEBIT].iterrows():
        if np.isnan(row["balance"]):
            continue
        before = thin[(thin["customer_id"] == row["customer_id"]) & (thin["ts"] <= row["ts"])].sort_values("ts")
        if len(before):
            same_event = new[(new["event"] == row["event"]) & (new["ts"] <= row["ts"])
                             & (new["ts"] > before["ts"].iloc[-1])]
            moved = np.where(same_event["txn_type"] == CREDIT, 1, -1) @ same_event["amount"].to_numpy()
            assert row["balance"] == pytest.approx(before["balance"].iloc[-1] + moved, abs=0.01)


def test_night_burst_on_a_thin_frame_is_measured_against_that_customer() -> None:
    thin = _thin_frame()
    result = inject_scenarios(thin, seed=5, per_scenario=3, min_history=4, scenarios=["night_burst"])
    rows = result.frame.merge(result.labels.drop(columns="customer_id"), on="transaction_id")
    assert rows["event"].nunique() == 3
    for customer, event in rows.groupby("customer_id"):
        usual = thin.loc[thin["customer_id"] == customer, "amount"].median()
        assert (event["amount"] >= 0.99 * 4 * usual).all() and event["ts"].dt.hour.between(1, 3).all()


def test_unknown_scenarios_and_non_canonical_frames_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        inject_scenarios(_thin_frame(), scenarios=["phishing"])
    with pytest.raises(ValueError, match="missing"):
        inject_scenarios(_thin_frame().drop(columns=["location"]))


@pytest.mark.realdata
def test_the_public_sample_gets_labelled_scenarios_on_its_few_repeat_ids() -> None:
    if not REAL_SAMPLE.is_file():
        pytest.skip("public sample not present")
    sample = read_transactions([REAL_SAMPLE]).frame
    result = inject_scenarios(sample, seed=1, per_scenario=5, min_history=2)
    summary = result.summary.set_index("scenario")
    fraud = summary[summary["is_fraud"]]
    assert (fraud["events"] == 5).all()
    assert result.frame[["merchant", "category", "channel"]].isna().all().all()
    repeat = sample["customer_id"].value_counts()
    assert (repeat.reindex(result.labels["customer_id"].unique()) >= 2).all()
    assert result.frame["transaction_id"].is_unique
    assert len(result.frame) == len(sample) + len(result.labels)
