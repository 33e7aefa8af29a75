//! The two parts of a dataset, train and test (shared by the sources and the synthetic
//! generators).

use std::fmt;

/// Which part of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training split (MNIST `train-*`, CIFAR `data_batch_*`, CelebA partition 0, the
    /// train stream of synthetic data).
    Train,
    /// The test split (MNIST `t10k-*`, CIFAR `test_batch`, CelebA partition 2, the test
    /// stream of synthetic data).
    Test,
}

impl fmt::Display for Split {
    /// `train` or `test`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Split::Train => "train",
            Split::Test => "test",
        })
    }
}
