/**
 * The gitlab.rb setting paths this program's rendered config may use, vendored
 * from omnibus-gitlab 19.3.0 (`files/gitlab-config-template/gitlab.rb.template`
 * at tag 19.3.0+ce.0, commit 931f2022a9db), one path per line as that template
 * documents them: only the subset we set. A nested hash value (e.g.
 * `gitaly['env']['AWS_REGION']`) is checked at the documented key it assigns
 * into. The tests evaluate the rendered config in Ruby and fail on any path
 * outside these two lists.
 */
export const DOCUMENTED_KEYS: readonly string[] = [
    "external_url",
    "gitaly['configuration']",
    "gitaly['enable']",
    "gitaly['env']",
    "gitaly['gitlab_secret']",
    "gitlab_kas['enable']",
    "gitlab_rails['auto_migrate']",
    "gitlab_rails['backup_upload_connection']",
    "gitlab_rails['backup_upload_remote_directory']",
    "gitlab_rails['backup_upload_storage_options']",
    "gitlab_rails['db_adapter']",
    "gitlab_rails['db_database']",
    "gitlab_rails['db_encoding']",
    "gitlab_rails['db_host']",
    "gitlab_rails['db_password']",
    "gitlab_rails['db_port']",
    "gitlab_rails['db_sslmode']",
    "gitlab_rails['db_sslrootcert']",
    "gitlab_rails['db_username']",
    "gitlab_rails['display_initial_root_password']",
    "gitlab_rails['external_diffs_enabled']",
    "gitlab_rails['external_diffs_when']",
    "gitlab_rails['gitaly_token']",
    "gitlab_rails['gitlab_email_display_name']",
    "gitlab_rails['gitlab_email_enabled']",
    "gitlab_rails['gitlab_email_from']",
    "gitlab_rails['gitlab_email_reply_to']",
    "gitlab_rails['gitlab_shell_ssh_port']",
    "gitlab_rails['gitlab_ssh_host']",
    "gitlab_rails['initial_root_password']",
    "gitlab_rails['monitoring_whitelist']",
    "gitlab_rails['nginx']['listen_https']",
    "gitlab_rails['nginx']['listen_port']",
    "gitlab_rails['nginx']['real_ip_header']",
    "gitlab_rails['nginx']['real_ip_recursive']",
    "gitlab_rails['nginx']['real_ip_trusted_addresses']",
    "gitlab_rails['object_store']['connection']",
    "gitlab_rails['object_store']['enabled']",
    "gitlab_rails['object_store']['objects']['agent_plan_content']['bucket']",
    "gitlab_rails['object_store']['objects']['artifacts']['bucket']",
    "gitlab_rails['object_store']['objects']['ci_secure_files']['bucket']",
    "gitlab_rails['object_store']['objects']['dependency_proxy']['bucket']",
    "gitlab_rails['object_store']['objects']['external_diffs']['bucket']",
    "gitlab_rails['object_store']['objects']['lfs']['bucket']",
    "gitlab_rails['object_store']['objects']['packages']['bucket']",
    "gitlab_rails['object_store']['objects']['terraform_state']['bucket']",
    "gitlab_rails['object_store']['objects']['uploads']['bucket']",
    "gitlab_rails['object_store']['proxy_download']",
    "gitlab_rails['object_store']['storage_options']",
    "gitlab_rails['omniauth_allow_single_sign_on']",
    "gitlab_rails['omniauth_block_auto_created_users']",
    "gitlab_rails['omniauth_providers']",
    "gitlab_rails['redis_host']",
    "gitlab_rails['redis_password']",
    "gitlab_rails['redis_port']",
    "gitlab_rails['redis_ssl']",
    "gitlab_rails['registry_api_url']",
    "gitlab_rails['registry_enabled']",
    "gitlab_rails['repositories_storages']",
    "gitlab_rails['smtp_address']",
    "gitlab_rails['smtp_authentication']",
    "gitlab_rails['smtp_domain']",
    "gitlab_rails['smtp_enable']",
    "gitlab_rails['smtp_enable_starttls_auto']",
    "gitlab_rails['smtp_password']",
    "gitlab_rails['smtp_port']",
    "gitlab_rails['smtp_tls']",
    "gitlab_rails['smtp_user_name']",
    "gitlab_rails['store_initial_root_password']",
    "gitlab_rails['time_zone']",
    "gitlab_rails['trusted_proxies']",
    "gitlab_rails['usage_ping_enabled']",
    "gitlab_workhorse['enable']",
    "letsencrypt['enable']",
    "nginx['enable']",
    "nginx['keepalive_timeout']",
    "postgresql['enable']",
    "postgresql['version']",
    "prometheus_monitoring['enable']",
    "puma['enable']",
    "puma['exporter_enabled']",
    "puma['max_threads']",
    "puma['worker_processes']",
    "redis['enable']",
    "registry['auto_migrate']",
    "registry['database']",
    "registry['enable']",
    "registry['nginx']['listen_port']",
    "registry['storage']",
    "registry_external_url",
    "roles",
    "runtime_dir",
    "sidekiq['concurrency']",
    "sidekiq['enable']",
    "sidekiq['health_checks_enabled']",
    "sidekiq['health_checks_listen_address']",
    "sidekiq['health_checks_listen_port']",
    "sidekiq['metrics_enabled']",
    "sidekiq['shutdown_timeout']",
];

/**
 * Paths Omnibus 19.3 reads but its template does not list, each with the file
 * (at the same tag) that defines and reads it.
 */
export const UNDOCUMENTED_KEYS: Readonly<Record<string, string>> = {
    "gitlab_rails['secret_key_base']": "files/gitlab-cookbooks/gitlab/libraries/gitlab_rails.rb:81 (parse_secrets); package/libraries/helpers/secrets_helper.rb gather_gitlab_secrets",
    "gitlab_rails['db_key_base']": "files/gitlab-cookbooks/gitlab/libraries/gitlab_rails.rb:80",
    "gitlab_rails['otp_key_base']": "files/gitlab-cookbooks/gitlab/libraries/gitlab_rails.rb:82",
    "gitlab_rails['encrypted_settings_key_base']": "files/gitlab-cookbooks/gitlab/libraries/gitlab_rails.rb:83",
    "gitlab_rails['openid_connect_signing_key']": "files/gitlab-cookbooks/gitlab/libraries/gitlab_rails.rb:84",
    "gitlab_rails['active_record_encryption_primary_key']": "files/gitlab-cookbooks/gitlab/libraries/gitlab_rails.rb:87-96 (an Array)",
    "gitlab_rails['active_record_encryption_deterministic_key']": "files/gitlab-cookbooks/gitlab/libraries/gitlab_rails.rb:97 (an Array)",
    "gitlab_rails['active_record_encryption_key_derivation_salt']": "files/gitlab-cookbooks/gitlab/libraries/gitlab_rails.rb:98 (a String)",
    "gitlab_shell['secret_token']": "files/gitlab-cookbooks/gitlab/libraries/gitlab_shell.rb:26",
    "gitlab_workhorse['secret_token']": "files/gitlab-cookbooks/gitlab/libraries/gitlab_workhorse.rb:40-42 (base64 of 32 bytes)",
    "registry['http_secret']": "files/gitlab-cookbooks/registry/libraries/registry.rb:65",
    "registry['internal_certificate']": "files/gitlab-cookbooks/registry/libraries/registry.rb:66-68",
    "registry['internal_key']": "files/gitlab-cookbooks/registry/libraries/registry.rb:66-68",
    "registry['nginx']['listen_https']": "files/gitlab-cookbooks/nginx/libraries/helpers/nginx_helper.rb:76; registry/recipes/enable.rb:120; doc/settings/ssl/_index.md:454-457",
    "registry['nginx']['real_ip_trusted_addresses']": "files/gitlab-cookbooks/nginx/libraries/helpers/nginx_helper.rb:91; registry/templates/default/nginx-gitlab-registry.conf.erb:94-102",
    "registry['nginx']['real_ip_header']": "files/gitlab-cookbooks/nginx/libraries/helpers/nginx_helper.rb; registry/templates/default/nginx-gitlab-registry.conf.erb:94-102",
    "gitlab_rails['internal_api_url']": "files/gitlab-cookbooks/gitlab/attributes/default.rb:78; libraries/helpers/web_server_helper.rb:14 (read by gitaly/recipes/enable.rb:96)",
    "registry['nginx']['real_ip_recursive']": "files/gitlab-cookbooks/nginx/libraries/helpers/nginx_helper.rb; registry/templates/default/nginx-gitlab-registry.conf.erb:94-102",
};

/** The documented key a path is checked against: itself, or the documented hash-valued key it assigns into. */
export function documentedKeyOf(path: string): string | undefined {
    if (DOCUMENTED_KEYS.includes(path) || path in UNDOCUMENTED_KEYS) {
        return path;
    }
    const head = path.split("[")[0];
    const parts = path.match(/\['[^']*'\]/g) ?? [];
    for (let n = parts.length - 1; n >= 1; n--) {
        const prefix = head + parts.slice(0, n).join("");
        if (DOCUMENTED_KEYS.includes(prefix)) {
            return prefix;
        }
    }
    return undefined;
}
