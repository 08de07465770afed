//! Filtered, sorted, paged listings (ZStack's query language, and any surface that filters).
//! Conditions name fields of the core's vocabulary and carry typed values; the store turns
//! them into parameterised SQL from a fixed table of columns, never from caller text.
use crate::CoreError;

/// A comparison, in the order ZStack's parser tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryOp {
    Ne,
    Ge,
    Le,
    NotIn,
    NotLike,
    Like,
    In,
    Eq,
    Gt,
    Lt,
    IsNull,
    NotNull,
}

impl QueryOp {
    /// How many values the operator takes: none, one, or a list of at least one.
    pub fn arity(self) -> Arity {
        match self {
            QueryOp::IsNull | QueryOp::NotNull => Arity::None,
            QueryOp::In | QueryOp::NotIn => Arity::List,
            _ => Arity::One,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    None,
    One,
    List,
}

/// A condition's value, typed by its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryValue {
    Text(String),
    Int(i64),
}

/// How a field's values are written and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    Int,
    /// Compared as Unix milliseconds.
    Time,
    /// Compared as 1 or 0.
    Bool,
}

/// A field a listing can filter and sort on.
pub trait QueryField: Copy {
    fn kind(self) -> ValueKind {
        ValueKind::Text
    }
    /// Tag pseudo-fields (`__systemTag__`, `__userTag__`) filter but cannot sort.
    fn sortable(self) -> bool {
        true
    }
}

/// Which tags a tag condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    System,
    User,
}

impl TagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TagKind::System => "system",
            TagKind::User => "user",
        }
    }
}

/// What a host listing can filter and sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostField {
    Id,
    /// The vim/vAPI id (`host-12`).
    Moid,
    Name,
    /// Null when never given (empty), as ZStack stores it: `is null` finds those hosts.
    Description,
    DatacenterId,
    ClusterId,
    /// The agent's address (ZStack managementIp).
    Address,
    HypervisorType,
    /// Enabled, Disabled, PreMaintenance, Maintenance.
    State,
    /// Connected, Connecting or Disconnected (ZStack's status; notResponding is Disconnected).
    Status,
    CreatedAt,
    LastOpAt,
    ClusterName,
    DatacenterName,
    /// ZStack's `sshPort` (22 when never set).
    SshPort,
    /// A tag of the host. With a negative operator: the host has no such tag.
    Tag(TagKind),
    /// Capacity as ZStack reports it (`crate::hosts::Capacity`), from the host's facts and its
    /// powered-on VMs: computed by the read model, never stored.
    CpuNum,
    TotalCpuCapacity,
    AvailableCpuCapacity,
    TotalMemoryCapacity,
    AvailableMemoryCapacity,
}

impl HostField {
    /// Whether the field is computed in memory rather than stored (the store refuses it).
    pub fn computed(self) -> bool {
        matches!(
            self,
            HostField::CpuNum
                | HostField::TotalCpuCapacity
                | HostField::AvailableCpuCapacity
                | HostField::TotalMemoryCapacity
                | HostField::AvailableMemoryCapacity
        )
    }
}

impl QueryField for HostField {
    fn kind(self) -> ValueKind {
        match self {
            HostField::CreatedAt | HostField::LastOpAt => ValueKind::Time,
            _ if self.computed() => ValueKind::Int,
            HostField::SshPort => ValueKind::Int,
            _ => ValueKind::Text,
        }
    }
    fn sortable(self) -> bool {
        !matches!(self, HostField::Tag(_))
    }
}

/// What a datacenter (ZStack zone) listing can filter and sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatacenterField {
    Id,
    Name,
    Description,
    State,
    /// Always `zstack`.
    Type,
    IsDefault,
    CreatedAt,
    LastOpAt,
    Tag(TagKind),
}

impl QueryField for DatacenterField {
    fn kind(self) -> ValueKind {
        match self {
            DatacenterField::CreatedAt | DatacenterField::LastOpAt => ValueKind::Time,
            DatacenterField::IsDefault => ValueKind::Bool,
            _ => ValueKind::Text,
        }
    }
    fn sortable(self) -> bool {
        !matches!(self, DatacenterField::Tag(_))
    }
}

/// What a cluster listing can filter and sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterField {
    Id,
    Name,
    Description,
    State,
    HypervisorType,
    Type,
    Architecture,
    DatacenterId,
    DatacenterName,
    CreatedAt,
    LastOpAt,
    Tag(TagKind),
}

impl QueryField for ClusterField {
    fn kind(self) -> ValueKind {
        match self {
            ClusterField::CreatedAt | ClusterField::LastOpAt => ValueKind::Time,
            _ => ValueKind::Text,
        }
    }
    fn sortable(self) -> bool {
        !matches!(self, ClusterField::Tag(_))
    }
}

/// What a VM listing can filter and sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmField {
    Id,
    Name,
    HostId,
    HostName,
    ClusterId,
    DatacenterId,
    /// ZStack's VM state: Running, Stopped, Paused, or Unknown while the host is unreachable.
    State,
    CpuNum,
    MemoryBytes,
    CreatedAt,
    LastOpAt,
    Tag(TagKind),
}

impl QueryField for VmField {
    fn kind(self) -> ValueKind {
        match self {
            VmField::CreatedAt | VmField::LastOpAt => ValueKind::Time,
            VmField::CpuNum | VmField::MemoryBytes => ValueKind::Int,
            _ => ValueKind::Text,
        }
    }
    fn sortable(self) -> bool {
        !matches!(self, VmField::Tag(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition<F> {
    pub field: F,
    pub op: QueryOp,
    pub values: Vec<QueryValue>,
}

impl<F: Copy> Condition<F> {
    /// A condition whose values fit its operator; `name` is how the caller spelled the field.
    pub fn new(
        field: F,
        op: QueryOp,
        values: Vec<QueryValue>,
        name: &str,
    ) -> Result<Self, CoreError> {
        let ok = match op.arity() {
            Arity::None => values.is_empty(),
            Arity::One => values.len() == 1,
            Arity::List => !values.is_empty(),
        };
        if !ok {
            return Err(CoreError::invalid(
                name,
                format!(
                    "{op:?} takes {:?} value(s), not {}",
                    op.arity(),
                    values.len()
                ),
            ));
        }
        Ok(Condition { field, op, values })
    }
}

/// Conditions one listing may carry: the store ANDs them into one expression, and the
/// engines bound its depth (SQLite: 1000).
pub const MAX_CONDITIONS: usize = 100;
/// Values one listing may carry across its conditions (`in` lists), each a bound parameter
/// (SQLite allows 32766, PostgreSQL 65535).
pub const MAX_VALUES: usize = 10_000;

/// The size every listing keeps to; the reason names the bound.
pub fn check_size(conditions: usize, values: usize) -> Result<(), String> {
    if conditions > MAX_CONDITIONS {
        return Err(format!(
            "at most {MAX_CONDITIONS} conditions, not {conditions}"
        ));
    }
    if values > MAX_VALUES {
        return Err(format!(
            "at most {MAX_VALUES} values across the conditions, not {values}"
        ));
    }
    Ok(())
}

impl<F> ListQuery<F> {
    /// [`check_size`] for a query already built; `field` names where the caller wrote it.
    pub fn check_size(&self, field: &str) -> Result<(), CoreError> {
        let values = self.conditions.iter().map(|c| c.values.len()).sum();
        check_size(self.conditions.len(), values).map_err(|r| CoreError::invalid(field, r))
    }
}

/// Whether a listing also counts, or only counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Counting {
    #[default]
    No,
    /// The rows and the total before paging.
    With,
    /// The total only.
    Only,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery<F> {
    /// ANDed.
    pub conditions: Vec<Condition<F>>,
    /// Field and ascending; unsorted listings are in moId order.
    pub sort: Option<(F, bool)>,
    pub limit: u32,
    pub offset: u64,
    pub counting: Counting,
}

impl<F> Default for ListQuery<F> {
    fn default() -> Self {
        ListQuery {
            conditions: Vec::new(),
            sort: None,
            limit: 1000,
            offset: 0,
            counting: Counting::No,
        }
    }
}

/// A page of rows, and the total when it was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_are_bounded() {
        let c = |n: usize, values: usize| ListQuery::<HostField> {
            conditions: (0..n)
                .map(|_| Condition {
                    field: HostField::Name,
                    op: QueryOp::In,
                    values: vec![QueryValue::Text("a".into()); values],
                })
                .collect(),
            ..Default::default()
        };
        assert!(c(MAX_CONDITIONS, 1).check_size("q").is_ok());
        match c(MAX_CONDITIONS + 1, 1).check_size("q") {
            Err(CoreError::InvalidArgument { field, .. }) => assert_eq!(field, "q"),
            other => panic!("{other:?}"),
        }
        assert!(c(2, MAX_VALUES / 2 + 1).check_size("q").is_err());
    }

    #[test]
    fn values_must_fit_the_operator() {
        let one = vec![QueryValue::Text("a".into())];
        assert!(Condition::new(HostField::Name, QueryOp::Eq, one.clone(), "name").is_ok());
        assert!(Condition::new(HostField::Name, QueryOp::IsNull, one.clone(), "name").is_err());
        assert!(Condition::new(HostField::Name, QueryOp::In, vec![], "name").is_err());
        let two = vec![QueryValue::Text("a".into()), QueryValue::Text("b".into())];
        assert!(Condition::new(HostField::Name, QueryOp::Eq, two.clone(), "name").is_err());
        match Condition::new(HostField::Name, QueryOp::Eq, two, "q.name") {
            Err(CoreError::InvalidArgument { field, .. }) => assert_eq!(field, "q.name"),
            other => panic!("{other:?}"),
        }
    }
}
