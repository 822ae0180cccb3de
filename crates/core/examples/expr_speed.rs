//! Single-thread throughput of the expression evaluator against the same formula as a
//! fused Rust loop: `cargo run --release -p ferropool-core --example expr_speed [n]`.
use ferropool_core::expr::{compile_expr, eval_columns, Column, ColumnMut};
use std::time::{Duration, Instant};

fn best(mut f: impl FnMut()) -> Duration {
    (0..12)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(2_000_000, |s| s.parse().unwrap());
    let x: Vec<f64> = (0..n).map(|i| (i % 1000) as f64).collect();
    let y: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
    let z: Vec<f64> = vec![1.0; n];
    let mut out = vec![0.0; n];
    let cases: [(&str, fn(&[f64], &[f64], &[f64], &mut [f64])); 6] = [
        ("sqrt(x)", |x, _, _, o| {
            for i in 0..o.len() {
                o[i] = x[i].sqrt()
            }
        }),
        ("x*x + y*y", |x, y, _, o| {
            for i in 0..o.len() {
                o[i] = x[i] * x[i] + y[i] * y[i]
            }
        }),
        ("x*2 + 1", |x, _, _, o| {
            for i in 0..o.len() {
                o[i] = x[i] * 2.0 + 1.0
            }
        }),
        ("2*x*x + 3*x + 1", |x, _, _, o| {
            for i in 0..o.len() {
                o[i] = 2.0 * x[i] * x[i] + 3.0 * x[i] + 1.0
            }
        }),
        ("x*y + z", |x, y, z, o| {
            for i in 0..o.len() {
                o[i] = x[i] * y[i] + z[i]
            }
        }),
        ("sqrt(x*x + y*y)", |x, y, _, o| {
            for i in 0..o.len() {
                o[i] = (x[i] * x[i] + y[i] * y[i]).sqrt()
            }
        }),
    ];
    for (source, fused) in cases {
        let prog = compile_expr(source, &[]).unwrap();
        let cols: Vec<Column<'_>> = prog
            .inputs
            .iter()
            .map(|name| {
                Column::F64(match name.as_str() {
                    "x" => &x,
                    "y" => &y,
                    _ => &z,
                })
            })
            .collect();
        let e = best(|| eval_columns(&prog, &cols, ColumnMut::F64(&mut out)));
        let f = best(|| fused(&x, &y, &z, &mut out));
        println!(
            "{source:>18}: expr {:>9.3?}  fused loop {:>9.3?}  ratio {:.2}  ({} instructions)",
            e,
            f,
            e.as_secs_f64() / f.as_secs_f64(),
            prog.instrs.len()
        );
    }
}
