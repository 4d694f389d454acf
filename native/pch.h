// Precompiled header for the C++ translation units (not the .cu files, which never see libtorch).
#pragma once
#include <torch/torch.h>
