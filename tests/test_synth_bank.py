"""The synthetic bank: raw-format fidelity, consistent balances, personas, churn and injected fraud."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.schema import CATEGORIES, RAW_OPTIONAL_COLUMNS, RAW_REQUIRED_COLUMNS, normalize_category
from analytics.synth import SynthBank, generate_bank, load_merchants, write_bank

END = dt.date(2016, 10, 31)
START = dt.date(2015, 11, 1)  # 12 calendar months ending END
MERCHANTS = Path(__file__).resolve().parent.parent / "data" / "merchants.csv"
PERSONAS = {"salaried_saver", "frequent_spender", "low_balance_struggler", "high_balance_investor", "student",
            "retiree"}


@pytest.fixture(scope="module")
def bank() -> SynthBank:
    merchants = load_merchants(MERCHANTS) if MERCHANTS.exists() else None
    return generate_bank(customers=600, months=12, seed=5, merchants=merchants)


@pytest.fixture(scope="module")
def written(bank: SynthBank, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_bank(bank, tmp_path_factory.mktemp("bank"))


@pytest.fixture(scope="module")
def raw(written: dict[str, Path]) -> pd.DataFrame:
    """The CSV read back as text, the way an ingester first sees it."""
    return pd.read_csv(written["transactions"], dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def rows(raw: pd.DataFrame, written: dict[str, Path]) -> pd.DataFrame:
    """Parsed independently of the generator, joined with both label files."""
    labels = pd.read_csv(written["txn_labels"], dtype={"fraud_kind": str, "fraud_signals": str},
                         keep_default_na=False)
    customers = pd.read_csv(written["customer_labels"], dtype=str, keep_default_na=False)
    out = raw.merge(labels, on="TransactionID", validate="1:1").merge(customers, on="CustomerID", validate="m:1")
    time = out["TransactionTime"].astype(int)
    out["ts"] = pd.to_datetime(out["TransactionDate"], format="%d/%m/%y") + pd.to_timedelta(
        time // 10_000 * 3600 + time % 10_000 // 100 * 60 + time % 100, unit="s")
    out["amount"] = out["TransactionAmount (INR)"].astype(float)
    out["balance"] = pd.to_numeric(out["CustAccountBalance"].replace("", np.nan))
    out["signed"] = np.where(out["TransactionType"] == "CREDIT", out["amount"], -out["amount"])
    out["tid"] = out["TransactionID"].str[1:].astype(int)
    return out.sort_values(["CustomerID", "ts", "tid"]).reset_index(drop=True)


# ------------------------------------------------------------------------------------------- determinism


def test_same_seed_writes_byte_identical_files(bank: SynthBank, written: dict[str, Path], tmp_path: Path) -> None:
    merchants = load_merchants(MERCHANTS) if MERCHANTS.exists() else None
    again = write_bank(generate_bank(customers=600, months=12, seed=5, merchants=merchants), tmp_path)
    for key, path in written.items():
        assert again[key].read_bytes() == path.read_bytes(), key


def test_gzip_output_is_byte_identical_and_readable(tmp_path: Path) -> None:
    small = generate_bank(customers=40, months=2, seed=1)
    first = write_bank(small, tmp_path / "a", compress=True)
    second = write_bank(generate_bank(customers=40, months=2, seed=1), tmp_path / "b", compress=True)
    assert all(str(p).endswith(".csv.gz") for p in first.values())
    assert first["transactions"].read_bytes() == second["transactions"].read_bytes()
    assert len(pd.read_csv(first["transactions"])) == len(small.transactions)


def test_other_seed_gives_other_bank() -> None:
    a = generate_bank(customers=40, months=2, seed=1).transactions
    b = generate_bank(customers=40, months=2, seed=2).transactions
    assert not a["CustomerID"].equals(b["CustomerID"])


# ------------------------------------------------------------------------------------------- raw format


def test_header_is_exactly_the_contract(written: dict[str, Path]) -> None:
    header = written["transactions"].read_text().split("\n", 1)[0]
    assert header.split(",") == [*RAW_REQUIRED_COLUMNS[:-1], "TransactionAmount (INR)", *RAW_OPTIONAL_COLUMNS]
    assert header.startswith("TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,CustAccountBalance,"
                             "TransactionDate,TransactionTime,TransactionAmount (INR),")


def test_dates_are_day_first_without_leading_zeros_inside_the_window(raw: pd.DataFrame) -> None:
    assert raw["TransactionDate"].str.fullmatch(r"[1-9]\d?/[1-9]\d?/\d\d").all()
    dates = pd.to_datetime(raw["TransactionDate"], format="%d/%m/%y")
    assert pd.Timestamp(START) <= dates.min() <= pd.Timestamp(START) + pd.Timedelta(days=3)
    assert pd.Timestamp(END) - pd.Timedelta(days=3) <= dates.max() <= pd.Timestamp(END)
    assert (dates.dt.day > 12).any()  # really day-first, not a month


def test_times_are_hhmmss_integers_without_leading_zeros(raw: pd.DataFrame) -> None:
    assert raw["TransactionTime"].str.fullmatch(r"0|[1-9]\d{0,5}").all()
    t = raw["TransactionTime"].astype(int)
    assert (t // 10_000 < 24).all() and (t % 10_000 // 100 < 60).all() and (t % 100 < 60).all()
    assert (t < 100_000).any()  # some before 10:00, written with five digits or fewer


def test_dobs_are_day_first_with_some_unknown_and_ages_18_to_80(raw: pd.DataFrame) -> None:
    dob = raw.drop_duplicates("CustomerID")["CustomerDOB"]
    unknown = dob == "1/1/1800"
    assert 0 < unknown.mean() < 0.06
    parsed = pd.to_datetime(dob[~unknown], format="%d/%m/%y")
    parsed = parsed.where(parsed <= pd.Timestamp(END), parsed - pd.DateOffset(years=100))  # contract: 19xx
    age_years = (pd.Timestamp(END) - parsed).dt.days / 365.25
    assert age_years.min() >= 18 and age_years.max() <= 81


def test_genders_are_m_or_f_with_a_very_few_empty(raw: pd.DataFrame) -> None:
    gender = raw.drop_duplicates("CustomerID")["CustGender"]
    assert set(gender) <= {"M", "F", ""}
    assert (gender == "").mean() < 0.02
    assert 0.55 < (gender == "M").mean() < 0.9


def test_ids_are_unique_and_outside_the_public_files_ranges(raw: pd.DataFrame) -> None:
    assert raw["TransactionID"].is_unique
    assert raw["TransactionID"].str.fullmatch(r"T\d+").all()
    assert raw["TransactionID"].str[1:].astype(int).min() > 1_048_567
    assert raw["CustomerID"].str.fullmatch(r"C\d{7}").all()
    assert raw["CustomerID"].str[1:].astype(int).min() > 9_099_956


def test_locations_are_indian_cities_in_capitals(raw: pd.DataFrame) -> None:
    home = raw.groupby("CustomerID")["CustLocation"].agg(lambda s: s.mode().iloc[0])
    assert {"MUMBAI", "NEW DELHI", "BANGALORE"} <= set(home)
    assert raw["CustLocation"].str.fullmatch(r"[A-Z ]+").all()


def test_about_one_percent_of_balances_are_empty(raw: pd.DataFrame) -> None:
    assert 0.003 < (raw["CustAccountBalance"] == "").mean() < 0.02


# ------------------------------------------------------------------------------------------- money


def test_balance_is_the_running_balance_after_each_transaction(rows: pd.DataFrame) -> None:
    same = rows["CustomerID"].eq(rows["CustomerID"].shift())
    both = same & rows["balance"].notna() & rows["balance"].shift().notna()
    expected = rows["balance"].shift() + rows["signed"]
    assert both.sum() > 0.9 * len(rows)
    assert np.allclose(rows.loc[both, "balance"], expected[both], atol=0.011)


def test_balances_never_go_negative(rows: pd.DataFrame) -> None:
    assert rows["balance"].min() >= 0


def test_debits_and_credits_include_salary_refunds_and_interest(rows: pd.DataFrame) -> None:
    credits = rows.loc[rows["TransactionType"] == "CREDIT", "Merchant"].str.upper()
    assert set(rows["TransactionType"]) == {"DEBIT", "CREDIT"}
    for word in ("SALARY", "REFUND", "INTEREST", "PENSION"):
        assert credits.str.contains(word).any(), word


def test_salary_arrives_once_a_month_on_a_fixed_day(rows: pd.DataFrame) -> None:
    salary = rows[rows["Merchant"].str.upper().str.contains("SALARY") & (rows["churned"] == "0")]
    per_customer = salary.groupby("CustomerID")
    assert (per_customer.size() == 12).mean() > 0.9
    assert (per_customer["ts"].agg(lambda s: s.dt.day.nunique()) <= 3).mean() > 0.9  # short months clip


def test_grocery_and_dining_amounts_are_everyday_sized(rows: pd.DataFrame) -> None:
    debits = rows[(rows["TransactionType"] == "DEBIT") & (rows["is_fraud"] == 0)]
    groceries = debits.loc[debits["Category"] == "groceries", "amount"]
    dining = debits.loc[debits["Category"] == "dining", "amount"]
    rent = debits.loc[debits["Category"] == "rent", "amount"]
    assert 200 <= groceries.median() <= 3_000
    assert 150 <= dining.median() <= 2_500
    assert 5_000 <= rent.median() <= 40_000


# ------------------------------------------------------------------------------------------- text columns


def test_a_fifth_of_debits_have_no_category_and_the_rest_map_to_the_contract(rows: pd.DataFrame) -> None:
    debits = rows[rows["TransactionType"] == "DEBIT"]
    assert 0.15 < (debits["Category"] == "").mean() < 0.25
    given = rows.loc[rows["Category"] != "", "Category"]
    synonyms = given[~given.isin(CATEGORIES)]
    assert len(synonyms) > 0
    mapped = synonyms.map(normalize_category)
    assert (mapped[synonyms.str.lower() != "other"] != "other").all()


def test_atm_rows_are_cash_and_channels_are_known(rows: pd.DataFrame) -> None:
    assert set(rows["Channel"]) <= {"UPI", "POS", "ONLINE", "ATM", "NEFT", "BANK"}
    atm = rows.loc[rows["Channel"] == "ATM", "Category"]
    assert len(atm) and atm.map(lambda c: normalize_category(c) in (None, "cash")).all()


def test_merchant_text_varies_like_a_statement(rows: pd.DataFrame) -> None:
    merchant = rows["Merchant"]
    assert merchant.str.match(r"UPI/").any()
    assert merchant.str.match(r"POS \d{4} ").any()
    assert (merchant.str.upper() != merchant).any()  # a few lower-case descriptions
    assert merchant.str.len().min() > 0


# ------------------------------------------------------------------------------------------- personas, churn


def test_all_personas_present_with_different_balances(rows: pd.DataFrame) -> None:
    assert set(rows["persona"]) == PERSONAS
    median_balance = rows.groupby("persona")["balance"].median()
    assert median_balance["high_balance_investor"] > 10 * median_balance["low_balance_struggler"]
    per_customer = rows.groupby(["persona", "CustomerID"]).size().groupby("persona").median()
    assert per_customer["frequent_spender"] > per_customer["retiree"]


def test_about_fifteen_percent_churn(written: dict[str, Path]) -> None:
    customers = pd.read_csv(written["customer_labels"], keep_default_na=False)
    assert 0.08 < customers["churned"].mean() < 0.22
    assert (customers.loc[customers["churned"] == 0, "churn_date"] == "").all()


def test_churners_have_no_rows_from_their_churn_date(rows: pd.DataFrame) -> None:
    churned = rows[rows["churned"] == "1"]
    assert len(churned)
    assert (churned["ts"] < pd.to_datetime(churned["churn_date"])).all()


def test_some_churners_stop_in_the_last_30_to_60_days(written: dict[str, Path]) -> None:
    customers = pd.read_csv(written["customer_labels"], keep_default_na=False)
    days_before_end = (pd.Timestamp(END) - pd.to_datetime(customers.loc[customers["churned"] == 1, "churn_date"])).dt.days
    assert days_before_end.min() >= 29
    assert ((days_before_end >= 29) & (days_before_end <= 61)).sum() >= 10


def test_churners_activity_declines_before_stopping(rows: pd.DataFrame) -> None:
    churned = rows[rows["churned"] == "1"]
    days_left = (pd.to_datetime(churned["churn_date"]) - churned["ts"].dt.normalize()).dt.days
    last_month = ((days_left >= 1) & (days_left <= 30)).sum()
    earlier_month = ((days_left > 120) & (days_left <= 150)).sum()
    assert last_month < 0.6 * earlier_month


# ------------------------------------------------------------------------------------------- fraud


def test_fraud_rate_and_every_kind_present(rows: pd.DataFrame) -> None:
    assert 0.004 <= rows["is_fraud"].mean() <= 0.012
    assert set(rows.loc[rows["is_fraud"] == 1, "fraud_kind"]) == {"amount", "new_city", "odd_hour", "burst"}
    assert (rows.loc[rows["is_fraud"] == 0, "fraud_kind"] == "").all()
    assert rows["fraud_signals"].str.contains(r"\+").any()  # some rows carry two signals


def test_amount_fraud_is_five_to_thirty_times_the_usual(rows: pd.DataFrame) -> None:
    debits = rows[(rows["TransactionType"] == "DEBIT")]
    usual = debits[debits["is_fraud"] == 0].groupby("CustomerID")["amount"].median()
    fraud = debits[debits["fraud_signals"].str.contains("amount")]
    ratio = fraud["amount"] / fraud["CustomerID"].map(usual)
    assert len(fraud) and ratio.min() >= 4.9 and ratio.max() <= 31


def test_new_city_fraud_is_somewhere_the_customer_never_went(rows: pd.DataFrame) -> None:
    usual = rows[rows["is_fraud"] == 0].groupby("CustomerID")["CustLocation"].agg(set)
    fraud = rows[rows["fraud_signals"].str.contains("new_city")]
    assert len(fraud)
    assert all(city not in usual[c] for c, city in zip(fraud["CustomerID"], fraud["CustLocation"], strict=True))


def test_odd_hour_fraud_happens_between_one_and_five_am(rows: pd.DataFrame) -> None:
    fraud = rows[rows["fraud_signals"].str.contains("odd_hour")]
    genuine = rows[rows["is_fraud"] == 0]
    assert len(fraud) and fraud["ts"].dt.hour.between(1, 4).all()
    assert genuine["ts"].dt.hour.between(1, 4).mean() < 0.02


def test_bursts_are_four_to_eight_rows_within_minutes(rows: pd.DataFrame) -> None:
    burst = rows[rows["fraud_kind"] == "burst"].copy()
    gap = burst.groupby("CustomerID")["ts"].diff()
    burst["event"] = (gap.isna() | (gap > pd.Timedelta(minutes=10))).cumsum()
    events = burst.groupby("event")["ts"].agg(["size", "min", "max"])
    assert events["size"].between(4, 8).all()
    assert ((events["max"] - events["min"]) <= pd.Timedelta(minutes=30)).all()


# ------------------------------------------------------------------------------------------- arguments


def test_months_sets_the_window_ending_at_end() -> None:
    small = generate_bank(customers=60, months=3, seed=3, end=dt.date(2016, 9, 30))
    dates = pd.to_datetime(small.transactions["TransactionDate"], format="%d/%m/%y")
    assert small.start == dt.date(2016, 7, 1)
    assert dates.min() >= pd.Timestamp("2016-07-01") and dates.max() <= pd.Timestamp("2016-09-30")


def test_activity_scales_the_number_of_rows() -> None:
    full = generate_bank(customers=100, months=6, seed=4)
    thin = generate_bank(customers=100, months=6, seed=4, activity=0.2)
    assert len(thin.transactions) < 0.7 * len(full.transactions)


def test_missing_categories_in_the_merchant_list_fall_back(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("merchant,category\nmy corner shop ,groceries\nNOT A CATEGORY,nonsense\n")
    merchants = load_merchants(path)
    assert merchants.to_dict("records") == [{"merchant": "MY CORNER SHOP", "category": "groceries"}]
    rows = generate_bank(customers=80, months=2, seed=1, merchants=merchants).transactions
    grocery = rows[rows["Category"] == "groceries"]
    assert grocery["Merchant"].str.upper().str.contains("MY CORNER SHOP").all()


def test_non_positive_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        generate_bank(customers=0, months=12, seed=1)
