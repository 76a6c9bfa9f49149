"""compile(model) -> CompiledModel: the scene (ray-tracing grid), the membrane and volume
tables of the kernels, the release schedule and the checks of fit and time step."""
