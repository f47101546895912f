#pragma once
/// The LLVM builder of the vector math algorithms (vector_math_algorithms.h). Not part of Kiln's
/// interface: only codegen/ includes it.
///
/// Every operation emits straight-line IR (arithmetic, bit casts, integer ops, selects and
/// intrinsics that the loop vectorizer widens: fma, fmuladd, fabs, floor, rint, copysign), so a
/// loop calling the algorithms stays one basic block and vectorizes.
#include <cstdint>

#include <llvm/IR/IRBuilder.h>

#include "codegen/llvm/vector_math_algorithms.h"

namespace kiln::codegen::vmath {

/// Emits code for one floating type: float or double, scalar or fixed vector. Constants are
/// splats of that type, so the same algorithm code serves all four shapes.
class MathBuilder {
public:
    using Value = llvm::Value*;

    /// Emits through `b` for values of type `t` (float/double or a vector of them).
    MathBuilder(llvm::IRBuilder<>& b, llvm::Type* t);

    llvm::IRBuilder<>& b;
    llvm::Type* ft;  ///< the floating type (scalar or vector)
    llvm::Type* it;  ///< the integer type of the same width and shape
    bool f64;        ///< element is double
    int mant_bits;   ///< 23 or 52
    int bias;        ///< 127 or 1023

    Value c(double v) const;    ///< floating constant (splat)
    Value ci(int64_t v) const;  ///< integer constant (splat)
    Value inf() const;
    Value nan() const;

    Value add(Value x, Value y) { return b.CreateFAdd(x, y); }
    Value sub(Value x, Value y) { return b.CreateFSub(x, y); }
    Value mul(Value x, Value y) { return b.CreateFMul(x, y); }
    Value div(Value x, Value y) { return b.CreateFDiv(x, y); }
    Value neg(Value x) { return b.CreateFNeg(x); }
    /// x*y + z with one rounding (llvm.fma).
    Value fma(Value x, Value y, Value z);
    /// x*y + z by llvm.fmuladd: fused on FMA hardware, plain multiply-add elsewhere (where
    /// llvm.fma would become a libm call).
    Value muladd(Value x, Value y, Value z);
    Value fabs(Value x);
    Value floor(Value x);
    Value rint(Value x);
    Value copysign(Value mag, Value sign);

    // Ordered comparisons are false for NaN; that is relied on to keep NaN flowing through
    // the select-based clamps of the algorithms.
    Value lt(Value x, Value y) { return b.CreateFCmpOLT(x, y); }
    Value le(Value x, Value y) { return b.CreateFCmpOLE(x, y); }
    Value gt(Value x, Value y) { return b.CreateFCmpOGT(x, y); }
    Value ge(Value x, Value y) { return b.CreateFCmpOGE(x, y); }
    Value eq(Value x, Value y) { return b.CreateFCmpOEQ(x, y); }
    Value ne(Value x, Value y) { return b.CreateFCmpONE(x, y); }
    Value isnan(Value x) { return b.CreateFCmpUNO(x, x); }
    Value sel(Value cond, Value x, Value y) { return b.CreateSelect(cond, x, y); }
    Value and_(Value x, Value y) { return b.CreateAnd(x, y); }
    Value or_(Value x, Value y) { return b.CreateOr(x, y); }
    Value not_(Value x) { return b.CreateNot(x); }

    Value as_int(Value x) { return b.CreateBitCast(x, it); }
    Value as_float(Value i) { return b.CreateBitCast(i, ft); }
    Value iadd(Value x, Value y) { return b.CreateAdd(x, y); }
    Value isub(Value x, Value y) { return b.CreateSub(x, y); }
    Value ishl(Value x, Value y) { return b.CreateShl(x, y); }
    Value iashr(Value x, Value y) { return b.CreateAShr(x, y); }
    Value iand(Value x, Value y) { return b.CreateAnd(x, y); }
    Value ixor(Value x, Value y) { return b.CreateXor(x, y); }
    Value ieq(Value x, Value y) { return b.CreateICmpEQ(x, y); }
    Value ine(Value x, Value y) { return b.CreateICmpNE(x, y); }
    Value ilt(Value x, Value y) { return b.CreateICmpSLT(x, y); }
    Value to_int(Value x) { return b.CreateFPToSI(x, it); }
    Value to_float(Value i) { return b.CreateSIToFP(i, ft); }

    /// The builder for double elements of the same shape.
    MathBuilder wide() const;
    Value fpext(Value x);    ///< into wide()'s type
    Value fptrunc(Value x);  ///< from wide()'s type
};

}  // namespace kiln::codegen::vmath
