//! The `diffmem theory` calculations, one file per subcommand, and their shared output.

pub mod args;
pub mod check;
pub mod collapse;
pub mod columns;
pub mod critical;
pub mod flow;
pub mod linear;
pub mod output;
