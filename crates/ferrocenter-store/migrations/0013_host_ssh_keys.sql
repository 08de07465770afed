-- What a bootstrap over SSH recorded: the host's key, checked on later SSH logins, and the
-- account it logged in as, for reinstalls with the server's own key.
ALTER TABLE hosts ADD COLUMN ssh_host_key TEXT;
ALTER TABLE hosts ADD COLUMN ssh_user TEXT;
