//! The conformance suite against real PostgreSQL, one fresh database per check.

mod common;

karen_conformance::conformance_tests!(common::run);
