"""Host -> tenant -> engine -> session. The only path by which a request reaches a tenant database."""
