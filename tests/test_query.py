"""The query language: every operator, NULL paths on both surveys, errors that point at the
column, on the real Fink alerts of ../shared/fink-data (references computed with fastavro and
astropy from the same files)."""

from __future__ import annotations

from typing import Any

import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from hypothesis import given, settings
from hypothesis import strategies as st

from fink_tui.core import paths as paths_module
from fink_tui.core.decode import Alert, AlertDecoder, MessageRef
from fink_tui.core.fastread import VERIFY_COUNT
from fink_tui.core.paths import PathBatches, path_values, schema_paths
from fink_tui.core.query import (
    COLUMNS,
    QueryError,
    compile_query,
    great_circle,
    looks_like_query,
)
from tests.helpers import LSST_ALERTS, OLD_ZTF_ALERT, ZTF_ALERTS, read_alerts, wire_messages


def _alerts(path: Any, topic: str) -> list[Alert]:
    decoder = AlertDecoder()
    out = []
    for i, (key, value) in enumerate(wire_messages(path)):
        alert = decoder.decode(MessageRef(topic, 0, i), key, value)
        assert isinstance(alert, Alert)
        out.append(alert)
    return out


@pytest.fixture(scope="module")
def ztf() -> list[Alert]:
    return _alerts(ZTF_ALERTS, "fink_sn_candidates_ztf")


@pytest.fixture(scope="module")
def lsst() -> list[Alert]:
    return _alerts(LSST_ALERTS, "fink_extragalactic_new_candidate_lsst")


@pytest.fixture()
def both(ztf: list[Alert], lsst: list[Alert]) -> list[Alert]:
    for alert in (*ztf, *lsst):
        alert.fields = None  # each test reads its own paths
    return [*ztf, *lsst]


def matching(text: str, alerts: list[Alert]) -> list[Alert]:
    q = compile_query(text)
    return [a for a in alerts if q.matches(a)]


def count(text: str, alerts: list[Alert]) -> int:
    return len(matching(text, alerts))


ZTF_RECORDS = read_alerts(ZTF_ALERTS)[1]
LSST_RECORDS = read_alerts(LSST_ALERTS)[1]


# --- operators on the short columns ----------------------------------------------------------


def test_comparisons_on_short_columns_match_the_summaries(both: list[Alert]) -> None:
    """Each comparison operator gives what Python's gives on the summaries' values."""
    mags = [a.summary.mag for a in both if a.summary.mag is not None]
    assert len(mags) == 31
    assert count("mag < 18", both) == sum(m < 18 for m in mags)
    assert count("mag <= 18.75052261352539", both) == sum(m <= 18.75052261352539 for m in mags)
    assert count("mag > 19", both) == sum(m > 19 for m in mags)
    assert count("mag >= 19.5", both) == sum(m >= 19.5 for m in mags)
    assert count("band = 'g'", both) == sum(a.summary.band == "g" for a in both)
    assert count("band != 'g'", both) == sum(a.summary.band != "g" for a in both)
    assert count("band <> 'g'", both) == count("band != 'g'", both)
    assert count("flux > 5000", both) == 4  # LSST fluxes 15362, 10148, 8130, 5530
    assert count("flux < -1e4", both) == 1  # the negative difference flux
    assert count("dec > -30", both) == sum(a.summary.dec > -30 for a in both)  # type: ignore[operator]
    assert count("diaSource.diaObjectId = 170028485706776685", both) == 1  # ids compare exactly
    assert count("diaSource.diaObjectId = 170028485706776684", both) == 0


def test_and_or_not_and_parentheses(both: list[Alert]) -> None:
    """AND, OR, NOT and parentheses combine as in SQL (NOT binds tighter than AND, AND than OR)."""
    ref = [
        a
        for a in both
        if a.summary.classification == "SN candidate"
        and a.summary.mag is not None
        and a.summary.mag < 19
        and a.summary.dec is not None
        and a.summary.dec > -30
    ]
    assert matching("class = 'SN candidate' AND mag < 19 AND dec > -30", both) == ref
    assert 0 < len(ref) < 31
    assert count("band = 'g' OR band = 'i'", both) == sum(a.summary.band in "gi" for a in both)
    assert count("band = 'r' OR band = 'g' AND mag < 0", both) == count("band = 'r'", both)
    assert count("(band = 'r' OR band = 'g') AND mag < 0", both) == 0
    assert count("NOT band = 'g'", both) == count("band != 'g'", both)
    assert count("NOT NOT band = 'g'", both) == count("band = 'g'", both)
    assert count("not (band = 'g' or band = 'r')", both) == 7  # lowercase keywords too


def test_in_like_between(both: list[Alert]) -> None:
    """IN, NOT IN, LIKE (% and _), NOT LIKE, ILIKE and BETWEEN."""
    assert count("band IN ('g', 'r')", both) == 31
    assert count("band NOT IN ('g', 'r')", both) == 7
    assert count("survey IN ('lsst')", both) == 7
    assert count("partition IN (0, 1)", both) == 38
    assert count("object LIKE 'ZTF26%'", both) == sum(
        a.summary.object_id.startswith("ZTF26") for a in both
    )
    assert count("object LIKE 'ZTF2_aamcam_'", both) == 2
    assert count("object NOT LIKE 'ZTF%'", both) == 7
    assert count("class LIKE 'sn%'", both) == 0
    assert count("class ILIKE 'sn%'", both) == 34  # 31 SN candidates, 3 SN-like (CATS)
    assert count("topic LIKE '%\\_lsst'", both) == 0  # no escapes: \ is a character
    assert count("topic LIKE '%_lsst'", both) == 7
    assert count("mag BETWEEN 17 AND 18", both) == sum(
        a.summary.mag is not None and 17 <= a.summary.mag <= 18 for a in both
    )
    assert count("mag NOT BETWEEN 17 AND 18", both) == 31 - count("mag BETWEEN 17 AND 18", both)


def test_literals_numbers_strings_booleans(both: list[Alert]) -> None:
    """Integers, decimals, exponents, negative numbers, quotes doubled inside a string."""
    assert count("dec < -20.15", both) == count("dec < -2.015e1", both)
    assert count("ra > .5e2", both) == count("ra > 50", both)
    assert count("- dec > 20", both) == count("dec < -20", both)
    assert count("class = 'it''s'", both) == 0
    assert compile_query("class = 'it''s'").matches(both[0]) is False
    assert count("pred.is_sso = TRUE", both) == 2
    assert count("pred.is_sso = false", both) == 5


def test_time_compared_with_a_date(both: list[Alert]) -> None:
    """``time`` compares with an ISO date or date-time in quotes (UTC)."""
    assert count("time < '2026-03-10'", both) == 7  # the LSST alerts
    assert count("time >= '2026-03-22 12:00:00'", both) == sum(
        a.summary.time is not None and (a.summary.time.hour, a.summary.time.day) >= (12, 22)
        for a in both
    )


def test_cone_search_against_astropy(both: list[Alert]) -> None:
    """DISTANCE in degrees on a great circle, as astropy measures separations; ADQL's forms."""
    centre = SkyCoord(239.06 * u.deg, -20.18 * u.deg)
    ref = [
        a
        for a in both
        if centre.separation(SkyCoord(a.summary.ra * u.deg, a.summary.dec * u.deg)).deg < 0.1
    ]
    assert [a.summary.object_id for a in ref] == ["ZTF26aamcamo", "ZTF26aamcamp"]
    assert matching("DISTANCE(ra, dec, 239.06, -20.18) < 0.1", both) == ref
    adql = "DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 239.06, -20.18)) < 0.1"
    assert matching(adql, both) == ref
    contains = "CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 239.06, -20.18, 0.1)) = 1"
    assert matching(contains, both) == ref
    for a in both:
        sep = centre.separation(SkyCoord(a.summary.ra * u.deg, a.summary.dec * u.deg)).deg
        assert great_circle(a.summary.ra, a.summary.dec, 239.06, -20.18) == pytest.approx(
            sep, abs=1e-9
        )


# --- Avro paths and NULL ---------------------------------------------------------------------


def test_avro_paths_match_fastavro_records(both: list[Alert]) -> None:
    """A path reads the alert's own field: counts equal those computed on fastavro's records."""
    ztf_ref = sum(r["candidate"]["magpsf"] < 18 for r in ZTF_RECORDS)
    assert count("candidate.magpsf < 18", both) == ztf_ref
    assert count("candidate.ndethist >= 3", both) == sum(
        r["candidate"]["ndethist"] >= 3 for r in ZTF_RECORDS
    )
    assert count("objectId LIKE 'ZTF26%'", both) == sum(
        r["objectId"].startswith("ZTF26") for r in ZTF_RECORDS
    )
    sources = [(r["diaObject"] or {}).get("nDiaSources") for r in LSST_RECORDS]
    assert count("diaObject.nDiaSources > 330", both) == sum(
        n is not None and n > 330 for n in sources
    )
    assert count("diaObject.nDiaSources IS NULL", both) == 31 + sources.count(None)
    assert count("clf.cats_class = 11", both) == sum(
        (r["clf"] or {}).get("cats_class") == 11 for r in LSST_RECORDS
    )
    assert count("diaSource.psfFlux > 5000 OR band IN ('g', 'r')", both) == 31 + sum(
        r["diaSource"]["psfFlux"] > 5000 for r in LSST_RECORDS
    )
    assert count("xm.simbad_otype IS NULL", both) == 31 + sum(
        (r["xm"] or {}).get("simbad_otype") is None for r in LSST_RECORDS
    )


def test_a_path_a_schema_lacks_is_null_on_both_surveys(both: list[Alert]) -> None:
    """ZTF paths are NULL on LSST alerts and the other way round; an unknown path is NULL."""
    assert count("candidate.magpsf IS NULL", both) == 7
    assert count("candidate.magpsf IS NOT NULL", both) == 31
    assert count("diaSource.psfFlux IS NULL", both) == 31
    assert count("diaObject.nDiaSources IS NOT NULL", both) == 5  # 2 solar-system alerts: none
    assert count("no.such.path IS NULL", both) == 38
    assert count("candidate.no_such_field IS NULL", both) == 38
    assert count("candidate.magpsf.deeper IS NULL", both) == 38  # magpsf is no record
    # A comparison with NULL is unknown, and so is its negation: neither matches.
    assert count("candidate.magpsf < 100", both) == 31
    assert count("NOT candidate.magpsf < 100", both) == 0
    assert count("candidate.magpsf < 100 OR flux > -1e9", both) == 38
    assert count("mag = mag", both) == 31  # a short column that is empty is NULL too
    assert count("object IS NULL", both) == 0


def test_old_ztf_schema_paths() -> None:
    """An older Fink ZTF schema (named type references) resolves the same paths."""
    (alert,) = _alerts(OLD_ZTF_ALERT, "t")
    record = read_alerts(OLD_ZTF_ALERT)[1][0]
    values = path_values(alert.schema, alert.value, ("candidate.magpsf", "cdsxmatch", "nope"))
    assert values == {
        "candidate.magpsf": record["candidate"]["magpsf"],
        "cdsxmatch": record["cdsxmatch"],
        "nope": None,
    }


def test_schema_paths_keep_only_what_the_schema_has(lsst: list[Alert]) -> None:
    """The projection holds the paths the schema has, nothing of those it lacks."""
    keep = schema_paths(
        lsst[0].schema.schema,
        ("diaObject.nDiaSources", "candidate.magpsf", "xm.simbad_otype", "xm", "diaSource.nope"),
    )
    assert keep == {"diaObject": {"nDiaSources": None}, "xm": None}


def test_no_read_for_a_schema_without_the_paths(
    lsst: list[Alert], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An LSST alert asked for ZTF paths is not decoded at all."""

    def refuse(*_args: object) -> None:
        raise AssertionError("read")

    monkeypatch.setattr(paths_module.fastavro, "schemaless_reader", refuse)
    values = path_values(lsst[0].schema, lsst[0].value, ("candidate.magpsf", "objectId"))
    assert values == {"candidate.magpsf": None, "objectId": None}


def test_path_values_are_read_once_per_alert(
    ztf: list[Alert], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The values a query reads are kept on the alert: a second query on them reads nothing."""
    alert = ztf[0]
    alert.fields = None
    calls: list[tuple[str, ...]] = []
    real = paths_module.path_values

    def counted(info: Any, value: bytes, paths: tuple[str, ...]) -> dict[str, Any]:
        calls.append(paths)
        return real(info, value, paths)

    monkeypatch.setattr(paths_module, "path_values", counted)
    q = compile_query("candidate.magpsf < 30 AND candidate.magpsf > 0")
    assert q.paths == ("candidate.magpsf",)
    assert q.matches(alert) and q.matches(alert)
    assert compile_query("candidate.magpsf > 0 AND candid > 0").matches(alert)
    assert calls == [("candidate.magpsf",), ("candid",)]


def test_a_value_that_does_not_decode_gives_nulls(ztf: list[Alert]) -> None:
    """Garbage where the paths are read: NULL, never an exception."""
    values = path_values(ztf[0].schema, b"\x01\x02", ("candidate.magpsf",))
    assert values == {"candidate.magpsf": None}


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("mag < 1x", 7, "expected a number"),
        ("mag < 'x'", 7, "mag is a number"),
        ("band = 3", 8, "band is text"),
        ("mag < 'abc", 7, "not closed"),
        ('class = "SN"', 9, "single quotes"),
        ("mag <", 6, "ends early"),
        ("(mag < 1", 9, "expected )"),
        ("mag < 19 AND", 13, "ends early"),
        ("mag < 19 mag", 10, "expected"),
        ("mag = = 1", 7, "expected a value"),
        ("foo(1) < 2", 1, "no function 'foo'"),
        ("DISTANCE(ra, dec, 1) < 2", 1, "takes 2 or 4 arguments"),
        ("DISTANCE(ra, dec, 'x', 1) < 2", 19, "expected a number for a position"),
        ("time > 'yesterday'", 8, "not a time"),
        ("band LIKE 3", 11, "expected a 'string'"),
        ("mag LIKE '1%'", 5, "LIKE compares text"),
        ("band IN ('g', mag)", 15, "IN takes numbers or 'strings'"),
        ("mag", 4, "ends early"),
        ("", 1, "empty"),
        ("mag < 19 ; drop", 10, "unexpected ';'"),
        ("band = 'g' AND 3", 17, "ends early"),
    ],
)
def test_mistakes_name_the_column(text: str, column: int, words: str) -> None:
    """Each mistake is one QueryError whose text starts with the column it points at."""
    with pytest.raises(QueryError) as caught:
        compile_query(text)
    assert caught.value.column == column, str(caught.value)
    assert str(caught.value).startswith(f"column {column}: ")
    assert words in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" ()'=<>!,.-_%0123456789abcgmrANDORNOTINLIKEISNUL", max_size=40))
def test_any_text_compiles_or_is_a_query_error(text: str) -> None:
    """Never a traceback: whatever is typed either compiles or raises QueryError."""
    try:
        compile_query(text)
    except QueryError as exc:
        assert exc.column >= 1


def test_plain_words_are_searches() -> None:
    """Text without operator, parenthesis or quote is a word to search for, not a query."""
    assert not looks_like_query("SN candidate")
    assert not looks_like_query("ZTF26")
    assert looks_like_query("mag < 19")
    assert looks_like_query("class = 'x'")


def test_short_columns_are_documented() -> None:
    """Each short column says what it is (the help lists them)."""
    assert {"time", "topic", "object", "class", "mag", "flux", "band", "ra", "dec"} <= set(COLUMNS)
    assert all(column.help for column in COLUMNS.values())


@pytest.mark.parametrize(
    ("source", "paths"),
    [
        (ZTF_ALERTS, ("candidate.magpsf", "candidate.ndethist", "objectId", "cdsxmatch")),
        (LSST_ALERTS, ("diaObject.nDiaSources", "diaSource.psfFlux", "xm.simbad_otype")),
        (LSST_ALERTS, ("clf.cats_class", "pred.is_sso", "candidate.magpsf")),
        (ZTF_ALERTS, ("mangrove", "candidate.magpsf")),  # a map: fastavro reads it
    ],
)
def test_path_batches_give_what_fastavro_gives(source: Any, paths: tuple[str, ...]) -> None:
    """A decoding process reads a batch's paths with the Rust reader once its first values
    (VERIFY_COUNT) matched fastavro's exactly, the rest of that batch already; the values are
    the same either way."""
    alerts = _alerts(source, "t")
    values = [a.value for a in alerts]
    reference = [path_values(alerts[0].schema, v, paths) for v in values]
    batches = PathBatches()
    assert batches.read(alerts[0].schema, values, paths) == reference  # verifying
    assert batches.read(alerts[0].schema, values, paths) == reference
    fast = "mangrove" not in paths
    verified = min(len(values), VERIFY_COUNT)
    assert batches.fast_reads == (2 * len(values) - verified if fast else 0)


def test_path_batches_with_a_broken_value() -> None:
    """A value that does not decode gives NULLs; its neighbours their values."""
    alerts = _alerts(ZTF_ALERTS, "t")[:4]
    paths = ("candidate.magpsf",)
    batches = PathBatches()
    values = [a.value for a in alerts]
    batches.read(alerts[0].schema, values, paths)
    broken = [values[0], values[1][:500], values[2]]
    got = batches.read(alerts[0].schema, broken, paths)
    assert got[1] == {"candidate.magpsf": None}
    assert got[0]["candidate.magpsf"] == alerts[0].summary.mag
    assert got[2]["candidate.magpsf"] == alerts[2].summary.mag
