//! Expression kernels: any text either compiles or is refused with an error whose position
//! lies within the text (never a panic); a compiled program, run over random columns as the
//! addon runs it (inline, assisted or pooled, maybe in place), equals its own element-by-
//! element evaluation bit for bit, and a fused reduction equals the reduction of the map.
#![no_main]

use arbitrary::Arbitrary;
use ferropool_core::expr::{
    compile_expr, eval_columns, map_expr, reduce_expr, Column, ColumnMut, ExprMapArgs,
    ExprReduceArgs, InputPtr, OutputPtr,
};
use ferropool_core::kernels::reduce_slice;
use ferropool_core::ReduceOp;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

#[derive(Arbitrary, Debug)]
struct Case {
    source: String,
    constant: Option<(String, f64)>,
    len: u16,
    workers: u8,
    chunk: Option<u16>,
    values: Vec<f64>,
    in_place: bool,
    reduce: u8,
}

fn same(x: f64, y: f64) -> bool {
    (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
}

fuzz_target!(|c: Case| {
    let constants: Vec<(String, f64)> = c.constant.into_iter().collect();
    let program = match compile_expr(&c.source, &constants) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            assert!(e.pos <= c.source.chars().count(), "error position past the end");
            let _ = e.render(&c.source);
            return;
        }
    };
    if program.inputs.len() > 8 {
        return;
    }
    let len = c.len as usize * 4;
    let columns: Vec<Vec<f64>> = (0..program.inputs.len())
        .map(|k| {
            (0..len)
                .map(|i| if c.values.is_empty() { i as f64 } else { c.values[(i * 31 + k * 7) % c.values.len()] })
                .collect()
        })
        .collect();
    // The reference: one block per element (a block of one runs the same loops).
    let mut want = vec![0.0; len];
    for i in 0..len {
        let row: Vec<Column<'_>> = columns.iter().map(|col| Column::F64(&col[i..i + 1])).collect();
        eval_columns(&program, &row, ColumnMut::F64(&mut want[i..i + 1]));
    }
    let mut data = columns.clone();
    let mut separate = vec![0.0; len];
    let in_place = c.in_place && !data.is_empty();
    let out = if in_place { data[0].as_mut_ptr() } else { separate.as_mut_ptr() };
    let inputs: Vec<InputPtr> = data.iter().map(|col| InputPtr::F64(col.as_ptr())).collect();
    let chunk_len = c.chunk.map(|n| n as usize + 1);
    let max_workers = 1 + c.workers as usize % 4;
    // SAFETY: the vectors outlive run_blocking, which waits for the call; the output is the
    // first input itself or a separate vector.
    let call = unsafe {
        map_expr(ExprMapArgs { program: program.clone(), inputs: inputs.clone(), out: OutputPtr::F64(out), len, chunk_len, max_workers, fresh_output: false })
    };
    call.run_blocking().expect("an expression map never fails");
    let got = if in_place { &data[0] } else { &separate };
    for i in 0..len {
        assert!(same(got[i], want[i]), "{:?} at {i}: {} vs {}", c.source, got[i], want[i]);
    }
    if in_place {
        return;
    }
    let op = [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max, ReduceOp::Mean][c.reduce as usize % 4];
    // SAFETY: as above; nothing writes the columns meanwhile.
    let call = unsafe {
        reduce_expr(ExprReduceArgs { program, inputs, op, len, initial: None, chunk_len, max_workers })
    };
    let reduced = call.run_blocking().expect("an expression reduction never fails");
    let chunk = chunk_len.unwrap_or_else(|| ferropool_core::chunking::default_chunk_len(len));
    let combined = want.chunks(chunk.max(1)).map(|part| reduce_slice(op, None, part)).fold(op.identity(), |a, p| op.combine(a, p));
    assert!(same(reduced, op.finish(combined, len)), "{:?}: reduction differs", c.source);
});
