"""Ensembles of independent trials and parameter sweeps, on local processes or a Dask cluster."""
