"""Synthetic Fink alerts for the demo and the tests.

This module provides:

- the project's own Avro schemas, with Fink's real field names so the app summarises them like
  real alerts: :data:`ZTF_SCHEMA_V1` and :data:`ZTF_SCHEMA_V2` (two versions of a ZTF-shaped
  alert that differ visibly, so the schema screen has a difference to show) and
  :data:`LSST_SCHEMA` (a Rubin/LSST-shaped alert);
- :class:`AlertFactory`, which makes alert records with realistic values: sky positions, light
  curves that behave like their class (supernova, periodic variable star, asteroid, kilonova),
  upper limits, FITS cutouts made with astropy, and Fink classification fields that agree with
  the class. The same seed gives the same alerts;
- :func:`encode`, which turns a record into a Kafka ``(key, value)`` pair in Fink's wire format
  (schema JSON in the key, schemaless Avro in the value);
- :func:`malformed_messages`, messages that must fail to decode, for the failure paths.

Nothing here reads Fink's real data: every alert is generated.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import random
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import fastavro
import numpy as np
from astropy.io import fits

Schema = dict[str, Any]
Record = dict[str, Any]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]

KINDS = ("sn", "variable", "asteroid", "kilonova")
"""The classes of object the factory can make."""
KIND_WEIGHTS = (0.42, 0.26, 0.22, 0.10)
"""How often each kind comes when none is asked for (kilonovae are far rarer in reality)."""

NAMESPACE = "fink.demo"
FINK_BROKER_VERSION = "4.1"
LSST_SCHEMA_VERSION = "lsst.v10_0"
LSST_FINK_SCIENCE_VERSION = "8.41.0"

BANDS = "ugrizy"
"""Band letters; a ZTF ``fid`` (1 = g, 2 = r, 3 = i) is also the index of its band here."""
LSST_ZEROPOINT_NJY = 31.4
LSST_DEPTH = np.array([23.7, 24.6, 24.2, 23.7, 23.1, 22.3])
"""Rubin single-visit 5-sigma depth per band (AB mag)."""
LSST_BAND_WEIGHTS = np.array([0.07, 0.17, 0.25, 0.25, 0.16, 0.10])
LSST_PIXEL_ARCSEC = 0.2
ZTF_PIXEL_ARCSEC = 1.01
ZTF_STAMP = 63
LSST_STAMP = 30
ZTF_FIRST_NIGHT_JD = 2457754.5  # ZTF's night id (nid) counts nights from this date
MJD_OFFSET = 2400000.5
TAI_MINUS_UTC_DAYS = 37.0 / 86400.0
OBLIQUITY = math.radians(23.4393)

# Per-band colour model, relative to r: offset = slope * colour + base, where colour is the
# object's g - r at that time. Rough, but gives the familiar reddening of fading transients.
_TRANSIENT_SLOPE = np.array([1.6, 1.0, 0.0, -0.4, -0.5, -0.5])
_TRANSIENT_BASE = np.array([0.5, 0.0, 0.0, 0.15, 0.25, 0.35])
_STAR_COLOUR = np.array([1.1, 0.25, 0.0, -0.1, -0.15, -0.2])  # an A/F star such as an RR Lyrae
_PULSATION_SCALE = np.array([1.3, 1.0, 0.75, 0.6, 0.5, 0.45])  # amplitude shrinks to the red
_SOLAR_COLOUR = np.array([1.6, 0.45, 0.0, -0.15, -0.2, -0.25])  # asteroids reflect sunlight


# --------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------


def _field(name: str, avro_type: Any, doc: str = "", **extra: Any) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "type": avro_type}
    if doc:
        field["doc"] = doc
    field.update(extra)
    return field


def _opt(avro_type: Any) -> list[Any]:
    return ["null", avro_type]


def _ztf_candidate(version: int) -> Schema:
    fields = [
        _field("jd", "double", "Observation Julian date"),
        _field("fid", "int", "Filter: 1 = g, 2 = r, 3 = i"),
        _field("pid", "long", "Processing id of the science image"),
        _field("diffmaglim", "float", "5-sigma limiting magnitude of the difference image"),
        _field("pdiffimfilename", "string"),
        _field("programid", "int", "1 = public survey"),
        _field("candid", "long"),
        _field("isdiffpos", "string", "t: science minus reference is positive; f: negative"),
        _field("nid", "int", "Night id"),
        _field("rcid", "int", "Readout channel, 0-63"),
        _field("field", "int"),
        _field("xpos", "float"),
        _field("ypos", "float"),
        _field("ra", "double", "Right ascension, J2000 (deg)"),
        _field("dec", "double", "Declination, J2000 (deg)"),
        _field("magpsf", "float", "PSF-fit magnitude"),
        _field("sigmapsf", "float"),
        _field("magap", "float"),
        _field("sigmagap", "float"),
        _field("distnr", "float", "Distance to the nearest source in the reference (arcsec)"),
        _field("magnr", "float"),
        _field("sigmagnr", "float"),
        _field("fwhm", "float", "Full width at half maximum (pixels)"),
        _field("classtar", "float"),
        _field("elong", "float"),
        _field("rb", "float", "Real-bogus score"),
        _field("ssdistnr", "float", "Distance to the nearest known Solar System object (arcsec)"),
        _field("ssmagnr", "float", "Its predicted magnitude (-999: none)"),
        _field("ssnamenr", _opt("string"), "Its name"),
        _field("sgscore1", "float", "Star/galaxy score of the nearest PS1 source"),
        _field("distpsnr1", "float"),
        _field("ndethist", "int", "Detections at this position in history"),
        _field("ncovhist", "int"),
        _field("jdstarthist", "double", "Julian date of the first detection"),
        _field("jdendhist", "double"),
        _field("magzpsci", "float"),
    ]
    if version >= 2:
        at = next(i for i, f in enumerate(fields) if f["name"] == "rb") + 1
        fields.insert(at, _field("drb", "float", "Deep-learning real-bogus score"))
    return {"type": "record", "name": "candidate", "fields": fields}


def _ztf_prv_candidate() -> Schema:
    return {
        "type": "record",
        "name": "prv_candidate",
        "doc": "An earlier detection, or an upper limit (no magpsf, only diffmaglim).",
        "fields": [
            _field("jd", "double"),
            _field("fid", "int"),
            _field("pid", "long"),
            _field("candid", _opt("long")),
            _field("programid", "int"),
            _field("diffmaglim", "float"),
            _field("isdiffpos", _opt("string")),
            _field("ra", _opt("double")),
            _field("dec", _opt("double")),
            _field("magpsf", _opt("float")),
            _field("sigmapsf", _opt("float")),
            _field("rb", _opt("float")),
        ],
    }


def _ztf_cutout(name: str) -> Schema:
    return {
        "type": "record",
        "name": name,
        "fields": [
            _field("fileName", "string"),
            _field("stampData", "bytes", "Gzipped FITS, 63 x 63 pixels"),
        ],
    }


def _ztf_schema(version: int) -> Schema:
    schemavsn, science = {1: ("4.01", "8.40.0"), 2: ("4.02", "8.41.0")}[version]
    prob = "double"
    fields: list[dict[str, Any]] = [
        _field("schemavsn", "string", "Alert schema version", default=schemavsn),
        _field("publisher", "string", default="Fink"),
        _field("objectId", "string", "ZTF object id"),
        _field("candid", "long", "Id of this detection"),
        _field("candidate", _ztf_candidate(version)),
        _field(
            "prv_candidates",
            _opt({"type": "array", "items": _ztf_prv_candidate()}),
            "Light curve of the last 30 days",
        ),
        _field("cutoutScience", _ztf_cutout("cutoutScience")),
        _field("cutoutTemplate", _ztf_cutout("cutoutTemplate")),
        _field("cutoutDifference", _ztf_cutout("cutoutDifference")),
        _field("fink_broker_version", "string", default=FINK_BROKER_VERSION),
        _field("fink_science_version", "string", default=science),
        _field("cdsxmatch", "string", "SIMBAD type of the counterpart"),
        _field("roid", "int", "Asteroid flag: 3 = known Solar System object"),
        _field("rf_snia_vs_nonia", prob, "Early SN Ia classifier score"),
        _field("snn_snia_vs_nonia", prob, "SuperNNova: SN Ia vs other SN"),
        _field("snn_sn_vs_all", prob, "SuperNNova: SN vs anything else"),
        _field("rf_kn_vs_nonkn", prob, "Kilonova classifier score"),
    ]
    if version == 1:
        fields.append(_field("mulens", prob, "Microlensing classifier score"))
    else:
        fields.append(_field("slsn_score", _opt(prob), "Superluminous SN classifier score"))
        fields.append(_field("anomaly_score", _opt(prob), "Anomaly detection score"))
    fields += [
        _field("nalerthist", "int" if version == 1 else "long"),
        _field("finkclass", "string", "Fink's classification"),
        _field("tnsclass", "string", "TNS classification"),
    ]
    return {
        "type": "record",
        "name": "alert",
        "namespace": f"{NAMESPACE}.ztf",
        "doc": f"A ZTF alert as Fink distributes it (fink-tui demo schema {schemavsn}).",
        "fields": fields,
    }


def _dia_source_fields() -> list[dict[str, Any]]:
    return [
        _field("diaSourceId", "long"),
        _field("visit", "long"),
        _field("detector", "int"),
        _field("diaObjectId", "long", "0 for a Solar System source"),
        _field("ssObjectId", _opt("long")),
        _field("midpointMjdTai", "double", "Mid-exposure time, MJD (TAI)"),
        _field("ra", "double"),
        _field("raErr", _opt("float")),
        _field("dec", "double"),
        _field("decErr", _opt("float")),
        _field("x", "float"),
        _field("y", "float"),
        _field("psfFlux", "float", "PSF flux on the difference image (nJy)"),
        _field("psfFluxErr", "float"),
        _field("snr", "float"),
        _field("scienceFlux", _opt("float"), "Flux on the science image (nJy)"),
        _field("isNegative", "boolean"),
        _field("extendedness", _opt("float")),
        _field("reliability", _opt("float")),
        _field("band", "string", "u, g, r, i, z or y"),
        _field("timeProcessedMjdTai", "double"),
    ]


def _lsst_schema() -> Schema:
    fields: list[dict[str, Any]] = [
        _field("diaSourceId", "long"),
        _field(
            "diaSource", {"type": "record", "name": "diaSource", "fields": _dia_source_fields()}
        ),
        # Same fields as diaSource, as its own named type (like Fink's schemas), so a
        # projection of diaSource never leaves a dangling reference behind.
        _field(
            "prvDiaSources",
            _opt(
                {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "prvDiaSource",
                        "fields": _dia_source_fields(),
                    },
                }
            ),
            "Earlier detections of the object",
        ),
        _field(
            "prvDiaForcedSources",
            _opt(
                {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "diaForcedSource",
                        "fields": [
                            _field("diaForcedSourceId", "long"),
                            _field("diaObjectId", "long"),
                            _field("visit", "long"),
                            _field("midpointMjdTai", "double"),
                            _field("ra", "double"),
                            _field("dec", "double"),
                            _field("psfFlux", _opt("float")),
                            _field("psfFluxErr", _opt("float")),
                            _field("band", "string"),
                        ],
                    },
                }
            ),
            "Forced photometry at the object's position",
        ),
        _field(
            "diaObject",
            _opt(
                {
                    "type": "record",
                    "name": "diaObject",
                    "fields": [
                        _field("diaObjectId", "long"),
                        _field("ra", "double"),
                        _field("dec", "double"),
                        _field("nDiaSources", "int"),
                    ],
                }
            ),
        ),
        _field(
            "ssSource",
            _opt(
                {
                    "type": "record",
                    "name": "ssSource",
                    "fields": [
                        _field("ssObjectId", "long"),
                        _field("designation", "string"),
                        _field("eclLambda", "double"),
                        _field("eclBeta", "double"),
                        _field("ephVmag", _opt("float")),
                        _field("ephRate", _opt("float"), "Apparent motion (deg/day)"),
                    ],
                }
            ),
        ),
        _field("cutoutDifference", _opt("bytes"), "Plain FITS, 30 x 30 pixels"),
        _field("cutoutScience", _opt("bytes")),
        _field("cutoutTemplate", _opt("bytes")),
        _field("lsst_schema_version", "string", default=LSST_SCHEMA_VERSION),
        _field("fink_broker_version", "string", default=FINK_BROKER_VERSION),
        _field("fink_science_version", "string", default=LSST_FINK_SCIENCE_VERSION),
        _field("publisher", "string", default="Fink"),
        _field(
            "clf",
            {
                "type": "record",
                "name": "clf",
                "fields": [
                    _field("snnSnVsOthers_score", _opt("float")),
                    _field(
                        "cats_class",
                        _opt("int"),
                        "CATS: 11 SN-like, 12 fast, 13 long, 21 periodic, 22 non-periodic",
                    ),
                    _field("cats_score", _opt("float")),
                    _field("earlySNIa_score", _opt("double")),
                ],
            },
        ),
        _field(
            "xm",
            {
                "type": "record",
                "name": "xm",
                "fields": [
                    _field("simbad_otype", _opt("string")),
                    _field("gaiadr3_DR3Name", _opt("string")),
                    _field("tns_fullname", _opt("string")),
                    _field("tns_type", _opt("string")),
                ],
            },
        ),
        _field(
            "pred",
            {
                "type": "record",
                "name": "pred",
                "fields": [
                    _field("is_sso", "boolean"),
                    _field("is_first", "boolean"),
                    _field("is_cataloged", "boolean"),
                    _field("main_label_classifier", _opt("int")),
                ],
            },
        ),
    ]
    return {
        "type": "record",
        "name": "alert",
        "namespace": f"{NAMESPACE}.lsst",
        "doc": "A Rubin/LSST alert as Fink distributes it (fink-tui demo schema).",
        "fields": fields,
    }


ZTF_SCHEMA_V1: Schema = _ztf_schema(1)
"""ZTF-shaped alert, schemavsn 4.01."""
ZTF_SCHEMA_V2: Schema = _ztf_schema(2)
"""ZTF-shaped alert, schemavsn 4.02: adds ``slsn_score``, ``anomaly_score`` and
``candidate.drb``, drops ``mulens``, and ``nalerthist`` becomes a long."""
LSST_SCHEMA: Schema = _lsst_schema()
"""Rubin/LSST-shaped alert (lsst.v10_0)."""


def _default(schema: Schema, name: str) -> Any:
    for field in schema.get("fields", ()):
        if field["name"] == name:
            return field.get("default")
    return None


def _conform(value: Any, avro_type: Any) -> Any:
    """Keep only what ``avro_type`` has room for: the factory builds a superset of fields."""
    if isinstance(avro_type, list):
        if value is None:
            return None
        return _conform(value, next(t for t in avro_type if t != "null"))
    if isinstance(avro_type, dict):
        if avro_type["type"] == "record":
            return {
                f["name"]: _conform(value.get(f["name"]), f["type"]) for f in avro_type["fields"]
            }
        if avro_type["type"] == "array":
            return [_conform(item, avro_type["items"]) for item in value]
    return value


# --------------------------------------------------------------------------------------------
# Wire format
# --------------------------------------------------------------------------------------------

_PARSED: dict[int, tuple[Schema, bytes, Any]] = {}
_PARSED_LOCK = threading.Lock()
_PARSED_MAX = 32


def _parsed(schema: Schema) -> tuple[bytes, Any]:
    # Keyed by identity (the entry keeps the dict alive, so its id cannot be reused):
    # json.dumps of a big schema on every message would cost more than the encoding itself.
    entry = _PARSED.get(id(schema))
    if entry is None or entry[0] is not schema:
        key = json.dumps(schema).encode()
        entry = (schema, key, fastavro.parse_schema(schema))
        with _PARSED_LOCK:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            _PARSED[id(schema)] = entry
    return entry[1], entry[2]


def encode(record: Record, schema: Schema) -> tuple[bytes, bytes]:
    """``(key, value)`` as Fink sends an alert: the schema's JSON, and schemaless Avro.

    Each distinct schema object is parsed once; treat schemas as immutable.
    """
    key, parsed = _parsed(schema)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, record)
    return key, buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Light-curve models
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Model:
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

    def position(self, t: float) -> tuple[float, float]:
        """Where the object is at time ``t`` (days from now)."""
        if self.rate_ra == 0.0 and self.rate_dec == 0.0:
            return self.ra, self.dec
        dec = self.dec + self.rate_dec * t
        ra = (self.ra + self.rate_ra * t / max(math.cos(math.radians(dec)), 0.05)) % 360.0
        return ra, dec


# --------------------------------------------------------------------------------------------
# Cutouts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Blob:
    """A Gaussian source on a stamp: centre (pixels), total flux, width (sigma, pixels)."""

    x: float
    y: float
    flux: float
    sigma: float


_PHASES = np.linspace(0.0, 1.0, 128, endpoint=False)
_GRIDS: dict[int, FloatArray] = {}
_HEADERS: dict[tuple[int, str], fits.Header] = {}


def _blob_image(size: int, blobs: list[_Blob]) -> FloatArray:
    grid = _GRIDS.get(size)
    if grid is None:
        grid = _GRIDS.setdefault(size, np.arange(size, dtype=np.float64))
    image = np.zeros((size, size))
    for b in blobs:
        # A circular Gaussian is separable: two 1-D profiles instead of size**2 exponentials.
        gx = np.exp(-0.5 * ((grid - b.x) / b.sigma) ** 2)
        gy = np.exp(-0.5 * ((grid - b.y) / b.sigma) ** 2)
        image += np.outer(gy, gx) * (b.flux / (2.0 * math.pi * b.sigma**2))
    return image


def _base_header(size: int, telescope: str) -> fits.Header:
    header = _HEADERS.get((size, telescope))
    if header is None:
        header = fits.PrimaryHDU(np.zeros((size, size), dtype=np.float32)).header
        scale = (ZTF_PIXEL_ARCSEC if telescope == "ZTF" else LSST_PIXEL_ARCSEC) / 3600.0
        header["TELESCOP"] = telescope
        header["FILTER"] = ("r", "band")
        header["CTYPE1"] = "RA---TAN"
        header["CTYPE2"] = "DEC--TAN"
        header["CRPIX1"] = (size + 1) / 2.0
        header["CRPIX2"] = (size + 1) / 2.0
        header["CRVAL1"] = 0.0
        header["CRVAL2"] = 0.0
        header["CDELT1"] = -scale
        header["CDELT2"] = scale
        header["CUNIT1"] = "deg"
        header["CUNIT2"] = "deg"
        header["BUNIT"] = "DN" if telescope == "ZTF" else "nJy"
        header["MAGZP"] = (0.0, "photometric zero point")
        header = _HEADERS.setdefault((size, telescope), header)
    return header


def _fits_bytes(header_bytes: bytes, image: FloatArray) -> bytes:
    # astropy makes the header (once per alert); the data unit is the standard big-endian
    # float32 block padded to 2880 bytes, which is what HDU.writeto would write, at a tenth of
    # the cost (~0.5 ms per stamp through writeto; three stamps per alert).
    data = np.ascontiguousarray(image, dtype=">f4").tobytes()
    return header_bytes + data + b"\0" * (-len(data) % 2880)


# --------------------------------------------------------------------------------------------
# Factory
# --------------------------------------------------------------------------------------------


def jd_now() -> float:
    """The current Julian date (UTC)."""
    return time.time() / 86400.0 + 2440587.5


def _jd_to_datetime(jd: float) -> datetime:
    return datetime(2000, 1, 1, 12, tzinfo=UTC) + timedelta(days=jd - 2451545.0)


def _ecliptic_to_equatorial(lam: float, beta: float) -> tuple[float, float]:
    lr, br = math.radians(lam), math.radians(beta)
    sin_dec = math.sin(br) * math.cos(OBLIQUITY) + math.cos(br) * math.sin(OBLIQUITY) * math.sin(lr)
    ra = math.atan2(
        math.sin(lr) * math.cos(OBLIQUITY) - math.tan(br) * math.sin(OBLIQUITY), math.cos(lr)
    )
    return math.degrees(ra) % 360.0, math.degrees(math.asin(sin_dec))


def _equatorial_to_ecliptic(ra: float, dec: float) -> tuple[float, float]:
    ar, dr = math.radians(ra), math.radians(dec)
    sin_beta = math.sin(dr) * math.cos(OBLIQUITY) - math.cos(dr) * math.sin(OBLIQUITY) * math.sin(
        ar
    )
    lam = math.atan2(
        math.sin(ar) * math.cos(OBLIQUITY) + math.tan(dr) * math.sin(OBLIQUITY), math.cos(ar)
    )
    return math.degrees(lam) % 360.0, math.degrees(math.asin(sin_beta))


def _ztf_sigma(mag: float, limit: float) -> float:
    # The limit is a 5-sigma detection, so SNR = 5 * 10**(0.4 * (limit - mag)).
    return max(0.01, 1.0857 / (5.0 * 10 ** (0.4 * (limit - mag))))


def _difference_mag(mag: Any, ref: Any) -> Any:
    """Magnitude of the change since the reference: what a difference image detects."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_flux = np.where(np.isfinite(ref), 10 ** (-0.4 * np.asarray(ref)), 0.0)
        return -2.5 * np.log10(np.abs(10 ** (-0.4 * np.asarray(mag)) - ref_flux))


def _njy(mag: FloatArray | float) -> Any:
    return 10 ** (-0.4 * (np.asarray(mag) - LSST_ZEROPOINT_NJY))


class AlertFactory:
    """Makes realistic ZTF- and LSST-shaped Fink alerts; the same seed gives the same alerts.

    ``now_jd`` freezes the clock (tests, screenshots); without it each alert is stamped with
    the current time.
    """

    def __init__(self, seed: int | None = None, *, now_jd: float | None = None) -> None:
        self.seed = seed
        self.now_jd = now_jd
        """Julian date the alerts are "now" at; None: the wall clock at each alert."""
        self._random = random.Random(seed)
        self._rng = np.random.default_rng(seed)

    # ---- public --------------------------------------------------------------------------

    def ztf_alert(
        self,
        kind: str | None = None,
        schema: Schema = ZTF_SCHEMA_V1,
        *,
        now_jd: float | None = None,
    ) -> Record:
        """A ZTF alert record valid against ``schema`` (V1, V2, or a subset of either)."""
        kind = self._kind(kind)
        now = self._now(now_jd)
        record = self._ztf_record(kind, now, schema)
        return dict(_conform(record, schema))

    def lsst_alert(self, kind: str | None = None, *, now_jd: float | None = None) -> Record:
        """A Rubin/LSST alert record valid against :data:`LSST_SCHEMA`."""
        kind = self._kind(kind)
        now = self._now(now_jd)
        return dict(_conform(self._lsst_record(kind, now), LSST_SCHEMA))

    # ---- common --------------------------------------------------------------------------

    def _kind(self, kind: str | None) -> str:
        if kind is None:
            return self._random.choices(KINDS, weights=KIND_WEIGHTS)[0]
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        return kind

    def _now(self, now_jd: float | None) -> float:
        if now_jd is not None:
            return now_jd
        return self.now_jd if self.now_jd is not None else jd_now()

    def _u(self, low: float, high: float) -> float:
        return self._random.uniform(low, high)

    def _sky(self, dec_min: float, dec_max: float) -> tuple[float, float]:
        # Uniform on the sphere: uniform in RA and in sin(dec).
        s = self._u(math.sin(math.radians(dec_min)), math.sin(math.radians(dec_max)))
        return self._u(0.0, 360.0), math.degrees(math.asin(s))

    def _model(self, kind: str, survey: str, subclass: str = "") -> _Model:
        """A random object of ``kind`` (and ``subclass``, when given) for ``survey``."""
        lsst = survey == "lsst"
        dec_min, dec_max = (-90.0, 32.0) if lsst else (-30.0, 90.0)
        if kind == "asteroid":
            while True:  # near the ecliptic, within the survey's sky
                lam, beta = self._u(0.0, 360.0), self._random.gauss(0.0, 7.0)
                ra, dec = _ecliptic_to_equatorial(lam, beta)
                if dec_min < dec < dec_max:
                    break
            rate = self._u(0.1, 0.6)
            angle = self._u(0.0, 2 * math.pi)
            return _Model(
                "asteroid",
                "MPC",
                ra,
                dec,
                self._u(19.0, 23.2) if lsst else self._u(17.3, 20.0),
                rate_ra=rate * math.cos(angle),
                rate_dec=rate * math.sin(angle),
            )
        ra, dec = self._sky(dec_min, dec_max)
        if kind == "sn":
            rise = self._u(13.0, 17.0)
            early = subclass == "early" or (not subclass and self._random.random() < 0.35)
            # A mature SN is 12+ days past peak; ZTF alerts carry 30 days of history, so keep
            # its explosion inside them.
            age = self._u(4.0, 10.0) if early else self._u(rise + 12.0, 70.0 if lsst else 29.0)
            return _Model(
                "sn",
                "early" if early else "mature",
                ra,
                dec,
                self._u(19.5, 22.5) if lsst else self._u(17.0, 19.0),
                t0=-age,
                rise=rise,
                decline=self._u(0.025, 0.05),
                colour0=-0.15,
                reddening=self._u(0.015, 0.025),
            )
        if kind == "kilonova":
            return _Model(
                "kilonova",
                "",
                ra,
                dec,
                self._u(19.5, 21.5) if lsst else self._u(17.8, 19.0),
                t0=-(self._u(1.5, 4.0) if lsst else self._u(1.2, 3.0)),
                rise=0.5,
                decline=self._u(0.3, 0.6),
                colour0=-0.3,
                reddening=self._u(0.3, 0.6),
            )
        mean = self._u(17.0, 21.0) if lsst else self._u(15.5, 18.6)
        if subclass == "RRLyr" or (not subclass and self._random.random() < 0.65):
            period = self._u(0.45, 0.65)
            return _Model(
                "variable",
                "RRLyr",
                ra,
                dec,
                mean,
                t0=self._u(0.0, 1.0),
                period=period,
                amplitude=self._u(0.6, 1.0),
            )
        depth = self._u(0.3, 0.9)
        return _Model(
            "variable",
            "EB*",
            ra,
            dec,
            mean,
            t0=self._u(0.0, 3.0),
            period=self._u(0.3, 2.5),
            amplitude=depth,
            depth2=depth * self._u(0.1, 0.6),
            ellipsoidal=self._u(0.05, 0.2),
        )

    def _letters(self, k: int) -> str:
        return "".join(self._random.choices(string.ascii_lowercase, k=k))

    def _asteroid_name(self, year: int) -> str:
        if self._random.random() < 0.7:
            return str(self._random.randint(1000, 750000))
        letters = self._random.choice(string.ascii_uppercase) + self._random.choice(
            string.ascii_uppercase
        )
        return f"{year - self._random.randint(0, 25)}{letters}{self._random.randint(1, 300)}"

    def _stamps(
        self,
        size: int,
        transient: float,
        static: list[_Blob],
        psf: float,
        noise: float,
        sky: float,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Science, template and difference images. ``transient`` is the signed flux change."""
        centre = (size - 1) / 2.0
        x = centre + self._u(-0.5, 0.5)
        y = centre + self._u(-0.5, 0.5)
        scene = _blob_image(size, static)
        point = _blob_image(size, [_Blob(x, y, transient, psf)])
        # The template is a deep stack: same scene, less noise, another background level.
        sky_t = sky * self._u(2.0, 4.0)
        sci_noise = self._rng.standard_normal((size, size)) * noise
        tmpl_noise = self._rng.standard_normal((size, size)) * (noise / 2.5)
        science = sky + scene + point + sci_noise
        template = sky_t + scene + tmpl_noise
        difference = (science - sky) - (template - sky_t)
        return science, template, difference

    def _field_stars(
        self, size: int, psf: float, flux_of: Callable[[float], Any], mags: tuple[float, float]
    ) -> list[_Blob]:
        stars = []
        centre = (size - 1) / 2.0
        for _ in range(self._random.randint(0, 3)):
            x, y = self._u(0, size - 1), self._u(0, size - 1)
            if math.hypot(x - centre, y - centre) > size / 5:  # keep clear of the target
                stars.append(_Blob(x, y, float(flux_of(self._u(*mags))), psf))
        return stars

    def _header(
        self, size: int, telescope: str, ra: float, dec: float, band: str, zp: float
    ) -> bytes:
        header = _base_header(size, telescope).copy()
        header["CRVAL1"] = round(ra, 7)
        header["CRVAL2"] = round(dec, 7)
        header["FILTER"] = band
        header["MAGZP"] = round(zp, 4)
        text: str = header.tostring()
        return text.encode("ascii")

    # ---- ZTF -----------------------------------------------------------------------------

    def _ztf_record(self, kind: str, now: float, schema: Schema) -> Record:
        rnd = self._random
        t_c = -self._u(0.003, 0.02)  # Fink relays an alert minutes after the exposure
        jd = now + t_c
        fid = rnd.choices((1, 2, 3), weights=(0.45, 0.5, 0.05))[0]
        limit = self._ztf_limit()
        model = self._model(kind, "ztf")
        at = (np.array([t_c]), np.array([fid]))
        for _ in range(30):
            mag, ref = float(model.mags(*at)[0]), float(model.ref_mags(at[1])[0])
            # ZTF alerts come from the difference image: the change must be detected there.
            if _difference_mag(mag, ref) < limit - 0.4:
                break
            model = self._model(kind, "ztf", model.subclass)  # keep the class's proportions
        else:
            model = replace(model, mag=model.mag - (mag - limit + 1.0))
            mag, ref = float(model.mags(*at)[0]), float(model.ref_mags(at[1])[0])

        history = self._ztf_history(model, t_c, fid, now)
        detections = [p for p in history if p["magpsf"] is not None]
        sigma = _ztf_sigma(mag, limit)
        # For a variable star this is its total magnitude (what Fink's light-curve views show
        # after adding the reference flux back), so the curve has the shape of its class.
        magpsf = mag + self._rng.normal(0.0, sigma)
        rcid, field = rnd.randrange(64), rnd.randint(250, 1900)
        pid = self._ztf_pid(jd, rcid)
        candid = pid * 10**6 + rnd.randrange(10**6)
        ra, dec = model.position(t_c)
        ra, dec = self._jitter(ra, dec, 0.08)
        year_now = _jd_to_datetime(now).year

        if kind == "variable":
            first_jd = now - self._u(365.0, 2900.0)  # a star known for years
            ndethist = len(detections) + 1 + rnd.randint(80, 900)
        else:
            first_jd = min([jd, *(p["jd"] for p in detections)])
            ndethist = len(detections) + 1
        object_year = _jd_to_datetime(first_jd).year
        object_id = f"ZTF{object_year % 100:02d}aa{self._letters(5)}"

        host_offset = self._u(0.3, 3.5)
        host_mag = self._u(18.5, 21.8)
        if kind == "variable":
            distnr, magnr, sgscore = self._u(0.05, 0.3), ref, self._u(0.95, 1.0)
        elif kind == "asteroid":
            distnr, magnr, sgscore = self._u(3.0, 25.0), self._u(17.0, 22.0), self._u(0.0, 1.0)
        else:
            distnr, magnr, sgscore = host_offset, host_mag, self._u(0.0, 0.2)
        ssname = self._asteroid_name(year_now) if kind == "asteroid" else None
        fwhm = self._u(1.8, 3.2)
        candidate: Record = {
            "jd": jd,
            "fid": fid,
            "pid": pid,
            "diffmaglim": limit,
            "pdiffimfilename": self._ztf_filename(jd, field, fid, rcid),
            "programid": 1,
            "candid": candid,
            "isdiffpos": "t" if mag <= ref else "f",
            "nid": int(jd - ZTF_FIRST_NIGHT_JD),
            "rcid": rcid,
            "field": field,
            "xpos": self._u(10.0, 3070.0),
            "ypos": self._u(10.0, 3070.0),
            "ra": ra,
            "dec": dec,
            "magpsf": magpsf,
            "sigmapsf": sigma,
            "magap": magpsf + self._rng.normal(0.0, 0.05),
            "sigmagap": sigma * 1.4,
            "distnr": distnr,
            "magnr": magnr,
            "sigmagnr": self._u(0.02, 0.1),
            "fwhm": fwhm,
            "classtar": self._u(0.9, 1.0) if kind == "variable" else self._u(0.5, 0.99),
            "elong": self._u(1.1, 1.6) if kind == "asteroid" else self._u(1.0, 1.25),
            "rb": self._u(0.55, 0.99),
            "drb": self._u(0.6, 0.999),
            "ssdistnr": self._u(0.0, 3.0) if ssname else -999.0,
            "ssmagnr": mag + self._rng.normal(0.0, 0.3) if ssname else -999.0,
            "ssnamenr": ssname,
            "sgscore1": sgscore,
            "distpsnr1": distnr if kind != "asteroid" else self._u(2.0, 20.0),
            "ndethist": ndethist,
            "ncovhist": ndethist + rnd.randint(20, 1500),
            "jdstarthist": first_jd,
            "jdendhist": jd,
            "magzpsci": self._u(25.9, 26.3),
        }

        # Cutouts: counts from the zero point; pixel noise such that a source at the 5-sigma
        # limit peaks at about 5 sigma (easier on the eye than strict aperture photometry).
        zp = float(candidate["magzpsci"])
        psf = fwhm / 2.355

        def counts(m: float) -> float:
            return float(10 ** (-0.4 * (m - zp)))

        noise = counts(limit) / (2 * math.pi * psf**2) / 5.0
        transient = counts(mag) - (counts(ref) if math.isfinite(ref) else 0.0)
        static = self._field_stars(ZTF_STAMP, psf, counts, (16.5, 21.0))
        centre = (ZTF_STAMP - 1) / 2.0
        if kind == "variable":
            static.append(_Blob(centre, centre, counts(ref), psf))
        elif kind in ("sn", "kilonova"):
            angle = self._u(0.0, 2 * math.pi)
            off = host_offset / ZTF_PIXEL_ARCSEC
            static.append(
                _Blob(
                    centre + off * math.cos(angle),
                    centre + off * math.sin(angle),
                    counts(host_mag),
                    self._u(2.0, 5.0),
                )
            )
        images = self._stamps(ZTF_STAMP, transient, static, psf, noise, self._u(80.0, 300.0))
        header = self._header(ZTF_STAMP, "ZTF", ra, dec, BANDS[fid], zp)
        suffixes = (f"_pid{pid}_targ_sci", "_ref", f"_pid{pid}_targ_scimref")
        cutouts = {}
        for name, suffix, image in zip(
            ("cutoutScience", "cutoutTemplate", "cutoutDifference"), suffixes, images, strict=True
        ):
            stamp = gzip.compress(_fits_bytes(header, image), compresslevel=1, mtime=0)
            cutouts[name] = {"fileName": f"candid{candid}{suffix}.fits.gz", "stampData": stamp}

        record: Record = {
            "schemavsn": _default(schema, "schemavsn") or "4.01",
            "publisher": "Fink",
            "objectId": object_id,
            "candid": candid,
            "candidate": candidate,
            "prv_candidates": history,
            **cutouts,
            "fink_broker_version": _default(schema, "fink_broker_version") or FINK_BROKER_VERSION,
            "fink_science_version": _default(schema, "fink_science_version") or "8.40.0",
            "nalerthist": ndethist,
            **self._ztf_fink_values(model),
        }
        return record

    def _ztf_limit(self) -> float:
        return min(21.3, max(19.2, self._random.gauss(20.45, 0.35)))

    def _ztf_pid(self, jd: float, rcid: int) -> int:
        nid = int(jd - ZTF_FIRST_NIGHT_JD)
        fraction = int(((jd + 0.5) % 1.0) * 1e6)
        return nid * 10**9 + fraction * 1000 + rcid

    def _ztf_filename(self, jd: float, field: int, fid: int, rcid: int) -> str:
        stamp = _jd_to_datetime(jd).strftime("%Y%m%d") + f"{int(((jd + 0.5) % 1.0) * 1e6):06d}"
        return (
            f"ztf_{stamp}_{field:06d}_z{BANDS[fid]}_c{rcid // 4 + 1:02d}_o_q{rcid % 4 + 1}"
            "_scimrefdiffimg.fits"
        )

    def _jitter(self, ra: float, dec: float, arcsec: float) -> tuple[float, float]:
        dra = self._random.gauss(0.0, arcsec) / 3600.0 / max(math.cos(math.radians(dec)), 0.05)
        return (ra + dra) % 360.0, dec + self._random.gauss(0.0, arcsec) / 3600.0

    def _ztf_history(self, model: _Model, t_c: float, fid: int, now: float) -> list[Record]:
        """30 days of earlier epochs: detections where bright enough, else upper limits."""
        rnd = self._random
        times: list[float] = []
        fids: list[int] = []
        for night in range(1, 31):
            if rnd.random() < 0.45:
                continue
            for _ in range(1 + (rnd.random() < 0.5)):
                times.append(-night + self._u(-0.12, 0.12))
                fids.append(rnd.choices((1, 2, 3), weights=(0.45, 0.5, 0.05))[0])
        if rnd.random() < 0.5:  # an earlier visit tonight, usually in the other band
            times.append(t_c - self._u(0.02, 0.09))
            fids.append(3 - fid if fid in (1, 2) else 2)
        t = np.array(times, dtype=np.float64)
        bands = np.array(fids, dtype=np.int64)
        mags = model.mags(t, bands)
        ref = model.ref_mags(bands)
        detectable = _difference_mag(mags, ref)
        noise = self._rng.standard_normal(len(times))
        history: list[Record] = []
        for i in np.argsort(t):
            limit = self._ztf_limit()
            jd = now + float(t[i])
            rcid = rnd.randrange(64)
            entry: Record = {
                "jd": jd,
                "fid": int(bands[i]),
                "pid": self._ztf_pid(jd, rcid),
                "candid": None,
                "programid": 1,
                "diffmaglim": limit,
                "isdiffpos": None,
                "ra": None,
                "dec": None,
                "magpsf": None,
                "sigmapsf": None,
                "rb": None,
            }
            mag = float(mags[i])
            if detectable[i] < limit:
                sigma = _ztf_sigma(mag, limit)
                ra, dec = self._jitter(*model.position(float(t[i])), 0.1)
                entry.update(
                    candid=int(entry["pid"]) * 10**6 + rnd.randrange(10**6),
                    isdiffpos="t" if mag <= float(ref[i]) else "f",
                    ra=ra,
                    dec=dec,
                    magpsf=mag + float(noise[i]) * sigma,
                    sigmapsf=sigma,
                    rb=self._u(0.55, 0.99),
                )
            history.append(entry)
        return history

    def _ztf_fink_values(self, model: _Model) -> Record:
        u = self._u
        kind = model.kind
        values: Record = {
            "cdsxmatch": "Unknown",
            "roid": 0,
            "rf_snia_vs_nonia": 0.0,
            "snn_snia_vs_nonia": u(0.0, 0.3),
            "snn_sn_vs_all": u(0.0, 0.2),
            "rf_kn_vs_nonkn": 0.0,
            "mulens": 0.0,
            "slsn_score": -1.0,
            "anomaly_score": None,
            "finkclass": "Unknown",
            "tnsclass": "Unknown",
        }
        if kind == "sn":
            early = model.subclass == "early"
            values.update(
                rf_snia_vs_nonia=u(0.55, 0.95) if early else 0.0,
                snn_snia_vs_nonia=u(0.55, 0.95),
                snn_sn_vs_all=u(0.75, 0.99),
                slsn_score=u(0.0, 0.3),
                anomaly_score=u(-0.3, 0.1),
                finkclass="Early SN Ia candidate" if early else "SN candidate",
                tnsclass="SN Ia" if not early and self._random.random() < 0.3 else "Unknown",
            )
        elif kind == "kilonova":
            values.update(
                rf_kn_vs_nonkn=u(0.6, 0.97),
                snn_sn_vs_all=u(0.2, 0.6),
                anomaly_score=u(-0.6, -0.2),
                finkclass="Kilonova candidate",
            )
        elif kind == "asteroid":
            values.update(roid=3, snn_sn_vs_all=u(0.0, 0.1), finkclass="Solar System MPC")
        else:
            values.update(
                cdsxmatch=model.subclass, finkclass=model.subclass, anomaly_score=u(-0.1, 0.2)
            )
        return values

    # ---- LSST ----------------------------------------------------------------------------

    def _lsst_record(self, kind: str, now: float) -> Record:
        rnd = self._random
        t_c = -self._u(0.002, 0.01)
        mjd_now = now - MJD_OFFSET + TAI_MINUS_UTC_DAYS
        band = int(self._rng.choice(6, p=LSST_BAND_WEIGHTS))
        depth = float(LSST_DEPTH[band]) + rnd.gauss(0.0, 0.25)
        err = float(_njy(depth)) / 5.0
        model = self._model(kind, "lsst")
        for _ in range(30):
            diff = self._lsst_diff_flux(model, np.array([t_c]), np.array([band]))[0]
            if abs(diff) / err >= 8.0:
                break
            model = self._model(kind, "lsst", model.subclass)
        else:
            model = replace(model, mag=model.mag - 2.0)

        dia_object_id = 0 if kind == "asteroid" else rnd.randrange(169 * 10**15, 171 * 10**15)
        ss_object_id = rnd.randrange(2 * 10**16, 23 * 10**15) if kind == "asteroid" else None
        prv: list[Record] | None = None
        forced: list[Record] | None = None
        if kind != "asteroid":
            prv = self._lsst_prv_sources(model, t_c, mjd_now, dia_object_id, ss_object_id)
            forced = self._lsst_forced(model, t_c, mjd_now, dia_object_id)
        source = self._dia_source(
            model, t_c, band, depth, mjd_now, dia_object_id, ss_object_id, force_detect=True
        )
        assert source is not None  # force_detect
        psf = self._u(0.6, 1.1) / LSST_PIXEL_ARCSEC / 2.355
        noise = float(_njy(depth)) / (2 * math.pi * psf**2) / 5.0
        ref = float(model.ref_mags(np.array([band]))[0])
        static = self._field_stars(LSST_STAMP, psf, _njy, (18.0, 23.0))
        centre = (LSST_STAMP - 1) / 2.0
        if kind == "variable":
            static.append(_Blob(centre, centre, float(_njy(ref)), psf))
        elif kind in ("sn", "kilonova"):
            angle, off = self._u(0.0, 2 * math.pi), self._u(1.5, 8.0)
            static.append(
                _Blob(
                    centre + off * math.cos(angle),
                    centre + off * math.sin(angle),
                    float(_njy(self._u(20.5, 23.5))),
                    self._u(2.0, 4.0),
                )
            )
        transient = float(self._lsst_diff_flux(model, np.array([t_c]), np.array([band]))[0])
        science, template, difference = self._stamps(LSST_STAMP, transient, static, psf, noise, 0.0)
        header = self._header(
            LSST_STAMP, "LSST", source["ra"], source["dec"], BANDS[band], LSST_ZEROPOINT_NJY
        )
        all_sources = [*(prv or []), source]
        record: Record = {
            "diaSourceId": source["diaSourceId"],
            "diaSource": source,
            "prvDiaSources": prv,
            "prvDiaForcedSources": forced,
            "diaObject": None
            if kind == "asteroid"
            else {
                "diaObjectId": dia_object_id,
                "ra": float(np.mean([s["ra"] for s in all_sources])),
                "dec": float(np.mean([s["dec"] for s in all_sources])),
                "nDiaSources": len(all_sources),
            },
            "ssSource": None,
            "cutoutDifference": _fits_bytes(header, difference),
            "cutoutScience": _fits_bytes(header, science),
            "cutoutTemplate": _fits_bytes(header, template),
            "lsst_schema_version": LSST_SCHEMA_VERSION,
            "fink_broker_version": FINK_BROKER_VERSION,
            "fink_science_version": LSST_FINK_SCIENCE_VERSION,
            "publisher": "Fink",
            **self._lsst_fink_values(model, first=not prv),
        }
        if kind == "asteroid":
            assert ss_object_id is not None
            lam, beta = _equatorial_to_ecliptic(source["ra"], source["dec"])
            year = _jd_to_datetime(now).year
            record["ssSource"] = {
                "ssObjectId": ss_object_id,
                "designation": (
                    f"{year - rnd.randint(0, 25)} {rnd.choice(string.ascii_uppercase)}"
                    f"{rnd.choice(string.ascii_uppercase)}{rnd.randint(1, 300)}"
                ),
                "eclLambda": lam,
                "eclBeta": beta,
                "ephVmag": model.mag + 0.2 + rnd.gauss(0.0, 0.2),
                "ephRate": math.hypot(model.rate_ra, model.rate_dec),
            }
        return record

    def _lsst_diff_flux(self, model: _Model, t: FloatArray, band: IntArray) -> FloatArray:
        # Difference-image flux: what changed since the template (negative when fainter).
        ref = model.ref_mags(band)
        flux = _njy(model.mags(t, band))
        return np.asarray(flux - np.where(np.isfinite(ref), _njy(ref), 0.0))

    def _visit(self, mjd: float) -> int:
        # Visits are numbered by the night's date in Chile (UTC-4 is close enough) and a counter.
        night = datetime(1858, 11, 17, tzinfo=UTC) + timedelta(days=mjd - 4.0 / 24.0)
        return int(f"{night:%Y%m%d}{self._random.randint(1, 1200):05d}")

    def _dia_source(
        self,
        model: _Model,
        t: float,
        band: int,
        depth: float,
        mjd_now: float,
        dia_object_id: int,
        ss_object_id: int | None,
        *,
        force_detect: bool = False,
        true_flux: float | None = None,
    ) -> Record | None:
        err = float(_njy(depth)) / 5.0
        if true_flux is None:
            true_flux = float(self._lsst_diff_flux(model, np.array([t]), np.array([band]))[0])
        flux = true_flux + self._random.gauss(0.0, err)
        if abs(flux) / err < 5.0:
            if not force_detect:
                return None
            # An earlier epoch chosen for its expected SNR; noise pulled it under the cut.
            flux = math.copysign(5.0 * err, true_flux if true_flux else flux)
        ra, dec = self._jitter(*model.position(t), 0.03)
        mjd = mjd_now + t
        science = _njy(model.mags(np.array([t]), np.array([band])))[0]
        return {
            "diaSourceId": self._random.randrange(169 * 10**15, 171 * 10**15),
            "visit": self._visit(mjd),
            "detector": self._random.randrange(189),
            "diaObjectId": dia_object_id,
            "ssObjectId": ss_object_id,
            "midpointMjdTai": mjd,
            "ra": ra,
            "raErr": self._u(2e-6, 2e-5),
            "dec": dec,
            "decErr": self._u(2e-6, 2e-5),
            "x": self._u(20.0, 4050.0),
            "y": self._u(20.0, 4050.0),
            "psfFlux": flux,
            "psfFluxErr": err,
            "snr": abs(flux) / err,
            "scienceFlux": float(science) if math.isfinite(science) else None,
            "isNegative": flux < 0,
            "extendedness": self._u(0.0, 0.2),
            "reliability": self._u(0.5, 0.99),
            "band": BANDS[band],
            "timeProcessedMjdTai": mjd + self._u(0.001, 0.003),
        }

    def _lsst_window(self, model: _Model) -> float:
        if model.kind == "variable":
            return -365.0  # Rubin sends a year of history
        return model.t0

    def _lsst_prv_sources(
        self,
        model: _Model,
        t_c: float,
        mjd_now: float,
        dia_object_id: int,
        ss_object_id: int | None,
    ) -> list[Record]:
        """5-50 earlier detections (diaSources are detections: |SNR| >= 5)."""
        start = self._lsst_window(model)
        # A young object cannot have been seen fifty times: about three visits a day at most.
        wanted = min(self._random.randint(5, 50), 5 + int(3 * (t_c - start)))
        n = 600
        t = self._rng.uniform(start, t_c - 0.01, n)
        bands = self._rng.choice(6, size=n, p=LSST_BAND_WEIGHTS)
        depths = LSST_DEPTH[bands] + self._rng.normal(0.0, 0.25, n)
        err = _njy(depths) / 5.0
        true = self._lsst_diff_flux(model, t, bands)
        detectable = np.flatnonzero(np.abs(true) / err >= 6.0)
        if len(detectable) < 5:  # a faint or young object: fall back on the brightest epochs
            detectable = np.argsort(-np.abs(true) / err)[:5]
        keep = detectable[:wanted]  # the times are random, so this is a random subset
        keep = keep[np.argsort(t[keep])]
        sources = []
        for i in keep:
            src = self._dia_source(
                model,
                float(t[i]),
                int(bands[i]),
                float(depths[i]),
                mjd_now,
                dia_object_id,
                ss_object_id,
                force_detect=True,
                true_flux=float(true[i]),
            )
            if src is not None:
                sources.append(src)
        return sources

    def _lsst_forced(
        self, model: _Model, t_c: float, mjd_now: float, dia_object_id: int
    ) -> list[Record]:
        """Forced photometry at the object's position, detected or not (also before the rise)."""
        n = self._random.randint(3, 30)
        start = self._lsst_window(model) - 30.0
        t = np.sort(self._rng.uniform(start, t_c - 0.01, n))
        bands = self._rng.choice(6, size=n, p=LSST_BAND_WEIGHTS)
        err = _njy(LSST_DEPTH[bands] + self._rng.normal(0.0, 0.25, n)) / 5.0
        flux = self._lsst_diff_flux(model, t, bands) + self._rng.standard_normal(n) * err
        ra, dec = model.position(0.0)
        return [
            {
                "diaForcedSourceId": self._random.randrange(169 * 10**15, 171 * 10**15),
                "diaObjectId": dia_object_id,
                "visit": self._visit(mjd_now + float(t[i])),
                "midpointMjdTai": mjd_now + float(t[i]),
                "ra": ra,
                "dec": dec,
                "psfFlux": float(flux[i]),
                "psfFluxErr": float(err[i]),
                "band": BANDS[int(bands[i])],
            }
            for i in range(n)
        ]

    def _lsst_fink_values(self, model: _Model, *, first: bool) -> Record:
        u = self._u
        kind = model.kind
        clf: Record = {
            "snnSnVsOthers_score": u(0.0, 0.3),
            "cats_class": -1,
            "cats_score": 0.0,
            "earlySNIa_score": -1.0,
        }
        xm: Record = {
            "simbad_otype": None,
            "gaiadr3_DR3Name": None,
            "tns_fullname": None,
            "tns_type": None,
        }
        pred: Record = {
            "is_sso": False,
            "is_first": first,
            "is_cataloged": False,
            "main_label_classifier": -1,
        }
        if kind == "sn":
            clf.update(
                snnSnVsOthers_score=u(0.7, 0.99),
                cats_class=11,
                cats_score=u(0.6, 0.99),
                earlySNIa_score=u(0.5, 0.9) if model.subclass == "early" else -1.0,
            )
            pred.update(main_label_classifier=11)
            if model.subclass == "mature" and self._random.random() < 0.4:
                xm.update(tns_fullname=f"2026{self._letters(3)}", tns_type="SN Ia")
                pred.update(is_cataloged=True)
        elif kind == "kilonova":
            clf.update(snnSnVsOthers_score=u(0.2, 0.7), cats_class=12, cats_score=u(0.5, 0.95))
            pred.update(main_label_classifier=12)
        elif kind == "variable":
            digits = "".join(self._random.choices(string.digits, k=19))
            clf.update(cats_class=21, cats_score=u(0.7, 0.99))
            xm.update(simbad_otype=model.subclass, gaiadr3_DR3Name=f"Gaia DR3 {digits}")
            pred.update(main_label_classifier=21, is_cataloged=True)
        else:
            clf.update(snnSnVsOthers_score=u(0.3, 0.8))
            pred.update(is_sso=True, is_first=False)
        return {"clf": clf, "xm": xm, "pred": pred}


# --------------------------------------------------------------------------------------------
# Malformed messages
# --------------------------------------------------------------------------------------------


# Parses as JSON, but "str" is no Avro type (a hand-written schema with a Python-ism).
_NOT_A_SCHEMA = json.dumps(
    {"type": "record", "name": "alert", "fields": [{"name": "objectId", "type": "str"}]}
).encode()


def _raises(schema: Schema, value: bytes) -> bool:
    _, parsed = _parsed(schema)
    try:
        fastavro.schemaless_reader(io.BytesIO(value), parsed, None)
    except Exception:  # fastavro raises many kinds on bytes that don't fit
        return True
    return False


def malformed_messages(factory: AlertFactory) -> list[tuple[bytes | None, bytes, str]]:
    """Fink-like messages that must fail to decode, as ``(key, value, description)``.

    A truncated value, a key that is not JSON, a key that is JSON but not an Avro schema, no
    key at all, and a value written with another schema than the key carries. Each fails in
    fastavro (or before it, in ``json.loads`` / ``parse_schema``), which the helper checks.
    """
    record = factory.ztf_alert()
    key, value = encode(record, ZTF_SCHEMA_V1)
    messages: list[tuple[bytes | None, bytes, str]] = [
        (key, value[: len(value) // 2], "value truncated to half its length"),
        (str(record["objectId"]).encode(), value, "key is the objectId, not a JSON schema"),
        (_NOT_A_SCHEMA, value, "key is JSON but not an Avro schema (unknown type)"),
        (None, value, "no key (Fink puts the schema there)"),
    ]
    # Bytes written with one schema sometimes read as garbage under another without an error;
    # keep only a pairing that really fails.
    for _ in range(20):
        _, lsst_value = encode(factory.lsst_alert(), LSST_SCHEMA)
        if _raises(ZTF_SCHEMA_V1, lsst_value):
            messages.append((key, lsst_value, "LSST alert under a ZTF schema key"))
            break
    for _ in range(20):
        _, v2_value = encode(factory.ztf_alert(schema=ZTF_SCHEMA_V2), ZTF_SCHEMA_V2)
        if _raises(ZTF_SCHEMA_V1, v2_value):
            messages.append((key, v2_value, "ZTF schema 4.02 alert under a 4.01 key"))
            break
    return messages
