//! Tokens of the expression language, each with the character position it starts at.

use super::ExprError;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    Number(f64),
    Ident(String),
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    StarStar,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    LParen,
    RParen,
    Comma,
    End,
}

impl Token {
    /// How an error message names the token.
    pub(crate) fn describe(&self) -> String {
        match self {
            Token::Number(_) => "a number".to_string(),
            Token::Ident(name) => format!("'{name}'"),
            Token::End => "the end of the expression".to_string(),
            other => format!("'{}'", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Token::Plus => "+",
            Token::Minus => "-",
            Token::Star => "*",
            Token::Slash => "/",
            Token::Percent => "%",
            Token::StarStar => "**",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::Gt => ">",
            Token::Ge => ">=",
            Token::EqEq => "==",
            Token::Ne => "!=",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::Comma => ",",
            Token::Number(_) | Token::Ident(_) | Token::End => "",
        }
    }
}

/// A token and the position (in characters) where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned {
    pub(crate) token: Token,
    pub(crate) pos: usize,
}

fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '$'
}

fn ident_continue(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// Splits `source` into tokens, ending with [`Token::End`].
pub(crate) fn tokenize(source: &str) -> Result<Vec<Spanned>, ExprError> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let pos = i;
        let next = chars.get(i + 1).copied();
        let (token, width) = match c {
            '0'..='9' | '.' => {
                let (value, width) = number(&chars, i)?;
                (Token::Number(value), width)
            }
            c if ident_start(c) => {
                let end = (i..chars.len())
                    .find(|&j| !ident_continue(chars[j]))
                    .unwrap_or(chars.len());
                (Token::Ident(chars[i..end].iter().collect()), end - i)
            }
            '+' => (Token::Plus, 1),
            '-' => (Token::Minus, 1),
            '*' if next == Some('*') => (Token::StarStar, 2),
            '*' => (Token::Star, 1),
            '/' => (Token::Slash, 1),
            '%' => (Token::Percent, 1),
            '<' if next == Some('=') => (Token::Le, 2),
            '<' => (Token::Lt, 1),
            '>' if next == Some('=') => (Token::Ge, 2),
            '>' => (Token::Gt, 1),
            '=' if next == Some('=') => (Token::EqEq, 2),
            '!' if next == Some('=') => (Token::Ne, 2),
            '(' => (Token::LParen, 1),
            ')' => (Token::RParen, 1),
            ',' => (Token::Comma, 1),
            '=' => {
                return Err(ExprError::new(
                    "unexpected '=' (comparisons are written '==')",
                    pos,
                ))
            }
            other => {
                return Err(ExprError::new(
                    format!("unexpected character '{other}'"),
                    pos,
                ))
            }
        };
        // `a === b` and `a !== b` read as JS: the same as `==` and `!=` on numbers.
        let width = if matches!(token, Token::EqEq | Token::Ne) && chars.get(i + 2) == Some(&'=') {
            3
        } else {
            width
        };
        out.push(Spanned { token, pos });
        i += width;
    }
    out.push(Spanned {
        token: Token::End,
        pos: chars.len(),
    });
    Ok(out)
}

/// A decimal literal at `start`: `12`, `1.5`, `.5`, `2.`, `1e-3`. Rust's parser rounds
/// correctly, as JS's does, so the literal has the same value as in JS.
fn number(chars: &[char], start: usize) -> Result<(f64, usize), ExprError> {
    let mut i = start;
    let digits = |i: &mut usize| {
        let from = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - from
    };
    let mut count = digits(&mut i);
    if i < chars.len() && chars[i] == '.' {
        i += 1;
        count += digits(&mut i);
    }
    if count == 0 {
        return Err(ExprError::new("unexpected '.'", start));
    }
    if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
        let mut j = i + 1;
        if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
            j += 1;
        }
        if digits(&mut j) == 0 {
            return Err(ExprError::new(
                "malformed number: an exponent needs digits",
                j,
            ));
        }
        i = j;
    }
    if i < chars.len() && (ident_start(chars[i]) || chars[i] == '.') {
        return Err(ExprError::new(
            format!("unexpected '{}' after a number", chars[i]),
            i,
        ));
    }
    let text: String = chars[start..i].iter().collect();
    let value = text
        .parse::<f64>()
        .map_err(|_| ExprError::new("malformed number", start))?;
    Ok((value, i - start))
}
