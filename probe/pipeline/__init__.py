"""The stages of a run: its settings (RunConfig), the engine for one input, the steps of multi-call variants, the pool over many inputs, the sinks records go to, and the terminal view of a record."""
