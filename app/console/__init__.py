"""Pure: the operator console's rules that are not order state: roles, masking, queries, stats."""
