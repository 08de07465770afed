//! Property reads of every managed object: `GET /{moType}/{moId}/{property}` and the
//! PropertyCollector both come here. The session's own objects (collectors, filters, views)
//! are answered from their modules, everything else from `props.rs`. `Ok(None)` is an unset
//! property.
use serde_json::Value;

use super::ctx::Ctx;
use super::faults::VimFault;
use super::mo::Mo;
use super::{filters, props, views};

pub async fn get(ctx: &Ctx<'_>, mo: &Mo, name: &str) -> Result<Option<Value>, VimFault> {
    match (mo, name) {
        (Mo::PropertyCollector(id), "filter") => Ok(Some(filters::filters_of(ctx, id)?)),
        (Mo::PropertyFilter(id), "spec" | "partialUpdates") => {
            Ok(Some(filters::filter_property(ctx, id, name)?))
        }
        (Mo::ListView(id) | Mo::ContainerView(id), _) => {
            match views::property(ctx, id, mo.type_name(), name).await? {
                Some(v) => Ok(Some(v)),
                None => Err(props::unknown(mo, name)),
            }
        }
        _ => props::get(ctx, mo, name).await,
    }
}
