"""Models of the payments domain."""
from __future__ import annotations
