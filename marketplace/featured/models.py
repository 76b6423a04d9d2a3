"""Models of the featured domain."""
from __future__ import annotations
