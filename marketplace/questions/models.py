"""Models of the questions domain."""
from __future__ import annotations
