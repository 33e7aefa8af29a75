//! The autodiff plumbing shared by the kernels whose parents are an input, a weight and an
//! optional bias (the convolution and the fully connected layer): the op as a graph node of
//! 2 or 3 parents, and the registration of the gradients its parents ask for.

use burn::backend::tensor::FloatTensor;
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::strategy::NoCheckpointing;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_flex::{Flex, FlexTensor};

/// An autodiff tensor on flex.
type Tracked = FloatTensor<Autodiff<Flex>>;

/// `out`, computed by `op` from x, w and (if any) bias, as a node of burn's autodiff graph;
/// `state` (built only when a parent is tracked) is what `op`'s backward receives.
pub(crate) fn track<K, S>(
    op: K,
    (x, w, bias): (&Tracked, &Tracked, Option<&Tracked>),
    state: impl FnOnce() -> S,
    out: FlexTensor,
) -> Tracked
where
    K: Backward<Flex, 3, State = S> + Backward<Flex, 2, State = S>,
    S: Clone + Send + std::fmt::Debug + 'static,
{
    match bias {
        Some(b) => match Backward::<Flex, 3>::prepare::<NoCheckpointing>(
            op,
            [x.node(), w.node(), b.node()],
        )
        .compute_bound()
        .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(state(), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        },
        None => {
            match Backward::<Flex, 2>::prepare::<NoCheckpointing>(op, [x.node(), w.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish(state(), out),
                OpsKind::UnTracked(prep) => prep.finish(out),
            }
        }
    }
}

/// The backward of such a node: `grads_of(state, dOut, want)` gives the gradients of x, w and
/// bias (each only where `want` says its parent is tracked), which are registered here.
pub(crate) fn register<S, const N: usize>(
    ops: Ops<S, N>,
    grads: &mut Gradients,
    grads_of: impl FnOnce(S, &FlexTensor, [bool; 3]) -> [Option<FlexTensor>; 3],
) {
    let gout = grads.consume::<Flex>(&ops.node);
    let want = [0, 1, 2].map(|i| ops.parents.get(i).is_some_and(|p| p.is_some()));
    let results = grads_of(ops.state, &gout, want);
    for (parent, grad) in ops.parents.iter().zip(results) {
        if let (Some(node), Some(grad)) = (parent, grad) {
            grads.register::<Flex>(node.id, grad);
        }
    }
}
