"""The demo's alert factory: realistic ZTF- and Rubin/LSST-shaped Fink alerts.

:class:`AlertFactory` makes alert records with realistic values: sky positions, light curves
that behave like their class (see :mod:`~fink_tui.demo.lightcurves`), upper limits, FITS
cutouts (:mod:`~fink_tui.demo.cutouts`), and Fink classification fields that agree with the
class. The records fit the demo's schemas (:mod:`~fink_tui.demo.schemas`); the same seed gives
the same alerts. Nothing here reads Fink's real data: every alert is generated.
"""

from __future__ import annotations

import gzip
import math
import random
import string
from dataclasses import replace
from datetime import timedelta

import numpy as np

from fink_tui.core.astro import (
    LSST_BANDS,
    LSST_ZEROPOINT_NJY,
    MJD_EPOCH_UTC,
    MJD_OFFSET,
    TAI_MINUS_UTC_DAYS,
    ZTF_BANDS,
    jd_now,
    jd_to_utc,
)
from fink_tui.core.wire import Record, Schema
from fink_tui.demo.cutouts import (
    LSST_PIXEL_ARCSEC,
    LSST_STAMP,
    ZTF_PIXEL_ARCSEC,
    ZTF_STAMP,
    Blob,
    field_stars,
    fits_bytes,
    stamp_header,
    stamps,
)
from fink_tui.demo.lightcurves import (
    KINDS,
    ObjectModel,
    difference_mag,
    equatorial_to_ecliptic,
    njy,
    random_model,
)
from fink_tui.demo.schemas import (
    FINK_BROKER_VERSION,
    LSST_FINK_SCIENCE_VERSION,
    LSST_SCHEMA,
    LSST_SCHEMA_VERSION,
    ZTF_SCHEMA_V1,
    conform,
    schema_default,
)

KIND_WEIGHTS = (0.42, 0.26, 0.22, 0.10)
"""How often each of :data:`~fink_tui.demo.lightcurves.KINDS` comes when none is asked for
(kilonovae are far rarer in reality)."""

LSST_DEPTH = np.array([23.7, 24.6, 24.2, 23.7, 23.1, 22.3])
"""Rubin single-visit 5-sigma depth per band (AB mag)."""
LSST_BAND_WEIGHTS = np.array([0.07, 0.17, 0.25, 0.25, 0.16, 0.10])
"""How often Rubin observes in each band."""
ZTF_FIRST_NIGHT_JD = 2457754.5  # ZTF's night id (nid) counts nights from this date


def ztf_sigma(mag: float, limit: float) -> float:
    """Magnitude error of a ZTF detection at ``mag`` on an image of 5-sigma depth ``limit``."""
    # The limit is a 5-sigma detection, so SNR = 5 * 10**(0.4 * (limit - mag)).
    return max(0.01, 1.0857 / (5.0 * 10 ** (0.4 * (limit - mag))))


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
        return dict(conform(record, schema))

    def lsst_alert(self, kind: str | None = None, *, now_jd: float | None = None) -> Record:
        """A Rubin/LSST alert record valid against :data:`LSST_SCHEMA`."""
        kind = self._kind(kind)
        now = self._now(now_jd)
        return dict(conform(self._lsst_record(kind, now), LSST_SCHEMA))

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

    def _letters(self, k: int) -> str:
        return "".join(self._random.choices(string.ascii_lowercase, k=k))

    def _asteroid_name(self, year: int) -> str:
        if self._random.random() < 0.7:
            return str(self._random.randint(1000, 750000))
        letters = self._random.choice(string.ascii_uppercase) + self._random.choice(
            string.ascii_uppercase
        )
        return f"{year - self._random.randint(0, 25)}{letters}{self._random.randint(1, 300)}"

    # ---- ZTF -----------------------------------------------------------------------------

    def _ztf_record(self, kind: str, now: float, schema: Schema) -> Record:
        rnd = self._random
        t_c = -self._u(0.003, 0.02)  # Fink relays an alert minutes after the exposure
        jd = now + t_c
        fid = rnd.choices((1, 2, 3), weights=(0.45, 0.5, 0.05))[0]
        limit = self._ztf_limit()
        model = random_model(self._random, kind, "ztf")
        at = (np.array([t_c]), np.array([fid]))
        for _ in range(30):
            mag, ref = float(model.mags(*at)[0]), float(model.ref_mags(at[1])[0])
            # ZTF alerts come from the difference image: the change must be detected there.
            if difference_mag(mag, ref) < limit - 0.4:
                break
            model = random_model(
                self._random, kind, "ztf", model.subclass
            )  # keep the class's proportions
        else:
            model = replace(model, mag=model.mag - (mag - limit + 1.0))
            mag, ref = float(model.mags(*at)[0]), float(model.ref_mags(at[1])[0])

        history = self._ztf_history(model, t_c, fid, now)
        detections = [p for p in history if p["magpsf"] is not None]
        sigma = ztf_sigma(mag, limit)
        # For a variable star this is its total magnitude (what Fink's light-curve views show
        # after adding the reference flux back), so the curve has the shape of its class.
        magpsf = mag + self._rng.normal(0.0, sigma)
        rcid, field = rnd.randrange(64), rnd.randint(250, 1900)
        pid = self._ztf_pid(jd, rcid)
        candid = pid * 10**6 + rnd.randrange(10**6)
        ra, dec = model.position(t_c)
        ra, dec = self._jitter(ra, dec, 0.08)
        year_now = jd_to_utc(now).year

        if kind == "variable":
            first_jd = now - self._u(365.0, 2900.0)  # a star known for years
            ndethist = len(detections) + 1 + rnd.randint(80, 900)
        else:
            first_jd = min([jd, *(p["jd"] for p in detections)])
            ndethist = len(detections) + 1
        object_year = jd_to_utc(first_jd).year
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
        static = field_stars(self._random, ZTF_STAMP, psf, counts, (16.5, 21.0))
        centre = (ZTF_STAMP - 1) / 2.0
        if kind == "variable":
            static.append(Blob(centre, centre, counts(ref), psf))
        elif kind in ("sn", "kilonova"):
            angle = self._u(0.0, 2 * math.pi)
            off = host_offset / ZTF_PIXEL_ARCSEC
            static.append(
                Blob(
                    centre + off * math.cos(angle),
                    centre + off * math.sin(angle),
                    counts(host_mag),
                    self._u(2.0, 5.0),
                )
            )
        images = stamps(
            self._random, self._rng, ZTF_STAMP, transient, static, psf, noise, self._u(80.0, 300.0)
        )
        header = stamp_header(ZTF_STAMP, "ZTF", ra, dec, ZTF_BANDS[fid], zp)
        suffixes = (f"_pid{pid}_targ_sci", "_ref", f"_pid{pid}_targ_scimref")
        cutouts = {}
        for name, suffix, image in zip(
            ("cutoutScience", "cutoutTemplate", "cutoutDifference"), suffixes, images, strict=True
        ):
            stamp = gzip.compress(fits_bytes(header, image), compresslevel=1, mtime=0)
            cutouts[name] = {"fileName": f"candid{candid}{suffix}.fits.gz", "stampData": stamp}

        record: Record = {
            "schemavsn": schema_default(schema, "schemavsn") or "4.01",
            "publisher": "Fink",
            "objectId": object_id,
            "candid": candid,
            "candidate": candidate,
            "prv_candidates": history,
            **cutouts,
            "fink_broker_version": schema_default(schema, "fink_broker_version")
            or FINK_BROKER_VERSION,
            "fink_science_version": schema_default(schema, "fink_science_version") or "8.40.0",
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
        stamp = jd_to_utc(jd).strftime("%Y%m%d") + f"{int(((jd + 0.5) % 1.0) * 1e6):06d}"
        return (
            f"ztf_{stamp}_{field:06d}_z{ZTF_BANDS[fid]}_c{rcid // 4 + 1:02d}_o_q{rcid % 4 + 1}"
            "_scimrefdiffimg.fits"
        )

    def _jitter(self, ra: float, dec: float, arcsec: float) -> tuple[float, float]:
        dra = self._random.gauss(0.0, arcsec) / 3600.0 / max(math.cos(math.radians(dec)), 0.05)
        return (ra + dra) % 360.0, dec + self._random.gauss(0.0, arcsec) / 3600.0

    def _ztf_history(self, model: ObjectModel, t_c: float, fid: int, now: float) -> list[Record]:
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
        detectable = difference_mag(mags, ref)
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
                sigma = ztf_sigma(mag, limit)
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

    def _ztf_fink_values(self, model: ObjectModel) -> Record:
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
        err = float(njy(depth)) / 5.0
        model = random_model(self._random, kind, "lsst")
        for _ in range(30):
            diff = model.difference_flux(np.array([t_c]), np.array([band]))[0]
            if abs(diff) / err >= 8.0:
                break
            model = random_model(self._random, kind, "lsst", model.subclass)
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
        noise = float(njy(depth)) / (2 * math.pi * psf**2) / 5.0
        ref = float(model.ref_mags(np.array([band]))[0])
        static = field_stars(self._random, LSST_STAMP, psf, njy, (18.0, 23.0))
        centre = (LSST_STAMP - 1) / 2.0
        if kind == "variable":
            static.append(Blob(centre, centre, float(njy(ref)), psf))
        elif kind in ("sn", "kilonova"):
            angle, off = self._u(0.0, 2 * math.pi), self._u(1.5, 8.0)
            static.append(
                Blob(
                    centre + off * math.cos(angle),
                    centre + off * math.sin(angle),
                    float(njy(self._u(20.5, 23.5))),
                    self._u(2.0, 4.0),
                )
            )
        transient = float(model.difference_flux(np.array([t_c]), np.array([band]))[0])
        science, template, difference = stamps(
            self._random, self._rng, LSST_STAMP, transient, static, psf, noise, 0.0
        )
        header = stamp_header(
            LSST_STAMP, "LSST", source["ra"], source["dec"], LSST_BANDS[band], LSST_ZEROPOINT_NJY
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
            "cutoutDifference": fits_bytes(header, difference),
            "cutoutScience": fits_bytes(header, science),
            "cutoutTemplate": fits_bytes(header, template),
            "lsst_schema_version": LSST_SCHEMA_VERSION,
            "fink_broker_version": FINK_BROKER_VERSION,
            "fink_science_version": LSST_FINK_SCIENCE_VERSION,
            "publisher": "Fink",
            **self._lsst_fink_values(model, first=not prv),
        }
        if kind == "asteroid":
            assert ss_object_id is not None
            lam, beta = equatorial_to_ecliptic(source["ra"], source["dec"])
            year = jd_to_utc(now).year
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

    def _visit(self, mjd: float) -> int:
        # Visits are numbered by the night's date in Chile (UTC-4 is close enough) and a counter.
        night = MJD_EPOCH_UTC + timedelta(days=mjd - 4.0 / 24.0)
        return int(f"{night:%Y%m%d}{self._random.randint(1, 1200):05d}")

    def _dia_source(
        self,
        model: ObjectModel,
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
        err = float(njy(depth)) / 5.0
        if true_flux is None:
            true_flux = float(model.difference_flux(np.array([t]), np.array([band]))[0])
        flux = true_flux + self._random.gauss(0.0, err)
        if abs(flux) / err < 5.0:
            if not force_detect:
                return None
            # An earlier epoch chosen for its expected SNR; noise pulled it under the cut.
            flux = math.copysign(5.0 * err, true_flux if true_flux else flux)
        ra, dec = self._jitter(*model.position(t), 0.03)
        mjd = mjd_now + t
        science = njy(model.mags(np.array([t]), np.array([band])))[0]
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
            "band": LSST_BANDS[band],
            "timeProcessedMjdTai": mjd + self._u(0.001, 0.003),
        }

    def _lsst_window(self, model: ObjectModel) -> float:
        if model.kind == "variable":
            return -365.0  # Rubin sends a year of history
        return model.t0

    def _lsst_prv_sources(
        self,
        model: ObjectModel,
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
        err = njy(depths) / 5.0
        true = model.difference_flux(t, bands)
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
        self, model: ObjectModel, t_c: float, mjd_now: float, dia_object_id: int
    ) -> list[Record]:
        """Forced photometry at the object's position, detected or not (also before the rise)."""
        n = self._random.randint(3, 30)
        start = self._lsst_window(model) - 30.0
        t = np.sort(self._rng.uniform(start, t_c - 0.01, n))
        bands = self._rng.choice(6, size=n, p=LSST_BAND_WEIGHTS)
        err = njy(LSST_DEPTH[bands] + self._rng.normal(0.0, 0.25, n)) / 5.0
        flux = model.difference_flux(t, bands) + self._rng.standard_normal(n) * err
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
                "band": LSST_BANDS[int(bands[i])],
            }
            for i in range(n)
        ]

    def _lsst_fink_values(self, model: ObjectModel, *, first: bool) -> Record:
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
