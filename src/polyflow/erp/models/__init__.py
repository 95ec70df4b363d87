"""Tenant-database tables, one module per aggregate. Importing this package registers them all."""

from polyflow.erp.models.product import Product

__all__ = ["Product"]
