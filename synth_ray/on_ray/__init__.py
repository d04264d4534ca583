"""Running synth-ray on Ray: Ray Data sampling and (with the neural generators) Ray Train fitting.

Needs the ``ray`` extra: ``pip install 'synth-ray[ray]'``. Works on a local Ray
started on demand, or on a cluster (``address=`` or ``RAY_ADDRESS``).
"""

from synth_ray.on_ray.training import RayTrainingError, fit_on_ray

__all__ = ["RayTrainingError", "fit_on_ray"]
