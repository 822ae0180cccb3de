//! Single-thread throughput of the expression evaluator against a fused loop:
//! `cargo run --release -p ferropool-core --example expr_speed`.
use ferropool_core::expr::{compile_expr, eval_columns, Column, ColumnMut};
use std::time::Instant;

fn main() {
    let n = 2_000_000;
    let x: Vec<f64> = (0..n).map(|i| (i % 1000) as f64).collect();
    let mut out = vec![0.0; n];
    let src = std::env::args().nth(1).unwrap_or("2*x*x + 3*x + 1".into());
    let prog = compile_expr(&src, &[]).unwrap();
    for _ in 0..12 {
        let t = Instant::now();
        eval_columns(&prog, &[Column::F64(&x)], ColumnMut::F64(&mut out));
        let e = t.elapsed();
        let t = Instant::now();
        for i in 0..n {
            out[i] = 2.0 * x[i] * x[i] + 3.0 * x[i] + 1.0;
        }
        let f = t.elapsed();
        println!("expr {:?}  fused {:?}  {}", e, f, out[n - 1]);
    }
}
