"""The table contract's version, apart from its schemas so that a reader can check a build
without importing the table library. Bump it whenever a table or the serving image changes
shape or meaning: older builds are then refused with a message to re-run the ETL."""

CONTRACT_VERSION = 2
