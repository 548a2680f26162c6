"""`python -m bench.province`: seed a synthetic province (see the package docstring)."""

import sys

from bench.province.seed import main

sys.exit(main())
