//! The local analyser (an adapter for `pipeline::analysis::MessageClassifier`):
//! multinomial logistic regression over the e5 query embedding plus text
//! features, trained on the project's own labelled messages (`training/`).

mod data;
mod features;
mod local;
mod model;
mod model_file;
mod softmax;

pub use data::{LabelledMessage, parse_messages, read_messages};
pub use features::BlockWeights;
pub use local::{EmbedderFactory, LocalAnalyser};
pub use model::{Hyper, MODEL_VERSION, Prediction, TrainedModel, argmax};
