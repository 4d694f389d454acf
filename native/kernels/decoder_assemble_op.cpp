#include "kernels/decoder_assemble_op.h"

#include "kernels/decoder_assemble.h"
#include "kernels/op_util.h"

namespace tats::ops {

namespace {

torch::Tensor forward_impl(const torch::Tensor& vis_in, const torch::Tensor& tok_in, const torch::Tensor& pos_in,
                           const torch::Tensor& vidx_in, const torch::Tensor& midx_in) {
  const auto vis = vis_in.contiguous(), pos = pos_in.contiguous();
  const auto tok = tok_in.reshape({-1}).to(torch::kFloat).contiguous();
  const auto vidx = vidx_in.contiguous(), midx = midx_in.contiguous();
  const int64_t B = vis.size(0), Nv = vis.size(1), C = vis.size(2), Nm = midx.size(1), N = pos.size(0);
  const kernels::DecoderAssembleShape s{B, N, Nv, Nm, C};
  if (vis.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("decoder_assemble");
    auto out = torch::empty({B, Nv + Nm, C}, vis.options());
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(vis.device());
    kernels::decoder_assemble_cuda(vis.data_ptr(), vis.scalar_type() == torch::kBFloat16, tok.data_ptr<float>(),
                                   pos.data_ptr<float>(), vidx.data_ptr<int64_t>(), midx.data_ptr<int64_t>(),
                                   out.data_ptr(), s, detail::current_stream());
#endif
    return out;
  }
  const auto vis32 = vis.to(torch::kFloat).contiguous();
  auto out = torch::empty({B, Nv + Nm, C}, vis32.options());
  kernels::decoder_assemble_cpu(vis32.data_ptr<float>(), tok.data_ptr<float>(), pos.data_ptr<float>(),
                                vidx.data_ptr<int64_t>(), midx.data_ptr<int64_t>(), out.data_ptr<float>(), s);
  return out.to(vis.scalar_type());
}

struct DecoderAssembleFn : public torch::autograd::Function<DecoderAssembleFn> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& vis,
                                                const torch::Tensor& mask_token, const torch::Tensor& pos,
                                                const torch::Tensor& visible, const torch::Tensor& masked) {
    ctx->saved_data["n_visible"] = vis.size(1);
    ctx->saved_data["vis_dtype"] = static_cast<int64_t>(vis.scalar_type());
    ctx->saved_data["tok_dtype"] = static_cast<int64_t>(mask_token.scalar_type());
    ctx->saved_data["tok_shape"] = mask_token.sizes().vec();
    return {forward_impl(vis, mask_token, pos, visible, masked)};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const int64_t nv = ctx->saved_data["n_visible"].toInt();
    const auto vis_dtype = static_cast<torch::ScalarType>(ctx->saved_data["vis_dtype"].toInt());
    const auto tok_dtype = static_cast<torch::ScalarType>(ctx->saved_data["tok_dtype"].toInt());
    const auto tok_shape = ctx->saved_data["tok_shape"].toIntVector();
    const auto& dout = grads[0];
    const auto d_vis = dout.narrow(1, 0, nv).to(vis_dtype).contiguous();
    const auto d_tok = decoder_assemble_mask_grad(dout, nv).to(tok_dtype).view(tok_shape);
    return {d_vis, d_tok, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor decoder_assemble(const torch::Tensor& vis, const torch::Tensor& mask_token, const torch::Tensor& pos,
                               const torch::Tensor& visible, const torch::Tensor& masked) {
  TORCH_CHECK(vis.dim() == 3, "decoder_assemble: vis must be [B,Nv,C], got ", vis.sizes());
  const int64_t B = vis.size(0), Nv = vis.size(1), C = vis.size(2);
  TORCH_CHECK(B >= 1 && C >= 1, "decoder_assemble: empty vis ", vis.sizes());
  TORCH_CHECK(mask_token.numel() == C && mask_token.size(-1) == C, "decoder_assemble: mask_token must have ", C,
              " channels, got ", mask_token.sizes());
  TORCH_CHECK(pos.dim() == 2 && pos.size(1) == C, "decoder_assemble: pos must be [N,", C, "], got ", pos.sizes());
  TORCH_CHECK(visible.dim() == 2 && visible.size(0) == B && visible.size(1) == Nv,
              "decoder_assemble: visible must be [", B, ",", Nv, "], got ", visible.sizes());
  TORCH_CHECK(masked.dim() == 2 && masked.size(0) == B, "decoder_assemble: masked must be [", B, ",Nm], got ",
              masked.sizes());
  TORCH_CHECK(detail::is_float_or_bf16(vis) && detail::is_float_or_bf16(mask_token),
              "decoder_assemble: vis and mask_token must be float32 or bfloat16, got ", vis.scalar_type(), " and ",
              mask_token.scalar_type());
  TORCH_CHECK(pos.scalar_type() == torch::kFloat, "decoder_assemble: pos must be float32, got ", pos.scalar_type());
  detail::check_same_device("decoder_assemble", {&vis, &mask_token, &pos, &visible, &masked});
  detail::check_index("decoder_assemble", "visible", visible, pos.size(0));
  detail::check_index("decoder_assemble", "masked", masked, pos.size(0));
  return DecoderAssembleFn::apply(vis, mask_token, pos.detach(), visible, masked)[0];
}

torch::Tensor decoder_assemble_mask_grad(const torch::Tensor& dout_in, int64_t n_visible) {
  TORCH_CHECK(dout_in.dim() == 3 && n_visible >= 0 && n_visible <= dout_in.size(1),
              "decoder_assemble_mask_grad: dout must be [B,Nv+Nm,C] with Nv = ", n_visible, ", got ", dout_in.sizes());
  TORCH_CHECK(detail::is_float_or_bf16(dout_in), "decoder_assemble_mask_grad: dout must be float32 or bfloat16");
  const auto dout = dout_in.contiguous();
  const int64_t B = dout.size(0), C = dout.size(2), Nm = dout.size(1) - n_visible;
  const kernels::DecoderAssembleShape s{B, 0, n_visible, Nm, C};
  auto d_tok = torch::empty({C}, dout.options().dtype(torch::kFloat));
  if (dout.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("decoder_assemble_mask_grad");
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(dout.device());
    auto partial = torch::empty({kernels::kAssembleChunks, C}, d_tok.options());
    kernels::decoder_assemble_backward_cuda(dout.data_ptr(), dout.scalar_type() == torch::kBFloat16,
                                            partial.data_ptr<float>(), d_tok.data_ptr<float>(), s,
                                            detail::current_stream());
#endif
    return d_tok;
  }
  const auto d32 = dout.to(torch::kFloat).contiguous();
  kernels::decoder_assemble_backward_cpu(d32.data_ptr<float>(), d_tok.data_ptr<float>(), s);
  return d_tok;
}

namespace {

// Random split of N tokens into Nv visible + Nm masked per row, each ascending.
std::pair<torch::Tensor, torch::Tensor> random_split(int64_t B, int64_t N, int64_t Nv, torch::Generator& gen) {
  std::vector<torch::Tensor> v, m;
  for (int64_t b = 0; b < B; ++b) {
    const auto perm = torch::randperm(N, gen, torch::kLong);
    v.push_back(std::get<0>(perm.slice(0, 0, Nv).sort()));
    m.push_back(std::get<0>(perm.slice(0, Nv).sort()));
  }
  return {torch::stack(v), torch::stack(m)};
}

}  // namespace

std::vector<ParityReport> decoder_assemble_parity(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const int64_t B = 3, N = 392, Nv = 40, C = 200;  // 352 mask rows per clip; C not a multiple of 32
  const auto [vidx, midx] = random_split(B, N, Nv, gen);
  const auto vis = torch::randn({B, Nv, C}, gen), tok = torch::randn({C}, gen), pos = torch::randn({N, C}, gen);
  const auto dout = torch::randn({B, N, C}, gen);
  const torch::Device cuda(torch::kCUDA);
  std::vector<ParityReport> r;
  // fp32 forward: one add on both sides: exact.
  r.push_back(compare("decoder_assemble", "out_fp32",
                      decoder_assemble(vis.to(cuda), tok.to(cuda), pos.to(cuda), vidx.to(cuda), midx.to(cuda)),
                      decoder_assemble(vis, tok, pos, vidx, midx), 0, 0));
  // d mask_token: a sum of B*Nm = 1056 N(0,1) values (|sum| ~ 32) in float, tree order, vs double.
  r.push_back(compare("decoder_assemble", "d_mask_token_fp32", decoder_assemble_mask_grad(dout.to(cuda), Nv),
                      decoder_assemble_mask_grad(dout, Nv), 1e-4, 1e-5));
  // bf16: same bf16 inputs upcast, one fp32 add, one rounding: at most a 1-ulp tie difference.
  const auto vis16 = vis.to(torch::kBFloat16), dout16 = dout.to(torch::kBFloat16);
  r.push_back(compare("decoder_assemble", "out_bf16",
                      decoder_assemble(vis16.to(cuda), tok.to(cuda), pos.to(cuda), vidx.to(cuda), midx.to(cuda)),
                      decoder_assemble(vis16, tok, pos, vidx, midx), 1e-6, 4e-3));
  // bf16 dout, summed in fp32 on both sides: as the fp32 row.
  r.push_back(compare("decoder_assemble", "d_mask_token_bf16", decoder_assemble_mask_grad(dout16.to(cuda), Nv),
                      decoder_assemble_mask_grad(dout16, Nv), 1e-4, 1e-5));
  return r;
}

std::vector<ParityReport> decoder_assemble_check(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const int64_t B = 2, N = 24, Nv = 5, C = 10;
  const auto [vidx, midx] = random_split(B, N, Nv, gen);
  const int64_t Nm = N - Nv;
  const auto vis = torch::randn({B, Nv, C}, gen), tok = torch::randn({1, 1, C}, gen), pos = torch::randn({N, C}, gen);
  const auto w = torch::randn({B, N, C}, gen);
  // Composed as VideoMAE does: cat([x_vis + pos[vis], mask_token + pos[mask]], dim=1), in double.
  auto va = vis.to(torch::kDouble).requires_grad_(true), ta = tok.to(torch::kDouble).requires_grad_(true);
  const auto pd = pos.to(torch::kDouble);
  const auto pv = pd.index_select(0, vidx.view(-1)).view({B, Nv, C});
  const auto pm = pd.index_select(0, midx.view(-1)).view({B, Nm, C});
  const auto want = torch::cat({va + pv, ta.expand({B, Nm, C}) + pm}, 1);
  (want * w.to(torch::kDouble)).sum().backward();
  auto vb = vis.clone().requires_grad_(true), tb = tok.clone().requires_grad_(true);
  const auto got = decoder_assemble(vb, tb, pos, vidx, midx);
  (got * w).sum().backward();
  // fp32 add vs double add: 1 ulp; the mask-token grad sums 38 products ~N(0,1) (~1e-6).
  return {compare("decoder_assemble", "out", got, want, 1e-6, 1e-6),
          compare("decoder_assemble", "d_vis", vb.grad(), va.grad(), 1e-6, 1e-6),
          compare("decoder_assemble", "d_mask_token", tb.grad(), ta.grad(), 1e-5, 1e-5)};
}

}  // namespace tats::ops
