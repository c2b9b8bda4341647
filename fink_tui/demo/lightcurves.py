"""Light-curve models of the demo's objects: where an object is and how bright, in any band,
at any time.

:class:`ObjectModel` is one object (supernova, periodic variable star, asteroid, kilonova);
:func:`random_model` draws one with realistic parameters for a survey. Times are in days from
"now" (the alert's time), bands are indices into :data:`~fink_tui.core.astro.LSST_BANDS`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from fink_tui.core.astro import LSST_ZEROPOINT_NJY

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]

KINDS = ("sn", "variable", "asteroid", "kilonova")
"""The classes of object the demo can make."""

OBLIQUITY = math.radians(23.4393)
"""Obliquity of the ecliptic (J2000)."""

# Per-band colour model, relative to r: offset = slope * colour + base, where colour is the
# object's g - r at that time. Rough, but gives the familiar reddening of fading transients.
_TRANSIENT_SLOPE = np.array([1.6, 1.0, 0.0, -0.4, -0.5, -0.5])
_TRANSIENT_BASE = np.array([0.5, 0.0, 0.0, 0.15, 0.25, 0.35])
_STAR_COLOUR = np.array([1.1, 0.25, 0.0, -0.1, -0.15, -0.2])  # an A/F star such as an RR Lyrae
_PULSATION_SCALE = np.array([1.3, 1.0, 0.75, 0.6, 0.5, 0.45])  # amplitude shrinks to the red
_SOLAR_COLOUR = np.array([1.6, 0.45, 0.0, -0.15, -0.2, -0.25])  # asteroids reflect sunlight
_PHASES = np.linspace(0.0, 1.0, 128, endpoint=False)


def njy(mag: FloatArray | float) -> Any:
    """Flux in nJy of an AB magnitude (or an array of them)."""
    return 10 ** (-0.4 * (np.asarray(mag) - LSST_ZEROPOINT_NJY))


def difference_mag(mag: Any, ref: Any) -> Any:
    """Magnitude of the change since the reference: what a difference image detects."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_flux = np.where(np.isfinite(ref), 10 ** (-0.4 * np.asarray(ref)), 0.0)
        return -2.5 * np.log10(np.abs(10 ** (-0.4 * np.asarray(mag)) - ref_flux))


def ecliptic_to_equatorial(lam: float, beta: float) -> tuple[float, float]:
    """(RA, Dec) in degrees of ecliptic longitude and latitude ``lam``, ``beta`` (degrees)."""
    lr, br = math.radians(lam), math.radians(beta)
    sin_dec = math.sin(br) * math.cos(OBLIQUITY) + math.cos(br) * math.sin(OBLIQUITY) * math.sin(lr)
    ra = math.atan2(
        math.sin(lr) * math.cos(OBLIQUITY) - math.tan(br) * math.sin(OBLIQUITY), math.cos(lr)
    )
    return math.degrees(ra) % 360.0, math.degrees(math.asin(sin_dec))


def equatorial_to_ecliptic(ra: float, dec: float) -> tuple[float, float]:
    """Ecliptic (longitude, latitude) in degrees of ``ra``, ``dec`` (degrees)."""
    ar, dr = math.radians(ra), math.radians(dec)
    sin_beta = math.sin(dr) * math.cos(OBLIQUITY) - math.cos(dr) * math.sin(OBLIQUITY) * math.sin(
        ar
    )
    lam = math.atan2(
        math.sin(ar) * math.cos(OBLIQUITY) + math.tan(dr) * math.sin(OBLIQUITY), math.cos(ar)
    )
    return math.degrees(lam) % 360.0, math.degrees(math.asin(sin_beta))


@dataclass(frozen=True, slots=True)
class ObjectModel:
    """One object: its position now, and its magnitude at any time (days from now)."""

    kind: str
    subclass: str
    ra: float
    dec: float
    mag: float
    """SN/kilonova: r-band peak; variable: r-band mean; asteroid: r-band magnitude."""
    t0: float = 0.0
    """Explosion (SN, kilonova) or phase zero (variable), in days from now."""
    rise: float = 1.0
    decline: float = 0.0
    colour0: float = 0.0
    reddening: float = 0.0
    period: float = 1.0
    amplitude: float = 0.0
    depth2: float = 0.0
    ellipsoidal: float = 0.0
    rate_ra: float = 0.0
    """Apparent motion, deg/day along RA (true angle) and Dec (asteroids)."""
    rate_dec: float = 0.0

    def mags(self, t: FloatArray, band: IntArray) -> FloatArray:
        """True magnitudes at times ``t`` (days from now) in bands ``band`` (indices)."""
        if self.kind in ("sn", "kilonova"):
            dt = t - self.t0
            after = dt - self.rise
            colour = np.minimum(
                np.where(after < 0, self.colour0, self.colour0 + self.reddening * after), 1.5
            )
            with np.errstate(divide="ignore"):
                # Flux grows as the square of time since explosion (the "fireball" rise).
                rising = self.mag - 5.0 * np.log10(np.clip(dt / self.rise, 0.0, None))
            fading = self.mag + self.decline * after
            r = np.where(dt <= 0, np.inf, np.where(after < 0, rising, fading))
            return np.asarray(r + _TRANSIENT_SLOPE[band] * colour + _TRANSIENT_BASE[band])
        if self.kind == "variable":
            return np.asarray(self.ref_mags(band) + self._pulsation(t) * _PULSATION_SCALE[band])
        # An asteroid is at this position only tonight; it spins, so it flickers a little.
        tonight = np.abs(t) < 0.25
        spin = 0.08 * np.sin(2 * np.pi * t / 0.3)
        return np.where(tonight, self.mag + _SOLAR_COLOUR[band] + spin, np.inf)

    def ref_mags(self, band: IntArray) -> FloatArray:
        """Magnitude of the object in the reference image (inf: absent from it)."""
        if self.kind == "variable":
            # The reference is a stack of many epochs: the star at its mean brightness.
            mean = float(np.mean(self._pulsation(self.t0 + self.period * _PHASES)))
            return np.asarray(self.mag + _STAR_COLOUR[band] + mean * _PULSATION_SCALE[band])
        return np.full(np.shape(band), np.inf)

    def _pulsation(self, t: FloatArray) -> FloatArray:
        x = np.mod((t - self.t0) / self.period, 1.0)
        if self.subclass == "RRLyr":
            # Sawtooth: a quick rise to maximum light over 15% of the cycle, then a slow fade.
            faint = np.where(x < 0.15, 1.0 - x / 0.15, (x - 0.15) / 0.85)
            return np.asarray(self.amplitude * (faint - 0.5))
        # Eclipsing binary: a primary eclipse at phase 0, a shallower one at phase 0.5, and the
        # ellipsoidal variation of distorted stars in between (faintest at the eclipses).
        width = 0.05
        d0 = np.minimum(x, 1.0 - x)
        d5 = np.abs(x - 0.5)
        return np.asarray(
            self.amplitude * np.exp(-0.5 * (d0 / width) ** 2)
            + self.depth2 * np.exp(-0.5 * (d5 / width) ** 2)
            + self.ellipsoidal * 0.5 * (1.0 + np.cos(4.0 * np.pi * x))
        )

    def difference_flux(self, t: FloatArray, band: IntArray) -> FloatArray:
        """Flux in nJy on a difference image: what changed since the reference (negative when
        fainter)."""
        ref = self.ref_mags(band)
        flux = njy(self.mags(t, band))
        return np.asarray(flux - np.where(np.isfinite(ref), njy(ref), 0.0))

    def position(self, t: float) -> tuple[float, float]:
        """Where the object is at time ``t`` (days from now)."""
        if self.rate_ra == 0.0 and self.rate_dec == 0.0:
            return self.ra, self.dec
        dec = self.dec + self.rate_dec * t
        ra = (self.ra + self.rate_ra * t / max(math.cos(math.radians(dec)), 0.05)) % 360.0
        return ra, dec


def _sky(rnd: random.Random, dec_min: float, dec_max: float) -> tuple[float, float]:
    # Uniform on the sphere: uniform in RA and in sin(dec).
    s = rnd.uniform(math.sin(math.radians(dec_min)), math.sin(math.radians(dec_max)))
    return rnd.uniform(0.0, 360.0), math.degrees(math.asin(s))


def random_model(rnd: random.Random, kind: str, survey: str, subclass: str = "") -> ObjectModel:
    """A random object of ``kind`` (and ``subclass``, when given) for ``survey``."""
    lsst = survey == "lsst"
    dec_min, dec_max = (-90.0, 32.0) if lsst else (-30.0, 90.0)
    if kind == "asteroid":
        while True:  # near the ecliptic, within the survey's sky
            lam, beta = rnd.uniform(0.0, 360.0), rnd.gauss(0.0, 7.0)
            ra, dec = ecliptic_to_equatorial(lam, beta)
            if dec_min < dec < dec_max:
                break
        rate = rnd.uniform(0.1, 0.6)
        angle = rnd.uniform(0.0, 2 * math.pi)
        return ObjectModel(
            "asteroid",
            "MPC",
            ra,
            dec,
            rnd.uniform(19.0, 23.2) if lsst else rnd.uniform(17.3, 20.0),
            rate_ra=rate * math.cos(angle),
            rate_dec=rate * math.sin(angle),
        )
    ra, dec = _sky(rnd, dec_min, dec_max)
    if kind == "sn":
        rise = rnd.uniform(13.0, 17.0)
        early = subclass == "early" or (not subclass and rnd.random() < 0.35)
        # A mature SN is 12+ days past peak; ZTF alerts carry 30 days of history, so keep
        # its explosion inside them.
        age = rnd.uniform(4.0, 10.0) if early else rnd.uniform(rise + 12.0, 70.0 if lsst else 29.0)
        return ObjectModel(
            "sn",
            "early" if early else "mature",
            ra,
            dec,
            rnd.uniform(19.5, 22.5) if lsst else rnd.uniform(17.0, 19.0),
            t0=-age,
            rise=rise,
            decline=rnd.uniform(0.025, 0.05),
            colour0=-0.15,
            reddening=rnd.uniform(0.015, 0.025),
        )
    if kind == "kilonova":
        return ObjectModel(
            "kilonova",
            "",
            ra,
            dec,
            rnd.uniform(19.5, 21.5) if lsst else rnd.uniform(17.8, 19.0),
            t0=-(rnd.uniform(1.5, 4.0) if lsst else rnd.uniform(1.2, 3.0)),
            rise=0.5,
            decline=rnd.uniform(0.3, 0.6),
            colour0=-0.3,
            reddening=rnd.uniform(0.3, 0.6),
        )
    mean = rnd.uniform(17.0, 21.0) if lsst else rnd.uniform(15.5, 18.6)
    if subclass == "RRLyr" or (not subclass and rnd.random() < 0.65):
        period = rnd.uniform(0.45, 0.65)
        return ObjectModel(
            "variable",
            "RRLyr",
            ra,
            dec,
            mean,
            t0=rnd.uniform(0.0, 1.0),
            period=period,
            amplitude=rnd.uniform(0.6, 1.0),
        )
    depth = rnd.uniform(0.3, 0.9)
    return ObjectModel(
        "variable",
        "EB*",
        ra,
        dec,
        mean,
        t0=rnd.uniform(0.0, 3.0),
        period=rnd.uniform(0.3, 2.5),
        amplitude=depth,
        depth2=depth * rnd.uniform(0.1, 0.6),
        ellipsoidal=rnd.uniform(0.05, 0.2),
    )
