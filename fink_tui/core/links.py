"""Where to read more about an alert's object: its page on Fink's science portal, and the TNS
and SIMBAD searches around its position. Pure functions (no network, no Textual).

The URL forms are the ones the portals build themselves, looked up in their sources:

- ZTF: ``https://ztf.fink-portal.org/<objectId>`` (the ZTF portal's own share link,
  ``apps/summary.py`` of astrolabsoftware/ztf.fink-portal.org).
- LSST: ``https://lsst.fink-portal.org/<diaObjectId>``, and for a Solar System object
  ``https://lsst.fink-portal.org/<packed MPC designation>`` (``index.py`` of
  astrolabsoftware/lsst.fink-portal.org routes digits to the object page and packed
  designations to the Solar System page). Rubin's ``ssObjectId`` is that packed designation's
  ASCII bytes read as one integer: 21163624394469969 is ``K04J12Q``, the alert's
  ``ssSource.designation`` "2004 JQ12" (checked on a real Fink LSST alert).
- TNS: ``https://www.wis-tns.org/search?ra=…&decl=…&radius=…&coords_unit=arcsec`` (the
  portals' TNS button, ``apps/utils.py``).
- SIMBAD: ``https://simbad.cds.unistra.fr/simbad/sim-coo?Coord=…&Radius=…&Radius.unit=arcsec``
  (SIMBAD's URL guide, ``guide/sim-url.htx``; the portals use the older u-strasbg.fr host).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from fink_tui.core.survey import AlertSummary

ZTF_PORTAL = "https://ztf.fink-portal.org/"
LSST_PORTAL = "https://lsst.fink-portal.org/"
TNS_SEARCH = "https://www.wis-tns.org/search"
SIMBAD_CONE = "https://simbad.cds.unistra.fr/simbad/sim-coo"
CONE_ARCSEC = 5.0
"""Radius of the TNS and SIMBAD searches (the portals' TNS default; SIMBAD's is 0.08')."""


@dataclass(frozen=True, slots=True)
class Links:
    """The pages about one alert's object; None where the alert does not say enough."""

    portal: str | None
    tns: str | None
    simbad: str | None

    def to_dict(self) -> dict[str, str | None]:
        """``{"portal": …, "tns": …, "simbad": …}`` (what ``poll --json`` prints)."""
        return {"portal": self.portal, "tns": self.tns, "simbad": self.simbad}

    def named(self) -> list[tuple[str, str]]:
        """(name, URL) of the links there are, the portal first."""
        pairs = (("Fink portal", self.portal), ("TNS", self.tns), ("SIMBAD", self.simbad))
        return [(name, url) for name, url in pairs if url]


def packed_designation(ss_object_id: int) -> str | None:
    """The packed MPC designation a Rubin ``ssObjectId`` holds (its bytes, as ASCII), or None
    if the number is not one."""
    if ss_object_id <= 0 or ss_object_id >= 1 << 64:
        return None
    text = ss_object_id.to_bytes(8, "big").lstrip(b"\0")
    if not text.isalnum() or not text.isascii():
        return None
    return text.decode("ascii")


def portal_url(survey: str, object_id: str, kind: str = "") -> str | None:
    """The object's page on Fink's portal of ``survey``, or None if there is none."""
    if not object_id:
        return None
    if survey == "ztf":
        return ZTF_PORTAL + quote(object_id, safe="") if object_id.isalnum() else None
    if survey != "lsst" or not object_id.isdigit():
        return None
    if kind == "ssObjectId":
        designation = packed_designation(int(object_id))
        return LSST_PORTAL + designation if designation else None
    return LSST_PORTAL + object_id


def _position(ra: float | None, dec: float | None) -> tuple[str, str] | None:
    if ra is None or dec is None or not (0 <= ra <= 360 and -90 <= dec <= 90):
        return None
    return f"{ra:.6f}", f"{dec:.6f}"


def tns_url(ra: float | None, dec: float | None, radius: float = CONE_ARCSEC) -> str | None:
    """A TNS search for objects within ``radius`` arcseconds of (ra, dec), in degrees."""
    where = _position(ra, dec)
    if where is None:
        return None
    query = {"ra": where[0], "decl": where[1], "radius": f"{radius:g}", "coords_unit": "arcsec"}
    return f"{TNS_SEARCH}?{urlencode(query, quote_via=quote)}"


def simbad_url(ra: float | None, dec: float | None, radius: float = CONE_ARCSEC) -> str | None:
    """A SIMBAD cone search within ``radius`` arcseconds of (ra, dec), in degrees."""
    where = _position(ra, dec)
    if where is None:
        return None
    query = {"Coord": f"{where[0]} {where[1]}", "Radius": f"{radius:g}", "Radius.unit": "arcsec"}
    return f"{SIMBAD_CONE}?{urlencode(query, quote_via=quote)}"


def links_for(summary: AlertSummary) -> Links:
    """The portal page of the alert's object, and TNS and SIMBAD around its position."""
    return Links(
        portal_url(summary.survey, summary.object_id, summary.object_kind),
        tns_url(summary.ra, summary.dec),
        simbad_url(summary.ra, summary.dec),
    )
