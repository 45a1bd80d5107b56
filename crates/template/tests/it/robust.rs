//! Random token soups (fixed seed) through parse and execute: whatever the
//! input, the result is output or an error, never a panic or a hang.

use trellis_template::{Map, Options, Templates, Value, sprig};

const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    " ",
    "\n",
    ".",
    ".a",
    ".b.c",
    "$",
    "$x",
    ":=",
    "=",
    "|",
    "(",
    ")",
    ",",
    "\"s\"",
    "`r`",
    "'c'",
    "1",
    "-2",
    "3.5",
    "1e3",
    "0x1F",
    "nil",
    "true",
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "\"t\"",
    "printf",
    "\"%d %s %v %5.2f %q %x\"",
    "index",
    "slice",
    "len",
    "eq",
    "lt",
    "and",
    "or",
    "not",
    "print",
    "html",
    "js",
    "call",
    "default",
    "dict",
    "list",
    "set",
    "toJson",
    "quote",
    "upper",
    "trunc",
    "substr",
    "indent",
    "until",
    "seq",
    "regexFind",
    "\"[\"",
    "semverCompare",
    "\">=1.0\"",
    "toDate",
    "date",
    "durationRound",
    "urlParse",
    "merge",
    "deepCopy",
    "b64dec",
    "splitList",
    "first",
    "/*",
    "*/",
    "text",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_templates_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut inner = Map::new();
    inner.insert(
        "c".into(),
        Value::list(vec![Value::Int(1), Value::str("x"), Value::Nil]),
    );
    let mut m = Map::new();
    m.insert("a".into(), Value::Float(2.0));
    m.insert("b".into(), Value::map(inner));
    let data = Value::map(m);
    let funcs = sprig::funcs();
    for _ in 0..4000 {
        let n = 1 + (rng.next() % 14) as usize;
        let src: String = (0..n)
            .map(|_| PIECES[(rng.next() % PIECES.len() as u64) as usize])
            .collect();
        let mut t = Templates::new("t");
        t.funcs(&funcs);
        t.set_options(Options {
            max_steps: 10_000,
            max_output: 1 << 16,
            ..Options::default()
        });
        if t.parse("t", &src).is_ok() {
            let _ = t.execute("t", &data);
        }
    }
}
