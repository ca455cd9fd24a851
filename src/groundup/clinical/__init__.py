"""The clinical core: pure functions over immutable values.

Nothing in this package reads files, the clock or the network, and nothing here imports
storage, web or command-line code. Knowledge (exercises, norms, rules) and time come in
as arguments.
"""
