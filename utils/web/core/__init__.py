"""Pure HTTP-edge policy: no sockets, threads or clocks."""
