//! Printers of the model. They only read the model; none reaches back into the pipeline.

pub mod summary;
pub mod tables;
