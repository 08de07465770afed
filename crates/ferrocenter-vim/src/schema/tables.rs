//! The one lookup over every table of declarations.
use super::decl::Ty::{self, Data, Enum, MoRef};
use super::decl::{DataType, EnumType, Field};
use super::{data, events, fault_types, results};

/// Every data type table, in the order the WSDL lists them.
static DATA_TABLES: &[&[DataType]] = &[
    data::DATA_TYPES,
    results::RESULT_TYPES,
    events::EVENT_TYPES,
    fault_types::FAULT_TYPES,
];

static ENUM_TABLES: &[&[EnumType]] = &[data::ENUMS, results::RESULT_ENUMS];

/// Every declared data type.
pub fn data_types() -> impl Iterator<Item = &'static DataType> {
    DATA_TABLES.iter().flat_map(|t| t.iter())
}

/// Every declared enum.
pub fn enum_types() -> impl Iterator<Item = &'static EnumType> {
    ENUM_TABLES.iter().flat_map(|t| t.iter())
}

/// A data type of any table: requests', results', events' or faults'.
pub fn data_type(name: &str) -> Option<&'static DataType> {
    DATA_TABLES
        .iter()
        .flat_map(|t| t.iter())
        .find(|d| d.name == name)
}

pub fn enum_type(name: &str) -> Option<&'static EnumType> {
    ENUM_TABLES
        .iter()
        .flat_map(|t| t.iter())
        .find(|e| e.name == name)
}

impl DataType {
    /// A field of this type or of one of its bases.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        let mut t = Some(self);
        while let Some(d) = t {
            if let Some(f) = d.fields.iter().find(|f| f.name == name) {
                return Some(f);
            }
            t = d.base.and_then(data_type);
        }
        None
    }

    /// The position of field `name` in the type's `xsd:sequence` (the bases' fields first),
    /// the order a strict WSDL client reads them in.
    pub fn position(&self, name: &str) -> Option<usize> {
        let mut chain = Vec::new();
        let mut t = Some(self);
        while let Some(d) = t {
            chain.push(d);
            t = d.base.and_then(data_type);
        }
        chain
            .iter()
            .rev()
            .flat_map(|d| d.fields.iter())
            .position(|f| f.name == name)
    }

    /// Whether this type is `ancestor` or derives from it.
    pub fn is_a(&self, ancestor: &str) -> bool {
        let mut t = Some(self);
        while let Some(d) = t {
            if d.name == ancestor {
                return true;
            }
            t = d.base.and_then(data_type);
        }
        false
    }
}

impl Ty {
    /// A vim type by name: a data object, an enum, or a MoRef.
    pub fn from_vim(name: &str) -> Option<Ty> {
        if name == "ManagedObjectReference" {
            return Some(MoRef);
        }
        if let Some(d) = data_type(name) {
            return Some(Data(d.name));
        }
        enum_type(name).map(|e| Enum(e.name))
    }
}
