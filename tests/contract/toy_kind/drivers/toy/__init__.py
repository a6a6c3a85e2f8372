"""A spin cleaner: a toy kind that shows what adding a tool kind takes."""
