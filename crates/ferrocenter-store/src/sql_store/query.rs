//! Listings shared by several aggregates: ZStack-style queries (conditions, sort, paging,
//! counting) and the by-datacenter listings.
use ferrocenter_core::inventory::query::{
    ClusterField, Condition, Counting, DatacenterField, HostField, ListQuery, Page, QueryOp,
    QueryValue, TagKind, VmField,
};
use ferrocenter_core::ports::StoreError;

use super::table::Table;
use crate::rows::{bigint_from, map_err};

/// How a query field reads in SQL. Every string here is a constant of this file: caller text
/// only ever arrives as bound values.
#[derive(Clone, Copy)]
pub(super) enum Sql {
    /// A column or expression of the queried table.
    Expr(&'static str),
    /// A column of a related table: `key IN (SELECT id FROM table WHERE column <cond>)`;
    /// `sort` is the same value as a scalar expression, for ORDER BY.
    Via {
        key: &'static str,
        table: &'static str,
        column: &'static str,
        sort: &'static str,
    },
    /// The resource's tags of one kind.
    Tag(TagKind),
    /// A value the read model computes (a host's capacity): not in any table.
    Computed,
}

pub(super) trait SqlField: Copy {
    fn sql(self) -> Sql;
}

/// ZStack's status folds notResponding into Disconnected; every host is KVM.
impl SqlField for HostField {
    fn sql(self) -> Sql {
        Sql::Expr(match self {
            HostField::Id => "id",
            HostField::Moid => "moid",
            HostField::Name => "name",
            // A description never given is stored empty and compares as null (ZStack's null).
            HostField::Description => "NULLIF(description, '')",
            HostField::DatacenterId => "datacenter_id",
            HostField::ClusterId => "cluster_id",
            HostField::Address => "address",
            HostField::HypervisorType => "'KVM'",
            HostField::State => "state",
            HostField::Status => {
                "(CASE connection_state WHEN 'connected' THEN 'Connected' \
                 WHEN 'connecting' THEN 'Connecting' ELSE 'Disconnected' END)"
            }
            HostField::CreatedAt => "created_at",
            HostField::LastOpAt => "last_op_at",
            HostField::SshPort => "COALESCE(ssh_port, 22)",
            HostField::ClusterName => {
                return Sql::Via {
                    key: "cluster_id",
                    table: "clusters",
                    column: "name",
                    sort: "(SELECT name FROM clusters WHERE clusters.id = hosts.cluster_id)",
                }
            }
            HostField::DatacenterName => {
                return Sql::Via {
                    key: "datacenter_id",
                    table: "datacenters",
                    column: "name",
                    sort:
                        "(SELECT name FROM datacenters WHERE datacenters.id = hosts.datacenter_id)",
                }
            }
            HostField::Tag(k) => return Sql::Tag(k),
            HostField::CpuNum
            | HostField::TotalCpuCapacity
            | HostField::AvailableCpuCapacity
            | HostField::TotalMemoryCapacity
            | HostField::AvailableMemoryCapacity => return Sql::Computed,
        })
    }
}

impl SqlField for DatacenterField {
    fn sql(self) -> Sql {
        Sql::Expr(match self {
            DatacenterField::Id => "id",
            DatacenterField::Name => "name",
            DatacenterField::Description => "description",
            DatacenterField::State => "state",
            DatacenterField::Type => "'zstack'",
            DatacenterField::IsDefault => "(CASE WHEN is_default THEN 1 ELSE 0 END)",
            DatacenterField::CreatedAt => "created_at",
            DatacenterField::LastOpAt => "last_op_at",
            DatacenterField::Tag(k) => return Sql::Tag(k),
        })
    }
}

impl SqlField for ClusterField {
    fn sql(self) -> Sql {
        Sql::Expr(match self {
            ClusterField::Id => "id",
            ClusterField::Name => "name",
            ClusterField::Description => "description",
            ClusterField::State => "state",
            ClusterField::HypervisorType => "hypervisor_type",
            ClusterField::Type => "kind",
            ClusterField::Architecture => "architecture",
            ClusterField::DatacenterId => "datacenter_id",
            ClusterField::CreatedAt => "created_at",
            ClusterField::LastOpAt => "last_op_at",
            ClusterField::DatacenterName => return Sql::Via {
                key: "datacenter_id",
                table: "datacenters",
                column: "name",
                sort:
                    "(SELECT name FROM datacenters WHERE datacenters.id = clusters.datacenter_id)",
            },
            ClusterField::Tag(k) => return Sql::Tag(k),
        })
    }
}

/// A VM on a host that does not answer is Unknown, as ZStack marks it.
impl SqlField for VmField {
    fn sql(self) -> Sql {
        let via = |column, sort| Sql::Via {
            key: "host_id",
            table: "hosts",
            column,
            sort,
        };
        Sql::Expr(match self {
            VmField::Id => "id",
            VmField::Name => "name",
            VmField::HostId => "host_id",
            VmField::HostName => {
                return via(
                    "name",
                    "(SELECT name FROM hosts WHERE hosts.id = vms.host_id)",
                )
            }
            VmField::ClusterId => {
                return via(
                    "cluster_id",
                    "(SELECT cluster_id FROM hosts WHERE hosts.id = vms.host_id)",
                )
            }
            VmField::DatacenterId => {
                return via(
                    "datacenter_id",
                    "(SELECT datacenter_id FROM hosts WHERE hosts.id = vms.host_id)",
                )
            }
            VmField::State => {
                "(CASE WHEN (SELECT connection_state FROM hosts WHERE hosts.id = vms.host_id) \
                 IN ('notResponding', 'disconnected') THEN 'Unknown' \
                 WHEN power_state = 'poweredOn' THEN 'Running' \
                 WHEN power_state = 'suspended' THEN 'Paused' ELSE 'Stopped' END)"
            }
            VmField::CpuNum => "vcpus",
            VmField::MemoryBytes => "memory_bytes",
            VmField::CreatedAt => "created_at",
            VmField::LastOpAt => "last_op_at",
            VmField::Tag(k) => return Sql::Tag(k),
        })
    }
}

super::for_each_engine! {
    impl Engine {
        /// One condition of a listing, on a SQL expression from this crate's tables:
        /// `expr <op> values`, every value bound.
        fn push_comparison(
            q: &mut sqlx::QueryBuilder<'_, Db>,
            expr: &str,
            op: QueryOp,
            values: &[QueryValue],
        ) {
            let bind = |q: &mut sqlx::QueryBuilder<'_, Db>, v: &QueryValue| match v {
                QueryValue::Text(t) => {
                    q.push_bind(t.clone());
                }
                QueryValue::Int(i) => {
                    q.push_bind(*i);
                }
            };
            match op {
                QueryOp::IsNull => {
                    q.push(format!("{expr} IS NULL"));
                }
                QueryOp::NotNull => {
                    q.push(format!("{expr} IS NOT NULL"));
                }
                QueryOp::In | QueryOp::NotIn => {
                    let not = if op == QueryOp::NotIn { "NOT " } else { "" };
                    q.push(format!("{expr} {not}IN ("));
                    for (i, v) in values.iter().enumerate() {
                        if i > 0 {
                            q.push(", ");
                        }
                        bind(q, v);
                    }
                    q.push(")");
                }
                // Case-insensitive on both engines, as ZStack's MySQL compares.
                QueryOp::Like | QueryOp::NotLike => {
                    let not = if op == QueryOp::NotLike { "NOT " } else { "" };
                    q.push(format!("LOWER({expr}) {not}LIKE LOWER("));
                    bind(q, &values[0]);
                    q.push(")");
                }
                op => {
                    let sym = match op {
                        QueryOp::Eq => "=",
                        QueryOp::Ne => "!=",
                        QueryOp::Gt => ">",
                        QueryOp::Ge => ">=",
                        QueryOp::Lt => "<",
                        _ => "<=",
                    };
                    q.push(format!("{expr} {sym} "));
                    bind(q, &values[0]);
                }
            }
        }

        /// The WHERE clause of a query on `table` (whose key column is `id`).
        fn push_conditions<F: SqlField>(
            q: &mut sqlx::QueryBuilder<'_, Db>,
            table: &str,
            conditions: &[Condition<F>],
        ) {
            q.push(" WHERE 1 = 1");
            for c in conditions {
                q.push(" AND ");
                match c.field.sql() {
                    Sql::Expr(e) => Self::push_comparison(q, e, c.op, &c.values),
                    Sql::Via { key, table: other, column, .. } => {
                        q.push(format!("{key} IN (SELECT id FROM {other} WHERE "));
                        Self::push_comparison(q, column, c.op, &c.values);
                        q.push(")");
                    }
                    // Refused by query_table before any SQL is built.
                    Sql::Computed => {
                        q.push("1 = 0");
                    }
                    // ZStack: a negative operator on tags means "has no matching tag";
                    // `is null` means no tag of that kind at all.
                    Sql::Tag(kind) => {
                        let (negate, op) = match c.op {
                            QueryOp::Ne => (true, QueryOp::Eq),
                            QueryOp::NotIn => (true, QueryOp::In),
                            QueryOp::NotLike => (true, QueryOp::Like),
                            QueryOp::IsNull => (true, QueryOp::NotNull),
                            op => (false, op),
                        };
                        q.push(format!(
                            "{table}.id {}IN (SELECT resource_id FROM resource_tags WHERE kind = ",
                            if negate { "NOT " } else { "" }
                        ));
                        q.push_bind(kind.as_str());
                        if op != QueryOp::NotNull {
                            q.push(" AND ");
                            Self::push_comparison(q, "tag", op, &c.values);
                        }
                        q.push(")");
                    }
                }
            }
        }

        /// A filtered, sorted, paged listing of a table, `order` breaking ties.
        pub(super) async fn query_table<F: SqlField, T: 'static>(
            &self,
            table: &Table<T>,
            order: &str,
            lq: &ListQuery<F>,
            map: fn(&Row) -> Result<T, StoreError>,
        ) -> Result<Page<T>, StoreError> {
            let name = table.name;
            let fields = lq.conditions.iter().map(|c| c.field).chain(lq.sort.map(|(f, _)| f));
            if fields.into_iter().any(|f| matches!(f.sql(), Sql::Computed)) {
                return Err(StoreError::Backend(format!(
                    "a listing of {name} by a computed value is answered by the read model"
                )));
            }
            let total = if lq.counting == Counting::No {
                None
            } else {
                let mut q = sqlx::QueryBuilder::<Db>::new(format!("SELECT COUNT(*) FROM {name}"));
                Self::push_conditions(&mut q, name, &lq.conditions);
                let n: i64 = q.build_query_scalar().fetch_one(self.reads()).await.map_err(map_err)?;
                Some(bigint_from(n, "count")?)
            };
            if lq.counting == Counting::Only {
                return Ok(Page { rows: Vec::new(), total });
            }
            let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                "SELECT {} FROM {name}",
                table.select_list()
            ));
            Self::push_conditions(&mut q, name, &lq.conditions);
            q.push(" ORDER BY ");
            if let Some((field, asc)) = lq.sort {
                let expr = match field.sql() {
                    Sql::Expr(e) => e,
                    Sql::Via { sort, .. } => sort,
                    Sql::Tag(_) | Sql::Computed => "NULL",
                };
                q.push(format!("{expr} {}, ", if asc { "ASC" } else { "DESC" }));
            }
            q.push(order);
            q.push(" LIMIT ");
            q.push_bind(i64::from(lq.limit));
            q.push(" OFFSET ");
            q.push_bind(i64::try_from(lq.offset).unwrap_or(i64::MAX));
            let rows = q.build().fetch_all(self.reads()).await.map_err(map_err)?;
            Ok(Page {
                rows: rows.iter().map(map).collect::<Result<_, _>>()?,
                total,
            })
        }

        /// A table's rows, restricted to one datacenter if given, by name.
        pub(super) async fn list_in_datacenter<T: 'static>(
            &self,
            table: &Table<T>,
            datacenter_id: Option<&str>,
            map: fn(&Row) -> Result<T, StoreError>,
        ) -> Result<Vec<T>, StoreError> {
            let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                "SELECT {} FROM {}",
                table.select_list(),
                table.name
            ));
            if let Some(dc) = datacenter_id {
                q.push(" WHERE datacenter_id = ");
                q.push_bind(dc.to_string());
            }
            q.push(" ORDER BY name, id");
            let rows = q.build().fetch_all(self.reads()).await.map_err(map_err)?;
            rows.iter().map(map).collect()
        }
    }
}
