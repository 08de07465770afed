//! vim moIds the core does not store but derives from stored ones: a standalone host's
//! ComputeResource (`domain-s<N>` for `host-<N>`) and the root resource pools of a cluster
//! (`resgroup-c<N>` for `domain-c<N>`) and of a standalone host (`resgroup-s<N>`). Every
//! surface formats and parses them here.

/// The number a moId ends with (`host-12` → 12, `domain-c7` → 7).
pub fn number(moid: &str) -> Option<u64> {
    let digits = moid.len() - moid.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    moid[moid.len() - digits..].parse().ok()
}

/// Where a record sorts in an unsorted listing: by the number after the moId's last `-`
/// (`host-9` before `host-10`); a moId without one sorts last.
pub fn listing_order(moid: &str) -> i64 {
    moid.rsplit('-')
        .next()
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or(i64::MAX)
}

fn n(moid: &str) -> u64 {
    number(moid).unwrap_or(0)
}

/// A standalone host's ComputeResource.
pub fn compute_resource(host_moid: &str) -> String {
    format!("domain-s{}", n(host_moid))
}

/// A cluster's root resource pool.
pub fn cluster_pool(cluster_moid: &str) -> String {
    format!("resgroup-c{}", n(cluster_moid))
}

/// A standalone host's root resource pool.
pub fn standalone_pool(host_moid: &str) -> String {
    format!("resgroup-s{}", n(host_moid))
}

/// The resource pool of a host: its cluster's, or its own when standalone.
pub fn host_pool(host_moid: &str, cluster_moid: Option<&str>) -> String {
    match cluster_moid {
        Some(c) => cluster_pool(c),
        None => standalone_pool(host_moid),
    }
}

/// What a derived moId stands for, by the stored moId it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Derived {
    /// `domain-s<N>`: the ComputeResource of standalone host `host-<N>`.
    ComputeResource { host_moid: String },
    /// `resgroup-c<N>`: the pool of cluster `domain-c<N>`.
    ClusterPool { cluster_moid: String },
    /// `resgroup-s<N>`: the pool of standalone host `host-<N>`.
    StandalonePool { host_moid: String },
}

/// The stored entity behind a derived moId; None if `moid` is not one.
pub fn parse(moid: &str) -> Option<Derived> {
    let num = |rest: &str| {
        (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())).then(|| rest.to_string())
    };
    if let Some(r) = moid.strip_prefix("domain-s") {
        return num(r).map(|r| Derived::ComputeResource {
            host_moid: format!("host-{r}"),
        });
    }
    if let Some(r) = moid.strip_prefix("resgroup-c") {
        return num(r).map(|r| Derived::ClusterPool {
            cluster_moid: format!("domain-c{r}"),
        });
    }
    if let Some(r) = moid.strip_prefix("resgroup-s") {
        return num(r).map(|r| Derived::StandalonePool {
            host_moid: format!("host-{r}"),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_and_parsed_back() {
        assert_eq!(compute_resource("host-12"), "domain-s12");
        assert_eq!(cluster_pool("domain-c7"), "resgroup-c7");
        assert_eq!(host_pool("host-3", None), "resgroup-s3");
        assert_eq!(
            parse(&compute_resource("host-12")),
            Some(Derived::ComputeResource {
                host_moid: "host-12".into()
            })
        );
        assert_eq!(
            parse(&cluster_pool("domain-c7")),
            Some(Derived::ClusterPool {
                cluster_moid: "domain-c7".into()
            })
        );
        assert_eq!(
            parse(&standalone_pool("host-3")),
            Some(Derived::StandalonePool {
                host_moid: "host-3".into()
            })
        );
        assert_eq!(parse("domain-c7"), None);
        assert_eq!(parse("resgroup-cx"), None);
    }
}
