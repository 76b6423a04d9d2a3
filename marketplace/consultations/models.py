"""Models of the consultations domain."""
from __future__ import annotations
