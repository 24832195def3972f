"""Research methods as plug-ins: one folder each, found by probe.variants.registry."""
