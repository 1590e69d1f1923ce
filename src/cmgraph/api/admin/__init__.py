"""What admins keep: the audit trail and the organization's API tokens."""
