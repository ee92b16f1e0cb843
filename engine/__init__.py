"""The vault engine. It imports the contract package `elastio_contract`: the image copies it next to `engine/`
(engine/Dockerfile); in a checkout it is in src/, which is put on the path here when it is there."""

import sys
from pathlib import Path

_SRC = Path(__file__).resolve().parent.parent / "src"
if (_SRC / "elastio_contract").is_dir() and str(_SRC) not in sys.path:
    sys.path.append(str(_SRC))
