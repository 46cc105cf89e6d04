"""A node's tamper-evident log as infrastructure, not a role: the service every role's node
keeps (append with every write, sign, prove, verify, witness) and the routes any node mounts.
The pure parts (tree, signed checkpoints, proof bundles) are :mod:`vaxtrace.ledger`, the SQL
:mod:`vaxtrace.store.ledger`."""
