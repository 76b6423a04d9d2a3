"""Models of the contact domain."""
from __future__ import annotations
