"""Open311 GeoReport v2 over grid issues."""
