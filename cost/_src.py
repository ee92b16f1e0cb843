"""The usage inputs' names and bounds live in the library (elastio_pulumi.usage); in a checkout it is in src/, which
is put on the path here when it is there (an installed elastio-pulumi needs nothing)."""

import sys
from pathlib import Path

_SRC = Path(__file__).resolve().parent.parent / "src"
if (_SRC / "elastio_pulumi").is_dir() and str(_SRC) not in sys.path:
    sys.path.append(str(_SRC))
