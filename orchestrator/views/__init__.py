"""The gateway's HTTP routes, one blueprint per resource; each view parses, calls a dependency, maps."""
