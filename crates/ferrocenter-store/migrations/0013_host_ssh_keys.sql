-- The SSH host key a bootstrap recorded, checked on later SSH logins (agent reinstall).
ALTER TABLE hosts ADD COLUMN ssh_host_key TEXT;
