"""Modal screens (dialogs) of the explorer."""
