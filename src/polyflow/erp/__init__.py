"""The ERP: everything here talks only to one tenant's database, through TenantSession."""
