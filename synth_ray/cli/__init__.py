"""The ``synth-ray`` command line."""
