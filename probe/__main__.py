from probe.cli.app import run

run()
