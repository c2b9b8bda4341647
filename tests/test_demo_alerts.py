"""Tests of the demo's alert generator (schemas, light curves, cutouts, malformed messages)
and of the wire-format encoder it publishes with."""

from __future__ import annotations

import copy
import gzip
import io
import json
import math
from typing import Any

import fastavro
import numpy as np
import pytest
from astropy.io import fits

from fink_tui.core import wire
from fink_tui.core.decode import Alert, AlertDecoder, DecodeFailure, MessageRef
from fink_tui.core.wire import encode
from fink_tui.demo.factory import AlertFactory
from fink_tui.demo.lightcurves import KINDS, equatorial_to_ecliptic
from fink_tui.demo.malformed import malformed_messages
from fink_tui.demo.schemas import LSST_SCHEMA, ZTF_SCHEMA_V1, ZTF_SCHEMA_V2

NOW_JD = 2461121.9  # 2026-03-22 09:36 UTC, a night at Palomar
SURVEYS = ("ztf-v1", "ztf-v2", "lsst")


def make(factory: AlertFactory, survey: str, kind: str | None) -> tuple[dict[str, Any], Any]:
    if survey == "lsst":
        return factory.lsst_alert(kind), LSST_SCHEMA
    schema = ZTF_SCHEMA_V1 if survey == "ztf-v1" else ZTF_SCHEMA_V2
    return factory.ztf_alert(kind, schema), schema


def decode(key: bytes, value: bytes) -> dict[str, Any]:
    """Decode as a Fink client does: the writer schema from the key, then the whole value."""
    stream = io.BytesIO(value)
    record = fastavro.schemaless_reader(stream, fastavro.parse_schema(json.loads(key)), None)
    assert stream.tell() == len(value), "bytes left over after the record"
    assert isinstance(record, dict)
    return record


def ztf_detections(record: dict[str, Any]) -> list[dict[str, Any]]:
    points = [p for p in record["prv_candidates"] or [] if p["magpsf"] is not None]
    return sorted([*points, record["candidate"]], key=lambda p: float(p["jd"]))


def smoothed_peak(image: np.ndarray[Any, Any]) -> tuple[int, int]:
    """Where a 3x3 box sum of |image| is largest (a point source, not a hot noise pixel)."""
    a = np.abs(np.asarray(image, dtype=np.float64))
    box = sum(a[i : a.shape[0] - 2 + i, j : a.shape[1] - 2 + j] for i in range(3) for j in range(3))
    y, x = np.unravel_index(int(np.argmax(box)), np.shape(box))
    return int(y) + 1, int(x) + 1


@pytest.fixture
def factory() -> AlertFactory:
    return AlertFactory(seed=2024, now_jd=NOW_JD)


@pytest.mark.parametrize("survey", SURVEYS)
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_round_trips_through_the_wire_format(
    factory: AlertFactory, survey: str, kind: str
) -> None:
    """A record encodes to (schema JSON key, schemaless value) and decodes back equal."""
    record, schema = make(factory, survey, kind)
    key, value = encode(record, schema)
    assert json.loads(key) == schema
    decoded = decode(key, value)
    assert decoded.keys() == record.keys()
    if survey == "lsst":
        assert decoded["diaSourceId"] == decoded["diaSource"]["diaSourceId"]
        assert decoded["diaSourceId"] == record["diaSourceId"]
        assert decoded["diaSource"]["band"] in "ugrizy"
        assert decoded["lsst_schema_version"] == "lsst.v10_0"
    else:
        assert decoded["objectId"] == record["objectId"]
        assert decoded["objectId"].startswith("ZTF") and len(decoded["objectId"]) == 12
        assert decoded["candid"] == decoded["candidate"]["candid"]
        assert decoded["candidate"]["fid"] in (1, 2, 3)
        assert decoded["schemavsn"] == ("4.01" if survey == "ztf-v1" else "4.02")


@pytest.mark.parametrize("kind", KINDS)
def test_ztf_cutouts_are_gzipped_fits_with_the_source_in_the_difference(
    factory: AlertFactory, kind: str
) -> None:
    record = factory.ztf_alert(kind)
    images = {}
    for name in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):
        stamp = record[name]
        assert stamp["fileName"].endswith(".fits.gz")
        with fits.open(io.BytesIO(gzip.decompress(stamp["stampData"]))) as hdus:
            hdus.verify("exception")
            images[name] = np.array(hdus[0].data)
    assert all(image.shape == (63, 63) for image in images.values())
    assert images["cutoutDifference"].dtype.kind == "f"
    y, x = smoothed_peak(images["cutoutDifference"])
    assert abs(y - 31) <= 2 and abs(x - 31) <= 2


@pytest.mark.parametrize("kind", KINDS)
def test_lsst_cutouts_are_plain_fits_with_the_source_in_the_difference(
    factory: AlertFactory, kind: str
) -> None:
    record = factory.lsst_alert(kind)
    images = {}
    for name in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):
        assert record[name][:6] == b"SIMPLE"  # not gzipped
        with fits.open(io.BytesIO(record[name])) as hdus:
            hdus.verify("exception")
            images[name] = np.array(hdus[0].data)
    assert all(image.shape == (30, 30) for image in images.values())
    y, x = smoothed_peak(images["cutoutDifference"])
    assert abs(y - 14.5) <= 2.5 and abs(x - 14.5) <= 2.5


def test_supernovae_rise_then_fall(factory: AlertFactory) -> None:
    """A mature SN: upper limits, then a rise to a peak, then a decline.

    Every one has faded since its brightest point; the rise shows in most (a survey that skips
    nights can miss it, as ZTF does).
    """
    mature = [
        a for a in (factory.ztf_alert("sn") for _ in range(40)) if a["finkclass"] == "SN candidate"
    ]
    assert len(mature) >= 15
    rises = limits_first = 0
    for record in mature:
        points = ztf_detections(record)
        mags = [float(p["magpsf"]) for p in points]
        peak = int(np.argmin(mags))
        assert peak < len(mags) - 1 and mags[-1] - mags[peak] > 0.1, mags
        rises += 0 < peak and mags[0] - mags[peak] > 0.3
        limits = [p for p in record["prv_candidates"] if p["magpsf"] is None]
        limits_first += any(p["jd"] < points[0]["jd"] for p in limits)
        assert all(p["ra"] is None and 19.0 < p["diffmaglim"] < 21.5 for p in limits)
        assert record["snn_sn_vs_all"] > 0.7
    assert rises >= 0.75 * len(mature)
    assert limits_first >= 0.9 * len(mature)


def test_early_supernovae_are_young_and_rising(factory: AlertFactory) -> None:
    early = [
        a
        for a in (factory.ztf_alert("sn") for _ in range(40))
        if a["finkclass"] == "Early SN Ia candidate"
    ]
    assert len(early) >= 5
    for record in early:
        points = ztf_detections(record)
        assert NOW_JD - points[0]["jd"] < 11.0
        assert any(
            p["magpsf"] is None and p["jd"] < points[0]["jd"] for p in record["prv_candidates"]
        )
        for fid in (1, 2, 3):  # within a band, later is brighter (allowing for the noise)
            band = [p for p in points if p["fid"] == fid]
            if len(band) >= 2 and band[-1]["jd"] - band[0]["jd"] > 0.5:
                noise = 2 * math.hypot(band[0]["sigmapsf"], band[-1]["sigmapsf"])
                assert band[-1]["magpsf"] < band[0]["magpsf"] + noise
        assert record["rf_snia_vs_nonia"] > 0.5 and record["snn_sn_vs_all"] > 0.5


def test_variable_stars_vary_and_are_catalogued(factory: AlertFactory) -> None:
    """Most show a variation well above their errors (faint ones near the limit may not)."""
    varying = 0
    for _ in range(10):
        record = factory.ztf_alert("variable")
        assert record["finkclass"] in ("RRLyr", "EB*")
        assert record["cdsxmatch"] == record["finkclass"]
        assert record["candidate"]["ndethist"] > 50  # known for years
        by_band: dict[int, list[dict[str, Any]]] = {}
        for p in ztf_detections(record):
            by_band.setdefault(p["fid"], []).append(p)
        for band in by_band.values():
            mags = [float(p["magpsf"]) for p in band]
            sigma = float(np.median([p["sigmapsf"] for p in band]))
            if len(band) >= 3 and max(mags) - min(mags) > 3 * sigma:
                varying += 1
                assert max(mags) - min(mags) < 2.0
                break
    assert varying >= 8


def test_kilonovae_fade_fast_after_recent_limits(factory: AlertFactory) -> None:
    for _ in range(10):
        record = factory.ztf_alert("kilonova")
        assert record["finkclass"] == "Kilonova candidate" and record["rf_kn_vs_nonkn"] > 0.5
        points = ztf_detections(record)
        assert points[-1]["jd"] - points[0]["jd"] < 3.5
        assert any(p["magpsf"] is None for p in record["prv_candidates"])


def test_asteroids_are_known_solar_system_objects_near_the_ecliptic(
    factory: AlertFactory,
) -> None:
    for _ in range(10):
        record = factory.ztf_alert("asteroid")
        cand = record["candidate"]
        assert cand["ssnamenr"] and record["roid"] == 3
        assert record["finkclass"] == "Solar System MPC"
        assert 0.0 <= cand["ssdistnr"] < 5.0 and cand["ndethist"] <= 3
        _, beta = equatorial_to_ecliptic(cand["ra"], cand["dec"])
        assert abs(beta) < 35.0
        positions = {(p["ra"], p["dec"]) for p in ztf_detections(record)}
        assert len(positions) == cand["ndethist"]  # it moves between detections
        lsst = factory.lsst_alert("asteroid")
        assert lsst["pred"]["is_sso"] and lsst["diaSource"]["ssObjectId"]
        assert lsst["diaSource"]["diaObjectId"] == 0 and lsst["ssSource"]["designation"]


@pytest.mark.parametrize("kind", ["sn", "variable", "kilonova"])
def test_lsst_alerts_carry_a_history_in_njy(factory: AlertFactory, kind: str) -> None:
    for _ in range(5):
        record = factory.lsst_alert(kind)
        src = record["diaSource"]
        prv = record["prvDiaSources"]
        assert 5 <= len(prv) <= 50
        assert all(p["midpointMjdTai"] < src["midpointMjdTai"] for p in prv)
        assert all(p["diaObjectId"] == src["diaObjectId"] for p in prv)
        assert {p["band"] for p in prv} <= set("ugrizy")
        assert all(abs(p["psfFlux"]) / p["psfFluxErr"] >= 4.99 for p in [*prv, src])
        assert record["diaObject"]["nDiaSources"] == len(prv) + 1
        assert record["prvDiaForcedSources"]
        if kind == "sn":
            assert src["psfFlux"] > 0 and record["clf"]["cats_class"] == 11
        if kind == "variable":
            assert record["xm"]["simbad_otype"] in ("RRLyr", "EB*")


def test_v1_and_v2_differ_where_intended() -> None:
    def fields(schema: dict[str, Any]) -> dict[str, Any]:
        return {f["name"]: f for f in schema["fields"]}

    v1, v2 = fields(ZTF_SCHEMA_V1), fields(ZTF_SCHEMA_V2)
    assert set(v2) - set(v1) == {"slsn_score", "anomaly_score"}
    assert set(v1) - set(v2) == {"mulens"}
    changed = {n for n in set(v1) & set(v2) if v1[n]["type"] != v2[n]["type"]}
    assert changed == {"candidate", "nalerthist"}
    assert (v1["nalerthist"]["type"], v2["nalerthist"]["type"]) == ("int", "long")
    cand1, cand2 = fields(v1["candidate"]["type"]), fields(v2["candidate"]["type"])
    assert set(cand2) - set(cand1) == {"drb"}
    assert (v1["schemavsn"]["default"], v2["schemavsn"]["default"]) == ("4.01", "4.02")
    for schema in (ZTF_SCHEMA_V1, ZTF_SCHEMA_V2, LSST_SCHEMA):
        fastavro.parse_schema(schema)
        assert schema["namespace"].startswith("fink.demo") and schema["doc"]
    assert (ZTF_SCHEMA_V1["name"], ZTF_SCHEMA_V1["namespace"]) == ("alert", "fink.demo.ztf")


def test_the_same_seed_yields_identical_bytes() -> None:
    def stream(seed: int) -> list[tuple[bytes, bytes]]:
        factory = AlertFactory(seed=seed, now_jd=NOW_JD)
        out = []
        for i in range(9):
            record, schema = make(factory, SURVEYS[i % 3], None)
            out.append(encode(record, schema))
        return out

    assert stream(7) == stream(7)
    assert stream(7) != stream(8)


def test_now_jd_freezes_the_alert_times() -> None:
    factory = AlertFactory(seed=1, now_jd=NOW_JD)
    assert NOW_JD - 0.03 < factory.ztf_alert()["candidate"]["jd"] <= NOW_JD
    mjd = factory.lsst_alert()["diaSource"]["midpointMjdTai"]
    assert abs(mjd - (NOW_JD - 2400000.5)) < 0.02
    later = factory.ztf_alert(now_jd=NOW_JD + 10.0)["candidate"]["jd"]
    assert NOW_JD + 9.9 < later <= NOW_JD + 10.0


def test_encode_parses_each_schema_once(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = copy.deepcopy(ZTF_SCHEMA_V1)  # a new object, so not cached yet
    calls = []
    real = fastavro.parse_schema

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(wire.fastavro, "parse_schema", counting)
    factory = AlertFactory(seed=3, now_jd=NOW_JD)
    keys = {encode(factory.ztf_alert(schema=schema), schema)[0] for _ in range(3)}
    assert len(calls) == 1
    assert keys == {json.dumps(schema).encode()}


def test_unknown_kind_is_refused(factory: AlertFactory) -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        factory.ztf_alert("quasar")


def failure_stage(key: bytes | None, value: bytes) -> str:
    """Where decoding a message fails: ``key``, ``json``, ``schema``, ``avro`` or ``none``."""
    if key is None:
        return "key"
    try:
        schema = json.loads(key)
    except ValueError:
        return "json"
    try:
        parsed = fastavro.parse_schema(schema)
    except Exception:
        return "schema"
    try:
        fastavro.schemaless_reader(io.BytesIO(value), parsed, None)
    except Exception:
        return "avro"
    return "none"


def test_each_malformed_message_fails_to_decode(factory: AlertFactory) -> None:
    messages = malformed_messages(factory)
    stages = [failure_stage(key, value) for key, value, _ in messages]
    assert "none" not in stages, list(zip(stages, (d for *_, d in messages), strict=True))
    assert set(stages) == {"key", "json", "schema", "avro"}
    assert all(description for *_, description in messages)
    assert len(messages) >= 5


def test_the_app_decoder_summarises_demo_alerts(factory: AlertFactory) -> None:
    """The core decoder reads the demo's alerts like real ones, and rejects the bad ones."""
    decoder = AlertDecoder()
    ref = MessageRef("fink_demo", 0, 0)
    for survey in SURVEYS:
        for kind in KINDS:
            record, schema = make(factory, survey, kind)
            alert = decoder.decode(ref, *encode(record, schema))
            assert isinstance(alert, Alert), alert
            summary = alert.summary
            assert summary.survey == survey[:4].rstrip("-")
            assert summary.ra is not None and summary.dec is not None and summary.band
            assert summary.time is not None and summary.classification
            assert math.isfinite(summary.mag if summary.mag is not None else summary.flux)
    for key, value, description in malformed_messages(factory):
        assert isinstance(decoder.decode(ref, key, value), DecodeFailure), description
