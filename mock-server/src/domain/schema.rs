//! A small reader that checks JSON against the rules of SEND's OpenAPI and reports violations
//! the way SEND's API gateway does (json-schema-validator wording), with the JSON pointer of
//! each failing element. It never stops at the first error.

use regex::Regex;
use serde_json::{Map, Value};

/// One schema violation: where and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub element: String,
    pub detail: String,
}

/// The string patterns SEND's schema uses.
#[derive(Debug, Clone, Copy)]
pub enum Pattern {
    /// `^.*$`: one line (ECMA `.` excludes \n, \r, U+2028, U+2029).
    Line,
    /// `^[ -~]*$`: printable ASCII.
    PrintableAscii,
    /// `^\d+$`.
    Digits,
    /// Any other regex, with its source as the spec writes it.
    Regex(&'static std::sync::LazyLock<Regex>, &'static str),
}

impl Pattern {
    fn source(&self) -> &'static str {
        match self {
            Pattern::Line => "^.*$",
            Pattern::PrintableAscii => "^[ -~]*$",
            Pattern::Digits => "^\\d+$",
            Pattern::Regex(_, src) => src,
        }
    }

    fn matches(&self, s: &str) -> bool {
        match self {
            Pattern::Line => !s.contains(['\n', '\r', '\u{2028}', '\u{2029}']),
            Pattern::PrintableAscii => s.bytes().all(|c| (b' '..=b'~').contains(&c)),
            Pattern::Digits => !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()),
            Pattern::Regex(re, _) => re.is_match(s),
        }
    }
}

/// Length and pattern rule of a string field.
#[derive(Debug, Clone, Copy)]
pub struct Str {
    pub min: usize,
    pub max: usize,
    pub pattern: Option<Pattern>,
}

impl Str {
    pub const fn new(min: usize, max: usize, pattern: Pattern) -> Str {
        Str {
            min,
            max,
            pattern: Some(pattern),
        }
    }
}

/// Collects violations while reading a JSON document.
#[derive(Debug, Default)]
pub struct Reader {
    pub violations: Vec<Violation>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() > 64 {
        format!("{}…", s.chars().take(64).collect::<String>())
    } else {
        s.to_string()
    }
}

impl Reader {
    pub fn fail(&mut self, element: &str, detail: impl Into<String>) {
        self.violations.push(Violation {
            element: element.to_string(),
            detail: detail.into(),
        });
    }

    fn wrong_type(&mut self, path: &str, v: &Value, allowed: &str) {
        self.fail(
            path,
            format!(
                "instance type ({}) does not match any allowed primitive type (allowed: [\"{allowed}\"])",
                type_name(v)
            ),
        );
    }

    /// The value as an object, or a violation.
    pub fn object<'v>(&mut self, v: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            other => {
                self.wrong_type(path, other, "object");
                None
            }
        }
    }

    /// Reports the required properties that are absent.
    pub fn required(&mut self, m: &Map<String, Value>, path: &str, names: &[&str]) {
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !m.contains_key(**n))
            .map(|n| format!("\"{n}\""))
            .collect();
        if !missing.is_empty() {
            self.fail(
                path,
                format!(
                    "object has missing required properties ([{}])",
                    missing.join(",")
                ),
            );
        }
    }

    /// Reports properties not allowed where the schema says `additionalProperties: false`.
    pub fn no_others(&mut self, m: &Map<String, Value>, path: &str, allowed: &[&str]) {
        let extra: Vec<String> = m
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .map(|k| format!("\"{k}\""))
            .collect();
        if !extra.is_empty() {
            self.fail(
                path,
                format!(
                    "object instance has properties which are not allowed by the schema: [{}]",
                    extra.join(",")
                ),
            );
        }
    }

    /// A string property checked against `rule`; absent gives `None` silently.
    pub fn string(
        &mut self,
        m: &Map<String, Value>,
        path: &str,
        name: &str,
        rule: Str,
    ) -> Option<String> {
        let v = m.get(name)?;
        let p = format!("{path}/{name}");
        self.check_str(v, &p, rule)
    }

    /// A string property checked against `rule`, in the gateway's words, then read as a typed
    /// value by `parse`. A value the rule lets through but `parse` refuses is a violation too,
    /// so a request is never read with a field silently missing.
    pub fn typed<T, E: std::fmt::Display>(
        &mut self,
        m: &Map<String, Value>,
        path: &str,
        name: &str,
        rule: Str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let s = self.string(m, path, name, rule)?;
        match parse(&s) {
            Ok(t) => Some(t),
            Err(e) => {
                self.fail(&format!("{path}/{name}"), e.to_string());
                None
            }
        }
    }

    pub fn check_str(&mut self, v: &Value, p: &str, rule: Str) -> Option<String> {
        let Value::String(s) = v else {
            self.wrong_type(p, v, "string");
            return None;
        };
        let len = s.chars().count();
        let mut ok = true;
        if len > rule.max {
            ok = false;
            self.fail(
                p,
                format!(
                    "string \"{}\" is too long (length: {len}, maximum allowed: {})",
                    clip(s),
                    rule.max
                ),
            );
        }
        if len < rule.min {
            ok = false;
            self.fail(
                p,
                format!(
                    "string \"{}\" is too short (length: {len}, cannot be less than {})",
                    clip(s),
                    rule.min
                ),
            );
        }
        if let Some(pat) = rule.pattern
            && !pat.matches(s)
        {
            ok = false;
            self.fail(
                p,
                format!(
                    "ECMA 262 regex \"{}\" does not match input string \"{}\"",
                    pat.source(),
                    clip(s)
                ),
            );
        }
        ok.then(|| s.clone())
    }

    /// An enum property.
    pub fn one_of(
        &mut self,
        m: &Map<String, Value>,
        path: &str,
        name: &str,
        allowed: &[&str],
    ) -> Option<String> {
        let v = m.get(name)?;
        let p = format!("{path}/{name}");
        let Value::String(s) = v else {
            self.wrong_type(&p, v, "string");
            return None;
        };
        if allowed.contains(&s.as_str()) {
            Some(s.clone())
        } else {
            let list: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
            self.fail(
                &p,
                format!(
                    "instance value (\"{}\") not found in enum (possible values: [{}])",
                    clip(s),
                    list.join(",")
                ),
            );
            None
        }
    }

    /// An int32 property within `[min, max]`.
    pub fn integer(
        &mut self,
        m: &Map<String, Value>,
        path: &str,
        name: &str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let v = m.get(name)?;
        let p = format!("{path}/{name}");
        let Some(n) = v.as_i64().filter(|_| v.is_i64() || v.is_u64()) else {
            self.wrong_type(&p, v, "integer");
            return None;
        };
        if n > max {
            self.fail(&p, format!("numeric instance is greater than the required maximum (maximum: {max}, found: {n})"));
            None
        } else if n < min {
            self.fail(&p, format!("numeric instance is lower than the required minimum (minimum: {min}, found: {n})"));
            None
        } else {
            Some(n)
        }
    }

    pub fn boolean(&mut self, m: &Map<String, Value>, path: &str, name: &str) -> Option<bool> {
        let v = m.get(name)?;
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong_type(&format!("{path}/{name}"), other, "boolean");
                None
            }
        }
    }

    /// An array property with item-count bounds; returns the items to read further.
    pub fn array<'v>(
        &mut self,
        m: &'v Map<String, Value>,
        path: &str,
        name: &str,
        min: usize,
        max: usize,
    ) -> Option<&'v Vec<Value>> {
        let v = m.get(name)?;
        let p = format!("{path}/{name}");
        let Value::Array(items) = v else {
            self.wrong_type(&p, v, "array");
            return None;
        };
        if items.len() < min {
            self.fail(&p, format!("array is too short: must have at least {min} elements but instance has {} elements", items.len()));
        }
        if items.len() > max {
            self.fail(&p, format!("array is too long: must have at most {max} elements but instance has {} elements", items.len()));
        }
        Some(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_typed_field_the_pattern_lets_through_but_its_type_refuses_is_a_violation() {
        let doc = json!({"k": "safestorage://", "n": "302000000000000001"});
        let m = doc.as_object().unwrap();
        let mut r = Reader::default();
        let loose = Str::new(0, 512, Pattern::Line);
        let key = r.typed(m, "/ref", "k", loose, send_wire::values::FileKey::parse);
        assert_eq!(key, None);
        assert_eq!(r.violations.len(), 1, "not silently missing");
        assert_eq!(r.violations[0].element, "/ref/k");
        assert!(r.violations[0].detail.contains("file key `safestorage://`"));
        let notice = r.typed(m, "", "n", loose, send_wire::values::NoticeCode::parse);
        assert_eq!(
            notice.map(|n| n.to_string()).as_deref(),
            Some("302000000000000001")
        );
        assert_eq!(
            r.typed(m, "", "absent", loose, send_wire::values::NoticeCode::parse),
            None
        );
        assert_eq!(r.violations.len(), 1, "absent is silent");
    }

    #[test]
    fn reports_every_violation_with_gateway_wording() {
        let doc = json!({"a": null, "b": "x\ny", "c": "toolong", "d": 101, "e": "NOPE", "f": 3});
        let m = doc.as_object().unwrap();
        let mut r = Reader::default();
        r.required(m, "", &["a", "z"]);
        r.string(m, "", "a", Str::new(0, 10, Pattern::Line));
        r.string(m, "", "b", Str::new(0, 10, Pattern::Line));
        r.string(m, "", "c", Str::new(0, 3, Pattern::Line));
        r.integer(m, "", "d", 0, 100);
        r.one_of(m, "", "e", &["YES"]);
        r.string(m, "", "f", Str::new(0, 3, Pattern::Line));
        let d: Vec<&str> = r.violations.iter().map(|v| v.detail.as_str()).collect();
        assert_eq!(d[0], "object has missing required properties ([\"z\"])");
        assert!(d[1].starts_with("instance type (null) does not match"));
        assert!(d[2].starts_with("ECMA 262 regex \"^.*$\""));
        assert!(d[3].contains("is too long (length: 7, maximum allowed: 3)"));
        assert!(d[4].contains("greater than the required maximum"));
        assert!(d[5].contains("not found in enum"));
        assert!(d[6].contains("instance type (integer)"));
        assert_eq!(r.violations[2].element, "/b");
    }
}
