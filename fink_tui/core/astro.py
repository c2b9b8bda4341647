"""Astronomy shared by the core and the demo: time scales (JD, MJD, TAI), band names, and the
AB magnitude of a flux in nJy.

Plain Python, no survey logic: :mod:`fink_tui.core.survey` reads alerts with these, and the
demo's alert generator writes them with the same constants.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

JD_J2000 = 2451545.0
"""Julian date of the J2000 epoch, :data:`J2000_UTC`."""
J2000_UTC = datetime(2000, 1, 1, 12, tzinfo=UTC)
JD_UNIX_EPOCH = 2440587.5
"""Julian date of 1970-01-01 00:00 UTC."""
MJD_OFFSET = 2400000.5
"""MJD = JD - MJD_OFFSET."""
MJD_EPOCH_UTC = datetime(1858, 11, 17, tzinfo=UTC)
"""MJD 0 (ignoring the scale: add :data:`TAI_MINUS_UTC` for a TAI date)."""
TAI_MINUS_UTC = timedelta(seconds=37)  # leap seconds since 2017; none announced since
TAI_MINUS_UTC_DAYS = TAI_MINUS_UTC.total_seconds() / 86400.0

ZTF_BANDS = {1: "g", 2: "r", 3: "i"}
"""ZTF filter id (``fid``) -> band."""
LSST_BANDS = "ugrizy"
"""Rubin's bands, in wavelength order; a ZTF ``fid`` is also the index of its band here."""
LSST_ZEROPOINT_NJY = 31.4  # AB magnitude of 1 nJy


def jd_to_utc(jd: float) -> datetime:
    """A Julian date as an aware UTC datetime."""
    return J2000_UTC + timedelta(days=jd - JD_J2000)


def mjd_tai_to_utc(mjd_tai: float) -> datetime:
    """An MJD on the TAI scale (Rubin's ``midpointMjdTai``) as an aware UTC datetime."""
    return jd_to_utc(mjd_tai + MJD_OFFSET) - TAI_MINUS_UTC


def jd_now() -> float:
    """The current Julian date (UTC)."""
    return time.time() / 86400.0 + JD_UNIX_EPOCH


def flux_to_mag(flux_njy: float | None) -> float | None:
    """AB magnitude of a positive flux in nJy; None for non-positive or missing flux."""
    if flux_njy is None or not flux_njy > 0:
        return None
    return LSST_ZEROPOINT_NJY - 2.5 * math.log10(flux_njy)
