"""The dashboard's screens and modals, one a module."""
