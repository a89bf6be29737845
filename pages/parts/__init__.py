"""UI parts used by several pages; not pages themselves."""
