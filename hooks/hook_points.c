/* hook_points.c — placeholder, being written. */
