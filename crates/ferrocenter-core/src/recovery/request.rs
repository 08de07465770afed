//! A location as a request names it, read one way on every surface: the type from the request
//! or from the URL's scheme (schedules give only a URL), and the seed's SCP form `host:/path`.
use crate::auth::{Caller, Privilege};
use crate::ports::{Location, LocationError, LocationSecret, LocationType};
use crate::{Core, CoreError};

use super::{part_sizes, PartId};

/// The location type a URL's scheme names: `ftp`, `ftps`, `http`, `https`, `scp`, `sftp`,
/// `smb`, `nfs`; `file://` or an absolute path is `PATH`.
pub fn location_type_of(url: &str) -> Result<LocationType, LocationError> {
    if url.starts_with('/') {
        return Ok(LocationType::Path);
    }
    let scheme = url
        .split_once("://")
        .map(|(s, _)| s)
        .ok_or_else(|| LocationError::Invalid {
            reason: format!(
                "{url:?} names no protocol: give a URL such as sftp://host/dir, or an \
                 absolute path"
            ),
        })?;
    match scheme.to_ascii_lowercase().as_str() {
        "file" => Ok(LocationType::Path),
        s => s.parse(),
    }
}

/// The location of a request. SCP and SFTP also take `host:/abs/path` (the seed's SCP form),
/// read as `scp://host/abs/path`.
pub fn request_location(
    kind: LocationType,
    url: &str,
    user: Option<&str>,
    password: Option<LocationSecret>,
) -> Result<Location, CoreError> {
    if url.trim().is_empty() {
        return Err(CoreError::invalid("location", "must not be empty"));
    }
    let url = match kind {
        LocationType::Scp | LocationType::Sftp if !url.contains("://") => {
            let (host, path) = url.split_once(':').ok_or_else(|| {
                CoreError::invalid(
                    "location",
                    format!(
                        "{url:?}: give {}://host/abs/path or host:/abs/path",
                        kind.as_str().to_ascii_lowercase()
                    ),
                )
            })?;
            if !path.starts_with('/') {
                return Err(CoreError::invalid(
                    "location",
                    format!("{url:?}: the path after the host must be absolute"),
                ));
            }
            format!("{}://{host}{path}", kind.as_str().to_ascii_lowercase())
        }
        _ => url.to_string(),
    };
    Ok(Location {
        kind,
        url,
        user: user.filter(|u| !u.is_empty()).map(String::from),
        password,
    })
}

impl Core {
    /// `backup.parts.list`.
    pub async fn backup_parts(&self, caller: &Caller) -> Result<Vec<PartId>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(PartId::ALL.to_vec())
    }

    /// `backup.parts.get`: the part's size in KiB as it would be written before compression.
    pub async fn backup_part_size(&self, caller: &Caller, id: &str) -> Result<u64, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let part = PartId::parse(id).ok_or_else(|| CoreError::not_found("backup part", id))?;
        let sizes = part_sizes(self.store.as_ref()).await?;
        Ok(sizes
            .iter()
            .find(|s| s.id == part)
            .map_or(0, super::PartSize::kib))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_scheme() {
        assert_eq!(location_type_of("sftp://h/x").unwrap(), LocationType::Sftp);
        assert_eq!(location_type_of("FTPS://h/x").unwrap(), LocationType::Ftps);
        assert_eq!(location_type_of("/srv/b").unwrap(), LocationType::Path);
        assert_eq!(
            location_type_of("file:///srv/b").unwrap(),
            LocationType::Path
        );
        assert!(location_type_of("gopher://h").is_err());
        assert!(location_type_of("h:/x").is_err());
    }

    #[test]
    fn the_seeds_scp_form_is_read_as_a_url() {
        let l = request_location(LocationType::Scp, "10.0.0.5:/home/u/b", Some("u"), None).unwrap();
        assert_eq!(l.url, "scp://10.0.0.5/home/u/b");
        let e = request_location(LocationType::Scp, "10.0.0.5:rel", None, None).unwrap_err();
        assert!(e.to_string().contains("absolute"), "{e}");
        let e = request_location(LocationType::Ftp, " ", None, None).unwrap_err();
        assert!(e.to_string().contains("location"), "{e}");
    }
}
