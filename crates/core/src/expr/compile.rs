//! From a syntax tree to a [`Program`]: constants folded, common subexpressions shared,
//! then one instruction per remaining operation, with registers reused once their value
//! is dead.

use std::collections::HashMap;

use super::ops::{select, Op1, Op2};
use super::parser::Ast;

/// Where an instruction reads an argument from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Operand {
    /// A register: a block-sized array of intermediate values.
    Reg(u16),
    /// An input array.
    Input(u16),
    /// A number, the same for every element.
    Const(f64),
}

/// One operation over a block: `dst[i] = op(args[i])`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Instr {
    /// A one-argument operation.
    Unary {
        /// The operation.
        op: Op1,
        /// The register written.
        dst: u16,
        /// The argument.
        a: Operand,
    },
    /// A two-argument operation.
    Binary {
        /// The operation.
        op: Op2,
        /// The register written.
        dst: u16,
        /// The first argument.
        a: Operand,
        /// The second argument.
        b: Operand,
    },
    /// `a*b + c`, `a*b - c` or `c - a*b`: a product used once, fused with the sum that
    /// reads it, so the block is walked once instead of twice. Still two roundings, as in
    /// JS (never a hardware fused multiply-add).
    MulAdd {
        /// Which of the three forms.
        form: MulAddForm,
        /// The register written.
        dst: u16,
        /// The first factor.
        a: Operand,
        /// The second factor.
        b: Operand,
        /// The addend.
        c: Operand,
    },
    /// `where(c, a, b)`.
    Where {
        /// The register written.
        dst: u16,
        /// The condition.
        c: Operand,
        /// The value where the condition holds.
        a: Operand,
        /// The value elsewhere.
        b: Operand,
    },
}

/// The forms of [`Instr::MulAdd`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MulAddForm {
    /// `a*b + c` (and `c + a*b`: IEEE addition is commutative)
    Add,
    /// `a*b - c`
    Sub,
    /// `c - a*b`
    SubFrom,
}

/// A compiled expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// The inputs' names, in the order their arrays are passed.
    pub inputs: Vec<String>,
    /// The instructions, run in order over each block.
    pub instrs: Vec<Instr>,
    /// Where the result is after the last instruction.
    pub result: Operand,
    /// The number of registers the instructions use.
    pub registers: usize,
    /// Relative cost of one element (1: an add), for choosing where a call runs.
    pub cost: usize,
}

/// A node of the expression's DAG: children are earlier nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Node {
    Const(u64),
    Input(usize),
    Unary(Op1, usize),
    Binary(Op2, usize, usize),
    Where(usize, usize, usize),
}

/// Builds the DAG, folding every operation whose arguments are all constants (with the
/// same functions the block loops use, so folding never changes a result) and sharing
/// equal subtrees (`x*x + x*x` computes `x*x` once).
#[derive(Default)]
struct Dag {
    nodes: Vec<Node>,
    index: HashMap<Node, usize>,
}

impl Dag {
    fn intern(&mut self, node: Node) -> usize {
        if let Some(&id) = self.index.get(&node) {
            return id;
        }
        self.nodes.push(node);
        self.index.insert(node, self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    fn constant(&self, id: usize) -> Option<f64> {
        match self.nodes[id] {
            Node::Const(bits) => Some(f64::from_bits(bits)),
            _ => None,
        }
    }

    fn number(&mut self, value: f64) -> usize {
        self.intern(Node::Const(value.to_bits()))
    }

    fn add(&mut self, ast: &Ast) -> usize {
        match ast {
            Ast::Num(v) => self.number(*v),
            Ast::Input(i) => self.intern(Node::Input(*i)),
            Ast::Unary(op, a) => {
                let a = self.add(a);
                match self.constant(a) {
                    Some(x) => self.number(op.apply(x)),
                    None => self.intern(Node::Unary(*op, a)),
                }
            }
            Ast::Binary(op, a, b) => {
                let (a, b) = (self.add(a), self.add(b));
                match (self.constant(a), self.constant(b)) {
                    (Some(x), Some(y)) => self.number(op.apply(x, y)),
                    _ => self.intern(Node::Binary(*op, a, b)),
                }
            }
            Ast::Where(c, a, b) => {
                let (c, a, b) = (self.add(c), self.add(a), self.add(b));
                match (self.constant(c), self.constant(a), self.constant(b)) {
                    (Some(x), Some(y), Some(z)) => self.number(select(x, y, z)),
                    // A constant condition picks a branch outright.
                    (Some(x), _, _) => {
                        if select(x, 1.0, 0.0) == 1.0 {
                            a
                        } else {
                            b
                        }
                    }
                    _ if a == b => a,
                    _ => self.intern(Node::Where(c, a, b)),
                }
            }
        }
    }
}

/// Compiles a parsed tree over `inputs` into a program.
pub(crate) fn compile(ast: &Ast, inputs: Vec<String>) -> Program {
    let mut dag = Dag::default();
    let root = dag.add(ast);
    let nodes = &dag.nodes;

    // Which nodes the root needs, and how many live nodes read each one.
    let mut live = vec![false; nodes.len()];
    live[root] = true;
    let mut uses = vec![0usize; nodes.len()];
    for id in (0..nodes.len()).rev() {
        if live[id] {
            for child in children(nodes[id]) {
                live[child] = true;
                uses[child] += 1;
            }
        }
    }

    // A product read once, by a sum or difference, is fused into it.
    let product = |id: usize| match nodes[id] {
        Node::Binary(Op2::Mul, a, b) if uses[id] == 1 && id != root => Some((a, b)),
        _ => None,
    };
    let mut fused = vec![false; nodes.len()];
    // Per live node to emit: its operation and the nodes it reads.
    let mut steps: Vec<(usize, Step, Vec<usize>)> = Vec::new();
    for id in 0..nodes.len() {
        if !live[id] {
            continue;
        }
        let step = match nodes[id] {
            Node::Const(_) | Node::Input(_) => continue,
            Node::Binary(op @ (Op2::Add | Op2::Sub), x, y) => match (product(x), product(y)) {
                (Some((a, b)), _) => {
                    fused[x] = true;
                    let form = if op == Op2::Add {
                        MulAddForm::Add
                    } else {
                        MulAddForm::Sub
                    };
                    (Step::MulAdd(form), vec![a, b, y])
                }
                (None, Some((a, b))) => {
                    fused[y] = true;
                    let form = if op == Op2::Add {
                        MulAddForm::Add
                    } else {
                        MulAddForm::SubFrom
                    };
                    (Step::MulAdd(form), vec![a, b, x])
                }
                (None, None) => (Step::Binary(op), vec![x, y]),
            },
            Node::Unary(op, a) => (Step::Unary(op), vec![a]),
            Node::Binary(op, a, b) => (Step::Binary(op), vec![a, b]),
            Node::Where(c, a, b) => (Step::Where, vec![c, a, b]),
        };
        steps.push((id, step.0, step.1));
    }
    steps.retain(|(id, _, _)| !fused[*id]);

    // The last step that reads each node.
    let mut last_use = vec![usize::MAX; nodes.len()];
    for (at, (_, _, args)) in steps.iter().enumerate() {
        for &arg in args {
            last_use[arg] = at;
        }
    }

    let mut operand: Vec<Option<Operand>> = vec![None; nodes.len()];
    for (id, node) in nodes.iter().enumerate() {
        operand[id] = match *node {
            Node::Const(bits) => Some(Operand::Const(f64::from_bits(bits))),
            Node::Input(i) => Some(Operand::Input(i as u16)),
            _ => None,
        };
    }
    let mut free: Vec<u16> = Vec::new();
    let mut registers = 0usize;
    let mut instrs = Vec::new();
    let mut cost = 0usize;
    for (at, (id, step, args)) in steps.iter().enumerate() {
        let arg = |k: usize| operand[args[k]].expect("arguments come first");
        // The destination is taken before the arguments' registers are freed: an
        // instruction never writes a register it reads.
        let dst = free.pop().unwrap_or_else(|| {
            registers += 1;
            (registers - 1) as u16
        });
        let instr = match *step {
            Step::Unary(op) => {
                cost += op.cost();
                Instr::Unary { op, dst, a: arg(0) }
            }
            Step::Binary(op) => {
                cost += op.cost();
                Instr::Binary {
                    op,
                    dst,
                    a: arg(0),
                    b: arg(1),
                }
            }
            Step::MulAdd(form) => {
                cost += 2;
                Instr::MulAdd {
                    form,
                    dst,
                    a: arg(0),
                    b: arg(1),
                    c: arg(2),
                }
            }
            Step::Where => {
                cost += 1;
                Instr::Where {
                    dst,
                    c: arg(0),
                    a: arg(1),
                    b: arg(2),
                }
            }
        };
        instrs.push(instr);
        operand[*id] = Some(Operand::Reg(dst));
        let mut seen = Vec::with_capacity(3);
        for &child in args {
            if last_use[child] == at && !seen.contains(&child) {
                seen.push(child);
                if let Some(Operand::Reg(r)) = operand[child] {
                    free.push(r);
                }
            }
        }
    }
    Program {
        inputs,
        instrs,
        result: operand[root].expect("the root is live"),
        registers,
        cost: cost.max(1),
    }
}

/// What one emitted instruction does (before registers are assigned).
#[derive(Debug, Clone, Copy)]
enum Step {
    Unary(Op1),
    Binary(Op2),
    MulAdd(MulAddForm),
    Where,
}

fn children(node: Node) -> impl Iterator<Item = usize> {
    let (list, n): ([usize; 3], usize) = match node {
        Node::Const(_) | Node::Input(_) => ([0; 3], 0),
        Node::Unary(_, a) => ([a, 0, 0], 1),
        Node::Binary(_, a, b) => ([a, b, 0], 2),
        Node::Where(c, a, b) => ([c, a, b], 3),
    };
    list.into_iter().take(n)
}
