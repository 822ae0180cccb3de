//! Single-thread throughput of the expression evaluator against the same formula as a
//! hand-fused Rust loop, measured interleaved (expression, loop, expression, …) in one
//! process, so a shared machine's load hits both alike; the figures are medians.
//!
//! `cargo run --release -p ferropool-core --example expr_speed [n] [reps] [filter]`
//! (defaults: 10,000,000 elements, 31 repetitions, every formula). A small `n` (say
//! 100000, 800 KiB an array) keeps the arrays in cache and shows the evaluator's own cost;
//! a large one shows it against memory bandwidth.
use ferropool_core::expr::{compile_expr, eval_columns, Column, ColumnMut};
use std::hint::black_box;
use std::time::Instant;

type Fused = fn(&[f64], &[f64], &[f64], &mut [f64]);

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(10_000_000, |s| s.parse().unwrap());
    let reps: usize = args.next().map_or(31, |s| s.parse().unwrap());
    let filter = args.next().unwrap_or_default();
    let x: Vec<f64> = (0..n).map(|i| (i % 1000) as f64).collect();
    let y: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
    let z: Vec<f64> = vec![1.0; n];
    let mut out = vec![0.0; n];
    let mut check = vec![0.0; n];
    // Inner repetitions so that one timed sample is at least ~1 ms even for small `n`.
    let inner = (2_000_000 / n.max(1)).max(1);
    let cases: [(&str, Fused); 8] = [
        ("sqrt(x)", |x, _, _, o| {
            for (o, x) in o.iter_mut().zip(x) {
                *o = x.sqrt()
            }
        }),
        ("x*2 + 1", |x, _, _, o| {
            for (o, x) in o.iter_mut().zip(x) {
                *o = x * 2.0 + 1.0
            }
        }),
        ("x*y + z", |x, y, z, o| {
            for (((o, x), y), z) in o.iter_mut().zip(x).zip(y).zip(z) {
                *o = x * y + z
            }
        }),
        ("x*x + y*y", |x, y, _, o| {
            for ((o, x), y) in o.iter_mut().zip(x).zip(y) {
                *o = x * x + y * y
            }
        }),
        ("2*x*x + 3*x + 1", |x, _, _, o| {
            for (o, &x) in o.iter_mut().zip(x) {
                *o = 2.0 * x * x + 3.0 * x + 1.0
            }
        }),
        ("sqrt(x*x + y*y)", |x, y, _, o| {
            for ((o, x), y) in o.iter_mut().zip(x).zip(y) {
                *o = (x * x + y * y).sqrt()
            }
        }),
        ("(x + 1)/(y + 2) - x*0.5", |x, y, _, o| {
            for ((o, &x), &y) in o.iter_mut().zip(x).zip(y) {
                *o = (x + 1.0) / (y + 2.0) - x * 0.5
            }
        }),
        ("where(x > 500, x - 500, y)", |x, y, _, o| {
            for ((o, &x), &y) in o.iter_mut().zip(x).zip(y) {
                *o = if x > 500.0 { x - 500.0 } else { y }
            }
        }),
    ];
    println!("n = {n}, {reps} interleaved repetitions of {inner} call(s), medians");
    for (source, fused) in cases {
        if !source.contains(filter.as_str()) {
            continue;
        }
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
        // Same bits as the loop (no reassociation, no fused multiply-add).
        eval_columns(&prog, &cols, ColumnMut::F64(&mut out));
        fused(&x, &y, &z, &mut check);
        assert!(
            out.iter()
                .zip(&check)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{source}: the expression and the loop differ"
        );
        let (mut e, mut f, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            let t = Instant::now();
            for _ in 0..inner {
                eval_columns(&prog, black_box(&cols), ColumnMut::F64(black_box(&mut out)));
            }
            let te = t.elapsed().as_secs_f64() / inner as f64;
            let t = Instant::now();
            for _ in 0..inner {
                fused(
                    black_box(&x),
                    black_box(&y),
                    black_box(&z),
                    black_box(&mut out),
                );
            }
            let tf = t.elapsed().as_secs_f64() / inner as f64;
            e.push(te);
            f.push(tf);
            r.push(te / tf);
        }
        println!(
            "{source:>26}: expr {:>8.3} ms  fused loop {:>8.3} ms  ratio {:.2} (median of pair ratios {:.2})  {} instructions",
            median(&mut e) * 1e3,
            median(&mut f) * 1e3,
            median(&mut e.clone()) / median(&mut f.clone()),
            median(&mut r),
            prog.instrs.len()
        );
    }
}
