"""What partner integrations read: the feed of domain events (`events`)."""
