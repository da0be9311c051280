"""DueFlusher: the sender thread of a due batch."""
