use super::parser::{parse, Ast};
use super::*;
use crate::kernels::{reduce_slice, ReduceOp};
use crate::parallel::KernelCall;

fn program(source: &str) -> Program {
    compile_expr(source, &[]).unwrap_or_else(|e| panic!("{}", e.render(source)))
}

fn error(source: &str) -> ExprError {
    compile_expr(source, &[]).expect_err(source)
}

/// The tree walked one element at a time: the reference the block programs must equal.
fn walk(ast: &Ast, row: &[f64]) -> f64 {
    match ast {
        Ast::Num(v) => *v,
        Ast::Input(i) => row[*i],
        Ast::Unary(op, a) => op.apply(walk(a, row)),
        Ast::Binary(op, a, b) => op.apply(walk(a, row), walk(b, row)),
        Ast::Where(c, a, b) => ops::select(walk(c, row), walk(a, row), walk(b, row)),
    }
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

const SPECIAL: [f64; 16] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    2.5,
    -2.5,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    5e-324,
    -2.2250738585072014e-308,
    1.7976931348623157e308,
    0.49999999999999994,
    3.0,
];

/// Columns of `n` values cycling through the special values, shifted per column so every
/// pair meets.
fn columns(inputs: usize, n: usize) -> Vec<Vec<f64>> {
    (0..inputs)
        .map(|c| {
            (0..n)
                .map(|i| {
                    SPECIAL[(i / SPECIAL.len().pow(c as u32)) % SPECIAL.len()]
                        * if i % 7 == 3 { 1e-3 } else { 1.0 }
                })
                .collect()
        })
        .collect()
}

fn check(source: &str) {
    let parsed = parse(source, &|_| None).unwrap();
    let prog = program(source);
    let n = 16usize.pow(prog.inputs.len().min(2) as u32) + BLOCK + 3;
    let cols = columns(prog.inputs.len(), n);
    let refs: Vec<Column<'_>> = cols.iter().map(|c| Column::F64(c)).collect();
    let mut out = vec![0.0; n];
    eval_columns(&prog, &refs, ColumnMut::F64(&mut out));
    for i in 0..n {
        let row: Vec<f64> = cols.iter().map(|c| c[i]).collect();
        let want = walk(&parsed.ast, &row);
        assert!(
            same(out[i], want),
            "{source} at {i} ({row:?}): got {} want {want}",
            out[i]
        );
    }
}

#[test]
fn programs_equal_the_tree_walked_element_by_element() {
    for source in [
        "2*x*x + 3*x + 1",
        "a*b + c",
        "sqrt(x*x + y*y)",
        "where(x > 0, log(x), 0)",
        "where(x, x, -1)",
        "x % y",
        "x ** y",
        "min(x, y, 0) + max(x, -0)",
        "round(x) + floor(x) - ceil(x) * trunc(x)",
        "sign(x) * abs(y) / (x - y)",
        "(x < y) + (x <= y) + (x > y) + (x >= y) + (x == y) + (x != y)",
        "hypot(x, y) + atan2(y, x) + pow(x, 2)",
        "exp(x) + expm1(x) + log1p(x) + log2(x) + log10(x) + cbrt(x)",
        "sin(x) + cos(x) + tan(x) + asin(x) + acos(x) + atan(x) + sinh(x) + cosh(x) + tanh(x)",
        "x*x + x*x - (x*x)*(x*x)",
        "x",
        "7",
        "-x + +x",
        "2 ** -x",
        "-(x ** 2)",
        "(-x) ** 2",
        "PI * E * x",
        "x*2 - y",
        "3 - x*y",
        "x*y + 1",
        "1 + 2*x",
        "y - x*x + x*y",
        "2*3 + x*4",
        "x*y - (y*x - 1)",
    ] {
        check(source);
    }
}

#[test]
fn js_round_sign_and_where() {
    use ops::{round_js, select, sign_js};
    assert_eq!(round_js(0.49999999999999994), 0.0);
    assert_eq!(round_js(2.5), 3.0);
    assert_eq!(round_js(-2.5), -2.0);
    assert!(round_js(-0.5) == 0.0 && round_js(-0.5).is_sign_negative());
    assert!(round_js(-0.2).is_sign_negative());
    assert!(round_js(0.2).is_sign_positive());
    assert_eq!(round_js(4503599627370495.5), 4503599627370496.0);
    assert!(round_js(f64::NAN).is_nan());
    assert_eq!(round_js(f64::NEG_INFINITY), f64::NEG_INFINITY);
    assert!(sign_js(-0.0).is_sign_negative() && sign_js(-0.0) == 0.0);
    assert_eq!(sign_js(-3.0), -1.0);
    // NaN is falsy, as in JS's `c ? a : b`.
    assert_eq!(select(f64::NAN, 1.0, 2.0), 2.0);
    assert_eq!(select(-0.0, 1.0, 2.0), 2.0);
    assert_eq!(select(-1e-300, 1.0, 2.0), 1.0);
    assert!(Op2::Pow.apply(1.0, f64::NAN).is_nan());
    assert!(Op2::Pow.apply(1.0, f64::INFINITY).is_nan());
    assert_eq!(Op2::Rem.apply(-1.0, 1.0).to_bits(), (-0.0f64).to_bits());
    assert_eq!(Op2::Hypot.apply(f64::NAN, f64::NEG_INFINITY), f64::INFINITY);
}

#[test]
fn constants_fold_and_subexpressions_are_shared() {
    assert_eq!(program("2*3 + x").instrs.len(), 1);
    assert_eq!(program("x*x + x*x").instrs.len(), 2);
    assert_eq!(program("sqrt(4) * 2").result, Operand::Const(4.0));
    assert_eq!(program("where(1, x, y)").result, Operand::Input(0));
    assert_eq!(program("where(0/0, x, y)").result, Operand::Input(1));
    let scaled = compile_expr("s*x + t", &[("s".into(), 2.0), ("t".into(), 1.0)]).unwrap();
    assert_eq!(scaled.inputs, vec!["x".to_string()]);
    // s*x + t is one instruction: the product is fused into the sum.
    assert_eq!(scaled.instrs.len(), 1);
    assert_eq!(program("a*b + c").instrs.len(), 1);
    assert_eq!(program("c - a*b").instrs.len(), 1);
    // Registers are reused: a long chain needs two.
    assert!(program("((((x+1)*2+1)*2+1)*2+1)*2").registers <= 2);
}

#[test]
fn inputs_are_named_in_order_of_appearance() {
    assert_eq!(program("b*a + c*b").inputs, ["b", "a", "c"]);
    assert!(program("PI + E").inputs.is_empty());
}

#[test]
fn syntax_errors_say_where() {
    let e = error("a*b)+c");
    assert_eq!((e.message.as_str(), e.pos), ("unmatched ')'", 3));
    assert_eq!(
        e.render("a*b)+c"),
        "unmatched ')' at position 3\n  a*b)+c\n     ^"
    );
    assert_eq!(error("a +").pos, 3);
    assert_eq!(error("").pos, 0);
    assert_eq!(error("(a + b").pos, 6);
    assert_eq!(error("2x").pos, 1);
    assert_eq!(error("x ^ 2").pos, 2);
    let unknown = error("1 + foo(x)");
    assert_eq!(
        (unknown.message.as_str(), unknown.pos),
        ("unknown function 'foo'", 4)
    );
    assert_eq!(error("x(1)").message, "unknown function 'x'");
    assert_eq!(
        error("sqrt(1, 2)").message,
        "sqrt() takes 1 argument, got 2"
    );
    assert_eq!(
        error("where(x, 1)").message,
        "where() takes 3 arguments, got 2"
    );
    assert_eq!(
        error("sqrt + 1").message,
        "'sqrt' is a function: call it as sqrt(...)"
    );
    let pow = error("-x ** 2");
    assert_eq!(pow.pos, 3);
    assert!(pow.message.contains("ambiguous"));
    assert!(error("x = 1").message.contains("=="));
    assert_eq!(error("1e+").pos, 3);
    assert_eq!(
        error(&"(".repeat(1000)).message,
        "expression nested more than 200 deep"
    );
    assert_eq!(
        error(&"-".repeat(1000)).message,
        "expression nested more than 200 deep"
    );
}

#[test]
fn float32_columns_widen_and_round_once() {
    let prog = program("x * y + 0.1");
    let x: Vec<f32> = (0..1000).map(|i| i as f32 * 0.37).collect();
    let y: Vec<f64> = (0..1000).map(|i| 1.0 / (i as f64 + 1.0)).collect();
    let mut out = vec![0f32; 1000];
    eval_columns(
        &prog,
        &[Column::F32(&x), Column::F64(&y)],
        ColumnMut::F32(&mut out),
    );
    for i in 0..1000 {
        assert_eq!(out[i], (f64::from(x[i]) * y[i] + 0.1) as f32);
    }
}

#[test]
fn in_place_output_reads_each_block_before_writing_it() {
    let prog = program("x * 2 + x");
    let mut data: Vec<f64> = (0..5000).map(|i| i as f64).collect();
    let p = data.as_mut_ptr();
    // SAFETY: the vector outlives the call; the output is the input itself.
    unsafe {
        eval::eval_range(
            &prog,
            &[InputPtr::F64(p)],
            OutputPtr::F64(p),
            0..data.len(),
            true,
        )
    };
    assert!(data.iter().enumerate().all(|(i, &v)| v == 3.0 * i as f64));
}

fn run<R: Send + 'static>(call: KernelCall<R>) -> R {
    call.run_blocking().expect("the call succeeds")
}

#[test]
fn parallel_map_and_reduce_equal_the_sequential_ones() {
    let prog = Arc::new(program("a*b + sqrt(abs(a))"));
    for len in [0usize, 1, 1000, 200_003, 1 << 20] {
        let a: Vec<f64> = (0..len).map(|i| (i as f64).sin() * 1e3).collect();
        let b: Vec<f64> = (0..len).map(|i| (i % 17) as f64 - 8.0).collect();
        let mut out = vec![0.0; len];
        let mut serial = vec![0.0; len];
        eval_columns(
            &prog,
            &[Column::F64(&a), Column::F64(&b)],
            ColumnMut::F64(&mut serial),
        );
        for workers in [1, 4] {
            // SAFETY: the vectors outlive run(), which waits for the call.
            let call = unsafe {
                map_expr(ExprMapArgs {
                    program: prog.clone(),
                    inputs: vec![InputPtr::F64(a.as_ptr()), InputPtr::F64(b.as_ptr())],
                    out: OutputPtr::F64(out.as_mut_ptr()),
                    len,
                    chunk_len: None,
                    max_workers: workers,
                    fresh_output: false,
                })
            };
            run(call);
            assert_eq!(out, serial);
            for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max, ReduceOp::Mean] {
                // SAFETY: as above.
                let call = unsafe {
                    reduce_expr(ExprReduceArgs {
                        program: prog.clone(),
                        inputs: vec![InputPtr::F64(a.as_ptr()), InputPtr::F64(b.as_ptr())],
                        op,
                        len,
                        initial: None,
                        chunk_len: Some(70_000),
                        max_workers: workers,
                    })
                };
                // The same as the built-in reduction over the mapped array, chunk by chunk.
                let want = serial
                    .chunks(70_000)
                    .map(|c| reduce_slice(op, None, c))
                    .fold(op.identity(), |acc, p| op.combine(acc, p));
                let want = op.finish(want, len);
                let got = run(call);
                assert!(same(got, want), "{op:?} over {len}: {got} vs {want}");
            }
        }
    }
}

#[test]
fn the_cache_is_bounded_and_returns_the_same_program() {
    let first = compile_cached("x + 0.125", &[]).unwrap();
    assert!(Arc::ptr_eq(
        &first,
        &compile_cached("x + 0.125", &[]).unwrap()
    ));
    for i in 0..CACHE_CAPACITY + 50 {
        compile_cached(&format!("x * {i}"), &[]).unwrap();
    }
    assert!(cached_count() <= CACHE_CAPACITY);
    let a = compile_cached("s * x", &[("s".into(), 2.0)]).unwrap();
    let b = compile_cached("s * x", &[("s".into(), 3.0)]).unwrap();
    assert!(!Arc::ptr_eq(&a, &b));
    assert!(compile_cached("x +", &[]).is_err());
}

#[test]
fn streamed_output_equals_plain_output_at_every_alignment_and_length() {
    let prog = program("2*x*x + 3*x + y");
    for len in [0usize, 1, 2, 3, 7, 1023, 1024, 1025, 5001] {
        let x: Vec<f64> = (0..len).map(|i| (i as f64).sin() * 1e3).collect();
        let y: Vec<f64> = (0..len).map(|i| i as f64 - 0.5).collect();
        for shift in 0..2 {
            let mut plain = vec![f64::NAN; len + 1];
            let mut streamed = vec![f64::NAN; len + 1];
            let inputs = [InputPtr::F64(x.as_ptr()), InputPtr::F64(y.as_ptr())];
            // SAFETY: live vectors of len (+ 1) elements; the outputs overlap no input; the
            // shift moves the output off (or onto) a 16-byte boundary.
            unsafe {
                eval::eval_range(
                    &prog,
                    &inputs,
                    OutputPtr::F64(plain.as_mut_ptr().add(shift)),
                    0..len,
                    false,
                );
                eval::eval_range(
                    &prog,
                    &inputs,
                    OutputPtr::F64(streamed.as_mut_ptr().add(shift)),
                    0..len,
                    true,
                );
            }
            let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&plain), bits(&streamed), "len {len}, shift {shift}");
            let expect: Vec<f64> = (0..len)
                .map(|i| 2.0 * x[i] * x[i] + 3.0 * x[i] + y[i])
                .collect();
            assert_eq!(
                bits(&streamed[shift..shift + len]),
                bits(&expect),
                "len {len}, shift {shift}"
            );
        }
    }
}
