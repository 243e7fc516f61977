//! The one integration-test binary: each module tests one part of tongban from outside.

mod cli;
mod conformance;
mod desk;
mod gateway;
mod ledger;
mod schemas;
mod web;
