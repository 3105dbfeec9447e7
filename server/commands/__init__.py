"""Command families, one module each. Importing a module registers its commands.

Shared argument helpers live in ``server.commands.args``; a module should use
them rather than parse numbers itself, so every command reports the same
errors Redis does.
"""
