"""Models of the articles domain."""
from __future__ import annotations
