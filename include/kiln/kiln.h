#pragma once
/// Kiln: a deep-learning engine built like a compiler. Include this one header.
#include "kiln/autograd.h"
#include "kiln/data.h"
#include "kiln/device.h"
#include "kiln/dtype.h"
#include "kiln/error.h"
#include "kiln/functional.h"
#include "kiln/inspect.h"
#include "kiln/nn.h"
#include "kiln/options.h"
#include "kiln/serialize.h"
#include "kiln/stats.h"
#include "kiln/tensor.h"
