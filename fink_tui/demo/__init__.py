"""The demo: synthetic Fink alerts (ZTF and Rubin/LSST shaped) to feed a local broker."""
