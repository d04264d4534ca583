"""``python -m synth_ray`` is the ``synth-ray`` command."""

import sys

from synth_ray.cli.main import main

sys.exit(main())
