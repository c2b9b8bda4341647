"""Survey field mapping, time scales and light curves (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fink_tui.core.astro import flux_to_mag, jd_to_utc, mjd_tai_to_utc
from fink_tui.core.survey import cutout_bytes, light_curve, schema_survey
from tests.helpers import LSST_ALERTS, ZTF_ALERTS, read_alerts


def test_time_scales() -> None:
    """JD 2451545.0 is J2000 noon UTC; MJD TAI loses the 37 leap seconds."""
    assert jd_to_utc(2451545.0) == datetime(2000, 1, 1, 12, tzinfo=UTC)
    assert mjd_tai_to_utc(51544.5) == datetime(2000, 1, 1, 11, 59, 23, tzinfo=UTC)


def test_flux_to_mag() -> None:
    """3631 Jy is AB magnitude 0; non-positive flux has no magnitude."""
    assert flux_to_mag(3631e9) == pytest.approx(0.0, abs=1e-3)
    assert flux_to_mag(-5.0) is None and flux_to_mag(None) is None


def test_survey_of_real_schemas() -> None:
    """The real schemas are recognised by their fields."""
    assert schema_survey(read_alerts(ZTF_ALERTS)[0]) == "ztf"
    assert schema_survey(read_alerts(LSST_ALERTS)[0]) == "lsst"
    assert schema_survey({"type": "record", "name": "x", "fields": []}) == "unknown"


def test_ztf_light_curve_has_detections_and_upper_limits() -> None:
    """candidate + prv_candidates, oldest first; entries without magpsf are upper limits."""
    _, records = read_alerts(ZTF_ALERTS)
    record = max(records, key=lambda r: len(r["prv_candidates"] or []))
    points = light_curve(record, "ztf")
    assert len(points) == len(record["prv_candidates"]) + 1
    assert points == sorted(points, key=lambda p: p.time)
    uppers = [p for p in points if p.upper]
    detections = [p for p in points if not p.upper]
    assert uppers and detections
    assert {p.band for p in points} <= {"g", "r", "i"}


def test_lsst_light_curve_fluxes() -> None:
    """diaSource + prvDiaSources fluxes, and forced photometry marked as such."""
    _, records = read_alerts(LSST_ALERTS)
    record = records[0]
    points = light_curve(record, "lsst")
    forced = [p for p in points if p.forced]
    assert len(points) - len(forced) == len(record["prvDiaSources"]) + 1
    assert forced


def test_cutouts_of_both_surveys() -> None:
    """ZTF stamps are gzipped FITS inside a record; LSST's are plain FITS bytes."""
    ztf = read_alerts(ZTF_ALERTS)[1][0]
    lsst = read_alerts(LSST_ALERTS)[1][0]
    assert (cutout_bytes(ztf, "cutoutScience") or b"")[:2] == b"\x1f\x8b"
    assert (cutout_bytes(lsst, "cutoutScience") or b"").startswith(b"SIMPLE")


def test_lsst_object_falls_back_to_the_dia_object_then_the_solar_system_object() -> None:
    """A real LSST alert's diaSource without its diaObjectId names the object from diaObject;
    a Solar System source from ssSource (its id, else its designation); never partition:offset."""
    from fink_tui.core.survey import summarize

    record = dict(read_alerts(LSST_ALERTS)[1][0])
    dia = record["diaObject"]["diaObjectId"] if record.get("diaObject") else 42
    record = {**record, "diaObject": {"diaObjectId": dia}}
    record["diaSource"] = {**record["diaSource"], "diaObjectId": None, "ssObjectId": None}
    assert summarize(record, "lsst").object_id == str(dia)
    record["diaObject"] = None
    record["ssSource"] = {"ssObjectId": 8031623, "designation": "2010 AB1"}
    assert summarize(record, "lsst").object_id == "8031623"
    record["ssSource"] = {"ssObjectId": None, "designation": "2010 AB1"}
    assert summarize(record, "lsst").object_id == "2010 AB1"


def test_summaries_cross_a_pickle_whole() -> None:
    """Summaries travel from the decoding processes pickled by their fields: every field of
    real ZTF and LSST alerts' summaries comes back equal, and the pickle names no setstate."""
    import pickle

    from fink_tui.core.survey import AlertSummary, summarize

    for path in (ZTF_ALERTS, LSST_ALERTS):
        schema, records = read_alerts(path)
        summaries = [summarize(record, schema_survey(schema)) for record in records[:5]]
        data = pickle.dumps(summaries, protocol=pickle.HIGHEST_PROTOCOL)
        back = pickle.loads(data)
        assert back == summaries and all(type(s) is AlertSummary for s in back)
        assert b"_dataclass_setstate" not in data


def test_summaries_share_their_repeated_values() -> None:
    """The values thousands of alerts repeat (classification, versions) are one object per
    process, made by the summary or by its unpickling, whichever pickle they came in; the
    copies kept are bounded whatever the stream sends."""
    import pickle

    from fink_tui.core import survey
    from fink_tui.core.survey import summarize

    schema, records = read_alerts(ZTF_ALERTS)
    made = [summarize(record, "ztf") for record in records[:4]]
    assert made[0].versions is made[1].versions
    # Each pickled alone, as from separate batches: no pickle memo shares them.
    back = [pickle.loads(pickle.dumps(s, protocol=pickle.HIGHEST_PROTOCOL)) for s in made]
    assert back == made
    assert back[0].versions is back[3].versions is made[0].versions
    assert len({id(s.classification) for s in back}) == len({s.classification for s in made})
    for n in range(survey.SHARED_MAX + 10):
        survey.shared(f"class {n}")
    assert len(survey._SHARED) <= survey.SHARED_MAX
