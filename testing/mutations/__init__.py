"""Targeted mutations: one deliberate break of each safety rule, and the tests that must notice it.

The catalog is data (catalog.py); testing/mutate.py applies each to a scratch copy and runs its tests.
"""

from testing.mutations.catalog import MUTATIONS, Mutation

__all__ = ["MUTATIONS", "Mutation"]
