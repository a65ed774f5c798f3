"""The catalog of public testing labs: opening hours, closures, fees, instruments."""
