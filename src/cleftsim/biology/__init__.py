"""Published biology: kinetic schemes of receptors, transporters and enzymes, synapse geometry
builders, and presets of whole synapses with their sources."""
