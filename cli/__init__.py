"""Command-line tools for operators of a Claude Events stack."""

import sys
from pathlib import Path

# The tools use the functions' shared package (the Lambda layer's source) from this checkout.
_SHARED = str(Path(__file__).resolve().parent.parent / "shared")
if _SHARED not in sys.path:
    sys.path.insert(0, _SHARED)
