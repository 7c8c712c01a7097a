"""The sans-I/O core: no sockets, no files, no clock. Time is always passed in."""
