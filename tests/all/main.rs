//! The crate's one integration-test binary; each area is a submodule.

mod ledger;
