//! Integration tests: run the real `rampart` binary (one test binary, modules per area).

mod bom;
mod fixtures;
mod gateway;
mod guard;
mod gw;
mod scan;
mod signing;
mod util;
