pub mod cgroups;
pub mod sample_host;
