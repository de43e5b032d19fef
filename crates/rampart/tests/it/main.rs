//! Integration tests: run the real `rampart` binary (one test binary, modules per area).

mod bom;
mod fixtures;
mod guard;
mod scan;
mod signing;
mod util;
