"""Running synth-ray on Ray: Ray Data sampling and (with the neural generators) Ray Train fitting.

Needs the ``ray`` extra: ``pip install 'synth-ray[ray]'``. Works on a local Ray
started on demand, or on a cluster (``address=`` or ``RAY_ADDRESS``).
"""
