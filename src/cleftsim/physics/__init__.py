"""Closed forms and calibrations: binding on hits, bimolecular reaction radii, analytic
solutions of diffusion, and concentration waveforms."""
