"""bench/step_profile.py puts each kernel of a compiled or eager step in one group."""

import sys

from conftest import ROOT


def test_kernels_fall_in_their_groups():
    sys.path.insert(0, str(ROOT / "bench"))
    from step_profile import group_of

    groups = {
        "aoti_torch_cpu_addmm_out": "matrix products",  # a compiled step's oneDNN products
        "aten::bmm": "matrix products",  # an eager step's
        "graph_0_cpp_fused_gelu_gelu_backward_view_4": "GELU",
        # float32: the forward, and a backward kernel that also takes the layer norm's
        "graph_0_cpp_fused_abs_add_copysign_exp_mul_neg_reciprocal_rsub_sub_view_6": "GELU",
        "graph_0_cpp_fused_abs_add_cat_copysign_mul_native_layer_norm_backward_reciprocal_"
        "rsub_sub_sum_view_21": "GELU",
        # the loss's log-softmax is not the attention's softmax
        "graph_0_cpp_fused__log_softmax__log_softmax_backward_data__to_copy_1": "loss (log-softmax)",
        "graph_0_cpp_fused__softmax_clone_masked_fill_mul_split_transpose_view_7":
            "attention softmax",
        "graph_0_cpp_fused__to_copy_add_native_layer_norm_backward_view_6": "layer norm",
        "aten::_fused_adamw_": "optimizer",
        "aten::bernoulli_": "dropout masks",  # the draws, not the fused multiply by them
        "graph_1_cpp_fused__softmax_bitwise_or_masked_fill_mul_native_dropout_ne_4":
            "attention softmax",
        "graph_0_cpp_fused_add_arange_bernoulli_embedding_mul_view_2": "dropout masks",
        # the graph's wrapper, with the draws it makes through torch's C shim
        "## Call CompiledFxGraph fzuhlxbq ##": "framework",
        "TorchDynamo Cache Lookup": "framework",
        "graph_0_cpp_fused__unsafe_view_cat_clone_transpose_view_10": "rest",
    }
    assert {name: group_of(name) for name in groups} == groups
