//! Raw packet I/O for the kernel check (AF_PACKET send/receive inside a network namespace).
//! (STUB: to be implemented by the kernel-check work.)
