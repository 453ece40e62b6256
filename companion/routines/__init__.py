"""Family-set routines: the routines file, its schedule, speech and log."""
