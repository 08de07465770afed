//! The traits the core calls out through. Each has real implementations outside the core.
mod agents;
mod backup_location;
mod clock;
mod component;
mod federation;
mod installer;
mod log_forwarding;
mod machine;
mod setup_host;
mod store;
mod support;
mod token_crypto;
mod update_source;
mod upgrade_source;

pub use agents::{
    AgentAbout, AgentEndpoint, AgentEvent, AgentEvents, AgentSession, Agents, Migrated,
    MigrationProgress, MigrationTicket, PowerAction,
};
pub use backup_location::{
    location_path_components, BackupTarget, GetSink, Location, LocationEntry, LocationError,
    LocationSecret, LocationType, NoBackupTarget, PutBody,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use component::{Component, ComponentError, ComponentState};
pub use federation::{
    BindPassword, FederationError, JwtError, JwtVerifier, LdapDirectory, LdapEntry, LdapTarget,
    NoFederation, OidcFetcher, UnverifiedJwt,
};
pub use installer::{
    AgentInstall, HostInstaller, Installed, NoInstaller, ServerKey, SshLogin, SshTarget,
    Supervision,
};
pub use log_forwarding::{ForwardCounters, LogForwarder, NoLogForwarder};
pub use machine::{
    CpuTimes, FilesystemReading, InterfaceReading, Lifecycle, MachineAction, MachineError,
    NoMachine, ProcessAction, SystemProbe, SystemReadings,
};
pub use setup_host::{NoSetupHost, SetupHost, SetupHostError};
pub use store::DatabaseSize;
pub use store::{
    AppendBatch, BackupStore, Cell, KeyLookup, OnConflict, TableSink, TableSize, TableSource,
};
pub use store::{
    ClaimStore, ContainerStore, DatastoreNetworkStore, EventStore, HostRegistration, HostStore,
    IdentityProviderStore, IdentityStore, MoidEntity, MoidKind, MoidStore, ScheduleStore,
    SettingsStore, Store, StoreError, TagStore, TaskFilter, TaskStore, VmStore,
};
pub use store::{StatBucket, StatSample, StatSpan, StatsStore};
pub use support::{ConfigSource, NoSupportSources, SourceError, SupportSources};
pub use token_crypto::{
    Assertion, Confirmation, PresentedToken, RequestSignature, RequestSignatureAlgorithm,
    SigningIdentity, TokenCrypto, TokenCryptoError,
};
pub use update_source::{
    partial_path, DownloadProgress, ManifestFiles, NoUpdateSources, UpdateLocation,
    UpdateSourceError, UpdateSources, MANIFEST_FILE, SIGNATURE_FILE,
};
pub use upgrade_source::{
    ExportFile, NoUpgradeSources, SourceAbout, SourceAddress, SourceData, SourceDisk, SourceExport,
    SourceSession, UpgradeSourceError, UpgradeSources, EXPORT_DOWNLOAD_PATH,
};
