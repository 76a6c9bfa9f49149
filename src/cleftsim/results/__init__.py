"""What runs return: Result (one trial), EnsembleResult and SweepResult, the HDF5 results
file, and features of traces."""
