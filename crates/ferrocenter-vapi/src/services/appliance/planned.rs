//! Every operation of the official SDK's appliance services, and of the vcenter management
//! services (deployment, LCM), that ferrocenter does not serve yet, from the
//! SDK's metadata (`shared/reference/vapi.md` §10). A call to one answers `operation_not_found`
//! saying it is not served yet, not the answer a misspelt name gets. A row goes when its
//! operation is served: a test fails while an operation is both served and listed here.

/// (service id, operation, method, `/api` path).
pub const PLANNED: &[(&str, &str, &str, &str)] = &[(
    "com.vmware.appliance.update.pending",
    "list_upgradeable_components",
    "GET",
    "/appliance/update/pending/{version}/components",
)];

use crate::errors::ApiError;

/// The planned operation `service`.`operation` (with or without `$task`), if it is one.
fn planned_op(service: &str, operation: &str) -> Option<String> {
    let name = operation.strip_suffix("$task").unwrap_or(operation);
    PLANNED
        .iter()
        .find(|(s, o, _, _)| *s == service && o.strip_suffix("$task").unwrap_or(o) == name)
        .map(|(s, o, _, _)| format!("{s}.{o}"))
}

/// Whether a REST path (without `/api` or `/rest`) fits a declared one with `{variables}`.
fn path_fits(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(a, b)| (a.starts_with('{') && !b.is_empty()) || a == b)
}

/// The planned operation at a REST path under `/api` or `/rest` (with its query, which tells
/// operations told apart by `?action=` apart), if it is one. A template's other query keys
/// (`vmw-task=true`) do not pick an operation.
pub fn planned_at(method: &str, path_and_query: &str) -> Option<String> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let rest = path
        .strip_prefix("/api")
        .or_else(|| path.strip_prefix("/rest"))?;
    PLANNED
        .iter()
        .find(|(_, _, m, p)| {
            let (template, tq) = p.split_once('?').unwrap_or((p, ""));
            let action_fits = match tq.strip_prefix("action=") {
                Some(a) => query
                    .split('&')
                    .any(|kv| kv.strip_prefix("action=") == Some(a)),
                None => true,
            };
            *m == method && path_fits(template, rest) && action_fits
        })
        .map(|(s, o, _, _)| format!("{s}.{o}"))
}

/// The answer for an operation this catalog does not serve: a planned one is named as not
/// served yet; anything else is an unknown operation.
pub fn not_found(service: &str, operation: &str) -> ApiError {
    match planned_op(service, operation) {
        Some(id) => crate::errors::not_served(&id),
        None => ApiError::OperationNotFound(format!("{service}.{operation}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_operations_are_named_and_typos_are_not() {
        assert_eq!(
            planned_at("GET", "/api/appliance/update/pending/2.0.0/components").as_deref(),
            Some("com.vmware.appliance.update.pending.list_upgradeable_components")
        );
        assert_eq!(planned_at("GET", "/api/appliance/update/nope"), None);
        assert_eq!(
            planned_at("GET", "/rest/appliance/update/pending/2.0.0/components").as_deref(),
            Some("com.vmware.appliance.update.pending.list_upgradeable_components")
        );
        // Served now: not named as planned.
        assert_eq!(
            planned_at(
                "POST",
                "/api/vcenter/lcm/update/pending/7.0.0.50000/precheck-report?vmw-task=true"
            ),
            None
        );
        assert!(matches!(
            not_found(
                "com.vmware.appliance.update.pending",
                "list_upgradeable_components$task"
            ),
            ApiError::Std { .. }
        ));
        assert!(matches!(
            not_found(
                "com.vmware.appliance.update.pending",
                "list_upgradeable_components"
            ),
            ApiError::Std { .. }
        ));
        assert!(matches!(
            not_found("com.vmware.appliance.updatez", "get"),
            ApiError::OperationNotFound(_)
        ));
    }

    /// docs/api/vapi.md lists each operation not served yet in the row of its service.
    #[test]
    fn the_coverage_table_lists_every_operation_not_served() {
        let doc = include_str!("../../../../../docs/api/vapi.md");
        let section = doc
            .split("## Not served yet")
            .nth(1)
            .expect("docs/api/vapi.md has a section 'Not served yet'");
        for (service, operation, method, path) in PLANNED {
            let row = section
                .lines()
                .find(|l| l.starts_with(&format!("| `{service}` |")))
                .unwrap_or_else(|| panic!("docs/api/vapi.md has no row for {service}"));
            assert!(
                row.contains(&format!("`{operation}` ({method} `{path}`)")),
                "docs/api/vapi.md does not list {service}.{operation} ({method} {path})"
            );
        }
    }

    #[test]
    fn no_operation_is_both_served_and_planned() {
        for op in crate::catalog::MAIN
            .all()
            .chain(crate::catalog::APPLIANCE.all())
        {
            assert!(
                planned_op(op.service, op.name).is_none(),
                "{} is served: remove it from PLANNED",
                op.id()
            );
        }
    }
}
