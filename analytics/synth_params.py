"""The synthetic bank's assumptions in one place: personas, cities, amounts, channels and fallback merchants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np


@dataclass(frozen=True)
class Persona:
    """How one kind of customer banks; monthly figures are in rupees."""

    name: str
    share: float                 # fraction of customers
    age_range: tuple[int, int]   # inclusive, at the end date
    income: float                # median monthly credit (salary, allowance or pension)
    income_sigma: float          # log-normal spread across customers
    opening_balance: float       # median balance at the start of the window
    debits_per_month: float      # discretionary (non-recurring) debits
    spend_ratio: float           # target total debits / total credits over the window
    rent_prob: float
    rent: float                  # median monthly rent of renters
    subscription_prob: float
    sip_prob: float              # monthly investment transfer
    churn_prob: float
    category_weights: tuple[float, ...]  # over DISCRETIONARY_CATEGORIES


# Discretionary (non-recurring) debit categories; rent only ever appears as a recurring bill.
DISCRETIONARY_CATEGORIES: Final = (
    "groceries", "dining", "travel", "fuel", "shopping", "utilities",
    "entertainment", "health", "education", "cash", "transfers", "other",
)

PERSONAS: Final = (
    Persona("salaried_saver", 0.28, (24, 58), 60_000, 0.35, 150_000, 4.0, 0.62, 0.55, 15_000, 0.4, 0.5, 0.10,
            (.25, .12, .05, .10, .10, .04, .04, .05, .02, .10, .08, .05)),
    Persona("frequent_spender", 0.18, (22, 45), 85_000, 0.40, 40_000, 10.0, 0.97, 0.65, 22_000, 0.8, 0.1, 0.13,
            (.15, .25, .08, .07, .18, .03, .10, .03, .01, .03, .04, .03)),
    Persona("low_balance_struggler", 0.18, (20, 55), 20_000, 0.25, 3_000, 3.5, 0.99, 0.45, 7_000, 0.1, 0.0, 0.25,
            (.30, .08, .03, .05, .06, .05, .03, .06, .02, .22, .06, .04)),
    Persona("high_balance_investor", 0.10, (30, 65), 220_000, 0.45, 1_500_000, 4.5, 0.55, 0.30, 40_000, 0.6, 1.0,
            0.07, (.18, .15, .12, .08, .15, .03, .06, .05, .03, .03, .08, .04)),
    Persona("student", 0.12, (18, 24), 8_000, 0.30, 5_000, 4.0, 0.95, 0.25, 6_000, 0.5, 0.0, 0.20,
            (.12, .30, .08, .03, .12, .06, .12, .03, .06, .05, .02, .01)),
    Persona("retiree", 0.14, (60, 80), 30_000, 0.35, 400_000, 2.5, 0.75, 0.10, 8_000, 0.2, 0.2, 0.12,
            (.30, .07, .05, .04, .07, .05, .03, .22, .01, .10, .04, .02)),
)

# Log-normal amount per discretionary category: (median rupees, sigma, min, max).
AMOUNT_PARAMS: Final = {
    "groceries": (800, 0.55, 60, 6_000),
    "dining": (450, 0.60, 60, 6_000),
    "travel": (1_800, 1.10, 50, 60_000),
    "fuel": (1_200, 0.45, 100, 6_000),
    "shopping": (1_400, 0.90, 99, 50_000),
    "utilities": (450, 0.60, 49, 5_000),
    "entertainment": (500, 0.60, 49, 8_000),
    "health": (700, 0.90, 30, 40_000),
    "education": (2_500, 1.00, 100, 80_000),
    "cash": (2_000, 0.60, 100, 20_000),
    "transfers": (3_000, 1.00, 50, 100_000),
    "other": (600, 0.90, 10, 20_000),
}

CHANNELS: Final = ("UPI", "POS", "ONLINE", "ATM", "NEFT", "BANK")  # BANK: interest posted by the bank itself

# Channel probabilities per category, in CHANNELS order (UPI, POS, ONLINE, ATM, NEFT, BANK).
CHANNEL_WEIGHTS: Final = {
    "groceries": (.40, .50, .10, 0, 0, 0),
    "dining": (.50, .25, .25, 0, 0, 0),
    "travel": (.30, .05, .65, 0, 0, 0),
    "fuel": (.40, .60, 0, 0, 0, 0),
    "shopping": (.15, .35, .50, 0, 0, 0),
    "utilities": (.35, 0, .65, 0, 0, 0),
    "entertainment": (.10, .20, .70, 0, 0, 0),
    "health": (.40, .50, .10, 0, 0, 0),
    "education": (.20, 0, .40, 0, .40, 0),
    "cash": (0, 0, 0, 1, 0, 0),
    "transfers": (.65, 0, .05, 0, .30, 0),
    "other": (.40, .30, .30, 0, 0, 0),
}

# Home cities, weighted like the public data set's most common locations.
CITIES: Final = (
    ("MUMBAI", 9.9), ("NEW DELHI", 8.0), ("BANGALORE", 7.7), ("DELHI", 7.0), ("GURGAON", 6.9), ("NOIDA", 3.0),
    ("CHENNAI", 2.8), ("PUNE", 2.4), ("HYDERABAD", 2.2), ("THANE", 2.1), ("KOLKATA", 2.0), ("GHAZIABAD", 1.6),
    ("NAVI MUMBAI", 1.2), ("AHMEDABAD", 1.2), ("FARIDABAD", 1.1), ("JAIPUR", 1.0), ("CHANDIGARH", 0.9),
    ("LUCKNOW", 0.7), ("MOHALI", 0.6), ("SURAT", 0.55), ("NASHIK", 0.52), ("LUDHIANA", 0.49),
    ("VISAKHAPATNAM", 0.43), ("DEHRADUN", 0.39), ("INDORE", 0.39), ("AMRITSAR", 0.38), ("AGRA", 0.37),
    ("VADODARA", 0.37), ("NAGPUR", 0.34), ("KANPUR", 0.34), ("BHOPAL", 0.3), ("KOCHI", 0.3), ("GOA", 0.25),
    ("MYSORE", 0.25), ("COIMBATORE", 0.25), ("PATNA", 0.22), ("JAMSHEDPUR", 0.2), ("RAIPUR", 0.2),
)
# Only ever seen in injected "new city" fraud, never in a customer's normal history.
FOREIGN_CITIES: Final = ("DUBAI", "SINGAPORE", "LONDON", "BANGKOK", "NEW YORK", "HONG KONG")

# Hour-of-day weights for genuine activity: the public data's shape, with 01:00-04:59 made rarer.
HOUR_WEIGHTS: Final = np.array(
    [1.7, .25, .15, .12, .12, .5, .8, 1.4, 2.2, 3.2, 4.1, 5.0, 5.8, 6.2, 6.3, 6.2, 6.1, 6.6, 7.6, 9.0, 9.3, 7.6,
     5.1, 3.0]
)

# Category values a bank export might use instead of ours (analytics.schema maps them back).
CATEGORY_ALIASES: Final = {
    "groceries": ("Grocery", "Supermarket"),
    "dining": ("Food", "Restaurants", "Food & Dining"),
    "travel": ("Transport", "Flights"),
    "fuel": ("Petrol",),
    "shopping": ("Retail", "Apparel"),
    "utilities": ("Bills", "Telecom"),
    "entertainment": ("Movies", "Subscriptions"),
    "health": ("Medical", "Pharmacy"),
    "education": ("Fees",),
    "cash": ("ATM",),
    "transfers": ("Transfer",),
    "income": ("Salary",),
    "other": ("Other",),
    "rent": ("Housing",),
}

# Used for a category missing from the merchant list handed in (and when none is handed in).
FALLBACK_MERCHANTS: Final = {
    "groceries": ("BIGBASKET", "DMART", "RELIANCE FRESH", "MORE SUPERMARKET", "BLINKIT", "ZEPTO", "KIRANA STORE"),
    "dining": ("SWIGGY", "ZOMATO", "HALDIRAMS", "DOMINOS PIZZA", "MCDONALDS", "CAFE COFFEE DAY", "SAGAR RATNA"),
    "travel": ("IRCTC", "MAKEMYTRIP", "INDIGO", "OLA", "UBER", "REDBUS", "DELHI METRO"),
    "fuel": ("INDIAN OIL", "HP PETROL PUMP", "BHARAT PETROLEUM", "SHELL PETROL PUMP"),
    "shopping": ("AMAZON", "FLIPKART", "MYNTRA", "CROMA", "RELIANCE DIGITAL", "DECATHLON", "TANISHQ"),
    "utilities": ("TATA POWER", "BESCOM", "AIRTEL", "JIO", "VODAFONE IDEA", "ACT FIBERNET", "INDANE GAS"),
    "rent": ("NOBROKER RENT PAYMENT", "CRED RENT PAY", "HOUSE RENT", "PG RENT"),
    "entertainment": ("BOOKMYSHOW", "NETFLIX", "SPOTIFY", "PVR CINEMAS", "DISNEY HOTSTAR"),
    "health": ("APOLLO PHARMACY", "1MG", "MEDPLUS", "DR LAL PATHLABS", "FORTIS HOSPITAL"),
    "education": ("BYJUS", "UNACADEMY", "COURSERA", "TUITION FEES", "COLLEGE FEE PAYMENT"),
    "cash": ("ATM WDL", "ATM WDL SBI", "ATM WDL HDFC BANK", "NFS ATM WDL"),
    "transfers": ("NEFT TRANSFER", "IMPS TRANSFER", "UPI P2P TRANSFER", "SIP MUTUAL FUND", "SENT TO FAMILY"),
    "income": ("SALARY INFOSYS LTD", "SALARY WIPRO LTD", "SALARY CREDIT", "UPI CR", "REFUND",
               "SB INTEREST CREDIT", "PENSION CREDIT"),
    "other": ("BANK CHARGES", "URBAN COMPANY", "INDIA POST", "SALON AND SPA"),
}

# Recurring-bill vocabulary (matched in the merchant list when present).
SUBSCRIPTIONS: Final = (("NETFLIX", 499), ("SPOTIFY", 119), ("DISNEY HOTSTAR", 299),
                        ("AMAZON PRIME VIDEO", 179), ("YOUTUBE PREMIUM", 129))
PHONE_PLANS: Final = (199, 299, 399, 499, 599, 799, 999)
INVESTMENT_PAYEES: Final = ("SIP MUTUAL FUND", "ZERODHA FUND TRANSFER", "GROWW FUND ADD", "RECURRING DEPOSIT INSTALLMENT")
EMPLOYERS_FALLBACK: Final = ("SALARY INFOSYS LTD", "SALARY TATA CONSULTANCY SERVICES", "SALARY WIPRO LTD",
                             "SALARY HDFC BANK LTD", "SALARY RELIANCE INDUSTRIES")
