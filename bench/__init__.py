"""Load benchmarks (``make bench``): gunicorn + wrk against PostgreSQL with realistic data."""
