"""Running a RunConfig: the engine for one input, the pool over many, the sinks records go to."""
