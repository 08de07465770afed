//! The wire declarations of what the vim binding serves: each served method's parameters and
//! result, the data types its requests carry (`data`), the ones its answers and property
//! values carry (`results`, `events`), and the faults it raises (`fault_types`). The SOAP door
//! types what it decodes by them (SOAP leaves a value's type out when it is the declared one),
//! the WSDL is written from them, and `undeclared` checks a rendered value against them, so
//! none of these is maintained by hand. Names and types are vim25's.
mod check;
mod data;
mod decl;
mod events;
mod fault_types;
mod methods;
mod raises;
mod results;
mod tables;

pub use check::undeclared;
pub use decl::{DataType, EnumType, Field, Ty};
pub use methods::{method, METHODS};
pub use raises::raises;
pub use tables::{data_type, data_types, enum_type, enum_types};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_type_name_resolves() {
        let check = |ty: Ty, at: &str| match ty {
            Ty::Data(n) => assert!(data_type(n).is_some(), "{at}: no data type {n}"),
            Ty::Enum(n) => assert!(enum_type(n).is_some(), "{at}: no enum {n}"),
            _ => {}
        };
        for d in data_types() {
            if let Some(b) = d.base {
                assert!(data_type(b).is_some(), "{}: no base {b}", d.name);
            }
            for f in d.fields {
                check(f.ty, &format!("{}.{}", d.name, f.name));
            }
        }
        for m in METHODS {
            for f in m.params.iter().chain(m.returns.iter()) {
                check(f.ty, &format!("{}({})", m.name, f.name));
            }
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = data_types().map(|d| d.name).collect();
        names.extend(enum_types().map(|e| e.name));
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "a type is declared twice");
        let mut m: Vec<&str> = METHODS.iter().map(|m| m.name).collect();
        let n = m.len();
        m.sort();
        m.dedup();
        assert_eq!(m.len(), n, "a method is declared twice");
    }

    #[test]
    fn inherited_fields_are_found() {
        let t = data_type("TraversalSpec").unwrap();
        assert!(t.field("name").is_some() && t.field("path").is_some());
        assert!(t.is_a("SelectionSpec"));
        assert!(!data_type("SelectionSpec").unwrap().is_a("TraversalSpec"));
    }
}
