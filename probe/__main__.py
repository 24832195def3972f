from probe.cli import run

run()
