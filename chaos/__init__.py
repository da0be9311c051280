"""The chaos-and-load tool: checkouts at a steady rate while nodes are killed, paused and cut off,
then proof, from the participants' own records, that nothing was lost or applied twice (docs/design.md §6).
"""
