#pragma once
/// Model files in the safetensors format (https://github.com/huggingface/safetensors): an
/// 8-byte little-endian header size, a JSON header mapping each name to its dtype ("F32",
/// "F64", "I32", "I64", "BOOL"), shape and data_offsets (plus an optional "__metadata__" map of
/// strings), then the raw little-endian data. Files written here are read by every other
/// implementation and the other way round.
///
/// Writes are atomic: a temporary file in the same directory is written, fsynced and renamed
/// over `path`, so a failed or interrupted save leaves the old file (or none), never half a
/// file. A truncated, corrupt or mismatched file is a kiln::ParseError (a kiln::Error) naming
/// the file, the tensor and the problem.
#include <map>
#include <source_location>
#include <string>

#include "kiln/nn/module.h"
#include "kiln/optim.h"
#include "kiln/tensor.h"

namespace kiln {

void save_safetensors(const std::map<std::string, Tensor>& tensors, const std::string& path,
                      const std::map<std::string, std::string>& metadata = {}, KILN_LOC);
/// Every tensor of the file (realized CPU tensors that do not require grad).
std::map<std::string, Tensor> load_safetensors(const std::string& path, KILN_LOC);
/// The file's "__metadata__" (empty when it has none).
std::map<std::string, std::string> load_safetensors_metadata(const std::string& path, KILN_LOC);

/// A module's named parameters and buffers (dotted names, as named_parameters()).
void save(const nn::Module& module, const std::string& path, KILN_LOC);
/// Sets a module's parameters and buffers from a file saved by save() (or any safetensors
/// file with the same names). Every name, shape and dtype is checked before anything is
/// changed: a missing or extra name or a mismatch is an error and the module keeps its values.
void load(nn::Module& module, const std::string& path, KILN_LOC);

/// An optimizer's state_dict() (its groups' options and every parameter's state), so that a
/// run resumes with the same next step; load checks it all (load_state_dict) before changing
/// anything.
void save(const optim::Optimizer& optimizer, const std::string& path, KILN_LOC);
void load(optim::Optimizer& optimizer, const std::string& path, KILN_LOC);

template <typename M>
void save(const nn::ModuleHolder<M>& module, const std::string& path, KILN_LOC) {
    save(*module, path, loc);
}
template <typename M>
void load(nn::ModuleHolder<M>& module, const std::string& path, KILN_LOC) {
    load(*module, path, loc);
}

}  // namespace kiln
