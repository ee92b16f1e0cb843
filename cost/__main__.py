import sys

from cost.cli import main

sys.exit(main())
