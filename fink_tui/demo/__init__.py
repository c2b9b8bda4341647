"""The demo: synthetic Fink alerts (ZTF and Rubin/LSST shaped) to feed a local broker.

- :mod:`~fink_tui.demo.schemas`: the demo's own Avro schemas (two ZTF versions, one LSST);
- :mod:`~fink_tui.demo.lightcurves`: how each kind of object moves and changes brightness;
- :mod:`~fink_tui.demo.cutouts`: science, template and difference stamps as FITS;
- :mod:`~fink_tui.demo.factory`: :class:`~fink_tui.demo.factory.AlertFactory`, whole alerts;
- :mod:`~fink_tui.demo.malformed`: messages that must fail to decode;
- :mod:`~fink_tui.demo.broker`: the embedded tansu broker the demo, tests and benchmarks use;
- :mod:`~fink_tui.demo.run`: ``fink-tui demo``; :mod:`~fink_tui.demo.screenshots`: the README's.

Alerts go on the wire with :func:`fink_tui.core.wire.encode`, as the tests' real alerts do.
"""
