"""Case managers: which provider manages a client's service line, from when to when."""
