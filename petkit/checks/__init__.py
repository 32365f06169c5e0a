"""The checks of every lesson, one module per lesson (imported on demand by core.checks_for)."""
