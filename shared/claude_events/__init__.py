"""Claude Events: the code every function shares, shipped as a Lambda layer."""
