//! The shapes of the declarations: types, fields, data types, enums and methods.

/// A declared type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Str,
    Bool,
    Int,
    Long,
    Double,
    DateTime,
    Binary,
    MoRef,
    /// `xsd:anyType`: the value says its type (`xsi:type`).
    Any,
    Data(&'static str),
    Enum(&'static str),
}

impl Ty {
    /// The XML Schema name of a primitive (`xsd:` prefix), or the vim type's name.
    pub fn xsd_name(self) -> (bool, &'static str) {
        match self {
            Ty::Str => (true, "string"),
            Ty::Bool => (true, "boolean"),
            Ty::Int => (true, "int"),
            Ty::Long => (true, "long"),
            Ty::Double => (true, "double"),
            Ty::DateTime => (true, "dateTime"),
            Ty::Binary => (true, "base64Binary"),
            Ty::Any => (true, "anyType"),
            Ty::MoRef => (false, "ManagedObjectReference"),
            Ty::Data(n) | Ty::Enum(n) => (false, n),
        }
    }

    /// A primitive by its XML Schema name (`xsi:type="xsd:int"`).
    pub fn from_xsd(name: &str) -> Option<Ty> {
        Some(match name {
            "string" | "anyURI" => Ty::Str,
            "boolean" => Ty::Bool,
            "int" | "short" | "byte" => Ty::Int,
            "long" => Ty::Long,
            "double" | "float" => Ty::Double,
            "dateTime" => Ty::DateTime,
            "base64Binary" => Ty::Binary,
            "anyType" => Ty::Any,
            _ => return None,
        })
    }
}

/// A field of a data object or a parameter of a method.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub array: bool,
    pub required: bool,
}

pub const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        array: false,
        required: false,
    }
}

pub const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        array: false,
        required: true,
    }
}

pub const fn arr(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        array: true,
        required: false,
    }
}

pub const fn req_arr(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        array: true,
        required: true,
    }
}

/// A data object type: its base and its own fields (the base's come first on the wire).
#[derive(Debug)]
pub struct DataType {
    pub name: &'static str,
    pub base: Option<&'static str>,
    pub fields: &'static [Field],
}

pub const fn data(
    name: &'static str,
    base: Option<&'static str>,
    fields: &'static [Field],
) -> DataType {
    DataType { name, base, fields }
}

#[derive(Debug)]
pub struct EnumType {
    pub name: &'static str,
    pub values: &'static [&'static str],
}

/// A served method: the parameters after `_this`, and the result (None: void).
#[derive(Debug)]
pub struct Method {
    pub name: &'static str,
    pub params: &'static [Field],
    pub returns: Option<Field>,
}

impl Method {
    pub fn param(&self, name: &str) -> Option<&'static Field> {
        self.params.iter().find(|f| f.name == name)
    }
}
