#pragma once
/// kiln::nn: modules (kiln/nn/module.h), layers (kiln/nn/modules.h), containers
/// (kiln/nn/containers.h) and initializations (kiln/nn/init.h).
#include "kiln/nn/containers.h"
#include "kiln/nn/init.h"
#include "kiln/nn/module.h"
#include "kiln/nn/modules.h"
#include "kiln/nn/options.h"
#include "kiln/nn/ordered_dict.h"
