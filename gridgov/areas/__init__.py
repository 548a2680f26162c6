"""Areas domain."""
