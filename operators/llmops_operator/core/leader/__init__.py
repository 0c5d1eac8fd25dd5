"""Leader election over a Lease (`lease`): client-go's rules as pure functions."""
