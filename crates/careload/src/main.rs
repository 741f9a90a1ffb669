//! careload binary.
fn main() {}
