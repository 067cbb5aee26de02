"""The local stack: the service on one machine, driven by template.yaml, with moto behind it."""
