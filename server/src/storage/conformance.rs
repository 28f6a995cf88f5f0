//! The storage conformance suite (filled in below).
