"""Turn compact integer rows into schema-conformant events (Arrow tables or dicts).

Why Arrow dictionaries: a transaction repeats strings the world already holds (merchant
name, city, device id ...). Referencing them by index costs nothing per row, and Parquet
stores dictionary columns natively - the main reason the simulator writes 500k+ rows/s.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from fraudstack.schema import FIELDS, FRAUD_TYPES, SCHEMA_VERSION, arrow_schema
from fraudstack.simulator import catalog
from fraudstack.simulator.catalog import CATEGORIES, CITIES, ECOM
from fraudstack.simulator.core import fixed_width_strings
from fraudstack.simulator.world import World

_CITY_NAMES = pa.array([c.name for c in CITIES])
_MCCS = pa.array([c.mcc for c in CATEGORIES])
_CATEGORY_NAMES = pa.array([c.name for c in CATEGORIES])
_SMALL = {
    "card_type": pa.array(catalog.CARD_TYPES),
    "issuing_bank": pa.array(catalog.ISSUING_BANKS),
    "channel": pa.array(catalog.CHANNELS),
    "entry_mode": pa.array(catalog.ENTRY_MODES),
    "device_os": pa.array(catalog.DEVICE_OS),
    "fraud_type": pa.array(FRAUD_TYPES),
    "currency": pa.array(["USD"]),
}


def _dict(indices: np.ndarray, dictionary: pa.Array, mask: np.ndarray | None = None) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32), mask=mask), dictionary)


def _decimal_cents(cents: np.ndarray) -> pa.Array:
    """decimal128(12, 2) straight from integer cents (16-byte little-endian, amounts > 0)."""
    words = np.zeros((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    return pa.Array.from_buffers(pa.decimal128(12, 2), len(cents), [None, pa.py_buffer(words)])


def to_table(world: World, rows: np.ndarray, first_seq: int, run_tag: str) -> pa.Table:
    """One Arrow table in :func:`fraudstack.schema.arrow_schema` order (strings dictionary-encoded).

    ``transaction_id`` is ``tx_<run tag>_<sequence in event-time order>``: stable for a config,
    unique across configs.
    """
    n = len(rows)
    cust, merch, dev, ip = rows["cust"], rows["merch"], rows["dev"], rows["ip"]
    online = rows["chan"] == ECOM
    no_dev, no_ip = dev < 0, ip < 0
    dev_i, ip_i = np.where(no_dev, 0, dev), np.where(no_ip, 0, ip)
    merch_city = world.merch_city[merch]
    city = np.where(online, world.ip_city[ip_i], merch_city)
    ftype = rows["ftype"]
    columns: dict[str, Any] = {
        "schema_version": pa.array(np.full(n, SCHEMA_VERSION, dtype=np.int16)),
        "transaction_id": fixed_width_strings(f"tx_{run_tag}_", np.arange(first_seq, first_seq + n), 12),
        "event_time": pa.array(rows["t"], type=pa.timestamp("us", tz="UTC")),
        "customer_id": _dict(cust, world.customer_ids),
        "customer_account_created": pa.array(world.created_day[cust], type=pa.date32()),
        "card_id": _dict(cust, world.card_ids),
        "card_token": _dict(cust, world.card_tokens),
        "card_type": _dict(world.card_type[cust], _SMALL["card_type"]),
        "issuing_bank": _dict(world.bank[cust], _SMALL["issuing_bank"]),
        "merchant_id": _dict(merch, world.merchant_ids),
        "merchant_name": _dict(merch, world.merchant_names),
        "merchant_category_code": _dict(world.merch_cat[merch], _MCCS),
        "merchant_category": _dict(world.merch_cat[merch], _CATEGORY_NAMES),
        "merchant_lat": pa.array(np.round(world.merch_lat[merch], 5)),
        "merchant_lon": pa.array(np.round(world.merch_lon[merch], 5)),
        "amount": _decimal_cents(rows["cents"]),
        "currency": _dict(np.zeros(n, dtype=np.int32), _SMALL["currency"]),
        "channel": _dict(rows["chan"], _SMALL["channel"]),
        "entry_mode": _dict(rows["entry"], _SMALL["entry_mode"]),
        "device_id": _dict(dev_i, world.device_ids, no_dev),
        "device_os": _dict(world.device_os[dev_i], _SMALL["device_os"], no_dev),
        "ip_address": _dict(ip_i, world.ip_addresses, no_ip),
        "ip_is_vpn": pa.array(world.ip_vpn[ip_i], mask=no_ip),
        "lat": pa.array(np.round(np.where(online, world.ip_lat[ip_i], world.merch_lat[merch]), 5)),
        "lon": pa.array(np.round(np.where(online, world.ip_lon[ip_i], world.merch_lon[merch]), 5)),
        "city": _dict(city, _CITY_NAMES),
        "country": _dict(world.city_country[city], pa.array(world.countries)),
        "is_fraud": pa.array(ftype >= 0),
        "fraud_type": _dict(np.where(ftype < 0, 0, ftype), _SMALL["fraud_type"], ftype < 0),
    }
    return pa.Table.from_arrays([columns[name] for name in FIELDS], schema=_DICTIONARY_SCHEMA)


def dictionary_schema() -> pa.Schema:
    """The Parquet writer's schema: :func:`arrow_schema` with strings dictionary-encoded."""
    fields = []
    for f in arrow_schema():
        if pa.types.is_string(f.type) and f.name != "transaction_id":
            f = f.with_type(pa.dictionary(pa.int32(), pa.string()))
        fields.append(f)
    return pa.schema(fields)


_DICTIONARY_SCHEMA = dictionary_schema()


def table_to_events(table: pa.Table) -> list[dict[str, Any]]:
    """Rows of an event table as wire-form dicts (what ``json.loads`` of the wire gives).

    Column-wise, which is much faster than ``Table.to_pylist`` (``bench/bench_simulator.py``):
    timestamps become ``...Z`` strings, dates ISO strings, amounts floats with at most two decimals.
    """
    cols: list[list[Any]] = []
    for name in FIELDS:
        col = table.column(name).combine_chunks()
        if pa.types.is_dictionary(col.type):
            values = np.append(col.dictionary.to_numpy(zero_copy_only=False), np.array([None]))
            cols.append(values[col.indices.fill_null(-1).to_numpy()].tolist())
        elif name == "event_time":
            stamps = col.cast(pa.int64()).to_numpy().astype("datetime64[us]")
            cols.append(np.char.add(np.datetime_as_string(stamps, unit="us"), "Z").tolist())
        elif name == "customer_account_created":
            cols.append(
                np.datetime_as_string(col.cast(pa.int32()).to_numpy().astype("datetime64[D]")).tolist()
            )
        elif name == "amount":
            # round(x*100)/100 is the double nearest the 2-decimal value, whose repr is exact
            cols.append(np.round(col.cast(pa.float64()).to_numpy(), 2).tolist())
        else:
            cols.append(col.to_pylist())
    return [dict(zip(FIELDS, values, strict=True)) for values in zip(*cols, strict=True)]
