"""Static reference data of the simulated world: cities, merchant categories, personas.

Why a catalog: realism lives in these tables (where people live, what a coffee costs, when
students shop), and keeping them as plain data makes them easy to review and tune without
touching the vectorised code that samples from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class City:
    name: str
    country: str
    lat: float
    lon: float
    utc_offset: int  # standard time, hours; daily rhythms are in local time
    weight: float  # share of home customers; 0 = travel / fraud destination only


CITIES: tuple[City, ...] = (
    City("New York", "US", 40.71, -74.01, -5, 10.0),
    City("Los Angeles", "US", 34.05, -118.24, -8, 7.0),
    City("Chicago", "US", 41.88, -87.63, -6, 5.0),
    City("Houston", "US", 29.76, -95.37, -6, 4.0),
    City("Phoenix", "US", 33.45, -112.07, -7, 3.0),
    City("Philadelphia", "US", 39.95, -75.17, -5, 3.0),
    City("San Antonio", "US", 29.42, -98.49, -6, 2.0),
    City("San Diego", "US", 32.72, -117.16, -8, 2.0),
    City("Dallas", "US", 32.78, -96.80, -6, 3.0),
    City("Seattle", "US", 47.61, -122.33, -8, 2.5),
    City("Denver", "US", 39.74, -104.99, -7, 2.0),
    City("Boston", "US", 42.36, -71.06, -5, 2.5),
    City("Miami", "US", 25.76, -80.19, -5, 2.5),
    City("Atlanta", "US", 33.75, -84.39, -5, 2.5),
    City("Minneapolis", "US", 44.98, -93.27, -6, 1.5),
    City("Portland", "US", 45.52, -122.68, -8, 1.5),
    City("Las Vegas", "US", 36.17, -115.14, -8, 1.5),
    City("Detroit", "US", 42.33, -83.05, -5, 1.5),
    City("Anchorage", "US", 61.22, -149.90, -9, 0.3),
    City("Honolulu", "US", 21.31, -157.86, -10, 0.5),
    City("London", "GB", 51.51, -0.13, 0, 0.0),
    City("Paris", "FR", 48.86, 2.35, 1, 0.0),
    City("Berlin", "DE", 52.52, 13.40, 1, 0.0),
    City("Madrid", "ES", 40.42, -3.70, 1, 0.0),
    City("Toronto", "CA", 43.65, -79.38, -5, 0.0),
    City("Mexico City", "MX", 19.43, -99.13, -6, 0.0),
    City("Sao Paulo", "BR", -23.55, -46.63, -3, 0.0),
    City("Lagos", "NG", 6.52, 3.38, 1, 0.0),
    City("Moscow", "RU", 55.76, 37.62, 3, 0.0),
    City("Bucharest", "RO", 44.43, 26.10, 2, 0.0),
    City("Mumbai", "IN", 19.08, 72.88, 5, 0.0),
    City("Singapore", "SG", 1.35, 103.82, 8, 0.0),
    City("Tokyo", "JP", 35.68, 139.69, 9, 0.0),
    City("Sydney", "AU", -33.87, 151.21, 10, 0.0),
)


@dataclass(frozen=True, slots=True)
class Category:
    mcc: str
    name: str
    median: float  # typical amount in USD for an average spender
    sigma: float  # log-normal spread of amounts
    ecom_share: float  # probability a transaction in this category is card-not-present
    online_only: bool  # merchants have no local branches (app stores, marketplaces)
    scales_with_spend: bool  # a fare costs the same for everyone; dinner does not


CATEGORIES: tuple[Category, ...] = (
    Category("5411", "grocery", 45.0, 0.6, 0.05, False, True),
    Category("5812", "restaurant", 35.0, 0.55, 0.02, False, True),
    Category("5814", "fast_food", 12.0, 0.45, 0.05, False, True),
    Category("5541", "fuel", 48.0, 0.35, 0.0, False, True),
    Category("4111", "transit", 2.75, 0.15, 0.0, False, False),
    Category("7523", "parking", 4.0, 0.45, 0.1, False, False),
    Category("5815", "digital_goods", 1.99, 0.7, 1.0, True, False),
    Category("5311", "department_store", 75.0, 0.8, 0.3, False, True),
    Category("5732", "electronics", 220.0, 0.9, 0.5, False, True),
    Category("5944", "jewelry", 380.0, 0.9, 0.1, False, True),
    Category("5912", "pharmacy", 25.0, 0.6, 0.05, False, True),
    Category("5999", "online_marketplace", 42.0, 0.9, 1.0, True, True),
    Category("4511", "airline", 420.0, 0.5, 1.0, True, True),
    Category("7011", "hotel", 210.0, 0.5, 0.5, False, True),
    Category("5712", "furniture", 600.0, 0.7, 0.3, False, True),
    Category("8398", "charity", 25.0, 0.8, 1.0, True, False),
    Category("6051", "quasi_cash", 150.0, 0.8, 1.0, True, True),
    Category("6011", "atm_cash", 100.0, 0.5, 0.0, False, True),
)
CAT = {c.name: i for i, c in enumerate(CATEGORIES)}


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    share: float
    tx_per_day: float
    spend: float  # multiplier on category medians
    hour_peaks: tuple[float, ...]  # local hours where activity peaks
    weekend: float  # weekend activity relative to weekdays
    categories: dict[str, float]  # relative weights; unlisted categories are 0


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "student",
        0.15,
        2.2,
        0.6,
        (13.0, 21.5),
        1.3,
        {
            "fast_food": 5,
            "transit": 5,
            "digital_goods": 4,
            "grocery": 2,
            "online_marketplace": 2,
            "restaurant": 1.5,
            "atm_cash": 0.5,
            "electronics": 0.3,
            "charity": 0.1,
            "parking": 0.3,
        },
    ),
    Persona(
        "commuter",
        0.25,
        2.6,
        1.0,
        (8.0, 12.5, 18.0),
        0.7,
        {
            "transit": 5,
            "parking": 3,
            "fast_food": 2,
            "restaurant": 2,
            "grocery": 3,
            "fuel": 1,
            "online_marketplace": 1.5,
            "department_store": 1,
            "pharmacy": 0.7,
            "atm_cash": 0.4,
            "digital_goods": 0.8,
            "electronics": 0.3,
            "airline": 0.1,
            "hotel": 0.1,
        },
    ),
    Persona(
        "family",
        0.3,
        1.9,
        1.2,
        (10.0, 17.5),
        1.5,
        {
            "grocery": 6,
            "fuel": 3,
            "department_store": 2,
            "pharmacy": 1.5,
            "restaurant": 1.5,
            "fast_food": 1.5,
            "online_marketplace": 2,
            "furniture": 0.15,
            "electronics": 0.3,
            "atm_cash": 0.5,
            "charity": 0.1,
            "parking": 0.5,
            "digital_goods": 0.5,
        },
    ),
    Persona(
        "professional",
        0.2,
        2.4,
        2.2,
        (12.5, 19.5),
        1.1,
        {
            "restaurant": 4,
            "grocery": 2.5,
            "online_marketplace": 2.5,
            "transit": 1,
            "parking": 1,
            "electronics": 0.5,
            "jewelry": 0.1,
            "airline": 0.3,
            "hotel": 0.3,
            "department_store": 1,
            "fuel": 1,
            "digital_goods": 1,
            "atm_cash": 0.2,
            "charity": 0.2,
            "furniture": 0.05,
        },
    ),
    Persona(
        "retiree",
        0.1,
        1.1,
        0.9,
        (10.5, 15.0),
        1.0,
        {
            "grocery": 5,
            "pharmacy": 3,
            "restaurant": 1.5,
            "department_store": 1.5,
            "fuel": 1,
            "atm_cash": 1,
            "charity": 0.4,
            "online_marketplace": 0.5,
        },
    ),
)

ISSUING_BANKS: tuple[str, ...] = (
    "Northwind Bank",
    "Contoso Federal",
    "Fabrikam Credit Union",
    "Tailspin Savings",
    "Woodgrove Bank",
    "Adventure Works Financial",
    "Litware Trust",
    "Proseware Bank",
)
CARD_TYPES: tuple[str, ...] = ("credit", "debit", "prepaid")
CHANNELS: tuple[str, ...] = ("pos", "ecom", "atm")
POS, ECOM, ATM = 0, 1, 2
ENTRY_MODES: tuple[str, ...] = ("chip", "contactless", "magstripe", "manual", "card_not_present")
CHIP, CONTACTLESS, MAGSTRIPE, MANUAL, CNP = 0, 1, 2, 3, 4
DEVICE_OS: tuple[str, ...] = ("ios", "android", "windows", "macos", "linux")
PHONE_OS_WEIGHTS = np.array([0.55, 0.45, 0.0, 0.0, 0.0])
LAPTOP_OS_WEIGHTS = np.array([0.0, 0.0, 0.6, 0.35, 0.05])

_NAME_PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "grocery": (("Fresh", "Corner", "Green", "Daily", "Harvest"), ("Market", "Grocery", "Foods")),
    "restaurant": (("Blue", "Golden", "Olive", "Rustic", "Lotus"), ("Bistro", "Kitchen", "Table", "Grill")),
    "fast_food": (("Quick", "Big", "Happy", "Hot"), ("Burger", "Taco", "Wings", "Slice")),
    "fuel": (("Metro", "Star", "Eagle", "Prime"), ("Fuel", "Gas", "Petroleum")),
    "transit": (("City", "Metro", "Regional"), ("Transit", "Rail", "Bus")),
    "parking": (("Park", "Easy", "Smart"), ("Parking", "Garage", "Meter")),
    "digital_goods": (("Pixel", "Arcade", "Stream", "App"), ("Store", "Games", "Plus")),
    "department_store": (("Grand", "Union", "Central"), ("Department Store", "Outlet", "Emporium")),
    "electronics": (("Volt", "Circuit", "Gadget", "Byte"), ("Electronics", "Tech", "Digital")),
    "jewelry": (("Diamond", "Silver", "Crown"), ("Jewelers", "Gems", "Jewelry")),
    "pharmacy": (("Care", "Well", "Health"), ("Pharmacy", "Drugstore", "Rx")),
    "online_marketplace": (("Shop", "Mega", "Click", "Cart"), ("Mart", "Bazaar", "Hub")),
    "airline": (("Sky", "Jet", "Blue", "Atlas"), ("Airways", "Air", "Airlines")),
    "hotel": (("Harbor", "Grand", "Plaza", "Summit"), ("Hotel", "Inn", "Suites")),
    "furniture": (("Oak", "Home", "Nest"), ("Furniture", "Living", "Interiors")),
    "charity": (("Hope", "Bright", "Unity"), ("Foundation", "Relief", "Fund")),
    "quasi_cash": (("Coin", "Swift", "Token"), ("Exchange", "Transfer", "Wallet")),
    "atm_cash": (("Bank", "Cash", "Money"), ("ATM", "Point", "Express")),
}


def merchant_name(category: str, serial: int) -> str:
    """A readable, deterministic name; the serial keeps names of one category distinct."""
    first, second = _NAME_PARTS[category]
    return f"{first[serial % len(first)]} {second[(serial // len(first)) % len(second)]} #{serial}"
