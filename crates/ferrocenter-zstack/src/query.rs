//! ZStack's REST query language (reference §2): `q` conditions parsed exactly as ZStack's REST
//! layer does, the paging and counting parameters, and the mapping of host field names onto
//! the core's fields. Malformed input is a 400 with a plain-text reason naming the problem.
use ferrocenter_core::inventory::query::{
    ClusterField, Condition, Counting, DatacenterField, HostField, ListQuery, QueryField, QueryOp,
    QueryValue, TagKind, ValueKind, VmField,
};
use time::PrimitiveDateTime;

/// Operator tokens in the order ZStack tries them: the first that occurs anywhere wins.
const OPERATORS: &[(&str, QueryOp)] = &[
    ("!=", QueryOp::Ne),
    (">=", QueryOp::Ge),
    ("<=", QueryOp::Le),
    ("!?=", QueryOp::NotIn),
    ("!~=", QueryOp::NotLike),
    ("~=", QueryOp::Like),
    ("?=", QueryOp::In),
    ("=", QueryOp::Eq),
    (">", QueryOp::Gt),
    ("<", QueryOp::Lt),
    (" is null", QueryOp::IsNull),
    (" not null", QueryOp::NotNull),
];

/// ZStack's default page size.
pub const DEFAULT_LIMIT: u32 = 1000;

/// One `q` condition as written: the field name, the operator and the raw value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCondition {
    pub name: String,
    pub op: QueryOp,
    pub value: Option<String>,
}

impl RawCondition {
    /// The condition as the caller wrote it (name trimmed), for errors.
    fn written(&self) -> String {
        let token = OPERATORS
            .iter()
            .find(|(_, op)| *op == self.op)
            .map_or("", |(t, _)| t);
        format!(
            "{}{token}{}",
            self.name,
            self.value.as_deref().unwrap_or("")
        )
    }
}

/// Why a query was refused before it ran (HTTP 400, plain text), or which field is unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("Invalid query parameter. The '{0}' in the parameter[q] doesn't contain any query operator. Valid query operators are {ops}", ops = operator_list())]
    NoOperator(String),
    #[error("Invalid query parameter. The '{0}' in the parameter[q] is not a key-value pair split by the operator '{1}'")]
    NotAPair(String, String),
    #[error("Invalid query parameter[{0}]: '{1}' is not an integer")]
    NotAnInteger(&'static str, String),
    #[error("Invalid query parameter[fields]: the list is empty")]
    EmptyFields,
    #[error("Invalid query parameter[sort]: the field name is empty")]
    EmptySort,
    /// A condition that names no field of the entity, or whose value or operator does not fit
    /// the field; `0` is the condition as written.
    #[error("Invalid query parameter[q]: the condition '{0}' {1}")]
    BadCondition(String, String),
    #[error("Invalid query parameter[sort]: '{0}' {1}")]
    BadSort(String, String),
    /// More conditions or values than one query may carry (the core's bound).
    #[error("Invalid query parameter[q]: {0}")]
    TooLarge(String),
}

fn operator_list() -> String {
    OPERATORS
        .iter()
        .map(|(t, _)| t.trim())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses one `q` value: the first operator token found (in ZStack's order) splits it once;
/// the name is trimmed, the value kept as is.
pub fn parse_condition(q: &str) -> Result<RawCondition, QueryError> {
    let Some((token, op, (name, value))) = OPERATORS
        .iter()
        .find_map(|(t, op)| q.split_once(t).map(|pair| (t, op, pair)))
    else {
        return Err(QueryError::NoOperator(q.to_string()));
    };
    let name = name.trim();
    if matches!(op, QueryOp::IsNull | QueryOp::NotNull) {
        if name.is_empty() || !value.trim().is_empty() {
            return Err(QueryError::NotAPair(
                q.to_string(),
                token.trim().to_string(),
            ));
        }
        return Ok(RawCondition {
            name: name.to_string(),
            op: *op,
            value: None,
        });
    }
    if name.is_empty() || value.is_empty() {
        return Err(QueryError::NotAPair(q.to_string(), token.to_string()));
    }
    Ok(RawCondition {
        name: name.to_string(),
        op: *op,
        value: Some(value.to_string()),
    })
}

/// The query parameters of a listing, before field names are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParams {
    pub conditions: Vec<RawCondition>,
    pub limit: u32,
    pub start: u64,
    pub counting: Counting,
    /// Field name and ascending.
    pub sort: Option<(String, bool)>,
    pub fields: Option<Vec<String>>,
}

/// Reads the query string's pairs (already URL-decoded). Unknown parameters are ignored, as
/// ZStack does (its SDK sends `sessionId` and path variables there).
pub fn parse_params(pairs: &[(String, String)]) -> Result<QueryParams, QueryError> {
    let mut p = QueryParams {
        conditions: Vec::new(),
        limit: DEFAULT_LIMIT,
        start: 0,
        counting: Counting::No,
        sort: None,
        fields: None,
    };
    let (mut count, mut with_count) = (false, false);
    for (k, v) in pairs {
        match k.as_str() {
            "q" => {
                let c = parse_condition(v)?;
                // Duplicate conditions collapse, as ZStack keeps them in a set.
                if !p.conditions.contains(&c) {
                    p.conditions.push(c);
                }
            }
            "limit" => {
                p.limit = v
                    .trim()
                    .parse()
                    .map_err(|_| QueryError::NotAnInteger("limit", v.clone()))?;
            }
            "start" => {
                p.start = v
                    .trim()
                    .parse()
                    .map_err(|_| QueryError::NotAnInteger("start", v.clone()))?;
            }
            "count" => count = v.eq_ignore_ascii_case("true"),
            "replyWithCount" => with_count = v.eq_ignore_ascii_case("true"),
            "sort" => {
                // A literal '+' arrives as a space once the URL is decoded.
                let s = v.trim();
                let (field, asc) = match s.strip_prefix('-') {
                    Some(f) => (f, false),
                    None => (s.trim_start_matches('+'), true),
                };
                if field.trim().is_empty() {
                    return Err(QueryError::EmptySort);
                }
                p.sort = Some((field.trim().to_string(), asc));
            }
            "fields" => {
                let f: Vec<String> = v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                if f.is_empty() {
                    return Err(QueryError::EmptyFields);
                }
                p.fields = Some(f);
            }
            _ => {}
        }
    }
    p.counting = match (count, with_count) {
        (true, _) => Counting::Only,
        (false, true) => Counting::With,
        _ => Counting::No,
    };
    Ok(p)
}

/// ZStack's host field names (and the cross-resource ones) as core fields.
pub fn host_field(name: &str) -> Option<HostField> {
    Some(match name {
        "uuid" => HostField::Id,
        "name" => HostField::Name,
        "description" => HostField::Description,
        "zoneUuid" | "zone.uuid" => HostField::DatacenterId,
        "clusterUuid" | "cluster.uuid" => HostField::ClusterId,
        "managementIp" => HostField::Address,
        "hypervisorType" => HostField::HypervisorType,
        "state" => HostField::State,
        "status" => HostField::Status,
        "createDate" => HostField::CreatedAt,
        "lastOpDate" => HostField::LastOpAt,
        "sshPort" => HostField::SshPort,
        "cluster.name" => HostField::ClusterName,
        "zone.name" => HostField::DatacenterName,
        "cpuNum" => HostField::CpuNum,
        "totalCpuCapacity" => HostField::TotalCpuCapacity,
        "availableCpuCapacity" => HostField::AvailableCpuCapacity,
        "totalMemoryCapacity" => HostField::TotalMemoryCapacity,
        "availableMemoryCapacity" => HostField::AvailableMemoryCapacity,
        _ => return tag_kind(name).map(HostField::Tag),
    })
}

/// ZStack's zone field names.
pub fn zone_field(name: &str) -> Option<DatacenterField> {
    Some(match name {
        "uuid" => DatacenterField::Id,
        "name" => DatacenterField::Name,
        "description" => DatacenterField::Description,
        "state" => DatacenterField::State,
        "type" => DatacenterField::Type,
        "isDefault" => DatacenterField::IsDefault,
        "createDate" => DatacenterField::CreatedAt,
        "lastOpDate" => DatacenterField::LastOpAt,
        _ => return tag_kind(name).map(DatacenterField::Tag),
    })
}

/// ZStack's cluster field names.
pub fn cluster_field(name: &str) -> Option<ClusterField> {
    Some(match name {
        "uuid" => ClusterField::Id,
        "name" => ClusterField::Name,
        "description" => ClusterField::Description,
        "state" => ClusterField::State,
        "hypervisorType" => ClusterField::HypervisorType,
        "type" => ClusterField::Type,
        "architecture" => ClusterField::Architecture,
        "zoneUuid" | "zone.uuid" => ClusterField::DatacenterId,
        "zone.name" => ClusterField::DatacenterName,
        "createDate" => ClusterField::CreatedAt,
        "lastOpDate" => ClusterField::LastOpAt,
        _ => return tag_kind(name).map(ClusterField::Tag),
    })
}

/// ZStack's VM instance field names (the read-only subset ferrocenter serves).
pub fn vm_field(name: &str) -> Option<VmField> {
    Some(match name {
        "uuid" => VmField::Id,
        "name" => VmField::Name,
        "hostUuid" | "host.uuid" => VmField::HostId,
        "host.name" => VmField::HostName,
        "clusterUuid" | "cluster.uuid" => VmField::ClusterId,
        "zoneUuid" | "zone.uuid" => VmField::DatacenterId,
        "state" => VmField::State,
        "cpuNum" => VmField::CpuNum,
        "memorySize" => VmField::MemoryBytes,
        "createDate" => VmField::CreatedAt,
        "lastOpDate" => VmField::LastOpAt,
        _ => return tag_kind(name).map(VmField::Tag),
    })
}

fn tag_kind(name: &str) -> Option<TagKind> {
    match name {
        "__systemTag__" => Some(TagKind::System),
        "__userTag__" => Some(TagKind::User),
        _ => None,
    }
}

/// A date as ZStack writes it (`Oct 30, 2017 3:02:06 PM`, UTC here) or Unix milliseconds.
fn date_millis(v: &str) -> Option<i64> {
    if let Ok(ms) = v.trim().parse::<i64>() {
        return Some(ms);
    }
    let t = PrimitiveDateTime::parse(v.trim(), super::render::ZS_DATE).ok()?;
    Some((t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// A condition's value typed by its field; the error says what the field takes.
fn typed<F: QueryField>(field: F, v: &str) -> Result<QueryValue, String> {
    let bad = |what: &str| format!("has the value '{v}', which is not {what}");
    match field.kind() {
        ValueKind::Text => Ok(QueryValue::Text(v.to_string())),
        ValueKind::Int => v
            .trim()
            .parse::<i64>()
            .map(QueryValue::Int)
            .map_err(|_| bad("an integer")),
        ValueKind::Time => date_millis(v)
            .map(QueryValue::Int)
            .ok_or_else(|| bad("a date such as 'Oct 30, 2017 3:02:06 PM' or Unix milliseconds")),
        ValueKind::Bool => match v.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(QueryValue::Int(1)),
            "false" => Ok(QueryValue::Int(0)),
            _ => Err(bad("true or false")),
        },
    }
}

/// Whether the operator can compare values of this kind: patterns need text.
fn fits(op: QueryOp, kind: ValueKind) -> bool {
    !matches!(op, QueryOp::Like | QueryOp::NotLike) || kind == ValueKind::Text
}

/// The core query for a listing of `entity`, whose field names `field` maps.
pub fn build_query<F: QueryField>(
    p: &QueryParams,
    field: fn(&str) -> Option<F>,
    entity: &'static str,
) -> Result<ListQuery<F>, QueryError> {
    let unknown = || format!("names no field of {entity}");
    let mut values_total = 0usize;
    let mut conditions = Vec::new();
    for c in &p.conditions {
        let bad = |reason: String| QueryError::BadCondition(c.written(), reason);
        let f = field(&c.name).ok_or_else(|| bad(unknown()))?;
        if !fits(c.op, f.kind()) {
            return Err(bad(format!(
                "uses a pattern operator on {}, which is not text",
                c.name
            )));
        }
        let values = match (&c.value, c.op) {
            (None, _) => Vec::new(),
            // `in` lists split on every comma.
            (Some(v), QueryOp::In | QueryOp::NotIn) => v
                .split(',')
                .map(|x| typed(f, x))
                .collect::<Result<_, _>>()
                .map_err(bad)?,
            (Some(v), _) => vec![typed(f, v).map_err(bad)?],
        };
        values_total += values.len();
        conditions.push(Condition::new(f, c.op, values, &c.name).map_err(|e| bad(e.to_string()))?);
    }
    ferrocenter_core::inventory::query::check_size(conditions.len(), values_total)
        .map_err(QueryError::TooLarge)?;
    let sort = match &p.sort {
        Some((n, asc)) => {
            let f = field(n).ok_or_else(|| QueryError::BadSort(n.clone(), unknown()))?;
            if !f.sortable() {
                return Err(QueryError::BadSort(
                    n.clone(),
                    "is a tag, which cannot be sorted on".into(),
                ));
            }
            Some((f, *asc))
        }
        None => None,
    };
    Ok(ListQuery {
        conditions,
        sort,
        limit: p.limit,
        offset: p.start,
        counting: p.counting,
    })
}

/// The core query for a host listing.
#[cfg(test)]
pub fn host_query(p: &QueryParams) -> Result<ListQuery<HostField>, QueryError> {
    build_query(p, host_field, "Host")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, op: QueryOp, value: Option<&str>) -> RawCondition {
        RawCondition {
            name: name.into(),
            op,
            value: value.map(String::from),
        }
    }

    #[test]
    fn every_operator_in_zstack_order() {
        use QueryOp::*;
        let cases = [
            ("name!=a", c("name", Ne, Some("a"))),
            ("cpuNum>=4", c("cpuNum", Ge, Some("4"))),
            ("cpuNum<=4", c("cpuNum", Le, Some("4"))),
            (
                "state!?=Enabled,Disabled",
                c("state", NotIn, Some("Enabled,Disabled")),
            ),
            ("name!~=web%", c("name", NotLike, Some("web%"))),
            ("name~=web%", c("name", Like, Some("web%"))),
            (
                "status?=Connected,Connecting",
                c("status", In, Some("Connected,Connecting")),
            ),
            ("uuid=abc", c("uuid", Eq, Some("abc"))),
            ("cpuNum>4", c("cpuNum", Gt, Some("4"))),
            ("cpuNum<4", c("cpuNum", Lt, Some("4"))),
            ("description is null", c("description", IsNull, None)),
            ("description not null", c("description", NotNull, None)),
        ];
        for (q, want) in cases {
            assert_eq!(parse_condition(q).unwrap(), want, "{q}");
        }
    }

    #[test]
    fn names_are_trimmed_values_kept_and_split_once() {
        assert_eq!(
            parse_condition(" name = a b ").unwrap(),
            c("name", QueryOp::Eq, Some(" a b "))
        );
        // A value with '=' is fine under '='; one with a higher-priority token is not.
        assert_eq!(
            parse_condition("description=a=b").unwrap(),
            c("description", QueryOp::Eq, Some("a=b"))
        );
        assert_eq!(
            parse_condition("name=x>=y").unwrap(),
            c("name=x", QueryOp::Ge, Some("y"))
        );
    }

    #[test]
    fn malformed_conditions_say_what_is_wrong() {
        let e = parse_condition("name").unwrap_err();
        assert!(
            e.to_string().contains("doesn't contain any query operator"),
            "{e}"
        );
        assert!(e.to_string().contains("'name'"), "{e}");
        for bad in ["=a", "name=", " is null", "name is null x"] {
            let e = parse_condition(bad).unwrap_err();
            assert!(matches!(e, QueryError::NotAPair(..)), "{bad}: {e}");
        }
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn paging_counting_sorting_and_fields() {
        let p = parse_params(&pairs(&[])).unwrap();
        assert_eq!((p.limit, p.start, p.counting), (1000, 0, Counting::No));
        let p = parse_params(&pairs(&[
            ("q", "name=a"),
            ("q", "name=a"),
            ("limit", "20"),
            ("start", "40"),
            ("replyWithCount", "true"),
            ("sort", "-createDate"),
            ("fields", "uuid, name"),
            ("sessionId", "ignored"),
        ]))
        .unwrap();
        assert_eq!(p.conditions.len(), 1, "duplicates collapse");
        assert_eq!((p.limit, p.start, p.counting), (20, 40, Counting::With));
        assert_eq!(p.sort, Some(("createDate".into(), false)));
        assert_eq!(p.fields, Some(vec!["uuid".into(), "name".into()]));
        // count wins over replyWithCount; booleans ignore case; '+' decodes to a space.
        let p = parse_params(&pairs(&[
            ("count", "True"),
            ("replyWithCount", "true"),
            ("sort", " name"),
        ]))
        .unwrap();
        assert_eq!(p.counting, Counting::Only);
        assert_eq!(p.sort, Some(("name".into(), true)));
        assert_eq!(
            parse_params(&pairs(&[("limit", "ten")])).unwrap_err(),
            QueryError::NotAnInteger("limit", "ten".into())
        );
        assert!(parse_params(&pairs(&[("start", "-1")])).is_err());
        assert_eq!(
            parse_params(&pairs(&[("fields", " , ")])).unwrap_err(),
            QueryError::EmptyFields
        );
    }

    #[test]
    fn host_fields_values_and_lists() {
        let p = parse_params(&pairs(&[
            ("q", "cluster.name=web"),
            ("q", "state?=Enabled,Disabled"),
            ("q", "createDate>=Oct 30, 2017 3:02:06 PM"),
            ("sort", "name"),
        ]))
        .unwrap();
        let q = host_query(&p).unwrap();
        assert_eq!(q.conditions[0].field, HostField::ClusterName);
        assert_eq!(
            q.conditions[1].values,
            vec![
                QueryValue::Text("Enabled".into()),
                QueryValue::Text("Disabled".into())
            ]
        );
        assert_eq!(
            q.conditions[2].values,
            vec![QueryValue::Int(1_509_375_726_000)]
        );
        assert_eq!(q.sort, Some((HostField::Name, true)));
        let bad = parse_params(&pairs(&[("q", "noSuchField=1")])).unwrap();
        assert_eq!(
            host_query(&bad).unwrap_err(),
            QueryError::BadCondition("noSuchField=1".into(), "names no field of Host".into())
        );
        for (q, written) in [
            ("createDate>yesterday", "createDate>yesterday"),
            ("sshPort~=2%", "sshPort~=2%"),
            ("description is null", ""),
        ] {
            let p = parse_params(&pairs(&[("q", q)])).unwrap();
            match host_query(&p) {
                Err(QueryError::BadCondition(c, _)) => assert_eq!(c, written),
                Ok(_) => assert!(written.is_empty(), "{q}"),
                Err(e) => panic!("{q}: {e}"),
            }
        }
        let bad = parse_params(&pairs(&[("sort", "password")])).unwrap();
        assert!(matches!(
            host_query(&bad).unwrap_err(),
            QueryError::BadSort(..)
        ));
        let many: Vec<(String, String)> = (0..101)
            .map(|i| ("q".to_string(), format!("name!=n{i}")))
            .collect();
        let e = host_query(&parse_params(&many).unwrap()).unwrap_err();
        assert!(matches!(e, QueryError::TooLarge(_)), "{e}");
        assert!(e.to_string().contains("[q]"), "{e}");
    }
}
