"""The test suite (its helpers import as ``tests.<module>``)."""
