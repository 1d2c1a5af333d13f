"""HTTP views that are not Faust pages: the platforms' webhooks."""
