//! Integration tests: run the real `rampart` binary.
