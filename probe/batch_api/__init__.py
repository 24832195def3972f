"""`--batch-api`: calls sent to a provider's batch API and collected by later processes."""
