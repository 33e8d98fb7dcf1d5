"""The evaluator: question sets, metrics, reports, the systems compared."""
