//! Expression kernels: an element-wise formula over named arrays (`a*b + c`,
//! `where(x > 0, log(x), 0)`), parsed once, compiled to a short program of block-wide
//! instructions, and run by the same kernel calls as the built-in kernels (inline,
//! assisted or pooled), with no array of the input's size allocated.
//!
//! [`lexer`] and [`parser`] turn text into a tree (errors carry a position); [`compile`]
//! folds constants, shares common subexpressions and assigns registers; [`eval`] runs the
//! program over blocks; [`ops`] is the one table of what each operation means.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::chunking::chunk_range;
use crate::job::JobResult;
use crate::kernels::ReduceOp;
use crate::parallel::{plan, KernelCall};

pub mod compile;
pub mod eval;
mod lexer;
pub mod ops;
mod parser;

pub use compile::{Instr, Operand, Program};
pub use eval::{eval_columns, reduce_columns, Column, ColumnMut, InputPtr, OutputPtr, BLOCK};
pub use ops::{Op1, Op2};

/// A syntax error: what is wrong, and the position (in characters) where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// What is wrong, e.g. `unknown function 'foo'`.
    pub message: String,
    /// The character position in the expression.
    pub pos: usize,
}

impl ExprError {
    pub(crate) fn new(message: impl Into<String>, pos: usize) -> ExprError {
        ExprError {
            message: message.into(),
            pos,
        }
    }

    /// The message with the expression quoted and a caret under the position:
    ///
    /// ```text
    /// unexpected ')' at position 3
    ///   a*b)+c
    ///      ^
    /// ```
    pub fn render(&self, source: &str) -> String {
        // Tabs and newlines shown as spaces, so the caret stays under its character.
        let line: String = source
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .collect();
        format!(
            "{} at position {}\n  {}\n  {}^",
            self.message,
            self.pos,
            line,
            " ".repeat(self.pos)
        )
    }
}

impl std::fmt::Display for ExprError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at position {}", self.message, self.pos)
    }
}

impl std::error::Error for ExprError {}

/// Parses and compiles `source`, with `constants` standing for numbers (they win over
/// inputs of the same name). Not cached: see [`compile_cached`].
pub fn compile_expr(source: &str, constants: &[(String, f64)]) -> Result<Program, ExprError> {
    let lookup = |name: &str| constants.iter().find(|(n, _)| n == name).map(|&(_, v)| v);
    let parsed = parser::parse(source, &lookup)?;
    Ok(compile::compile(&parsed.ast, parsed.inputs))
}

/// How many compiled expressions the process keeps. A program that builds expressions
/// from data (a new constant in the text each call) would otherwise grow the cache forever.
pub const CACHE_CAPACITY: usize = 256;

/// The least recently used compiled expressions, by source and constants.
struct Cache {
    entries: HashMap<String, (Arc<Program>, u64)>,
    clock: u64,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

fn cache_key(source: &str, constants: &[(String, f64)]) -> String {
    let mut key = String::with_capacity(source.len() + 24 * constants.len());
    key.push_str(source);
    for (name, value) in constants {
        key.push('\0');
        key.push_str(name);
        key.push('=');
        key.push_str(&value.to_bits().to_string());
    }
    key
}

/// [`compile_expr`], parsed once per process for each distinct source and constants:
/// later calls return the same program from a bounded LRU cache ([`CACHE_CAPACITY`]).
pub fn compile_cached(
    source: &str,
    constants: &[(String, f64)],
) -> Result<Arc<Program>, ExprError> {
    let key = cache_key(source, constants);
    {
        let mut guard = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        let cache = guard.get_or_insert_with(|| Cache {
            entries: HashMap::new(),
            clock: 0,
        });
        cache.clock += 1;
        let now = cache.clock;
        if let Some((program, used)) = cache.entries.get_mut(&key) {
            *used = now;
            return Ok(program.clone());
        }
    }
    // Compiled outside the lock: a long expression does not stall other isolates.
    let program = Arc::new(compile_expr(source, constants)?);
    let mut guard = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let cache = guard.get_or_insert_with(|| Cache {
        entries: HashMap::new(),
        clock: 0,
    });
    cache.clock += 1;
    if cache.entries.len() >= CACHE_CAPACITY && !cache.entries.contains_key(&key) {
        let oldest = cache
            .entries
            .iter()
            .min_by_key(|(_, (_, used))| *used)
            .map(|(k, _)| k.clone());
        if let Some(oldest) = oldest {
            cache.entries.remove(&oldest);
        }
    }
    let now = cache.clock;
    Ok(cache.entries.entry(key).or_insert((program, now)).0.clone())
}

/// The number of expressions in the process-wide cache (for tests).
pub fn cached_count() -> usize {
    CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map_or(0, |c| c.entries.len())
}

/// The arrays of one call, shared by its chunks.
struct Arrays {
    inputs: Vec<InputPtr>,
    out: Option<OutputPtr>,
}

// SAFETY: built only by `map_expr`/`reduce_expr`, whose callers promise that the memory
// outlives the call and that nothing else writes it; chunks write disjoint ranges of `out`.
unsafe impl Send for Arrays {}
// SAFETY: as above: shared access reads the inputs and writes disjoint ranges of `out`.
unsafe impl Sync for Arrays {}

/// An expression map call: `out[i] = program(inputs[..][i])`.
#[derive(Debug, Clone)]
pub struct ExprMapArgs {
    /// The compiled expression.
    pub program: Arc<Program>,
    /// One array per input of the program, `len` elements each.
    pub inputs: Vec<InputPtr>,
    /// The output, `len` elements.
    pub out: OutputPtr,
    /// The number of elements.
    pub len: usize,
    /// Elements per chunk; `None` for the default.
    pub chunk_len: Option<usize>,
    /// The most threads that may work on the call at once.
    pub max_workers: usize,
    /// Whether `out` is memory just allocated for this call (its pages were just zeroed
    /// into the cache): such an output is never streamed (see [`crate::chunking::STREAM_BYTES`]).
    /// Only speed depends on it.
    pub fresh_output: bool,
}

/// An expression reduction call: `op` over `program(inputs[..][i])`.
#[derive(Debug, Clone)]
pub struct ExprReduceArgs {
    /// The compiled expression.
    pub program: Arc<Program>,
    /// One array per input of the program, `len` elements each.
    pub inputs: Vec<InputPtr>,
    /// The reduction.
    pub op: ReduceOp,
    /// The number of elements.
    pub len: usize,
    /// The value the reduction starts from, instead of the operation's identity.
    pub initial: Option<f64>,
    /// Elements per chunk; `None` for the default.
    pub chunk_len: Option<usize>,
    /// The most threads that may work on the call at once.
    pub max_workers: usize,
}

/// Relative cost of an element: the program's operations and the arrays it streams.
fn cost(program: &Program, arrays: usize) -> usize {
    program.cost + arrays
}

/// Prepares an expression map.
///
/// # Safety
/// [1] Every input is valid for `len` reads and `out` for `len` writes, aligned, until the
///     call has completed (inline: returned; spawned: `on_done` ran or the job was drained).
/// [2] `out` is one of the inputs (same address and element type) or overlaps none of them.
/// [3] Nothing else writes the inputs or touches `out` until then.
pub unsafe fn map_expr(args: ExprMapArgs) -> KernelCall<()> {
    assert_eq!(
        args.inputs.len(),
        args.program.inputs.len(),
        "one array per input"
    );
    let (chunk_len, chunks, mode) = plan(
        args.len,
        args.chunk_len,
        cost(&args.program, args.inputs.len() + 1),
        args.max_workers,
    );
    let arrays = Arrays {
        inputs: args.inputs,
        out: Some(args.out),
    };
    let (program, len) = (args.program, args.len);
    // A double output far larger than the caches, not fresh, is streamed (eval_range
    // streams only one that is no input).
    let stream = !args.fresh_output
        && matches!(args.out, OutputPtr::F64(_))
        && len.saturating_mul(std::mem::size_of::<f64>()) >= crate::chunking::STREAM_BYTES;
    KernelCall {
        chunks,
        max_workers: args.max_workers,
        mode,
        body: Box::new(move |index| -> JobResult {
            // Captured whole, never by field, so the Send/Sync of `Arrays` apply.
            let arrays = &arrays;
            let range = chunk_range(index, chunk_len, len);
            let out = arrays.out.expect("a map has an output");
            // SAFETY: the range lies within `len` ([1]); chunks are disjoint; [2], [3].
            unsafe { eval::eval_range(&program, &arrays.inputs, out, range, stream) };
            Ok(())
        }),
        finish: Box::new(|| ()),
    }
}

/// Prepares an expression reduction. Chunk partials are combined in chunk order, as the
/// built-in reductions' are: the result depends on the length and chunk length only.
///
/// # Safety
/// [1] Every input is valid for `len` reads, aligned, until the call has completed.
/// [2] Nothing writes them until then.
pub unsafe fn reduce_expr(args: ExprReduceArgs) -> KernelCall<f64> {
    use std::sync::atomic::{AtomicU64, Ordering};
    assert_eq!(
        args.inputs.len(),
        args.program.inputs.len(),
        "one array per input"
    );
    let (chunk_len, chunks, mode) = plan(
        args.len,
        args.chunk_len,
        cost(&args.program, args.inputs.len()),
        args.max_workers,
    );
    let partials: Arc<Vec<AtomicU64>> = Arc::new((0..chunks).map(|_| AtomicU64::new(0)).collect());
    let written = partials.clone();
    let arrays = Arrays {
        inputs: args.inputs,
        out: None,
    };
    let (program, op, len) = (args.program, args.op, args.len);
    let start = args.initial.unwrap_or_else(|| op.identity());
    KernelCall {
        chunks,
        max_workers: args.max_workers,
        mode,
        body: Box::new(move |index| -> JobResult {
            // Captured whole, never by field, so the Send/Sync of `Arrays` apply.
            let arrays = &arrays;
            let range = chunk_range(index, chunk_len, len);
            // SAFETY: the range lies within `len`, valid and unwritten by [1] and [2].
            let partial = unsafe { eval::reduce_range(&program, &arrays.inputs, op, range) };
            // Relaxed: the job's completion count orders this before `finish` reads it.
            written[index].store(partial.to_bits(), Ordering::Relaxed);
            Ok(())
        }),
        finish: Box::new(move || {
            let combined = partials
                .iter()
                .map(|p| f64::from_bits(p.load(Ordering::Relaxed)))
                .fold(start, |acc, p| op.combine(acc, p));
            op.finish(combined, len)
        }),
    }
}

#[cfg(test)]
mod test;
