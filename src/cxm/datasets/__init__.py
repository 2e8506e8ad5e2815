"""Real customer data shipped with cxm, for examples, tutorials and checking methods.

The CDNOW data of Fader, Hardie & Lee (2005) -- the purchases of 23,570 customers of an online
CD retailer over 78 weeks -- is the data set on which the BG/NBD, Pareto/NBD and Gamma-Gamma
models were published, so a fit on it can be compared with the papers' figures. The files are
those shipped in lifetimes 0.11.3 (MIT licence); ``data/README.md`` and
``data/LICENSE-lifetimes.txt`` beside this module give their provenance, licence and citation.

Every loader reads a small gzip file inside the package and returns a fresh DataFrame whose
columns use cxm's canonical names (``customer_id``, ``occurred_at``, ``value``), so the frames
go straight into :func:`cxm.metrics.clv.summary_from_transactions`.
"""

from __future__ import annotations

import gzip
import io
from importlib import resources

import pandas as pd

from cxm.datasets.xes import read_xes

__all__ = ["CDNOW_CITATION", "load_cdnow_summary", "load_cdnow_transactions", "read_xes"]

CDNOW_CITATION = (
    'Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers" the easy '
    "way: an alternative to the Pareto/NBD model. Marketing Science, 24(2), 275-284. "
    "Data as shipped in lifetimes 0.11.3 (MIT licence)."
)
"""How to cite the CDNOW data."""


def _read(name: str) -> bytes:
    return gzip.decompress((resources.files(__name__) / "data" / name).read_bytes())


def load_cdnow_transactions(*, sample: bool = False) -> pd.DataFrame:
    """Load the CDNOW transactions: every purchase of the 1997 Q1 cohort up to June 1998.

    Args:
        sample: ``False`` (the default) for all 23,570 customers; ``True`` for the 1-in-10
            sample of 2,357 customers on which the BG/NBD, Pareto/NBD and Gamma-Gamma models
            were published (the rows of the full data for those customers).

    Returns:
        One row per transaction, sorted by customer and date, columns:

        - ``customer_id`` (int64): the customer; in the sample the sample's number (1..2,357,
          the ``customer_id`` of :func:`load_cdnow_summary`), otherwise the master number
          (1..23,570);
        - ``master_id`` (int64, only with ``sample=True``): the customer's number in the full
          data;
        - ``occurred_at`` (datetime64): the day of the purchase (1997-01-01 .. 1998-06-30);
        - ``quantity`` (int64): the number of CDs bought;
        - ``value`` (float64): the amount spent, in US dollars.

        69,659 rows in full, 6,919 in the sample. Several purchases on one day are separate
        rows; summaries count them as one purchase occasion.

    Examples:
        >>> transactions = load_cdnow_transactions(sample=True)
        >>> len(transactions), transactions["customer_id"].nunique()
        (6919, 2357)

    References:
        Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers" the easy
        way: an alternative to the Pareto/NBD model. Marketing Science, 24(2), 275-284.
    """
    if sample:
        names = ["master_id", "customer_id", "date", "quantity", "value"]
        text = _read("CDNOW_sample.txt.gz")
        frame = pd.read_csv(io.BytesIO(text), sep=r"\s+", header=None, names=names, dtype=str)
        columns = ["customer_id", "master_id", "occurred_at", "quantity", "value"]
    else:
        names = ["customer_id", "date", "quantity", "value"]
        text = _read("CDNOW_master.txt.gz")
        frame = pd.read_csv(io.BytesIO(text), sep=r"\s+", header=0, names=names, dtype=str)
        columns = ["customer_id", "occurred_at", "quantity", "value"]
    frame["occurred_at"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    for column in ("customer_id", "master_id", "quantity"):
        if column in frame.columns:
            frame[column] = frame[column].astype("int64")
    frame["value"] = frame["value"].astype("float64")
    frame = frame.sort_values(["customer_id", "occurred_at"], kind="stable")
    return frame[columns].reset_index(drop=True)


def load_cdnow_summary() -> pd.DataFrame:
    """Load the published CDNOW calibration summary of the 2,357-customer sample, in weeks.

    The summary Fader, Hardie & Lee fitted their models to: the sample's purchases in the
    39 weeks 1997-01-01 .. 1997-09-30, with purchases on the same day counted as one.
    :func:`cxm.metrics.clv.summary_from_transactions` rebuilds it from
    ``load_cdnow_transactions(sample=True)`` with ``freq="D"``, ``time_unit="W"`` and
    ``observation_end="1997-09-30"``.

    Returns:
        One row per customer, sorted by ``customer_id``, columns:

        - ``customer_id`` (int64): 1..2,357, as in the sample transactions;
        - ``frequency`` (int64): repeat purchases (purchase days after the first) in the
          calibration period;
        - ``recency`` (float64): weeks from the first purchase to the last one (0 without a
          repeat purchase);
        - ``T`` (float64): weeks from the first purchase to the end of the calibration period;
        - ``monetary`` (float64): the mean value in dollars of the repeat purchases (0 without
          one); 946 customers have a repeat purchase.

        Times are rounded to 2 decimals, as published.

    Examples:
        >>> summary = load_cdnow_summary()
        >>> summary.iloc[0].tolist()
        [1.0, 2.0, 30.43, 38.86, 22.35]

    References:
        Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers" the easy
        way: an alternative to the Pareto/NBD model. Marketing Science, 24(2), 275-284.
        Fader, P. S., & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
        http://www.brucehardie.com/notes/025/
    """
    frame = pd.read_csv(io.BytesIO(_read("cdnow_customers_summary_with_transactions.csv.gz")))
    frame.columns = pd.Index(["customer_id", "frequency", "recency", "T", "monetary"])
    frame = frame.astype(
        {
            "customer_id": "int64",
            "frequency": "int64",
            "recency": "float64",
            "T": "float64",
            "monetary": "float64",
        }
    )
    return frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
