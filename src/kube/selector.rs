//! Label selectors (`-l`), checked with apimachinery's grammar before anything is
//! sent, so a typo is refused without a cluster, the way kubectl refuses it
//! (kubernetes/apimachinery:pkg/labels/selector.go@v0.36.1, `Parse`).

/// A label selector the API server would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid label selector {text:?}: {why}; write key=value, key!=value, 'key in (a,b)', 'key notin (a)', key or !key, joined by commas"
)]
pub struct InvalidSelector {
    pub text: String,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Identifier(String),
    /// `!`
    Not,
    NotEquals,
    Equals,
    DoubleEquals,
    GreaterThan,
    LessThan,
    OpenParen,
    CloseParen,
    Comma,
    In,
    NotIn,
    End,
}

impl Token {
    /// The text apimachinery's messages quote for the token.
    fn literal(&self) -> &str {
        match self {
            Token::Identifier(text) => text,
            Token::Not => "!",
            Token::NotEquals => "!=",
            Token::Equals => "=",
            Token::DoubleEquals => "==",
            Token::GreaterThan => ">",
            Token::LessThan => "<",
            Token::OpenParen => "(",
            Token::CloseParen => ")",
            Token::Comma => ",",
            Token::In => "in",
            Token::NotIn => "notin",
            Token::End => "",
        }
    }
}

const SPECIAL: &[char] = &['=', '!', '(', ')', ',', '>', '<'];

/// apimachinery's lexer: identifiers run to whitespace or a special symbol; special
/// symbols form the longest token they can.
fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if SPECIAL.contains(&c) {
            let pair: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let (token, width) = match (pair.as_str(), c) {
                ("!=", _) => (Token::NotEquals, 2),
                ("==", _) => (Token::DoubleEquals, 2),
                (_, '!') => (Token::Not, 1),
                (_, '=') => (Token::Equals, 1),
                (_, '>') => (Token::GreaterThan, 1),
                (_, '<') => (Token::LessThan, 1),
                (_, '(') => (Token::OpenParen, 1),
                (_, ')') => (Token::CloseParen, 1),
                _ => (Token::Comma, 1),
            };
            out.push(token);
            i += width;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_ascii_whitespace() && !SPECIAL.contains(&chars[i])
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(match word.as_str() {
                "in" => Token::In,
                "notin" => Token::NotIn,
                _ => Token::Identifier(word),
            });
        }
    }
    out
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    /// The next token; `in` and `notin` read as identifiers where a key or value is
    /// expected (apimachinery's `Values` mode).
    fn peek_value(&self) -> Token {
        match self
            .tokens
            .get(self.position)
            .cloned()
            .unwrap_or(Token::End)
        {
            Token::In => Token::Identifier("in".into()),
            Token::NotIn => Token::Identifier("notin".into()),
            token => token,
        }
    }

    fn next_value(&mut self) -> Token {
        let token = self.peek_value();
        self.position += 1;
        token
    }

    fn next_operator(&mut self) -> Token {
        let token = self
            .tokens
            .get(self.position)
            .cloned()
            .unwrap_or(Token::End);
        self.position += 1;
        token
    }

    fn selector(&mut self) -> Result<(), String> {
        loop {
            match self.peek_value() {
                Token::Identifier(_) | Token::Not => {
                    self.requirement()?;
                    match self.next_value() {
                        Token::End => return Ok(()),
                        Token::Comma => match self.peek_value() {
                            Token::Identifier(_) | Token::Not => {}
                            other => {
                                return Err(format!(
                                    "found '{}', expected: identifier after ','",
                                    other.literal()
                                ));
                            }
                        },
                        other => {
                            return Err(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                other.literal()
                            ));
                        }
                    }
                }
                Token::End => return Ok(()),
                other => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        other.literal()
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<(), String> {
        let mut token = self.next_value();
        let negated = token == Token::Not;
        if negated {
            token = self.next_value();
        }
        let Token::Identifier(key) = token else {
            return Err(format!("found '{}', expected: identifier", token.literal()));
        };
        check_key(&key)?;
        if negated || matches!(self.peek_value(), Token::End | Token::Comma) {
            return Ok(());
        }
        let values = match self.next_operator() {
            Token::In | Token::NotIn => self.value_set()?,
            Token::Equals | Token::DoubleEquals | Token::NotEquals => vec![self.exact_value()?],
            Token::GreaterThan | Token::LessThan => {
                let value = self.exact_value()?;
                if value.parse::<i64>().is_err() {
                    return Err(format!(
                        "{value:?}: for 'Gt', 'Lt' operators, the value must be an integer"
                    ));
                }
                vec![value]
            }
            other => {
                return Err(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    other.literal()
                ));
            }
        };
        values.iter().try_for_each(|v| check_value(v))
    }

    fn exact_value(&mut self) -> Result<String, String> {
        match self.peek_value() {
            Token::End | Token::Comma => Ok(String::new()),
            Token::Identifier(value) => {
                self.position += 1;
                Ok(value)
            }
            other => Err(format!("found '{}', expected: identifier", other.literal())),
        }
    }

    /// `( a, b, … )`; empty items are empty values, as in apimachinery.
    fn value_set(&mut self) -> Result<Vec<String>, String> {
        let open = self.next_value();
        if open != Token::OpenParen {
            return Err(format!("found '{}' expected: '('", open.literal()));
        }
        let mut values = Vec::new();
        let mut expect_item = true;
        loop {
            match self.next_value() {
                Token::CloseParen => {
                    if expect_item {
                        values.push(String::new());
                    }
                    return Ok(values);
                }
                Token::Comma => {
                    if expect_item {
                        values.push(String::new());
                    }
                    expect_item = true;
                }
                Token::Identifier(value) if expect_item => {
                    values.push(value);
                    expect_item = false;
                }
                other if expect_item => {
                    return Err(format!(
                        "found '{}', expected: ',', ')' or identifier",
                        other.literal()
                    ));
                }
                other => {
                    return Err(format!("found '{}', expected: ',' or ')'", other.literal()));
                }
            }
        }
    }
}

/// `[prefix/]name`: the prefix a DNS-1123 subdomain, the name a qualified name part.
fn check_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        let subdomain = !prefix.is_empty()
            && prefix.len() <= 253
            && prefix.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !subdomain {
            return Err(format!(
                "{key:?}: the prefix before '/' must be a lower case DNS subdomain, e.g. example.com"
            ));
        }
    }
    if name.is_empty() || !is_qualified_part(name) {
        return Err(format!(
            "{key:?}: a label key is up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, with an optional DNS subdomain prefix and '/'"
        ));
    }
    Ok(())
}

/// Empty, or a qualified name part.
fn check_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_qualified_part(value) {
        Ok(())
    } else {
        Err(format!(
            "{value:?}: a label value is empty or up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ))
    }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 characters.
fn is_qualified_part(text: &str) -> bool {
    text.len() <= 63
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Refuses a label selector the API server would refuse.
pub fn check_label_selector(text: &str) -> Result<(), InvalidSelector> {
    let invalid = |why| InvalidSelector {
        text: text.to_string(),
        why,
    };
    Parser {
        tokens: tokens(text),
        position: 0,
    }
    .selector()
    .map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verdicts of apimachinery v0.36.1's `labels.Parse` on each text.
    #[test]
    fn accepts_and_refuses_as_apimachinery_does() {
        let valid = [
            "",
            "a",
            "!a",
            "a==",
            "a=",
            "a=b,c!=d",
            "a in (b,c)",
            "a notin ()",
            "a>1",
            "example.com/key=v",
            "in=notin",
            "a in (b,,c)",
            " a = b , c ",
        ];
        for text in valid {
            assert_eq!(check_label_selector(text), Ok(()), "{text:?}");
        }
        let invalid = [
            ("a in (", "expected: ',', ')' or identifier"),
            ("a>b", "must be an integer"),
            ("a=b=c", "expected: ',' or 'end of string'"),
            ("A_b/c=d", "DNS subdomain"),
            ("a,", "identifier after ','"),
            (",a", "expected: !, identifier, or 'end of string'"),
            ("a b", "expected: in, notin"),
            ("x/y/z=1", "label key"),
            ("a in (b c)", "expected: ',' or ')'"),
            ("a=-b", "label value"),
            ("!a=b", "expected: ',' or 'end of string'"),
            ("a in b", "expected: '('"),
        ];
        for (text, why) in invalid {
            let error = check_label_selector(text).expect_err(text).to_string();
            assert!(error.contains(why), "{text:?}: {error}");
        }
    }
}
