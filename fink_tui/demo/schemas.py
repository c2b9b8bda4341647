"""The demo's own Avro schemas, with Fink's real field names so the app summarises the demo's
alerts like real ones.

:data:`ZTF_SCHEMA_V1` and :data:`ZTF_SCHEMA_V2` are two versions of a ZTF-shaped alert that
differ visibly (so the schema screen has a difference to show); :data:`LSST_SCHEMA` is a
Rubin/LSST-shaped alert. :func:`conform` fits a record built with every field the factory
knows to one of them.
"""

from __future__ import annotations

from typing import Any

from fink_tui.core.wire import Schema

NAMESPACE = "fink.demo"
FINK_BROKER_VERSION = "4.1"
LSST_SCHEMA_VERSION = "lsst.v10_0"
LSST_FINK_SCIENCE_VERSION = "8.41.0"


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


def schema_default(schema: Schema, name: str) -> Any:
    """The default of the top-level field ``name`` of ``schema`` (None: no such default)."""
    for field in schema.get("fields", ()):
        if field["name"] == name:
            return field.get("default")
    return None


def conform(value: Any, avro_type: Any) -> Any:
    """Keep only what ``avro_type`` has room for: the factory builds a superset of fields."""
    if isinstance(avro_type, list):
        if value is None:
            return None
        return conform(value, next(t for t in avro_type if t != "null"))
    if isinstance(avro_type, dict):
        if avro_type["type"] == "record":
            return {
                f["name"]: conform(value.get(f["name"]), f["type"]) for f in avro_type["fields"]
            }
        if avro_type["type"] == "array":
            return [conform(item, avro_type["items"]) for item in value]
    return value
