"""Native async stores (source of the generated ``_sync`` twins)."""
