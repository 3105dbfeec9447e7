"""The explorer's widgets, one file per thing shown on screen."""
