"""The package under test is the one beside these tests, whatever else the interpreter has installed."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from hypothesis import settings  # noqa: E402

# No example database in the working tree: every run draws its examples afresh, and nothing is left to commit.
settings.register_profile("poet_runtime", database=None)
settings.load_profile("poet_runtime")
