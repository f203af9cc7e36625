"""What the service does, independent of HTTP: set-up, allocation, corrections, queries, export."""
