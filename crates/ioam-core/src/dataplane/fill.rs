//! The per-bit node-data fill (Linux `__ioam6_fill_trace_data`), driven by one table of
//! {bit, width, source}. (STUB: to be implemented by core-dataplane.)
