//! Kernel calls with random lengths, chunk lengths, thread caps, operations and values,
//! run the way the addon runs them (inline, caller-assisted or pooled, as the call's mode
//! says; sometimes spawned and cancelled midway): every element the call finished must
//! equal the operation applied alone, bit for bit, and a reduction must equal the
//! sequential chunk-ordered one whatever the thread count.
#![no_main]

use arbitrary::Arbitrary;
use ferropool_core::kernels::reduce_slice;
use ferropool_core::{
    map_kernel, reduce_kernel, JobError, MapArgs, ReduceArgs, ReduceOp, Registry, UnaryOp,
};
use libfuzzer_sys::fuzz_target;
use std::sync::mpsc;

#[derive(Arbitrary, Debug)]
struct Call {
    len: u16,
    scale: u8,
    chunk: Option<u16>,
    workers: u8,
    op: u8,
    a: f64,
    b: f64,
    values: Vec<f64>,
    reduce: Option<u8>,
    cancel: bool,
}

fn op_of(code: u8, a: f64, b: f64) -> UnaryOp {
    match code % 11 {
        0 => UnaryOp::Square,
        1 => UnaryOp::Sqrt,
        2 => UnaryOp::Abs,
        3 => UnaryOp::Neg,
        4 => UnaryOp::Exp,
        5 => UnaryOp::Log,
        6 => UnaryOp::Sin,
        7 => UnaryOp::Cos,
        8 => UnaryOp::Affine { a, b },
        9 => UnaryOp::Pow { p: a },
        _ => UnaryOp::Clamp {
            lo: a.min(b),
            hi: a.max(b),
        },
    }
}

fn same(x: f64, y: f64) -> bool {
    (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
}

fuzz_target!(|c: Call| {
    // Up to ~64 Ki elements x 4: past the inline and assisted thresholds, into pooled calls.
    let len = c.len as usize * (1 + c.scale as usize % 4);
    let data: Vec<f64> = (0..len)
        .map(|i| {
            if c.values.is_empty() {
                i as f64
            } else {
                c.values[i % c.values.len()]
            }
        })
        .collect();
    let op = op_of(c.op, c.a, c.b);
    if matches!(op, UnaryOp::Clamp { lo, hi } if lo.is_nan() || hi.is_nan()) {
        return; // clamp needs ordered bounds (the JS facade checks them)
    }
    let chunk_len = c.chunk.map(|n| n as usize + 1);
    let max_workers = c.workers as usize % 8 + 1;
    if let Some(r) = c.reduce {
        let rop = [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max, ReduceOp::Mean][r as usize % 4];
        let pre = (r & 4 != 0).then_some(op);
        // SAFETY: `data` outlives the call, which run_blocking runs to completion.
        let call = unsafe {
            reduce_kernel(ReduceArgs {
                op: rop,
                pre,
                src: data.as_ptr(),
                len,
                initial: None,
                chunk_len,
                max_workers,
            })
        };
        let got = call.run_blocking().expect("a reduction does not fail");
        // SAFETY: as above.
        let one = unsafe {
            reduce_kernel(ReduceArgs {
                op: rop,
                pre,
                src: data.as_ptr(),
                len,
                initial: None,
                chunk_len,
                max_workers: 1,
            })
        };
        let want = one.run_blocking().expect("a reduction does not fail");
        assert!(
            same(got, want),
            "{rop:?} over {len} with {max_workers} threads: {got} vs {want}"
        );
        if len > 0 && chunk_len.is_some_and(|c| c >= len) {
            // One chunk: the fold is the plain sequential one.
            // One chunk: the pool's answer is that chunk's partial folded into the identity,
            // then finished (a mean divides), exactly as reduce_kernel does.
            let seq = rop.finish(
                rop.combine(rop.identity(), reduce_slice(rop, pre, &data)),
                len,
            );
            assert!(same(got, seq), "{rop:?} in one chunk: {got} vs {seq}");
        }
        return;
    }
    let mut out = vec![f64::from_bits(0x7ff8_dead_beef_0000); len];
    // SAFETY: `data` and `out` outlive the call: it runs to completion (or, when cancelled,
    // until its completion callback reports that no thread touches them any more).
    let call = unsafe {
        map_kernel(MapArgs {
            op,
            src: data.as_ptr(),
            dst: out.as_mut_ptr(),
            len,
            chunk_len,
            max_workers,
        })
    };
    let cancelled = if c.cancel {
        let (tx, rx) = mpsc::channel();
        let job = call.spawn(Registry::global(), move |r| {
            tx.send(r).expect("the receiver waits")
        });
        if let Some(job) = &job {
            job.cancel(JobError::Cancelled);
        }
        match job {
            Some(_) => rx.recv().expect("the call completes").is_err(),
            None => false,
        }
    } else {
        call.run_blocking().expect("a map does not fail");
        false
    };
    for i in 0..len {
        let want = op.apply(data[i]);
        // A cancelled call may leave chunks unwritten, never wrongly written.
        if cancelled && out[i].to_bits() == 0x7ff8_dead_beef_0000 {
            continue;
        }
        assert!(
            same(out[i], want),
            "{op:?} at {i} of {len}: {} vs {want}",
            out[i]
        );
    }
});
