"""Survey-aware views of Fink alerts: which survey a schema belongs to, the few fields a table
row needs (as an Avro projection, so the rest of the alert is skipped, not built), the summary
itself, and the light curve of an alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fink_tui.core.astro import ZTF_BANDS, jd_to_utc, mjd_tai_to_utc

# The fields a summary reads, per survey: name -> None (whole field) or a nested selection.
ZTF_FIELDS: dict[str, Any] = {
    "objectId": None,
    "candid": None,
    "schemavsn": None,
    "candidate": {
        k: None for k in ("jd", "ra", "dec", "magpsf", "sigmapsf", "fid", "isdiffpos", "ssnamenr")
    },
    "fink_broker_version": None,
    "fink_science_version": None,
    "cdsxmatch": None,
    "roid": None,
    "finkclass": None,
    "tnsclass": None,
}
LSST_FIELDS: dict[str, Any] = {
    "diaSourceId": None,
    "diaSource": {
        k: None
        for k in (
            "diaSourceId",
            "diaObjectId",
            "ssObjectId",
            "midpointMjdTai",
            "ra",
            "dec",
            "psfFlux",
            "psfFluxErr",
            "band",
        )
    },
    "diaObject": {"diaObjectId": None},
    "ssSource": {"ssObjectId": None, "designation": None},
    "lsst_schema_version": None,
    "fink_broker_version": None,
    "fink_science_version": None,
    "xm": {"simbad_otype": None, "tns_type": None},
    "pred": {"is_sso": None, "main_label_classifier": None},
    "clf": {"cats_class": None, "cats_score": None},
    "tns_type_recomputed": None,
}
# Broad classes of Fink's CATS classifier for LSST light curves.
CATS_CLASSES = {11: "SN-like", 12: "Fast", 13: "Long", 21: "Periodic", 22: "Non-periodic"}
VERSION_FIELDS = ("schemavsn", "lsst_schema_version", "fink_broker_version", "fink_science_version")


def schema_survey(schema: dict[str, Any]) -> str:
    """``ztf``, ``lsst`` or ``unknown``, from the top-level field names of an alert schema."""
    names = {f.get("name") for f in schema.get("fields", ()) if isinstance(f, dict)}
    if {"objectId", "candidate"} <= names:
        return "ztf"
    if "diaSource" in names:
        return "lsst"
    return "unknown"


def projection(schema: dict[str, Any], keep: dict[str, Any]) -> dict[str, Any]:
    """A reader schema with only the ``keep`` fields of the record ``schema``."""
    fields = []
    for field in schema.get("fields", ()):
        if field["name"] not in keep:
            continue
        sub = keep[field["name"]]
        if sub is None:
            fields.append(field)
            continue
        ftype = field["type"]
        if isinstance(ftype, list):
            ftype = [_project_type(t, sub) for t in ftype]
        else:
            ftype = _project_type(ftype, sub)
        fields.append({**field, "type": ftype})
    return {**schema, "fields": fields}


def _project_type(avro_type: Any, keep: dict[str, Any]) -> Any:
    if isinstance(avro_type, dict) and avro_type.get("type") == "record":
        return projection(avro_type, keep)
    return avro_type


def summary_schema(schema: dict[str, Any], survey: str) -> dict[str, Any] | None:
    """The reader schema a summary needs, or None to read the whole alert."""
    if survey == "ztf":
        return projection(schema, ZTF_FIELDS)
    if survey == "lsst":
        return projection(schema, LSST_FIELDS)
    return None


@dataclass(frozen=True, slots=True)
class AlertSummary:
    """What a table row shows of an alert."""

    survey: str
    time: datetime | None = None
    object_id: str = ""
    object_kind: str = ""
    """Which id ``object_id`` is: ``objectId`` (ZTF), ``diaObjectId``, ``ssObjectId`` or a
    ``designation`` (LSST)."""
    source_id: str = ""
    ra: float | None = None
    dec: float | None = None
    mag: float | None = None
    mag_err: float | None = None
    flux: float | None = None
    flux_err: float | None = None
    band: str = ""
    classification: str = ""
    versions: tuple[tuple[str, str], ...] = ()
    """Schema and Fink version fields of the alert (schemavsn, fink_science_version, ...)."""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its fields in order (every alert's summary crosses from a decoding
        process): dataclasses' own way for slots reads ``fields()`` and sets each attribute
        in ``__setstate__``, 1.6x slower to load. Loaded, it shares its repeated values."""
        return (_loaded_summary, tuple(getattr(self, name) for name in self.__slots__))

    @property
    def brightness(self) -> str:
        """Magnitude (ZTF) or flux in nJy (LSST) as table text."""
        if self.mag is not None:
            err = f"±{self.mag_err:.2f}" if self.mag_err is not None else ""
            return f"{self.mag:.2f}{err}"
        if self.flux is not None:
            return f"{self.flux:,.0f} nJy"
        return ""


SHARED_MAX = 4096
"""Distinct repeated values kept at most (then forgotten all at once): a hostile stream of ever
new classifications costs no more than this."""
_SHARED: dict[Any, Any] = {}


def shared(value: Any) -> Any:
    """The one copy of ``value`` this process keeps: a classification or a schema version
    that thousands of alerts repeat. The dashboard follows 20,000 objects by their latest
    alert; each summary's own copies of these weighed ~450 bytes (9 MB in all)."""
    kept = _SHARED.get(value)
    if kept is None:
        if len(_SHARED) >= SHARED_MAX:
            _SHARED.clear()
        kept = _SHARED[value] = value
    return kept


def _loaded_summary(*fields: Any) -> AlertSummary:
    """An unpickled summary, sharing its classification and versions with earlier ones."""
    values = list(fields)
    for i in _SHARED_FIELDS:
        values[i] = shared(values[i])
    return AlertSummary(*values)


_SHARED_FIELDS = tuple(AlertSummary.__slots__.index(n) for n in ("classification", "versions"))


def _versions(record: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((k, str(record[k])) for k in VERSION_FIELDS if record.get(k) is not None)


def _num(value: Any) -> float | None:
    """A finite number, or None (NaN and infinities are as good as missing)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def ztf_classification(record: dict[str, Any]) -> str:
    """Fink's class of a ZTF alert: ``finkclass`` when present, else derived like Fink does."""
    finkclass = record.get("finkclass")
    if finkclass:
        return str(finkclass)
    if record.get("roid") == 3:
        return "Solar System MPC"
    xmatch = record.get("cdsxmatch")
    if xmatch and xmatch not in ("Unknown", "Fail"):
        return str(xmatch)
    return "Unknown" if "cdsxmatch" in record else ""


def lsst_classification(record: dict[str, Any]) -> str:
    """A class for an LSST alert from Fink's crossmatches and predictions."""
    xm = record.get("xm") or {}
    for value in (xm.get("tns_type"), record.get("tns_type_recomputed"), xm.get("simbad_otype")):
        if value and value not in ("Unknown", "nan"):
            return str(value)
    pred = record.get("pred") or {}
    if pred.get("is_sso"):
        return "Solar System"
    clf = record.get("clf") or {}
    cats = CATS_CLASSES.get(clf.get("cats_class") or 0)
    if cats and (clf.get("cats_score") or 0) >= 0.5:
        return f"{cats} (CATS)"
    return "Unknown" if ("xm" in record or "pred" in record) else ""


def summarize(record: dict[str, Any], survey: str) -> AlertSummary:
    """The table view of a (possibly projected) alert record."""
    if survey == "ztf":
        cand = record.get("candidate") or {}
        jd = _num(cand.get("jd"))
        fid = cand.get("fid")
        return AlertSummary(
            survey="ztf",
            time=jd_to_utc(jd) if jd is not None else None,
            object_id=str(record.get("objectId") or ""),
            object_kind="objectId" if record.get("objectId") else "",
            source_id=str(record.get("candid") or cand.get("candid") or ""),
            ra=_num(cand.get("ra")),
            dec=_num(cand.get("dec")),
            mag=_num(cand.get("magpsf")),
            mag_err=_num(cand.get("sigmapsf")),
            band=ZTF_BANDS.get(fid, str(fid or "")) if isinstance(fid, int) else "",
            classification=shared(ztf_classification(record)),
            versions=shared(_versions(record)),
        )
    if survey == "lsst":
        src = record.get("diaSource") or {}
        mjd = _num(src.get("midpointMjdTai"))
        obj = record.get("diaObject") or {}
        sso = record.get("ssSource") or {}
        # The object: a diaObject, else a Solar System object (its id, else its designation).
        object_id = (
            src.get("diaObjectId")
            or obj.get("diaObjectId")
            or src.get("ssObjectId")
            or sso.get("ssObjectId")
            or sso.get("designation")
            or ""
        )
        if src.get("diaObjectId") or obj.get("diaObjectId"):
            kind = "diaObjectId"
        elif src.get("ssObjectId") or sso.get("ssObjectId"):
            kind = "ssObjectId"
        else:
            kind = "designation" if object_id else ""
        return AlertSummary(
            survey="lsst",
            time=mjd_tai_to_utc(mjd) if mjd is not None else None,
            object_id=str(object_id),
            object_kind=kind,
            source_id=str(record.get("diaSourceId") or src.get("diaSourceId") or ""),
            ra=_num(src.get("ra")),
            dec=_num(src.get("dec")),
            flux=_num(src.get("psfFlux")),
            flux_err=_num(src.get("psfFluxErr")),
            band=str(src.get("band") or ""),
            classification=shared(lsst_classification(record)),
            versions=shared(_versions(record)),
        )
    return AlertSummary(survey="unknown", versions=_versions(record))


@dataclass(frozen=True, slots=True)
class LightCurvePoint:
    """One point of a light curve: a detection, or an upper limit (``upper=True``)."""

    time: datetime
    band: str
    value: float
    """Magnitude (ZTF) or flux in nJy (LSST); for an upper limit, the limiting magnitude."""
    error: float | None = None
    upper: bool = False
    forced: bool = False


def light_curve(record: dict[str, Any], survey: str) -> list[LightCurvePoint]:
    """Every point of a full alert's light curve, oldest first.

    ZTF: candidate + prv_candidates magnitudes, with upper limits (no magpsf, diffmaglim set).
    LSST: diaSource + prvDiaSources fluxes, plus prvDiaForcedSources as forced photometry.
    """
    points: list[LightCurvePoint] = []
    if survey == "ztf":
        for cand in [*(record.get("prv_candidates") or []), record.get("candidate") or {}]:
            jd = _num(cand.get("jd"))
            if jd is None:
                continue
            band = ZTF_BANDS.get(cand.get("fid") or 0, "?")
            mag = _num(cand.get("magpsf"))
            if mag is not None:
                points.append(LightCurvePoint(jd_to_utc(jd), band, mag, _num(cand.get("sigmapsf"))))
            elif (limit := _num(cand.get("diffmaglim"))) is not None:
                points.append(LightCurvePoint(jd_to_utc(jd), band, limit, upper=True))
    elif survey == "lsst":
        sources = [*(record.get("prvDiaSources") or []), record.get("diaSource") or {}]
        for forced, rows in ((False, sources), (True, record.get("prvDiaForcedSources") or [])):
            for src in rows:
                mjd = _num(src.get("midpointMjdTai"))
                flux = _num(src.get("psfFlux"))
                if mjd is None or flux is None:
                    continue
                points.append(
                    LightCurvePoint(
                        mjd_tai_to_utc(mjd),
                        str(src.get("band") or "?"),
                        flux,
                        _num(src.get("psfFluxErr")),
                        forced=forced,
                    )
                )
    points.sort(key=lambda p: p.time)
    return points


CUTOUT_FIELDS = ("cutoutScience", "cutoutTemplate", "cutoutDifference")


def cutout_bytes(record: dict[str, Any], name: str) -> bytes | None:
    """The FITS bytes of one cutout (ZTF's are gzipped inside a record; LSST's are plain)."""
    value = record.get(name)
    if isinstance(value, dict):
        value = value.get("stampData")
    return value if isinstance(value, bytes) and value else None
