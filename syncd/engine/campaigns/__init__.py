"""Campaign rules: rule rows → the members a campaign should have → adds, changes and removals."""
