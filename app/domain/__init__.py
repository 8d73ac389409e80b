"""The domain layer: records, lifecycle states and the pure algorithms (diffs, hunks, policy, preference pairs,
redaction).

Plain Python over plain data: nothing here imports the store, the services, Qt or the network, or touches a database.
"""
