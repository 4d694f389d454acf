"""VideoMAE's pretraining forward pass and target in plain PyTorch, for parity with the engine.

Written from VideoMAE's modeling_pretrain.py / engine_for_pretraining.py (MCG-NJU/VideoMAE):
Conv3d tubelet embedding, fixed sinusoid positions, pre-LN blocks with q/v biases, boolean-mask
selection of visible tokens, decoder over [visible + pos ; mask_token + pos], head on the last Nm
tokens, and the normalised-pixel target. Reads a folder written by test/gpu/videomae-reference.test.ts:
  config.json      {frames, size, tubelet, patch, encoderDim, encoderDepth, encoderHeads,
                    decoderDim, decoderDepth, decoderHeads}
  model.safetensors   the engine's weights (VideoMAE names)
  inputs.safetensors  clips U8 [B,T,H,W,3], mask U8 [B,N], pred F32 [B,Nm,P], target F32 [B,Nm,P]
Prints one JSON line: the largest differences between the engine's pred/target and this reference.
Usage: python3 videomae_ref.py <folder>
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "U8": torch.uint8, "I64": torch.int64, "BF16": torch.bfloat16, "F16": torch.float16}
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        buf = bytearray(raw[8 + n + begin : 8 + n + end])
        out[name] = torch.frombuffer(buf, dtype=DTYPES[e["dtype"]]).reshape(e["shape"]) if buf else torch.empty(e["shape"])
    return out


def get_sinusoid_encoding_table(n_position, d_hid):
    def get_position_angle_vec(position):
        return [position / np.power(10000, 2 * (hid_j // 2) / d_hid) for hid_j in range(d_hid)]

    table = np.array([get_position_angle_vec(p) for p in range(n_position)])
    table[:, 0::2] = np.sin(table[:, 0::2])
    table[:, 1::2] = np.cos(table[:, 1::2])
    return torch.FloatTensor(table).unsqueeze(0)


class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv_bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias))
        qkv = F.linear(input=x, weight=self.qkv.weight, bias=qkv_bias)
        qkv = qkv.reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, -1))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * 4)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, dim, tubelet, patch):
        super().__init__()
        self.proj = nn.Conv3d(3, dim, kernel_size=(tubelet, patch, patch), stride=(tubelet, patch, patch))

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Encoder(nn.Module):
    def __init__(self, c, tokens):
        super().__init__()
        self.patch_embed = PatchEmbed(c["encoderDim"], c["tubelet"], c["patch"])
        self.pos_embed = get_sinusoid_encoding_table(tokens, c["encoderDim"])
        self.blocks = nn.ModuleList([Block(c["encoderDim"], c["encoderHeads"]) for _ in range(c["encoderDepth"])])
        self.norm = nn.LayerNorm(c["encoderDim"], eps=1e-6)

    def forward(self, x, mask):
        x = self.patch_embed(x)
        x = x + self.pos_embed.type_as(x).to(x.device).clone().detach()
        B, _, C = x.shape
        x_vis = x[~mask].reshape(B, -1, C)
        for blk in self.blocks:
            x_vis = blk(x_vis)
        return self.norm(x_vis)


class Decoder(nn.Module):
    def __init__(self, c, out):
        super().__init__()
        self.blocks = nn.ModuleList([Block(c["decoderDim"], c["decoderHeads"]) for _ in range(c["decoderDepth"])])
        self.norm = nn.LayerNorm(c["decoderDim"], eps=1e-6)
        self.head = nn.Linear(c["decoderDim"], out)

    def forward(self, x, return_token_num):
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x[:, -return_token_num:]))


class PretrainVisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        tokens = (c["frames"] // c["tubelet"]) * (c["size"] // c["patch"]) ** 2
        self.encoder = Encoder(c, tokens)
        self.decoder = Decoder(c, 3 * c["tubelet"] * c["patch"] ** 2)
        self.encoder_to_decoder = nn.Linear(c["encoderDim"], c["decoderDim"], bias=False)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, c["decoderDim"]))
        self.pos_embed = get_sinusoid_encoding_table(tokens, c["decoderDim"])

    def forward(self, x, mask):
        x_vis = self.encoder_to_decoder(self.encoder(x, mask))
        B, N, C = x_vis.shape
        expand_pos_embed = self.pos_embed.expand(B, -1, -1).type_as(x).to(x.device).clone().detach()
        pos_emd_vis = expand_pos_embed[~mask].reshape(B, -1, C)
        pos_emd_mask = expand_pos_embed[mask].reshape(B, -1, C)
        x_full = torch.cat([x_vis + pos_emd_vis, self.mask_token + pos_emd_mask], dim=1)
        return self.decoder(x_full, pos_emd_mask.shape[1])


def main(folder):
    c = json.load(open(f"{folder}/config.json"))
    weights = read_safetensors(f"{folder}/model.safetensors")
    inputs = read_safetensors(f"{folder}/inputs.safetensors")
    model = PretrainVisionTransformer(c).eval()
    model.load_state_dict(weights, strict=True)  # every VideoMAE name present, nothing extra
    clips, mask = inputs["clips"], inputs["mask"].bool()
    tt, p = c["tubelet"], c["patch"]
    # The data pipeline: [0, 1], ImageNet mean/std, [B, C, T, H, W].
    mean = torch.tensor(MEAN).view(1, 3, 1, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1, 1)
    videos = (clips.permute(0, 4, 1, 2, 3).float() / 255.0 - mean) / std
    with torch.no_grad():
        pred = model(videos, mask)
    # engine_for_pretraining.py: un-normalise, per-tubelet normalise, 'b n (p c)' order.
    unnorm = videos * std + mean
    B, _, T, H, W = unnorm.shape
    sq = unnorm.reshape(B, 3, T // tt, tt, H // p, p, W // p, p).permute(0, 2, 4, 6, 3, 5, 7, 1)
    sq = sq.reshape(B, -1, tt * p * p, 3)
    norm = (sq - sq.mean(dim=-2, keepdim=True)) / (sq.var(dim=-2, unbiased=True, keepdim=True).sqrt() + 1e-6)
    patches = norm.reshape(B, sq.shape[1], -1)
    target = patches[mask].reshape(B, -1, patches.shape[-1])
    loss = F.mse_loss(pred, target).item()
    # Flat tubelet channels (std 0, e.g. a solid square) give (x - mean) / 1e-6: float rounding
    # noise of either implementation times 1e6. Compare the channels with real contrast.
    std = sq.var(dim=-2, unbiased=True, keepdim=True).sqrt().expand_as(sq).reshape(B, sq.shape[1], -1)
    textured = std[mask].reshape(B, -1, patches.shape[-1]) > 1e-3
    engine_target = inputs["target"]
    print(json.dumps({
        "torch": torch.__version__,
        "predShape": list(pred.shape),
        "maxAbsDiffPred": (pred - inputs["pred"]).abs().max().item(),
        "maxAbsPred": pred.abs().max().item(),
        "maxAbsDiffTarget": (target - engine_target)[textured].abs().max().item(),
        "flatValues": int((~textured).sum().item()),
        "maxAbsFlatTarget": max(target[~textured].abs().max().item(), engine_target[~textured].abs().max().item())
        if (~textured).any() else 0.0,
        "loss": loss,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
