//! One file per subcommand: its flags and a thin `run` that calls the stages.

pub mod data;
pub mod doctor;
pub mod eval;
pub mod export;
pub mod meta;
pub mod report;
pub mod reproduce;
pub mod sample;
pub mod sweep;
pub mod theory;
pub mod train;
