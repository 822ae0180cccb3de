//! A recursive-descent parser: one function per precedence level, so the grammar in
//! docs/expressions.md reads off the code, and every error knows the position it is at.
//!
//! ```text
//! expr       := comparison
//! comparison := additive (('<' | '<=' | '>' | '>=' | '==' | '!=') additive)*
//! additive   := term (('+' | '-') term)*
//! term       := unary (('*' | '/' | '%') unary)*
//! unary      := ('-' | '+') unary | power
//! power      := primary ('**' unary)?          right-associative; `-x ** 2` is an error, as in JS
//! primary    := number | name | name '(' (expr (',' expr)*)? ')' | '(' expr ')'
//! ```

use super::lexer::{tokenize, Spanned, Token};
use super::ops::{Op1, Op2};
use super::ExprError;

/// The syntax tree of an expression. Names are resolved: constants are numbers, and an
/// input is its index in the order of first appearance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ast {
    Num(f64),
    Input(usize),
    Unary(Op1, Box<Ast>),
    Binary(Op2, Box<Ast>, Box<Ast>),
    Where(Box<Ast>, Box<Ast>, Box<Ast>),
}

/// A parsed expression: its tree and its inputs' names.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) ast: Ast,
    pub(crate) inputs: Vec<String>,
}

/// Parses `source`; `constant` names the caller's constants.
pub(crate) fn parse(
    source: &str,
    constant: &dyn Fn(&str) -> Option<f64>,
) -> Result<Parsed, ExprError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        inputs: Vec::new(),
        constant,
        depth: 0,
    };
    let ast = parser.expr()?;
    let end = parser.peek();
    if end.token != Token::End {
        let what = match end.token {
            Token::RParen => "unmatched ')'".to_string(),
            _ => format!("unexpected {} (expected an operator)", end.token.describe()),
        };
        return Err(ExprError::new(what, end.pos));
    }
    Ok(Parsed {
        ast,
        inputs: parser.inputs,
    })
}

/// Nesting deeper than this is refused, so a hostile expression cannot overflow the stack
/// (parsing, folding and compiling all recurse over the tree).
const MAX_DEPTH: usize = 200;

struct Parser<'c> {
    tokens: Vec<Spanned>,
    at: usize,
    inputs: Vec<String>,
    constant: &'c dyn Fn(&str) -> Option<f64>,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Spanned {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Spanned {
        let token = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        token
    }

    fn eat(&mut self, token: &Token) -> bool {
        if &self.peek().token == token {
            self.next();
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::new(
                format!("expression nested more than {MAX_DEPTH} deep"),
                self.peek().pos,
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Ast, ExprError> {
        self.enter()?;
        let mut left = self.additive()?;
        loop {
            let op = match self.peek().token {
                Token::Lt => Op2::Lt,
                Token::Le => Op2::Le,
                Token::Gt => Op2::Gt,
                Token::Ge => Op2::Ge,
                Token::EqEq => Op2::Eq,
                Token::Ne => Op2::Ne,
                _ => break,
            };
            self.next();
            left = Ast::Binary(op, Box::new(left), Box::new(self.additive()?));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn additive(&mut self) -> Result<Ast, ExprError> {
        let mut left = self.term()?;
        loop {
            let op = match self.peek().token {
                Token::Plus => Op2::Add,
                Token::Minus => Op2::Sub,
                _ => break,
            };
            self.next();
            left = Ast::Binary(op, Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Ast, ExprError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek().token {
                Token::Star => Op2::Mul,
                Token::Slash => Op2::Div,
                Token::Percent => Op2::Rem,
                _ => break,
            };
            self.next();
            left = Ast::Binary(op, Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Ast, ExprError> {
        Ok(self.signed()?.0)
    }

    /// A unary expression, and where its `**` is when it is a bare power (`x ** 2`, not
    /// `(x ** 2)`).
    fn signed(&mut self) -> Result<(Ast, Option<usize>), ExprError> {
        let negate = match self.peek().token {
            Token::Minus => true,
            Token::Plus => false,
            _ => return self.power(),
        };
        self.next();
        self.enter()?;
        let (operand, power) = self.signed()?;
        // JS refuses `-x ** 2` (is it (-x)**2 or -(x**2)?); so does this language.
        if let Some(pos) = power {
            return Err(ExprError::new(
                "a sign before '**' is ambiguous: write (-x) ** y or -(x ** y)",
                pos,
            ));
        }
        self.depth -= 1;
        // Unary plus is JS's `+x`, the number itself.
        Ok((
            if negate {
                Ast::Unary(Op1::Neg, Box::new(operand))
            } else {
                operand
            },
            None,
        ))
    }

    /// A primary, raised to a power when `**` follows (then also the position of `**`).
    fn power(&mut self) -> Result<(Ast, Option<usize>), ExprError> {
        let base = self.primary()?;
        let at = self.peek().pos;
        if !self.eat(&Token::StarStar) {
            return Ok((base, None));
        }
        self.enter()?;
        let exponent = self.unary()?;
        self.depth -= 1;
        Ok((
            Ast::Binary(Op2::Pow, Box::new(base), Box::new(exponent)),
            Some(at),
        ))
    }

    fn primary(&mut self) -> Result<Ast, ExprError> {
        let Spanned { token, pos } = self.next();
        match token {
            Token::Number(value) => Ok(Ast::Num(value)),
            Token::LParen => {
                let inner = self.expr()?;
                let close = self.next();
                if close.token != Token::RParen {
                    return Err(ExprError::new(
                        format!(
                            "expected ')' to close the '(' at position {pos}, found {}",
                            close.token.describe()
                        ),
                        close.pos,
                    ));
                }
                Ok(inner)
            }
            Token::Ident(name) => {
                if self.peek().token == Token::LParen {
                    self.next();
                    let args = self.arguments()?;
                    call(&name, pos, args)
                } else {
                    self.name(name, pos)
                }
            }
            other => Err(ExprError::new(
                format!(
                    "unexpected {} (expected a number, a name or '(')",
                    other.describe()
                ),
                pos,
            )),
        }
    }

    fn arguments(&mut self) -> Result<Vec<Ast>, ExprError> {
        let mut args = Vec::new();
        if self.eat(&Token::RParen) {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            let Spanned { token, pos } = self.next();
            match token {
                Token::Comma => continue,
                Token::RParen => return Ok(args),
                other => {
                    return Err(ExprError::new(
                        format!(
                            "expected ',' or ')' in the argument list, found {}",
                            other.describe()
                        ),
                        pos,
                    ))
                }
            }
        }
    }

    fn name(&mut self, name: String, pos: usize) -> Result<Ast, ExprError> {
        if let Some(value) = (self.constant)(&name) {
            return Ok(Ast::Num(value));
        }
        match name.as_str() {
            "PI" => return Ok(Ast::Num(std::f64::consts::PI)),
            "E" => return Ok(Ast::Num(std::f64::consts::E)),
            _ => {}
        }
        if is_function(&name) {
            return Err(ExprError::new(
                format!("'{name}' is a function: call it as {name}(...)"),
                pos,
            ));
        }
        let index = match self.inputs.iter().position(|n| *n == name) {
            Some(i) => i,
            None => {
                self.inputs.push(name);
                self.inputs.len() - 1
            }
        };
        Ok(Ast::Input(index))
    }
}

fn is_function(name: &str) -> bool {
    Op1::function(name).is_some()
        || matches!(name, "atan2" | "pow" | "min" | "max" | "hypot" | "where")
}

/// A call of function `name` (at `pos`) with `args`, checked for arity.
fn call(name: &str, pos: usize, args: Vec<Ast>) -> Result<Ast, ExprError> {
    let arity = |n: usize| -> Result<(), ExprError> {
        if args.len() == n {
            Ok(())
        } else {
            let plural = if n == 1 { "" } else { "s" };
            Err(ExprError::new(
                format!("{name}() takes {n} argument{plural}, got {}", args.len()),
                pos,
            ))
        }
    };
    if let Some(op) = Op1::function(name) {
        arity(1)?;
        let [x] = <[Ast; 1]>::try_from(args).expect("arity checked");
        return Ok(Ast::Unary(op, Box::new(x)));
    }
    let fold = |op: Op2, empty: f64, single: &dyn Fn(Ast) -> Ast, args: Vec<Ast>| {
        let mut it = args.into_iter();
        match it.next() {
            None => Ast::Num(empty),
            Some(first) => {
                let second = it.next();
                match second {
                    None => single(first),
                    Some(second) => it.fold(
                        Ast::Binary(op, Box::new(first), Box::new(second)),
                        |acc, x| Ast::Binary(op, Box::new(acc), Box::new(x)),
                    ),
                }
            }
        }
    };
    match name {
        "atan2" | "pow" => {
            arity(2)?;
            let op = if name == "pow" { Op2::Pow } else { Op2::Atan2 };
            let [a, b] = <[Ast; 2]>::try_from(args).expect("arity checked");
            Ok(Ast::Binary(op, Box::new(a), Box::new(b)))
        }
        "where" => {
            arity(3)?;
            let [c, a, b] = <[Ast; 3]>::try_from(args).expect("arity checked");
            Ok(Ast::Where(Box::new(c), Box::new(a), Box::new(b)))
        }
        // Variadic as in JS: Math.min() is Infinity, Math.min(x) is x.
        "min" => Ok(fold(Op2::Min, f64::INFINITY, &|x| x, args)),
        "max" => Ok(fold(Op2::Max, f64::NEG_INFINITY, &|x| x, args)),
        "hypot" => Ok(fold(
            Op2::Hypot,
            0.0,
            &|x| Ast::Unary(Op1::Abs, Box::new(x)),
            args,
        )),
        _ => Err(ExprError::new(format!("unknown function '{name}'"), pos)),
    }
}
