//! The operations of the language and their meaning on one number, as JS's `Math` defines
//! it. Each table below is the only place an operation's scalar function is named: constant
//! folding and the block loops of [`super::eval`] both expand from it, so a folded constant
//! is bit for bit what the loop would compute.

pub(crate) use crate::kernels::{max_js, min_js, pow_js};

/// Expands `$m!` with every one-argument operation: `Variant, "name", function, cost`.
macro_rules! unary_ops {
    ($m:ident) => {
        $m! {
            Neg, "-", neg, 1;
            Abs, "abs", f64::abs, 1;
            Sqrt, "sqrt", f64::sqrt, 2;
            Cbrt, "cbrt", f64::cbrt, 16;
            Exp, "exp", f64::exp, 16;
            Expm1, "expm1", f64::exp_m1, 16;
            Log, "log", f64::ln, 16;
            Log1p, "log1p", f64::ln_1p, 16;
            Log2, "log2", f64::log2, 16;
            Log10, "log10", f64::log10, 16;
            Sin, "sin", f64::sin, 16;
            Cos, "cos", f64::cos, 16;
            Tan, "tan", f64::tan, 16;
            Asin, "asin", f64::asin, 16;
            Acos, "acos", f64::acos, 16;
            Atan, "atan", f64::atan, 16;
            Sinh, "sinh", f64::sinh, 16;
            Cosh, "cosh", f64::cosh, 16;
            Tanh, "tanh", f64::tanh, 16;
            Floor, "floor", f64::floor, 1;
            Ceil, "ceil", f64::ceil, 1;
            Round, "round", round_js, 1;
            Trunc, "trunc", f64::trunc, 1;
            Sign, "sign", sign_js, 1;
        }
    };
}

/// Expands `$m!` with every two-argument operation: `Variant, "name", function, cost`.
macro_rules! binary_ops {
    ($m:ident) => {
        $m! {
            Add, "+", add, 1;
            Sub, "-", sub, 1;
            Mul, "*", mul, 1;
            Div, "/", div, 1;
            Rem, "%", rem, 4;
            Pow, "**", pow_js, 16;
            Atan2, "atan2", f64::atan2, 16;
            Hypot, "hypot", hypot_js, 4;
            Min, "min", min_js, 1;
            Max, "max", max_js, 1;
            Lt, "<", lt, 1;
            Le, "<=", le, 1;
            Gt, ">", gt, 1;
            Ge, ">=", ge, 1;
            Eq, "==", eq, 1;
            Ne, "!=", ne, 1;
        }
    };
}

pub(crate) use {binary_ops, unary_ops};

macro_rules! declare_unary {
    ($($v:ident, $name:literal, $f:path, $cost:literal;)*) => {
        /// A one-argument operation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Op1 { $(#[doc = $name] $v,)* }

        impl Op1 {
            /// The operation on one number.
            #[inline(always)]
            pub fn apply(self, x: f64) -> f64 {
                match self { $(Op1::$v => $f(x),)* }
            }
            /// Relative cost of one element (1: an add).
            pub fn cost(self) -> usize {
                match self { $(Op1::$v => $cost,)* }
            }
            /// The operation's name as written in expressions.
            pub fn name(self) -> &'static str {
                match self { $(Op1::$v => $name,)* }
            }
            /// The function of this name, if any (not `-`).
            pub(crate) fn function(name: &str) -> Option<Op1> {
                match name { $($name => Some(Op1::$v),)* _ => None }
            }
        }
    };
}

macro_rules! declare_binary {
    ($($v:ident, $name:literal, $f:path, $cost:literal;)*) => {
        /// A two-argument operation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Op2 { $(#[doc = $name] $v,)* }

        impl Op2 {
            /// The operation on two numbers.
            #[inline(always)]
            pub fn apply(self, a: f64, b: f64) -> f64 {
                match self { $(Op2::$v => $f(a, b),)* }
            }
            /// Relative cost of one element (1: an add).
            pub fn cost(self) -> usize {
                match self { $(Op2::$v => $cost,)* }
            }
            /// The operator or function name as written in expressions.
            pub fn name(self) -> &'static str {
                match self { $(Op2::$v => $name,)* }
            }
        }
    };
}

unary_ops!(declare_unary);
binary_ops!(declare_binary);

#[inline(always)]
pub(crate) fn neg(x: f64) -> f64 {
    -x
}
#[inline(always)]
pub(crate) fn add(a: f64, b: f64) -> f64 {
    a + b
}
#[inline(always)]
pub(crate) fn sub(a: f64, b: f64) -> f64 {
    a - b
}
#[inline(always)]
pub(crate) fn mul(a: f64, b: f64) -> f64 {
    a * b
}
#[inline(always)]
pub(crate) fn div(a: f64, b: f64) -> f64 {
    a / b
}
/// JS `%`: the remainder with the dividend's sign, which is C's `fmod` (Rust's `%`).
#[inline(always)]
pub(crate) fn rem(a: f64, b: f64) -> f64 {
    a % b
}
#[inline(always)]
fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}
#[inline(always)]
pub(crate) fn lt(a: f64, b: f64) -> f64 {
    flag(a < b)
}
#[inline(always)]
pub(crate) fn le(a: f64, b: f64) -> f64 {
    flag(a <= b)
}
#[inline(always)]
pub(crate) fn gt(a: f64, b: f64) -> f64 {
    flag(a > b)
}
#[inline(always)]
pub(crate) fn ge(a: f64, b: f64) -> f64 {
    flag(a >= b)
}
#[inline(always)]
pub(crate) fn eq(a: f64, b: f64) -> f64 {
    flag(a == b)
}
#[inline(always)]
pub(crate) fn ne(a: f64, b: f64) -> f64 {
    flag(a != b)
}

/// `Math.round`: the nearest integer, halves rounded up (towards +Infinity); -0 for
/// -0.5 ≤ x ≤ -0. `x - floor(x)` is exact for every finite `x`, so no double rounding
/// (`floor(x + 0.5)` is wrong for 0.49999999999999994).
#[inline(always)]
pub(crate) fn round_js(x: f64) -> f64 {
    let f = x.floor();
    let r = if x - f >= 0.5 { f + 1.0 } else { f };
    if r == 0.0 {
        0.0f64.copysign(x)
    } else {
        r
    }
}

/// `Math.sign`: ±1, or the argument itself for ±0 and NaN.
#[inline(always)]
pub(crate) fn sign_js(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x
    }
}

/// `Math.hypot` of two numbers: +Infinity when either is infinite, even with a NaN.
#[inline(always)]
pub(crate) fn hypot_js(a: f64, b: f64) -> f64 {
    if a.is_infinite() || b.is_infinite() {
        f64::INFINITY
    } else {
        a.hypot(b)
    }
}

/// `where(c, a, b)`: `c ? a : b` in JS, where 0, -0 and NaN are false.
#[inline(always)]
pub(crate) fn select(c: f64, a: f64, b: f64) -> f64 {
    // `c != 0.0` alone would be true for NaN (unordered); `c == c` rules it out.
    #[allow(clippy::eq_op)]
    if c == c && c != 0.0 {
        a
    } else {
        b
    }
}
