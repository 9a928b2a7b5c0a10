"""Host tooling: the CLI, the bake driver, engine, push, bench, smoke, local registry, clean-up."""
