"""Generated films with known scenes."""
